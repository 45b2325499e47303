"""Qt-free core of the risk manager: events, state modules, rules, engine, persistence.

Nothing under this package may import PySide6 or qasync; the GUI adapts core to Qt.
"""
