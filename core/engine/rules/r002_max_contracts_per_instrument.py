"""RULE-002: too many contracts in one symbol root (all expiries added, gross) → close the excess,
newest exposure first.

A contract whose symbol is still being looked up counts nowhere yet: a root's count without it
is a lower bound, so any excess seen is real, and the contract is judged once its symbol is
known. A contract the gateway does not know has no symbol anyone can name: it is an unlisted
symbol (``default_limit``, else ``unknown_symbol``), counted with the other expiries of its id.
"""

from __future__ import annotations

from core.config.rules import MaxContractsPerInstrument
from core.domain.events import PositionEvent, Recheck
from core.engine.rules.base import Breach, Rule, RuleContext
from core.modules.contracts import NOT_FOUND, PENDING, id_root

# (the root it counts under, words for it, its limit or None for no limit)
Cap = tuple[str, str, int | None]


class MaxContractsPerInstrumentRule(Rule[MaxContractsPerInstrument]):
    rule_id = "RULE-002"
    key = "max_contracts_per_instrument"
    watches = frozenset({PositionEvent, Recheck})

    def limit_for(self, ctx: RuleContext, contract_id: str) -> Cap | None:
        """None while the contract's symbol is being looked up."""
        cfg = self.config
        listed = ctx.contracts.listed(contract_id, cfg.limits)
        if listed is PENDING:
            return None
        if isinstance(listed, str):
            return listed, listed, cfg.limits[listed]
        if listed is NOT_FOUND:
            root = id_root(contract_id)
            # Its own group: never added to a symbol that merely shares the id's letters.
            group, words = f"?{root}", f"{root} (unknown to the gateway)"
        else:
            group = words = ctx.symbol(contract_id)
        if cfg.default_limit is not None:
            return group, words, cfg.default_limit
        return group, words, 0 if cfg.unknown_symbol == "block" else None

    def evaluate(self, ctx: RuleContext, event: PositionEvent | Recheck) -> list[Breach]:
        positions = ctx.account.positions
        cfg = self.config
        if not cfg.limits and cfg.default_limit is None and cfg.unknown_symbol == "allow":
            return []  # nothing is capped: no symbol needs knowing
        caps = {cid: self.limit_for(ctx, cid) for cid in positions}
        if isinstance(event, PositionEvent):
            if event.contract_id not in positions:
                return []
            touched = event.contract_id
            cap = caps[touched]
            roots = {cap} if cap is not None else set()
        else:
            touched = ""
            roots = {cap for cap in caps.values() if cap is not None}
        breaches = []
        for group, words, limit in sorted(roots, key=lambda r: r[0]):
            if limit is None:
                continue
            same_root = [p for p in positions.values() if (c := caps[p.contract_id]) and c[0] == group]
            total = sum(p.size for p in same_root)
            excess = total - limit
            if excess <= 0:
                continue
            reason = f"{total} {words} contracts open, limit {limit}"
            commands = self.reduce_newest(ctx, same_root, excess, reason, touched)
            breaches.append(self.breach(ctx, reason, *commands))
        return breaches
