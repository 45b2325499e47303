"""SQLite through SQLAlchemy Core: the versioned schema, the one critical-writer thread (WAL,
synchronous=FULL) for locks and the day's P&L, the batched writers for everything else, and the
state store that loads and saves the modules' records.

It may import ``core.domain``, ``core.config`` and ``core.modules`` (whose records it stores),
never the gateway, the engine or anything above.
"""
