"""One clock: the engine and its guards run on the injected clock alone, so an hour of simulated
time driven in milliseconds gives exactly the commands the same hour would give live.

Live, a tick arrives about once a second and the resend guard lets an identical close go out
again every RESEND_AFTER seconds while the position it acted on is still open. The expected
command list below is written from that timing, not read off the engine.
"""

from __future__ import annotations

from datetime import timedelta

from core.domain.commands import CloseContract, Flatten
from core.engine.engine import RESEND_AFTER
from core.engine.notices import LockCleared
from tests.builders import MES, MNQ, config, make_engine, position, trade
from tests.rules.support import ct

HOUR = 3600
START = ct(2026, 8, 19, 16, 0)  # a Wednesday, one hour before the 17:00 reset


class StampingPort:
    """Records each command with the simulated second it was sent at."""

    def __init__(self) -> None:
        self.second = 0
        self.sent: list[tuple[int, str, str]] = []

    def submit(self, command: object) -> None:
        self.sent.append((self.second, type(command).__name__, getattr(command, "contract_id", "")))


def _drive_an_hour() -> tuple[list[tuple[int, str, str]], list[int]]:
    """Run the hour second by second; return the commands sent and when locks ended."""
    engine, clock, _ = make_engine(config({"daily_realized_loss": {"limit": 500}}))
    port = engine.port = StampingPort()
    clock.set(START)
    cleared: list[int] = []
    engine.bus.subscribe(lambda _n: cleared.append(port.second), LockCleared)
    engine.handle(position(MNQ, 1, 20000.0, created_at=START))
    for second in range(HOUR + 1):
        port.second = second
        clock.set(START + timedelta(seconds=second))
        if second == 0:
            engine.handle(trade("-600", fees="0", at=clock.now()))  # daily loss: hard lock
        if second == 600:  # the flatten lands ten minutes late
            engine.handle(position(MNQ, 0, 20000.0))
        if second == 1200:  # the trader opens MES during the lock; it shows flat at 1210
            engine.handle(position(MES, 2, 5000.0, position_id=2, created_at=clock.now()))
        if second == 1210:
            engine.handle(position(MES, 0, 5000.0, position_id=2))
        engine.tick()
    return port.sent, cleared


def _expected() -> list[tuple[int, str, str]]:
    step = int(RESEND_AFTER)
    expected = [(0, Flatten.__name__, "")]
    # MNQ still shows open under the hard lock: closed again every RESEND_AFTER until it is flat.
    expected += [(t, CloseContract.__name__, MNQ) for t in range(step, 600, step)]
    # MES opened during the lock: closed at once, then again every RESEND_AFTER until flat.
    expected += [(t, CloseContract.__name__, MES) for t in range(1200, 1210, step)]
    return expected


def test_an_hour_of_simulated_time_gives_the_live_commands() -> None:
    commands, cleared = _drive_an_hour()
    assert commands == _expected()
    assert cleared == [HOUR]  # the daily loss lock ends at the 17:00 reset, not before


def test_the_same_hour_twice_gives_the_same_commands() -> None:
    assert _drive_an_hour() == _drive_an_hour()
