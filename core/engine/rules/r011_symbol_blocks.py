"""RULE-011: no trading in blocked symbols (exact root: blocking ES leaves MES alone)."""

from __future__ import annotations

from core.config.rules import SymbolBlocks
from core.domain.commands import EnforcementCommand
from core.domain.events import OrderEvent, PositionEvent
from core.engine.rules.base import Breach, Rule, RuleContext


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
        # Everything in the blocked root goes, every expiry, not only the event's contract.
        blocked = frozenset({symbol})

        def blocked_contract(contract_id: str) -> bool:
            return ctx.contracts.matches(contract_id, blocked) is not None

        commands: list[EnforcementCommand] = [
            self.close(ctx, contract_id, reason)
            for contract_id in ctx.account.positions
            if blocked_contract(contract_id)
        ]
        commands.extend(
            self.cancel(ctx, order, reason)
            for order in ctx.account.orders.values()
            if blocked_contract(order.contract_id)
        )
        if not commands:
            return []
        return [self.breach(ctx, reason, *commands, symbol_lock=symbol)]
