"""The shared vocabulary every layer speaks: typed gateway events (and the payload field
readers that build them), enforcement commands, the injected clock, the trading day and its
holidays, the plain-Python event bus, and how money and time read to a trader.

It imports nothing else from ``core``: everything else may import it.
"""
