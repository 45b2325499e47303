"""The ladder before the Maximum Loss Limit (SPEC section 6: "per money limit, warn thresholds
and an optional restrict step before the limit"): warnings as the distance to the floor falls,
told only as it falls to a nearer one; past ``restrict_at`` the account trades small (at most
``restrict_max_contracts`` open, a cooldown after every losing exit) until the money comes back;
RULE-014 still flattens and locks at its buffer."""

from __future__ import annotations

from datetime import timedelta

from core.domain.commands import Flatten, PartialClose
from core.domain.events import AccountEvent
from core.engine.notices import LimitWarning
from core.engine.rules.ladder import LADDER
from core.modules.lockouts import LockKind
from tests.builders import MNQ, make_engine, position, quote, trade
from tests.rules.support import ct
from tests.topstep.test_account_guard import COMBINE, guard_config

NAME = "50KTC-V2-645601-13370001"  # floor 48,000 on its first day
RESTRICT = {"max_loss_guard": {"enabled": True, "buffer": 250, "warn_at": [],
                               "restrict_at": 600, "restrict_max_contracts": 1,
                               "restrict_cooldown_seconds": 600}}


def test_a_warning_is_told_only_as_the_distance_falls_to_a_nearer_one() -> None:
    engine, clock, _ = make_engine(guard_config())  # warnings at $1,000 and $500
    warnings: list[LimitWarning] = []
    engine.bus.subscribe(warnings.append, LimitWarning)
    engine.handle(AccountEvent(COMBINE, name=NAME, balance=48_450.0, can_trade=True))  # $450
    assert [w.threshold for w in warnings] == [500]
    engine.handle(position(MNQ, 1, 20_000.0, account_id=COMBINE))
    engine.handle(quote(MNQ, last=20_210.0))  # +420: $870, back inside the $1,000 warning
    engine.handle(quote(MNQ, last=20_300.0))  # +600: $1,050
    engine.handle(quote(MNQ, last=20_060.0))  # +120: $570, falling through $1,000 again
    engine.handle(quote(MNQ, last=20_010.0))  # +20: $470, inside $500 again
    assert [w.threshold for w in warnings] == [500]  # nothing nearer than $500 was reached
    engine.handle(quote(MNQ, last=20_200.0))  # +200: $650
    clock.set(ct(2026, 8, 19, 17, 0, 1))
    engine.tick()  # a new trading day: the warnings are told again, farthest first
    engine.handle(quote(MNQ, last=20_010.0))  # $470
    assert [w.threshold for w in warnings] == [500, 1000, 500]


def test_past_the_restrict_step_the_account_trades_small_until_the_money_comes_back() -> None:
    engine, clock, port = make_engine(guard_config(rules=RESTRICT))
    engine.handle(AccountEvent(COMBINE, name=NAME, balance=48_700.0, can_trade=True))  # $700
    engine.handle(position(MNQ, 2, 20_000.0, account_id=COMBINE))
    engine.handle(quote(MNQ, last=19_975.25))  # −$99: $601
    assert port.commands == []
    engine.handle(quote(MNQ, last=19_975.0))  # −$100: $600, the restrict step
    [cut] = port.commands
    assert isinstance(cut, PartialClose) and (cut.rule_id, cut.size) == (LADDER, 1)

    # The cut lands lower, at a loss: a losing exit while restricted starts the cooldown.
    engine.handle(quote(MNQ, last=19_950.0))  # −$200: $500
    clock.advance(1)
    engine.handle(position(MNQ, 1, 20_000.0, account_id=COMBINE))
    engine.handle(trade("-100", fees="0", at=clock.now(), account_id=COMBINE, contract_id=MNQ,
                        order_id=7))
    engine.handle(AccountEvent(COMBINE, balance=48_600.0))
    cooldown = engine.lockouts.get(COMBINE, LADDER)
    assert cooldown is not None and cooldown.kind is LockKind.COOLDOWN
    assert cooldown.until == clock.now() + timedelta(seconds=600)

    # The money comes back ($800 from the floor) and the cooldown ends: no longer restricted.
    engine.handle(quote(MNQ, last=20_100.0))  # +$200 on the one left
    clock.advance(601)
    engine.tick()
    port.clear()
    engine.handle(position(MNQ, 3, 20_000.0, account_id=COMBINE))
    engine.handle(quote(MNQ, last=20_075.0))  # +$450 on three: $1,050
    assert port.commands == []


def test_the_guard_still_flattens_and_locks_at_its_buffer_past_the_restrict_step() -> None:
    engine, _, port = make_engine(guard_config(rules=RESTRICT))
    engine.handle(AccountEvent(COMBINE, name=NAME, balance=48_700.0, can_trade=True))
    engine.handle(position(MNQ, 1, 20_000.0, account_id=COMBINE))
    engine.handle(quote(MNQ, last=19_800.0))  # −$400: $300, restricted (1 contract allowed)
    assert port.commands == []
    engine.handle(quote(MNQ, last=19_775.0))  # −$450: $250, the buffer
    assert [(type(c), c.rule_id) for c in port.commands] == [(Flatten, "RULE-014")]
    lock = engine.lockouts.get(COMBINE, "RULE-014")
    assert lock is not None and lock.kind is LockKind.HARD
