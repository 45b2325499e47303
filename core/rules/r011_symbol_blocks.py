"""RULE-011: no trading in blocked symbols (exact root: blocking ES leaves MES alone)."""

from __future__ import annotations

from core.config.rules import SymbolBlocks
from core.events import OrderEvent, PositionEvent
from core.rules.base import Breach, Rule, RuleContext


class SymbolBlocksRule(Rule[SymbolBlocks]):
    rule_id = "RULE-011"
    key = "symbol_blocks"
    watches = frozenset({PositionEvent, OrderEvent})

    def __init__(self, config: SymbolBlocks) -> None:
        super().__init__(config)
        self.blocked = frozenset(config.symbols)

    def evaluate(self, ctx: RuleContext, event: PositionEvent | OrderEvent) -> list[Breach]:
        if not self.blocked:
            return []
        symbol = ctx.contracts.matches(event.contract_id, self.blocked)
        if symbol is None:
            return []
        reason = f"{symbol} is a blocked symbol"
        commands = []
        if event.contract_id in ctx.account.positions:
            commands.append(self.close(ctx, event.contract_id, reason))
        for order in ctx.account.orders_for(event.contract_id):
            commands.append(self.cancel(ctx, order, reason))
        if not commands:
            return []
        return [self.breach(ctx, reason, *commands, symbol_lock=symbol)]
