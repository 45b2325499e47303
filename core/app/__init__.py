"""Runs the product. The service owns start-up and shutdown (restore, log in, subscribe,
reconcile, protect); headless mode runs it with no GUI; snapshots are what the tray and the
dashboard render; config changes decide what tightens now and what waits for the reset; plus
the admin password, the credentials in the keyring, the notice log and autostart.

It may import every other layer. It is the GUI's only door into core besides the shared
vocabulary (``core.domain``, ``core.config``, ``core.modules``) and the engine's notices.
"""
