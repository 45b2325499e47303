"""Each service gets the request shape it documents, from a real HTTP server's point of view."""

from __future__ import annotations

import base64

import pytest

from core.app.alerts.services import Message, header_text
from core.domain.bus import EventBus
from core.engine.notices import LockSet
from tests.alerts.support import (
    ACCOUNT,
    DISCORD_ID,
    DISCORD_TOKEN,
    NTFY_ACCESS,
    NTFY_TOPIC,
    TELEGRAM_TOKEN,
    WEBHOOK_KEY,
    WEBHOOK_TOKEN,
    AlertServer,
    hard_lock,
    make_dispatcher,
    until,
)


async def _one_lock_to(server: AlertServer, service: str) -> None:
    bus = EventBus()
    dispatcher = make_dispatcher(server, [service], bus=bus)
    await dispatcher.start()
    bus.publish(LockSet(hard_lock()))
    await until(lambda: server.requests, f"the {service} request")
    await dispatcher.stop()


async def test_discord_gets_a_webhook_post_with_content_and_no_mentions(server: AlertServer) -> None:
    await _one_lock_to(server, "discord")
    [request] = server.requests
    assert request.method == "POST"
    assert request.path == f"/api/webhooks/{DISCORD_ID}/{DISCORD_TOKEN}"
    assert request.headers["Content-Type"].startswith("application/json")
    body = request.json()
    assert set(body) == {"content", "allowed_mentions"}
    assert body["allowed_mentions"] == {"parse": []}
    assert len(body["content"]) <= 2000
    assert "Daily loss limit" in body["content"]
    assert f"account {ACCOUNT}" in body["content"].lower()
    assert "RULE-" not in body["content"]


async def test_telegram_gets_send_message_with_chat_id_and_text(server: AlertServer) -> None:
    await _one_lock_to(server, "telegram")
    [request] = server.requests
    assert request.method == "POST"
    assert request.path == f"/bot{TELEGRAM_TOKEN}/sendMessage"
    body = request.json()
    assert body["chat_id"] == "-1001234567890"
    assert "Daily loss limit" in body["text"]
    assert len(body["text"]) <= 4096
    assert "parse_mode" not in body  # plain text: nothing in a reason needs escaping


async def test_ntfy_gets_the_text_as_body_and_title_priority_tags_headers(server: AlertServer) -> None:
    await _one_lock_to(server, "ntfy")
    [request] = server.requests
    assert request.method == "POST"
    assert request.path == f"/{NTFY_TOPIC}"
    assert "Daily loss limit" in request.headers["Title"]
    assert request.headers["Priority"] == "4"  # a lock: high
    assert request.headers["Tags"] == "lock"
    assert request.headers["Authorization"] == f"Bearer {NTFY_ACCESS}"
    assert "locked until" in request.text
    assert not request.text.lstrip().startswith("{")  # the message itself, not JSON


async def test_webhook_gets_the_documented_json(server: AlertServer) -> None:
    await _one_lock_to(server, "webhook")
    [request] = server.requests
    assert request.path == "/hooks/incoming"
    assert request.query == f"key={WEBHOOK_KEY}"
    assert request.headers["Authorization"] == f"Bearer {WEBHOOK_TOKEN}"
    body = request.json()
    assert body["source"] == "RiskManager" and body["version"] == 1
    assert body["event"] == "lock_set"
    assert body["priority"] == "high"
    assert body["count"] == 1 and body["dropped"] == 0 and body["unsent_before"] == 0
    [alert] = body["alerts"]
    assert alert["account_id"] == ACCOUNT
    assert alert["data"]["rule"] == "Daily loss limit" and alert["data"]["kind"] == "hard lock"
    assert alert["at"].startswith("2026-08-19T15:00:00")
    assert alert["title"] == body["title"]


@pytest.mark.parametrize("service", ["discord", "telegram", "ntfy", "webhook"])
async def test_a_long_digest_fits_each_services_limit(server: AlertServer, service: str) -> None:
    bus = EventBus()
    dispatcher = make_dispatcher(server, [service], bus=bus, queue_size=500)
    await dispatcher.start()
    for n in range(300):
        bus.publish(LockSet(hard_lock(f"RULE-00{n % 9 + 1}", ACCOUNT + n, reason="x" * 200)))
    await until(lambda: server.requests, "the digest")
    await dispatcher.stop()
    [request] = server.requests
    if service == "discord":
        assert len(request.json()["content"]) <= 2000
        assert "more" in request.json()["content"]
    elif service == "telegram":
        assert len(request.json()["text"]) <= 4096
    elif service == "ntfy":
        assert len(request.body) <= 4096
        assert request.headers["Title"] == "Risk Manager: 300 alerts"
    else:
        assert request.json()["count"] == 300
        assert len(request.json()["alerts"]) == 100 and request.json()["dropped"] == 200


def test_a_title_that_is_not_ascii_goes_as_an_encoded_word() -> None:
    assert header_text("Account locked: Daily loss limit") == "Account locked: Daily loss limit"
    encoded = header_text("Compte Élodie locked")
    assert encoded.isascii() and encoded.startswith("=?utf-8?b?") and encoded.endswith("?=")
    assert base64.b64decode(encoded[10:-2]).decode() == "Compte Élodie locked"


def test_a_single_alert_is_not_a_digest() -> None:
    from datetime import UTC, datetime

    from core.app.alerts.words import Alert, Priority

    alert = Alert("lock_set", "t", "body", Priority.HIGH, datetime(2026, 1, 1, tzinfo=UTC))
    assert not Message((alert,)).is_digest
    assert Message((alert,), dropped=1).is_digest
    assert Message((alert,), dropped=1).count == 2
