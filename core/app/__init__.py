"""Runs the product. The service owns start-up and shutdown (restore, log in, subscribe,
reconcile, protect); headless mode runs it with no GUI; snapshots are what the tray and the
dashboard render; config changes decide what tightens now and what waits for the reset, and
the config in force is kept with the state (the file is a request); the state guard watches the
state file itself (rebuilt, unclean stops, failing writes); plus the admin password, the
credentials in the keyring, the alert secrets, the notice log and autostart.

It may import every other layer. It is the GUI's only door into core besides the shared
vocabulary (``core.domain``, ``core.config``, ``core.modules``) and the engine's notices.
"""
