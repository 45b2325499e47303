"""Retries, backoff, Retry-After, refusals, the digest under a storm, and a hanging service."""

from __future__ import annotations

import asyncio
import email.utils
from datetime import timedelta

import pytest

from core.app.alerts.channel import BACKOFF, MAX_RETRY_AFTER
from core.domain.bus import EventBus
from core.engine.notices import LockCleared, LockSet, LossWarning
from tests.alerts.support import (
    ACCOUNT,
    T0,
    AlertServer,
    FakeTime,
    cooldown,
    hard_lock,
    make_dispatcher,
    until,
)


async def _started(server: AlertServer, services: list[str], fake: FakeTime, **kw: object):
    bus = EventBus()
    dispatcher = make_dispatcher(server, services, fake=fake, bus=bus, **kw)  # type: ignore[arg-type]
    await dispatcher.start()
    return bus, dispatcher


async def test_a_500_is_tried_again_with_backoff_until_it_goes_through(server: AlertServer) -> None:
    fake = FakeTime()
    server.answer(500)
    server.answer(503)
    bus, dispatcher = await _started(server, ["discord"], fake)
    bus.publish(LockSet(hard_lock()))
    await until(lambda: len(server.requests) == 3, "the third attempt")
    channel = dispatcher.channels["discord"]
    await until(lambda: channel.sent_messages == 1, "the message counted as sent")
    await dispatcher.stop()
    assert fake.sleeps == list(BACKOFF[:2])  # 1 s, then 2 s
    assert server.requests[0].body == server.requests[2].body  # the same message, resent
    assert channel.unsent == 0


async def test_a_429_waits_as_long_as_the_retry_after_header_says(server: AlertServer) -> None:
    fake = FakeTime()
    server.answer(429, {"Retry-After": "7"})
    bus, dispatcher = await _started(server, ["ntfy"], fake)
    bus.publish(LockSet(hard_lock()))
    await until(lambda: dispatcher.channels["ntfy"].sent_messages == 1, "the retry after 429")
    await dispatcher.stop()
    assert fake.sleeps == [7.0]
    assert len(server.requests) == 2


async def test_a_429_retry_after_as_an_http_date(server: AlertServer) -> None:
    fake = FakeTime()
    when = email.utils.format_datetime(T0 + timedelta(seconds=30), usegmt=True)
    server.answer(429, {"Retry-After": when})
    bus, dispatcher = await _started(server, ["webhook"], fake)  # the dispatcher's clock is at T0
    bus.publish(LockSet(hard_lock()))
    await until(lambda: dispatcher.channels["webhook"].sent_messages == 1, "the retry")
    await dispatcher.stop()
    assert fake.sleeps == [30.0]


@pytest.mark.parametrize(
    ("service", "body", "wait"),
    [
        ("discord", {"message": "You are being rate limited.", "retry_after": 2.5, "global": False}, 2.5),
        ("telegram", {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 4",
                      "parameters": {"retry_after": 4}}, 4.0),
    ],
)
async def test_a_429_without_the_header_honours_the_services_own_retry_after(
    server: AlertServer, service: str, body: dict[str, object], wait: float
) -> None:
    fake = FakeTime()
    server.answer(429, body=body)  # type: ignore[arg-type]
    bus, dispatcher = await _started(server, [service], fake)
    bus.publish(LockSet(hard_lock()))
    await until(lambda: dispatcher.channels[service].sent_messages == 1, "the retry")
    await dispatcher.stop()
    assert fake.sleeps == [wait]


async def test_an_absurd_retry_after_is_capped(server: AlertServer) -> None:
    fake = FakeTime()
    server.answer(429, {"Retry-After": "86400"})
    bus, dispatcher = await _started(server, ["discord"], fake)
    bus.publish(LockSet(hard_lock()))
    await until(lambda: dispatcher.channels["discord"].sent_messages == 1, "the retry")
    await dispatcher.stop()
    assert fake.sleeps == [MAX_RETRY_AFTER]


