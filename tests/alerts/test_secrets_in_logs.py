"""No webhook URL, token or topic ever reaches a log line: not ours, not httpx's."""

from __future__ import annotations

import logging

import pytest

from core.app.alerts.secrets import MemorySecretStore
from core.domain.bus import EventBus
from core.engine.notices import LockSet
from tests.alerts.support import (
    ALL_SECRETS,
    AlertServer,
    FakeTime,
    hard_lock,
    make_dispatcher,
    secrets_for,
    until,
)

SERVICES = ["discord", "telegram", "ntfy", "webhook"]


def _leaks(caplog: pytest.LogCaptureFixture) -> list[str]:
    text = caplog.text + "\n".join(
        (r.getMessage() + (r.exc_text or "")) for r in caplog.records
    )
    return [secret for secret in ALL_SECRETS if secret in text]


async def test_failures_of_every_kind_are_logged_without_a_secret(
    server: AlertServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake = FakeTime()
    for _ in range(4):
        server.answer(500)  # each service's first attempt: a retry is logged
    server.answer(401, body={"ok": False, "description": "Unauthorized"})
    server.answer(404)
    server.answer(403)
    server.answer(400)
    bus = EventBus()
    dispatcher = make_dispatcher(server, SERVICES, fake=fake, bus=bus)
    await dispatcher.start()
    bus.publish(LockSet(hard_lock()))
    await until(
        lambda: all(c.unsent or c.sent_messages for c in dispatcher.channels.values()),
        "every service to finish",
    )
    await dispatcher.stop()
    assert any(r.name == "httpx" for r in caplog.records)  # httpx did log each request…
    assert any("alert not sent" in r.getMessage() for r in caplog.records)  # …and so did we
    assert _leaks(caplog) == []


async def test_unreachable_and_hanging_services_are_logged_without_a_secret(
    server: AlertServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    hung = AlertServer(hang=True)
    await hung.start()
    closed = AlertServer()
    await closed.start()
    await closed.stop()  # nothing listens on its port any more
    try:
        store = secrets_for(server)
        store.set("alerts.discord.webhook_url",
                  f"{closed.base_url}/api/webhooks/1234567890123456789/{ALL_SECRETS[0]}")
        store.set("alerts.webhook.url", f"{hung.base_url}/hooks/incoming?key={ALL_SECRETS[5]}")
        bus = EventBus()
        dispatcher = make_dispatcher(server, ["discord", "webhook"], bus=bus, store=store,
                                     timeout=0.2, backoff=(0.0,))
        await dispatcher.start()
        bus.publish(LockSet(hard_lock()))
        await until(lambda: all(c.unsent for c in dispatcher.channels.values()), "both to give up")
        await dispatcher.stop()
    finally:
        hung.hang = False
        await hung.stop()
    messages = [r.getMessage() for r in caplog.records]
    assert any("did not answer" in m for m in messages)
    assert any("could not reach Discord" in m for m in messages)
    assert _leaks(caplog) == []


async def test_the_test_button_logs_no_secret_even_for_unsaved_ones(
    server: AlertServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    server.answer(404)
    dispatcher = make_dispatcher(server, [], store=MemorySecretStore())
    await dispatcher.start()
    typed_in = {"webhook_url": f"{server.base_url}/api/webhooks/1234567890123456789/{ALL_SECRETS[0]}"}
    result = await dispatcher.send_test("discord", secrets=typed_in)
    await dispatcher.stop()
    assert not result.ok
    assert any(r.name == "httpx" for r in caplog.records)
    assert _leaks(caplog) == []
    assert ALL_SECRETS[0] not in result.message


async def test_the_dispatcher_lists_its_secrets_for_the_apps_redaction(server: AlertServer) -> None:
    dispatcher = make_dispatcher(server, SERVICES)
    await dispatcher.start()
    values = dispatcher.secret_values()
    await dispatcher.stop()
    for secret in ALL_SECRETS:
        assert any(secret in value for value in values), secret
    # the bare token parts are there too, so a reformatted URL is still caught
    assert "AAFq-Telegram-SecretToken-Zx81" in values
    assert ALL_SECRETS[0] in values


async def test_even_a_short_ntfy_topic_stays_out_of_httpx_log_lines(
    server: AlertServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    store = secrets_for(server)
    store.set("alerts.ntfy.topic", "q7z")  # too short to search free text for, still secret
    bus = EventBus()
    dispatcher = make_dispatcher(server, ["ntfy"], bus=bus, store=store)
    await dispatcher.start()
    bus.publish(LockSet(hard_lock()))
    await until(lambda: dispatcher.channels["ntfy"].sent_messages, "the alert")
    await dispatcher.stop()
    assert server.requests[0].path == "/q7z"
    [line] = [r.getMessage() for r in caplog.records if r.name == "httpx"]
    assert "q7z" not in line
    assert line.startswith("HTTP Request: POST http://127.0.0.1/[REDACTED]")
