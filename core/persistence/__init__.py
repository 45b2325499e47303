"""SQLite through SQLAlchemy Core: the versioned schema, the one critical-writer thread (WAL,
synchronous=FULL) for locks and the day's P&L, the batched writers for everything else, the
state store that loads and saves the modules' records, the state file's own safety (private,
checked, a damaged file set aside) and the app's small values beside the modules' state.

It may import ``core.domain``, ``core.config`` and ``core.modules`` (whose records it stores),
never the gateway, the engine or anything above.
"""
