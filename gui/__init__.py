"""The Qt side: tray, popups, dashboard, settings, and the adapters from core to Qt."""
