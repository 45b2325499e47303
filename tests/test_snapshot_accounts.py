"""Snapshots read each account's own rules (``[accounts."<id>"]`` over the shared tables), the
warning ladder's step per money limit, and the consistency share (the best day's part of the
total profit, known only when the app's recorded days add up to the account's profit)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from core.app.consistency import consistency_view, read_day_nets
from core.app.protection import Protection, account_state, headline
from core.app.snapshot_builder import take_snapshot
from core.config.io import parse_config
from core.domain.events import AccountEvent
from tests.builders import (
    ACCOUNT,
    MNQ,
    OTHER_ACCOUNT,
    T0,
    make_engine,
    open_store,
    position,
    quote,
    trade,
)

D = Decimal


def by_rule(snapshot: Any) -> dict[str, Any]:
    return {usage.rule_id: usage for usage in snapshot.limits}


def test_two_accounts_show_their_own_limits() -> None:
    cfg = parse_config({
        "rules": {"daily_realized_loss": {"enabled": True, "limit": 500},
                  "max_contracts": {"enabled": True, "limit": 5}},
        "accounts": {str(OTHER_ACCOUNT): {"daily_realized_loss": {"limit": 300},
                                          "max_contracts": {"enabled": False},
                                          "daily_realized_profit": {"enabled": True, "target": 800}}},
    })
    engine, clock, _ = make_engine(cfg)
    engine.handle(trade("-200", fees="0", at=clock.now(), account_id=ACCOUNT))
    engine.handle(trade("-200", fees="0", at=clock.now(), account_id=OTHER_ACCOUNT))
    shared = take_snapshot(engine, ACCOUNT, status="protected")
    own = take_snapshot(engine, OTHER_ACCOUNT, status="protected")
    assert by_rule(shared)["RULE-003"].text == "-$200.00 of -$500.00"
    assert by_rule(own)["RULE-003"].text == "-$200.00 of -$300.00"
    assert shared.loss_limit == 500 and own.loss_limit == 300
    assert "RULE-001" in by_rule(shared) and "RULE-001" not in by_rule(own)
    assert shared.profit_target is None and own.profit_target == 800
    assert "RULE-013" in (own.rules_enabled or ()) and "RULE-013" not in (shared.rules_enabled or ())


def ladder_engine(cooldown: int) -> Any:
    cfg = parse_config({"rules": {"daily_realized_loss": {
        "enabled": True, "limit": 500, "warn_at": [0.5], "restrict_at": 0.8,
        "restrict_max_contracts": 1, "restrict_cooldown_seconds": cooldown}}})
    return make_engine(cfg)


def test_the_ladder_step_per_money_limit_in_words() -> None:
    engine, clock, _ = ladder_engine(1800)
    [step] = take_snapshot(engine, ACCOUNT, status="protected").ladder
    assert (step.name, step.step, step.used) == ("Daily loss limit", "normal", "0% used")
    engine.handle(trade("-250", fees="0", at=clock.now()))
    [step] = take_snapshot(engine, ACCOUNT, status="protected").ladder
    assert step.step == "warned" and step.used == "50% used"
    engine.handle(trade("-150", fees="0", at=clock.now()))
    snapshot = take_snapshot(engine, ACCOUNT, status="protected")
    [step] = snapshot.ladder
    assert step.step == "restricted" and step.used == "80% used"
    assert step.text == "restricted: at most 1 contract, a 30-minute cooldown after each losing exit"
    assert account_state(snapshot) is Protection.COOLDOWN  # that losing exit's own cooldown


def test_a_restrict_step_in_force_is_the_accounts_warning() -> None:
    engine, clock, _ = ladder_engine(0)
    engine.handle(trade("-400", fees="0", at=clock.now()))
    snapshot = take_snapshot(engine, ACCOUNT, status="protected")
    assert account_state(snapshot) is Protection.WARNING
    assert headline(snapshot, clock.now(), engine.calendar.zone) == (
        "Restricted near the daily loss limit (80% used): at most 1 contract")


def test_the_consistency_share_when_every_day_is_known() -> None:
    days = {date(2026, 8, 17): D("500"), date(2026, 8, 18): D("-200"), date(2026, 8, 19): D("1000")}
    view = consistency_view(days, 1_300.0, 0.0)
    assert view.share == 1000 / 1300 and view.best_day == date(2026, 8, 19)
    assert view.best == D("1000") and view.total == D("1300.0") and not view.warned
    assert view.note == "over 3 trading days"
    assert consistency_view(days, 1_300.0, 0.76).warned  # the best day is 76.9 %
    assert not consistency_view(days, 1_300.0, 0.77).warned


def test_the_consistency_share_is_not_guessed_from_missing_days() -> None:
    days = {date(2026, 8, 19): D("1000")}
    view = consistency_view(days, 2_500.0, 0.4)  # $1,500 of the profit came on days never seen
    assert view.share is None and not view.warned
    assert view.note.startswith("not known: the P&L the app recorded (1 day from 19 Aug 2026")
    assert consistency_view(days, 1_000.5, 0.4).share is not None  # within a dollar of rounding
    loss = consistency_view(days, -1_500.0, 0.4)
    assert loss.share is None and loss.note == "no profit yet (-$1,500.00 since the start)"


def test_the_days_are_read_from_the_state_file_and_today_is_live(tmp_path: Path) -> None:
    store = open_store(tmp_path / "state.db")
    try:
        engine, clock, _ = make_engine(parse_config({}), store=store)
        yesterday = T0 - timedelta(days=1)
        engine.handle(trade("600", fees="0", at=yesterday, account_id=OTHER_ACCOUNT))
        engine.handle(trade("300", fees="0", at=T0, account_id=OTHER_ACCOUNT))
        engine.handle(trade("-50", fees="0", at=T0, account_id=ACCOUNT))
        engine.flush()
    finally:
        store.close()
    nets = read_day_nets(tmp_path, [OTHER_ACCOUNT, 1])
    assert nets == {OTHER_ACCOUNT: {date(2026, 8, 18): D("600"), date(2026, 8, 19): D("300")}, 1: {}}
    assert read_day_nets(tmp_path / "missing", [ACCOUNT]) == {ACCOUNT: {}}
    # A 50K Combine up $1,000 since its start: yesterday's $600 and today's live numbers.
    cfg = parse_config({"accounts": {str(OTHER_ACCOUNT): {"plan": "50K-combine"}},
                        "topstep": {"consistency_warning": 0.5}})
    engine, clock, _ = make_engine(cfg)
    engine.handle(AccountEvent(OTHER_ACCOUNT, name="X", balance=51_000.0, can_trade=True))
    engine.handle(trade("400", fees="0", at=clock.now(), account_id=OTHER_ACCOUNT))
    view = take_snapshot(engine, OTHER_ACCOUNT, status="protected",
                         day_nets=nets[OTHER_ACCOUNT]).topstep
    consistency = view.consistency
    assert consistency is not None and consistency.best_day == date(2026, 8, 18)
    assert consistency.share == 0.6 and consistency.warned  # $600 of $1,000 is over 50 %
    assert take_snapshot(engine, OTHER_ACCOUNT, status="protected").topstep.consistency is None


def test_an_open_loss_ladder_reads_the_accounts_positions() -> None:
    cfg = parse_config({"rules": {"daily_unrealized_loss": {
        "enabled": True, "limit": 300, "scope": "account", "warn_at": [0.5]}}})
    engine, _, _ = make_engine(cfg)
    engine.handle(position(MNQ, 2, 20_000.0))
    engine.handle(quote(MNQ, last=19_960.0))  # −$160 of $300
    [step] = take_snapshot(engine, ACCOUNT, status="protected").ladder
    assert (step.name, step.step, step.used) == ("Open loss limit", "warned", "53% used")


def test_since_the_lock_counts_entries_made_while_locked_not_the_exit_that_locked() -> None:
    cfg = parse_config({"rules": {"cooldown_after_loss": {
        "enabled": True, "tiers": [{"loss": 100, "seconds": 900}]}}})
    engine, clock, _ = make_engine(cfg)
    engine.handle(trade(None, fees="0.50", at=clock.now() - timedelta(minutes=5), size=1))
    engine.handle(trade("-150", fees="0.50", at=clock.now(), side=0))  # this exit sets it
    since = take_snapshot(engine, ACCOUNT, status="protected").since_lock
    assert since is not None and (since.net, since.entries) == (D("0"), 0)
    clock.advance(10)
    engine.handle(trade(None, fees="0.50", at=clock.now()))  # trying again during the cooldown
    clock.advance(1)
    engine.handle(trade("-20", fees="0.50", at=clock.now(), side=0))  # closed again
    since = take_snapshot(engine, ACCOUNT, status="protected").since_lock
    assert since is not None and (since.net, since.entries) == (D("-21.00"), 1)


def test_a_limit_reached_is_no_longer_a_warning_step_but_the_limit() -> None:
    engine, clock, _ = ladder_engine(0)
    engine.handle(trade("-506.58", fees="0", at=clock.now()))
    [step] = take_snapshot(engine, ACCOUNT, status="protected").ladder
    assert (step.text, step.used) == ("at the limit: its own rule acts", "101% used")
