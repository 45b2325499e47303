"""A contract whose symbol was not known when a rule needed it is judged the moment its lookup
settles.

The rules that key by symbol root take no decision on a contract whose symbol is not known yet
(the id's root is not always the symbol: ``CON.F.US.EP.U26`` is ES), and the contract cache
looks it up. When the answer comes, every account holding a position or an order in it is
judged again by those rules: as its symbol, or, if the gateway does not know the contract, as
an unknown symbol (RULE-002's ``unknown_symbol``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.engine.engine import Engine

# The rule tables whose decisions depend on a contract's symbol root.
SYMBOL_TABLES = frozenset(
    {
        "max_contracts",  # net count: per symbol root
        "max_contracts_per_instrument",
        "session_block_outside",  # per-symbol hours
        "symbol_blocks",  # also what the symbol-lock gate left for later
        "plan_position_size",  # micros count at the plan's ratio
        "firm_close",  # per-symbol early closes
    }
)


def judge_when_known(engine: Engine, contract_id: str) -> None:
    for account_id, account in sorted(engine.mirror.accounts.items()):
        if contract_id in account.positions or any(
            order.contract_id == contract_id for order in account.orders.values()
        ):
            engine.recheck(account_id, only=SYMBOL_TABLES)
