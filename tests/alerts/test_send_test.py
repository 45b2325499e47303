"""The settings page's Test button: one message now, and the result in plain words."""

from __future__ import annotations

import pytest

from core.app.alerts.secrets import MemorySecretStore, SecretStoreError
from tests.alerts.support import (
    AlertServer,
    alerts_config,
    make_dispatcher,
    secrets_for,
    service_tables,
)


async def _test(server: AlertServer, service: str, **kw: object) -> str:
    dispatcher = make_dispatcher(server, [service], **kw)  # type: ignore[arg-type]
    await dispatcher.start()
    try:
        result = await dispatcher.send_test(service)
    finally:
        await dispatcher.stop()
    assert result.ok == (result.message.startswith("Sent"))
    return result.message


@pytest.mark.parametrize("service", ["discord", "telegram", "ntfy", "webhook"])
async def test_a_working_service_says_sent(server: AlertServer, service: str) -> None:
    assert await _test(server, service) == "Sent"
    [request] = server.requests
    shown = request.body.decode() + request.headers.get("Title", "")  # ntfy: title in a header
    assert "Test from Risk Manager" in shown
    assert "Alerts reach you here" in shown


async def test_a_deleted_discord_webhook_says_what_to_do(server: AlertServer) -> None:
    server.answer(404, body={"message": "Unknown Webhook", "code": 10015})
    message = await _test(server, "discord")
    assert message.startswith("Not sent: Discord refused the webhook (404)")
    assert "Copy the webhook URL again" in message


async def test_a_wrong_telegram_token_and_an_unknown_chat(server: AlertServer) -> None:
    server.answer(401, body={"ok": False, "error_code": 401, "description": "Unauthorized"})
    assert "copy the token again from @BotFather" in await _test(server, "telegram")
    server.answer(400, body={"ok": False, "error_code": 400, "description": "Bad Request: chat not found"})
    message = await _test(server, "telegram")
    assert "does not know chat -1001234567890" in message and "send your bot a message" in message


async def test_a_protected_ntfy_topic(server: AlertServer) -> None:
    server.answer(403)
    assert "this topic is protected" in await _test(server, "ntfy")


async def test_rate_limited_says_when_to_try_again(server: AlertServer) -> None:
    server.answer(429, {"Retry-After": "12"})
    assert await _test(server, "webhook") == (
        "Not sent: The webhook says too many messages (429): try again in 12 s"
    )
    assert len(server.requests) == 1  # a test is one attempt: the trader is waiting


async def test_a_silent_server_says_it_did_not_answer() -> None:
    hung = AlertServer(hang=True)
    await hung.start()
    try:
        message = await _test(hung, "ntfy", timeout=0.2)
    finally:
        hung.hang = False
        await hung.stop()
    assert message.startswith("Not sent: ntfy did not answer within 0.2 s")
    assert "internet connection" in message


async def test_nothing_saved_says_what_is_missing(server: AlertServer) -> None:
    message = await _test(server, "discord", store=MemorySecretStore())
    assert message == "Not sent: no Discord webhook URL is saved: paste it in Settings, Alerts."
    assert server.requests == []


async def test_a_telegram_chat_id_is_needed(server: AlertServer) -> None:
    dispatcher = make_dispatcher(server, [])
    tables = service_tables(server)
    tables["telegram"]["chat_id"] = ""
    cfg = alerts_config({"telegram": tables["telegram"]}).alerts
    result = await dispatcher.send_test("telegram", config=cfg)
    await dispatcher.stop()
    assert result.message == "Not sent: no Telegram chat id is set: enter the chat the bot should write to."


async def test_settings_not_saved_yet_can_be_tested(server: AlertServer) -> None:
    """The page tests what the trader typed, before saving: settings and secrets given."""
    dispatcher = make_dispatcher(server, [], store=MemorySecretStore())
    cfg = alerts_config({"ntfy": {"server_url": server.base_url, "enabled": False}}).alerts
    result = await dispatcher.send_test("ntfy", config=cfg, secrets={"topic": "my-new-topic-123"})
    await dispatcher.stop()
    assert result.ok
    assert result.message == "Sent. Alerts to ntfy are switched off: tick Enabled to receive them."
    assert server.requests[0].path == "/my-new-topic-123"


async def test_a_keyring_that_cannot_be_read(server: AlertServer) -> None:
    class Broken(MemorySecretStore):
        def get(self, name: str) -> str | None:
            raise SecretStoreError("the OS keyring cannot be read (NoKeyringError)")

    dispatcher = make_dispatcher(server, [], store=Broken())
    result = await dispatcher.send_test("discord")
    await dispatcher.stop()
    assert not result.ok
    assert result.message == "Not sent: the OS keyring cannot be read (NoKeyringError)."


async def test_an_unknown_service(server: AlertServer) -> None:
    dispatcher = make_dispatcher(server, [], store=secrets_for(server))
    result = await dispatcher.send_test("slack")
    assert not result.ok and "slack" in result.message
