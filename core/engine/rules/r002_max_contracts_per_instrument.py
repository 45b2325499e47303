"""RULE-002: too many contracts in one symbol root (all expiries added, gross) → close the excess,
newest exposure first."""

from __future__ import annotations

from core.config.rules import MaxContractsPerInstrument
from core.domain.events import PositionEvent, Recheck
from core.engine.rules.base import Breach, Rule, RuleContext


class MaxContractsPerInstrumentRule(Rule[MaxContractsPerInstrument]):
    rule_id = "RULE-002"
    key = "max_contracts_per_instrument"
    watches = frozenset({PositionEvent, Recheck})

    def limit_for(self, ctx: RuleContext, contract_id: str) -> tuple[str, int | None]:
        cfg = self.config
        listed = ctx.contracts.matches(contract_id, set(cfg.limits))
        if listed is not None:
            return listed, cfg.limits[listed]
        symbol = ctx.symbol(contract_id)
        if cfg.default_limit is not None:
            return symbol, cfg.default_limit
        return symbol, 0 if cfg.unknown_symbol == "block" else None

    def evaluate(self, ctx: RuleContext, event: PositionEvent | Recheck) -> list[Breach]:
        positions = ctx.account.positions
        if isinstance(event, PositionEvent):
            if event.contract_id not in positions:
                return []
            touched = event.contract_id
            roots = {self.limit_for(ctx, touched)}
        else:
            touched = ""
            roots = {self.limit_for(ctx, cid) for cid in positions}
        breaches = []
        for symbol, limit in sorted(roots, key=lambda r: r[0]):
            if limit is None:
                continue
            same_root = [
                p for p in positions.values() if self.limit_for(ctx, p.contract_id)[0] == symbol
            ]
            total = sum(p.size for p in same_root)
            excess = total - limit
            if excess <= 0:
                continue
            reason = f"{total} {symbol} contracts open, limit {limit}"
            commands = self.reduce_newest(ctx, same_root, excess, reason, touched)
            breaches.append(self.breach(ctx, reason, *commands))
        return breaches