async def test_a_refusal_is_not_retried_and_the_next_message_says_one_was_lost(
    server: AlertServer,
) -> None:
    fake = FakeTime()
    server.answer(404, body={"message": "Unknown Webhook", "code": 10015})
    bus, dispatcher = await _started(server, ["discord"], fake)
    bus.publish(LockSet(hard_lock()))
    await until(lambda: dispatcher.channels["discord"].unsent == 1, "the refusal counted")
    assert len(server.requests) == 1
    bus.publish(LockCleared(hard_lock(), "expired"))
    await until(lambda: len(server.requests) == 2, "the next message")
    await dispatcher.stop()
    assert "1 earlier alert(s) could not be sent" in server.requests[1].json()["content"]


async def test_after_every_attempt_fails_it_gives_up_and_keeps_working(server: AlertServer) -> None:
    fake = FakeTime()
    for _ in range(len(BACKOFF) + 1):
        server.answer(502)
    bus, dispatcher = await _started(server, ["telegram"], fake)
    bus.publish(LockSet(hard_lock()))
    channel = dispatcher.channels["telegram"]
    await until(lambda: channel.unsent == 1, "giving up")
    assert len(server.requests) == len(BACKOFF) + 1
    bus.publish(LockSet(cooldown()))
    await until(lambda: channel.sent_messages == 1, "the next alert")
    await dispatcher.stop()


async def test_a_storm_becomes_one_digest_not_a_flood(server: AlertServer) -> None:
    fake = FakeTime()
    bus, dispatcher = await _started(server, ["discord", "webhook"], fake)
    for n in range(200):  # 200 accounts locked at once: far more than the queue holds
        bus.publish(LockSet(hard_lock(account_id=ACCOUNT + n)))
    await until(lambda: len(server.requests) == 2, "one message per service")
    await asyncio.sleep(0.05)
    await dispatcher.stop(flush_timeout=0)
    assert len(server.requests) == 2
    discord = next(r for r in server.requests if "/webhooks/" in r.path).json()["content"]
    assert discord.startswith("**Risk Manager: 200 alerts**")
    assert "more" in discord
    webhook = next(r for r in server.requests if r.path == "/hooks/incoming").json()
    assert webhook["event"] == "digest" and webhook["count"] == 200
    assert webhook["count"] == len(webhook["alerts"]) + webhook["dropped"]


async def test_alerts_during_the_spacing_go_out_together(server: AlertServer) -> None:
    fake = FakeTime()
    bus, dispatcher = await _started(server, ["ntfy"], fake)
    channel = dispatcher.channels["ntfy"]
    bus.publish(LockSet(hard_lock()))
    await until(lambda: channel.sent_messages == 1, "the first message")
    gate = asyncio.Event()
    real_sleep = fake.sleep

    async def held_sleep(delay: float) -> None:  # the spacing wait: hold it while alerts pile up
        await gate.wait()
        await real_sleep(delay)

    channel._sleep = held_sleep
    for n in range(5):
        bus.publish(LossWarning(ACCOUNT + n, T0.date(), 0.5, -250, 500.0))  # type: ignore[arg-type]
    await asyncio.sleep(0.02)
    gate.set()
    await until(lambda: channel.sent_messages == 2, "the digest")
    await asyncio.sleep(0.02)
    await dispatcher.stop(flush_timeout=0)
    assert len(server.requests) == 2
    assert server.requests[1].headers["Title"] == "Risk Manager: 5 alerts"
    assert fake.sleeps[-1] == pytest.approx(dispatcher.config.seconds_between_messages)


