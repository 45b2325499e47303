"""Qt-free core of the risk manager: events, state modules, rules, engine, gateway, persistence.

Nothing under this package may import Qt or its asyncio bridge; the GUI adapts core to Qt.
"""
