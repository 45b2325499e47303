"""RULE-011: no trading in blocked symbols (exact root: blocking ES leaves MES alone).

Any position in a blocked root is closed, every expiry, and its orders cancelled, except the
app's own closing orders; the symbol stays locked while it is blocked.

Only a contract whose symbol is known is blocked: one still being looked up is judged once its
symbol is known (the id's root is not the symbol: ``CON.F.US.EP.U26`` is ES), and one the
gateway does not know is in no blocked root anyone can name.
"""

from __future__ import annotations

from core.config.rules import SymbolBlocks
from core.domain.commands import EnforcementCommand
from core.domain.events import OrderEvent, OrderType, PositionEvent, Recheck
from core.engine.rules.base import Breach, Rule, RuleContext


class SymbolBlocksRule(Rule[SymbolBlocks]):
    rule_id = "RULE-011"
    key = "symbol_blocks"
    watches = frozenset({PositionEvent, OrderEvent, Recheck})

    def __init__(self, config: SymbolBlocks) -> None:
        super().__init__(config)
        self.blocked = frozenset(config.symbols)

    def evaluate(self, ctx: RuleContext, event: PositionEvent | OrderEvent | Recheck) -> list[Breach]:
        if not self.blocked:
            return []
        if isinstance(event, Recheck):
            touched = {o.contract_id for o in ctx.account.orders.values()} | set(ctx.account.positions)
        else:
            touched = {event.contract_id}
        symbols = {s for cid in touched if (s := ctx.contracts.matches(cid, self.blocked))}
        return [b for symbol in sorted(symbols) if (b := self._block(ctx, symbol)) is not None]

    def _block(self, ctx: RuleContext, symbol: str) -> Breach | None:
        reason = f"{symbol} is a blocked symbol"
        # Everything in the blocked root goes, every expiry, not only the event's contract.
        blocked = frozenset({symbol})

        def blocked_contract(contract_id: str) -> bool:
            return ctx.contracts.matches(contract_id, blocked) is not None

        positions = ctx.account.positions
        commands: list[EnforcementCommand] = [
            self.close(ctx, contract_id, reason)
            for contract_id in positions
            if blocked_contract(contract_id)
        ]
        commands.extend(
            self.cancel(ctx, order, reason)
            for order in ctx.account.orders.values()
            if blocked_contract(order.contract_id) and not _closing_market(order, ctx)
        )
        if not commands:
            return None
        return self.breach(ctx, reason, *commands, symbol_lock=symbol)


def _closing_market(order: OrderEvent, ctx: RuleContext) -> bool:
    """The app's own close (a market order that can only reduce): never cancel it."""
    position = ctx.account.positions.get(order.contract_id)
    if position is None or order.type != OrderType.MARKET or order.size is None:
        return False
    return order.side == (1 if position.is_long else 0) and order.size <= position.size
