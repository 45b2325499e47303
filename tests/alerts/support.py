"""A real HTTP server on 127.0.0.1 standing in for Discord, Telegram, ntfy and a webhook, and the
helpers the alert tests share.

The server records every request (path, headers, body) and answers from a script: a list of
(status, headers, body) taken in order, then 200/204. ``hang`` makes it accept a request and
never answer.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from aiohttp import web

from core.app.alerts.dispatcher import AlertDispatcher
from core.app.alerts.secrets import MemorySecretStore
from core.config.io import parse_config
from core.config.models import AppConfig
from core.domain.bus import EventBus
from core.domain.clock import ManualClock
from core.modules.lockouts import Lock, LockKind

T = TypeVar("T")

ACCOUNT = 26282486
T0 = datetime(2026, 8, 19, 15, 0, tzinfo=UTC)  # Wed 10:00 CDT
WAIT = 10.0  # a safety net for hangs, never a speed assertion

DISCORD_TOKEN = "dWqR7c1sKk2hJ9xq-Discord-SecretToken-8842"
DISCORD_ID = "1234567890123456789"
TELEGRAM_TOKEN = "7301122334:AAFq-Telegram-SecretToken-Zx81"
NTFY_TOPIC = "riskmgr-secret-topic-9f2k1"
NTFY_ACCESS = "tk_ntfySecretAccess00112233"
WEBHOOK_KEY = "whk-SecretQueryKey-55d1e0"
WEBHOOK_TOKEN = "webhook-bearer-Secret-77aa"
ALL_SECRETS = (DISCORD_TOKEN, DISCORD_ID, TELEGRAM_TOKEN, NTFY_TOPIC, NTFY_ACCESS, WEBHOOK_KEY,
               WEBHOOK_TOKEN)


@dataclass
class Received:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


@dataclass
class AlertServer:
    requests: list[Received] = field(default_factory=list)
    script: list[tuple[int, dict[str, str], bytes]] = field(default_factory=list)
    hang: bool = False
    hanging: int = 0  # requests being held right now
    _runner: web.AppRunner | None = None
    port: int = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def answer(self, status: int, headers: dict[str, str] | None = None,
               body: bytes | str | dict[str, Any] = b"") -> None:
        if isinstance(body, dict):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        self.script.append((status, headers or {}, body))

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.requests.append(
            Received(request.method, request.path, request.query_string, dict(request.headers), body)
        )
        if self.hang:
            self.hanging += 1
            try:
                await asyncio.Event().wait()  # accepted, never answered
            finally:
                self.hanging -= 1
        if self.script:
            status, headers, payload = self.script.pop(0)
            return web.Response(status=status, headers=headers, body=payload)
        if request.path.endswith("/sendMessage"):
            return web.json_response({"ok": True, "result": {"message_id": len(self.requests)}})
        return web.Response(status=204 if "/webhooks/" in request.path else 200)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        # No access log: it is the stand-in service's own log, and it prints the secret path.
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.1, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


class FakeTime:
    """Sleeps that return at once and are recorded; a monotonic clock they advance. Backoff,
    Retry-After, spacing and the connection timer are then checked by what was asked for,
    not by waiting."""

    def __init__(self) -> None:
        self.now = 1_000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        self.sleeps.append(delay)
        self.now += max(delay, 0.0)
        await asyncio.sleep(0)


async def until(check: Callable[[], T], what: str, timeout: float = WAIT) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        await asyncio.sleep(0.005)


def alerts_config(services: dict[str, dict[str, Any]], **top: Any) -> AppConfig:
    """A config with the given services enabled (unless they say otherwise)."""
    tables = {name: {"enabled": True, **table} for name, table in services.items()}
    return parse_config({"alerts": {**top, **tables}})


def secrets_for(server: AlertServer) -> MemorySecretStore:
    base = server.base_url
    return MemorySecretStore({
        "alerts.discord.webhook_url": f"{base}/api/webhooks/{DISCORD_ID}/{DISCORD_TOKEN}",
        "alerts.telegram.bot_token": TELEGRAM_TOKEN,
        "alerts.ntfy.topic": NTFY_TOPIC,
        "alerts.ntfy.access_token": NTFY_ACCESS,
        "alerts.webhook.url": f"{base}/hooks/incoming?key={WEBHOOK_KEY}",
        "alerts.webhook.token": WEBHOOK_TOKEN,
    })


def service_tables(server: AlertServer) -> dict[str, dict[str, Any]]:
    return {
        "discord": {},
        "telegram": {"chat_id": -1001234567890, "api_url": server.base_url},
        "ntfy": {"server_url": server.base_url},
        "webhook": {},
    }


def make_dispatcher(
    server: AlertServer,
    services: list[str],
    *,
    fake: FakeTime | None = None,
    bus: EventBus | None = None,
    store: MemorySecretStore | None = None,
    clock: ManualClock | None = None,
    top: dict[str, Any] | None = None,
    events: list[str] | None = None,
    **options: Any,
) -> AlertDispatcher:
    fake = fake or FakeTime()
    tables = service_tables(server)
    chosen = {name: {**tables[name], **({"events": events} if events else {})} for name in services}
    cfg = alerts_config(chosen, **(top or {}))
    options.setdefault("timeout", 2.0)
    return AlertDispatcher(
        bus or EventBus(),
        cfg,
        store or secrets_for(server),
        clock=clock or ManualClock(T0),
        monotonic=fake.monotonic,
        sleep=fake.sleep,
        gather=0.0,
        **options,
    )


def hard_lock(rule_id: str = "RULE-003", account_id: int = ACCOUNT, *, at: datetime = T0,
              hours: float | None = 7, reason: str = "daily realized P&L -$510.00 reached the loss limit -$500.00") -> Lock:
    until_at = at + timedelta(hours=hours) if hours is not None else None
    return Lock(account_id, rule_id, LockKind.HARD, reason, at, until_at)


def cooldown(rule_id: str = "RULE-007", account_id: int = ACCOUNT, *, at: datetime = T0,
             seconds: int = 1800, reason: str = "30-minute cooldown: an MNQ order lost -$210.00") -> Lock:
    return Lock(account_id, rule_id, LockKind.COOLDOWN, reason, at, at + timedelta(seconds=seconds))