async def test_a_queue_full_of_minor_alerts_keeps_the_important_ones(server: AlertServer) -> None:
    fake = FakeTime()
    bus, dispatcher = await _started(server, ["webhook"], fake, queue_size=3,
                                     events=["lock_set", "lock_lifted"])
    for n in range(10):
        bus.publish(LockCleared(hard_lock(account_id=ACCOUNT + n), "expired"))  # default priority
    bus.publish(LockSet(hard_lock(account_id=ACCOUNT + 99)))  # high: must not become a number
    await until(lambda: server.requests, "the digest")
    await dispatcher.stop(flush_timeout=0)
    body = server.requests[0].json()
    assert body["count"] == 11
    assert any(a["account_id"] == ACCOUNT + 99 and a["event"] == "lock_set" for a in body["alerts"])
    assert body["dropped"] == 7


async def test_a_hanging_service_never_holds_up_the_bus_or_the_other_services(
    server: AlertServer,
) -> None:
    """The alert server accepts the webhook request and never answers: publishing returns at
    once every time, the queue stays bounded, and Discord still gets its alerts."""
    fake = FakeTime()
    hung = AlertServer(hang=True)
    await hung.start()
    try:
        bus = EventBus()
        from tests.alerts.support import secrets_for

        store = secrets_for(server)
        store.set("alerts.webhook.url", f"{hung.base_url}/hooks/incoming")
        dispatcher = make_dispatcher(server, ["discord", "webhook"], fake=fake, bus=bus,
                                     store=store, timeout=30.0)
        await dispatcher.start()
        bus.publish(LockSet(hard_lock()))
        await until(lambda: hung.hanging == 1, "the webhook request being held")
        for n in range(5_000):  # while it hangs: every publish returns, nothing piles up unbounded
            bus.publish(LockSet(hard_lock(account_id=ACCOUNT + n)))
        webhook = dispatcher.channels["webhook"]
        assert webhook.queue.qsize() <= webhook.queue.maxsize
        await until(lambda: len(server.requests) >= 2, "Discord's alerts despite the hung webhook")
        assert hung.hanging == 1  # still held: it was never the bus waiting on it
        await dispatcher.stop(flush_timeout=0.2)
    finally:
        hung.hang = False
        await hung.stop()


async def test_a_config_change_switches_services_and_reads_newly_saved_secrets(
    server: AlertServer,
) -> None:
    from core.app.alerts.secrets import MemorySecretStore
    from tests.alerts.support import alerts_config, secrets_for, service_tables

    fake = FakeTime()
    store = MemorySecretStore({"alerts.ntfy.topic": "first-topic-123"})
    bus = EventBus()
    dispatcher = make_dispatcher(server, ["ntfy"], fake=fake, bus=bus, store=store)
    await dispatcher.start()
    full = secrets_for(server)
    store.set("alerts.discord.webhook_url", full.get("alerts.discord.webhook_url") or "")
    tables = service_tables(server)
    dispatcher.apply_config(alerts_config({"discord": tables["discord"],
                                           "ntfy": {**tables["ntfy"], "enabled": False}}))
    assert set(dispatcher.channels) == {"discord"}
    await until(lambda: dispatcher.secrets["discord"], "the new secret read")
    bus.publish(LockSet(hard_lock()))
    await until(lambda: server.requests, "the alert")
    await asyncio.sleep(0.02)
    await dispatcher.stop()
    assert [r.path.split("/")[2] for r in server.requests] == ["webhooks"]  # Discord only


async def test_a_keyring_that_never_answers_holds_up_nothing(server: AlertServer) -> None:
    """A desktop unlock prompt nobody sees: the bus keeps flowing, and stopping still works."""
    import threading

    from core.app.alerts.secrets import MemorySecretStore

    release = threading.Event()

    class Stuck(MemorySecretStore):
        def get(self, name: str) -> str | None:
            release.wait()
            return None

    bus = EventBus()
    dispatcher = make_dispatcher(server, ["discord"], bus=bus, store=Stuck())
    starting = dispatcher.start()
    for n in range(100):
        bus.publish(LockSet(hard_lock(account_id=ACCOUNT + n)))
    await asyncio.sleep(0.05)
    assert not starting.done()
    assert dispatcher.channels["discord"].pending() == 100  # queued and counted, not lost
    await dispatcher.stop(flush_timeout=0)
    release.set()
    assert server.requests == []
