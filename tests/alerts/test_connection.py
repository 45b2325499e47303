"""Connection lost for longer than N seconds, then back: one alert each, never for a blip."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from core.app.alerts.dispatcher import AlertDispatcher
from core.app.alerts.words import Alert
from core.domain.bus import EventBus
from core.domain.clock import ManualClock
from core.engine.notices import AccountStatusChanged, HubStatusChanged
from tests.alerts.support import ACCOUNT, T0, AlertServer, make_dispatcher


class HeldTime:
    """The connection timer's sleep waits until the test releases it, moving the clock."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.asked: list[float] = []
        self._release = asyncio.Event()

    def monotonic(self) -> float:
        return self.clock.monotonic()

    async def sleep(self, delay: float) -> None:
        self.asked.append(delay)
        await self._release.wait()

    async def pass_(self, seconds: float) -> None:
        self.clock.advance(seconds)
        self._release.set()
        await asyncio.sleep(0.01)
        self._release = asyncio.Event()


def _setup(after: int = 60) -> tuple[EventBus, AlertDispatcher, HeldTime]:
    bus, clock = EventBus(), ManualClock(T0)
    held = HeldTime(clock)
    dispatcher = make_dispatcher(AlertServer(), ["webhook"], bus=bus, clock=clock,
                                 top={"connection_lost_after_seconds": after})
    dispatcher._sleep = held.sleep  # the timer's sleep only: no worker runs in these tests
    dispatcher.connection._sleep = held.sleep
    dispatcher.attach()
    return bus, dispatcher, held


def _queued(dispatcher: AlertDispatcher) -> list[Alert]:
    queue = dispatcher.channels["webhook"].queue
    return [queue.get_nowait() for _ in range(queue.qsize())]


def _connected(bus: EventBus) -> None:
    bus.publish(HubStatusChanged("user", "connecting"))
    bus.publish(HubStatusChanged("user", "connected"))
    bus.publish(HubStatusChanged("market", "connected"))
    bus.publish(AccountStatusChanged(ACCOUNT, "reconciling", "50KTC"))
    bus.publish(AccountStatusChanged(ACCOUNT, "protected", "50KTC"))


async def test_starting_up_is_not_a_lost_connection() -> None:
    bus, dispatcher, held = _setup()
    bus.publish(HubStatusChanged("user", "connecting"))
    bus.publish(HubStatusChanged("user", "disconnected"))  # never connected yet
    bus.publish(AccountStatusChanged(ACCOUNT, "starting"))
    await held.pass_(600)
    assert _queued(dispatcher) == [] and held.asked == []
    dispatcher.detach()


async def test_a_short_drop_says_nothing() -> None:
    bus, dispatcher, held = _setup(after=60)
    _connected(bus)
    bus.publish(HubStatusChanged("user", "disconnected"))
    bus.publish(AccountStatusChanged(ACCOUNT, "reconnecting", "50KTC"))
    await asyncio.sleep(0)
    assert held.asked == [60]  # one timer for the outage, not one per notice
    _connected(bus)  # back within the minute
    await held.pass_(60)
    assert _queued(dispatcher) == []
    dispatcher.detach()


async def test_a_long_drop_is_told_once_and_its_end_too() -> None:
    bus, dispatcher, held = _setup(after=60)
    _connected(bus)
    bus.publish(HubStatusChanged("user", "disconnected"))
    bus.publish(AccountStatusChanged(ACCOUNT, "reconnecting", "50KTC"))
    bus.publish(HubStatusChanged("user", "connecting"))  # retrying: the same outage
    await held.pass_(61)
    [lost] = _queued(dispatcher)
    assert lost.event == "connection_lost"
    assert lost.title == "Connection to TopstepX lost"
    assert "Account updates (connecting)" in lost.text
    assert f"not protected: 50KTC ({ACCOUNT})" in lost.text
    assert "Down since 10:00 CDT" in lost.text
    bus.publish(HubStatusChanged("user", "connected"))
    assert _queued(dispatcher) == []  # still reconciling: not protected yet
    bus.publish(AccountStatusChanged(ACCOUNT, "protected", "50KTC"))
    [back] = _queued(dispatcher)
    assert back.event == "connection_lost" and back.title == "Connection to TopstepX restored"
    assert "back after 1 minute 1 s" in back.text
    dispatcher.detach()


async def test_lost_market_data_counts_too() -> None:
    bus, dispatcher, held = _setup(after=0)
    _connected(bus)
    bus.publish(HubStatusChanged("market", "disconnected"))
    await held.pass_(0)
    [lost] = _queued(dispatcher)
    assert "Market data (disconnected)" in lost.text
    dispatcher.detach()


async def test_the_app_stopping_is_not_a_lost_connection() -> None:
    bus, dispatcher, held = _setup(after=0)
    _connected(bus)
    bus.publish(HubStatusChanged("user", "stopped"))
    bus.publish(HubStatusChanged("market", "stopped"))
    await held.pass_(10)
    assert _queued(dispatcher) == []
    dispatcher.detach()


async def test_a_second_outage_is_its_own() -> None:
    bus, dispatcher, held = _setup(after=30)
    _connected(bus)
    bus.publish(HubStatusChanged("market", "disconnected"))
    await held.pass_(31)
    bus.publish(HubStatusChanged("market", "connected"))
    assert [a.title for a in _queued(dispatcher)] == [
        "Connection to TopstepX lost", "Connection to TopstepX restored"]
    held.clock.advance(timedelta(minutes=5).total_seconds())
    bus.publish(HubStatusChanged("market", "disconnected"))
    bus.publish(HubStatusChanged("market", "connected"))  # a blip this time
    await held.pass_(31)
    assert _queued(dispatcher) == []
    dispatcher.detach()
