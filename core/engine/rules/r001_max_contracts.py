"""RULE-001: too many contracts open across the account → cut back the newest exposure.

Gross counts every contract. Net counts per symbol root, then adds the roots' absolute
values: a calendar spread (long Sep, short Dec of one root) nets, but MNQ long never nets
against MES short. Only a position on its root's dominant side brings the net back down, and
by no more than that root's net.

A contract whose symbol is not known counts in a root of its own (its id's, never netted with
a symbol merely spelled alike): splitting a root can only raise the net count, so a count
within the limit is sure. Over it, while a symbol is still being looked up, nothing is
decided: the contract is judged once its symbol is known. One the gateway does not know nets
with nothing but its own id's expiries.
"""

from __future__ import annotations

from core.config.rules import MaxContracts
from core.domain.commands import EnforcementCommand
from core.domain.events import PositionEvent, Recheck
from core.engine.rules.base import Breach, Rule, RuleContext
from core.modules.contracts import PENDING, Unknown, id_root
from core.modules.mirror import Position


class MaxContractsRule(Rule[MaxContracts]):
    rule_id = "RULE-001"
    key = "max_contracts"
    watches = frozenset({PositionEvent, Recheck})

    def evaluate(self, ctx: RuleContext, event: PositionEvent | Recheck) -> list[Breach]:
        positions = list(ctx.account.positions.values())
        limit = self.config.limit
        # (position, how much closing it can lower the count), for the positions that can.
        reducible: list[tuple[Position, int]]
        pending = False  # a symbol still being looked up
        if self.config.count_type == "gross":
            total = sum(p.size for p in positions)
            reducible = [(p, p.size) for p in positions]
        else:
            roots: dict[str, list[Position]] = {}
            for p in positions:
                symbol = ctx.contracts.symbol_of(p.contract_id)
                if isinstance(symbol, Unknown):
                    pending = pending or symbol is PENDING
                    symbol = f"?{id_root(p.contract_id)}"
                roots.setdefault(symbol, []).append(p)
            total = 0
            reducible = []
            for members in roots.values():
                net = sum(p.signed_size for p in members)
                total += abs(net)
                room = abs(net)
                for p in _newest_first(members, ctx, event):
                    if room <= 0:
                        break
                    if net != 0 and (p.signed_size > 0) == (net > 0):
                        take = min(p.size, room)
                        reducible.append((p, take))
                        room -= take
        excess = total - limit
        if excess <= 0:
            return []
        if pending:
            return []  # the count may be too high: judged once every symbol is known
        reason = f"{total} contracts open ({self.config.count_type}), limit {limit}"
        touched = event.contract_id if isinstance(event, PositionEvent) else ""
        ordered = sorted(
            reducible, key=lambda pr: (pr[0].contract_id == touched, pr[0].last_grew_at), reverse=True
        )
        commands: list[EnforcementCommand] = []
        for position, room in ordered:
            if excess <= 0:
                break
            if not self.config.reduce_to_limit:
                commands.append(self.close(ctx, position.contract_id, reason))
                excess -= room
                continue
            take = min(excess, room)
            commands.append(self.reduce(ctx, position.contract_id, take, reason))
            excess -= take
        return [self.breach(ctx, reason, *commands)]


def _newest_first(members: list[Position], ctx: RuleContext, event: object) -> list[Position]:
    touched = event.contract_id if isinstance(event, PositionEvent) else ""
    return sorted(members, key=lambda p: (p.contract_id == touched, p.last_grew_at), reverse=True)
