"""Decides. The engine routes each event through the state modules, the lockout gate and the
rules (``rules/``, one per file), and hands the resulting commands to an enforcement port; the
gate, the resend guard and the loss warnings are its helpers, and ``notices`` are what it tells
the rest of the app.

It never waits on the network or the disk and never reads the wall clock. It may import
``core.domain``, ``core.config``, ``core.modules`` and ``core.persistence``; never the gateway,
enforcement or the app.
"""
