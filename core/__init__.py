"""Qt-free core of the risk manager, in layers (lowest first; each may import only those below it):

- ``domain``      the shared vocabulary: events, commands, clock, trading day, event bus, words
- ``config``      the pydantic models of the TOML file and the rule tables
- ``modules``     the nine state modules (MOD-001…009)
- ``persistence`` SQLite through SQLAlchemy: schema, writers, the state store
- ``gateway``     the ProjectX client: REST and the SignalR hubs
- ``engine``      decides: the engine, the lockout gate, its guards, the notices, ``rules/``
- ``enforcement`` acts: executes the engine's commands over REST and reconciles after reconnects
- ``replay``      past fills through the same engine on a replayed clock, and the report
- ``app``         runs it all: the service, headless mode, snapshots for the GUI, config changes
- ``sim``         the embedded simulated gateway, standing beside the client like a real server

``persistence`` and ``gateway`` sit side by side and never import each other; ``sim`` imports
nothing of the product. Nothing here imports Qt: the GUI adapts core to Qt. ``tests/test_layers.py``
keeps these directions.
"""
