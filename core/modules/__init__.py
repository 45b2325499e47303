"""The nine state modules (SPEC section 4, MOD-001…009), one per file, each owning its state:
enforcement log, lockouts, timers, reset scheduler, P&L tracker, quotes, contract cache, trade
counter, and the positions/orders mirror.

They hold state and answer questions about it; they never decide or act. They may import only
``core.domain`` and ``core.config``; the store they persist through is handed to them.
"""
