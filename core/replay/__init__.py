"""Replay: past fills and minute bars run through a candidate rule set by the real engine.

The trader's own fills are rebuilt into position, order and trade events in time order and fed
to :class:`core.engine.engine.Engine` on a replayed clock; what the rules ask for is carried out
in the replay (a close fills at the next one-minute bar's open plus slippage), entries a lock
would have blocked are *prevented*, and the report sets each trading day's actual net P&L
beside the P&L with the candidate rules, rule by rule.

It may import ``core.domain``, ``core.config``, ``core.modules``, ``core.persistence``,
``core.gateway`` (to fetch history) and ``core.engine``; only ``core.app`` imports it.
"""
