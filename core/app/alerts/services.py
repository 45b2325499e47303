"""The four services: what each request looks like, and what each refusal means in plain words.

- Discord: POST the webhook URL with JSON ``{"content": …}`` (at most 2,000 characters; mentions
  switched off so no text can ping a whole server).
- Telegram: POST ``<api_url>/bot<token>/sendMessage`` with JSON ``{"chat_id", "text"}`` (4,096
  characters; plain text, no markup to escape).
- ntfy: POST ``<server_url>/<topic>`` with the text as the body (kept under ntfy's 4,096-byte
  message size) and the ``Title``, ``Priority`` (1-5) and ``Tags`` headers; an optional access
  token as ``Authorization: Bearer``.
- Webhook: POST the URL with the JSON documented in :func:`webhook_payload`; an optional token
  as ``Authorization: Bearer``.

A :class:`Message` is one alert, or a digest of several sent as one.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from core.app.alerts.words import Alert, Priority
from core.config.alerts import NtfyAlerts, ServiceAlerts, TelegramAlerts

TITLES = {"discord": "Discord", "telegram": "Telegram", "ntfy": "ntfy", "webhook": "The webhook"}
PAYLOAD_VERSION = 1
DIGEST_ITEM_CHARS = 300  # one alert's share of a digest, before the text is cut to fit
MAX_WEBHOOK_ITEMS = 100


@dataclass(frozen=True, slots=True)
class Message:
    """What one request carries: a single alert, or a digest of ``alerts`` plus ``dropped``
    more that did not fit the queue and are only counted."""

    alerts: tuple[Alert, ...]
    dropped: int = 0
    unsent_before: int = 0  # alerts that earlier messages failed to deliver

    @property
    def count(self) -> int:
        return len(self.alerts) + self.dropped

    @property
    def is_digest(self) -> bool:
        return self.count > 1

    @property
    def priority(self) -> Priority:
        return max((a.priority for a in self.alerts), default=Priority.DEFAULT)

    @property
    def title(self) -> str:
        if not self.is_digest:
            return self.alerts[0].title
        return f"Risk Manager: {self.count} alerts"

    @property
    def tags(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for alert in sorted(self.alerts, key=lambda a: -a.priority):
            for tag in alert.tags:
                seen.setdefault(tag, None)
        return tuple(seen)[:5]

    def text(self, limit: int, *, with_title: bool = False) -> str:
        """The body, cut to ``limit`` characters; a digest lists its alerts oldest first and
        ends with "… and N more" when they do not all fit."""
        head = f"{self.title}\n" if with_title else ""
        note = (
            f"({self.unsent_before} earlier alert(s) could not be sent.)\n"
            if self.unsent_before else ""
        )
        if not self.is_digest:
            return _cut(head + note + self.alerts[0].text, limit)
        lines = [
            _cut(f"• {a.title}: {' '.join(a.text.split())}", DIGEST_ITEM_CHARS)
            for a in self.alerts
        ]
        body, shown = head + note, 0
        for line in lines:
            more = len(lines) - shown - 1 + self.dropped
            tail = f"\n… and {more} more" if more else ""
            if len(body) + len(line) + 1 + len(tail) > limit:
                break
            body += line + "\n"
            shown += 1
        rest = len(lines) - shown + self.dropped
        if rest:
            body += f"… and {rest} more"
        return _cut(body.rstrip("\n"), limit)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(0, limit - 1)] + "…"


def _cut_bytes(text: str, limit: int) -> str:
    raw = text.encode("utf-8")
    if len(raw) <= limit:
        return text
    return raw[: limit - 3].decode("utf-8", errors="ignore") + "…"


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One HTTP POST."""

    url: str
    headers: Mapping[str, str]
    json: Any = None
    content: bytes | None = None


def missing(service: str, settings: ServiceAlerts, secrets: Mapping[str, str]) -> str | None:
    """What is missing before ``service`` can send, in words; None when it can."""
    if service == "discord" and not secrets.get("webhook_url"):
        return "no Discord webhook URL is saved: paste it in Settings, Alerts"
    if service == "telegram":
        if not secrets.get("bot_token"):
            return "no Telegram bot token is saved: paste the one @BotFather gave you"
        if isinstance(settings, TelegramAlerts) and not settings.chat_id:
            return "no Telegram chat id is set: enter the chat the bot should write to"
    if service == "ntfy" and not secrets.get("topic"):
        return "no ntfy topic is saved: choose a long, hard-to-guess topic name"
    if service == "webhook" and not secrets.get("url"):
        return "no webhook URL is saved"
    return None


def request(
    service: str, message: Message, settings: ServiceAlerts, secrets: Mapping[str, str]
) -> Outgoing:
    """The request that delivers ``message`` (call :func:`missing` first)."""
    if service == "discord":
        return Outgoing(
            secrets["webhook_url"],
            {"Content-Type": "application/json"},
            json={
                "content": _cut(f"**{message.title}**\n{message.text(1900)}", 2000),
                "allowed_mentions": {"parse": []},
            },
        )
    if service == "telegram":
        assert isinstance(settings, TelegramAlerts)
        return Outgoing(
            f"{settings.api_url}/bot{secrets['bot_token']}/sendMessage",
            {"Content-Type": "application/json"},
            json={
                "chat_id": settings.chat_id,
                "text": message.text(4096, with_title=True),
                "disable_web_page_preview": True,
            },
        )
    if service == "ntfy":
        assert isinstance(settings, NtfyAlerts)
        headers = {
            "Title": header_text(message.title),
            "Priority": str(int(message.priority)),
            "Tags": ",".join(message.tags),
            "Content-Type": "text/plain; charset=utf-8",
        }
        if secrets.get("access_token"):
            headers["Authorization"] = f"Bearer {secrets['access_token']}"
        body = _cut_bytes(message.text(4000), 4000)
        return Outgoing(
            f"{settings.server_url}/{quote(secrets['topic'], safe='')}",
            headers,
            content=body.encode("utf-8"),
        )
    if service == "webhook":
        headers = {"Content-Type": "application/json"}
        if secrets.get("token"):
            headers["Authorization"] = f"Bearer {secrets['token']}"
        return Outgoing(secrets["url"], headers, json=webhook_payload(message))
    raise KeyError(service)


def header_text(text: str) -> str:
    """A header value: ASCII as is, anything else as an RFC 2047 word (which ntfy decodes),
    because HTTP headers are Latin-1 at best and an account name may not be."""
    flat = " ".join(text.split())
    if flat.isascii():
        return flat
    return "=?utf-8?b?" + base64.b64encode(flat.encode("utf-8")).decode("ascii") + "?="


def _alert_json(alert: Alert) -> dict[str, Any]:
    return {
        "event": alert.event,
        "title": alert.title,
        "text": alert.text,
        "priority": alert.priority.name.lower(),
        "at": alert.at.isoformat(),
        "account_id": alert.account_id,
        "account_name": alert.account_name,
        "data": dict(alert.data),
    }


def webhook_payload(message: Message) -> dict[str, Any]:
    """The generic webhook's JSON (``version`` 1)::

        {"source": "RiskManager", "version": 1,
         "event": "lock_set" | … | "digest",
         "title": "...", "text": "...",          # ready to show as is
         "priority": "low" | "default" | "high" | "urgent",
         "count": 1,                             # alerts this message stands for
         "dropped": 0,                           # of those, left out of "alerts" (a storm)
         "unsent_before": 0,                     # alerts earlier messages could not deliver
         "alerts": [{"event", "title", "text", "priority", "at" (ISO 8601, UTC),
                     "account_id" (or null), "account_name", "data" {…}}, …]}

    ``data`` holds numbers for a program: for ``day_summary`` the trading day, net, gross,
    fees (as decimal strings), fills, exits, winners, losers, breaches and locks by rule name.
    """
    alerts = [_alert_json(a) for a in message.alerts[:MAX_WEBHOOK_ITEMS]]
    left_out = max(0, len(message.alerts) - MAX_WEBHOOK_ITEMS)
    return {
        "source": "RiskManager",
        "version": PAYLOAD_VERSION,
        "event": "digest" if message.is_digest else message.alerts[0].event,
        "title": message.title,
        "text": message.text(20_000),
        "priority": message.priority.name.lower(),
        "count": message.count,
        "dropped": message.dropped + left_out,
        "unsent_before": message.unsent_before,
        "alerts": alerts,
    }


def secret_fragments(secrets: Mapping[str, str]) -> list[str]:
    """Every form of the secrets that could show up in a log line: the values, and for a URL
    its path and the long parts of it (a Discord webhook's id and token). Longest first; a
    value too short to search free text for safely is still listed (URLs are checked for it)."""
    found: set[str] = set()
    for value in secrets.values():
        if not value:
            continue
        found.add(value)
        if "://" in value:
            parts = urlsplit(value)
            if parts.path.strip("/"):
                found.add(parts.path)
            if parts.query:
                found.add(parts.query)
            for piece in (*parts.path.split("/"), *parts.query.split("&")):
                token = piece.partition("=")[2] or piece
                if len(token) >= 8 and any(ch.isdigit() for ch in token):
                    found.add(token)
        elif ":" in value:  # a Telegram bot token: "<bot id>:<secret>"
            found.add(value.partition(":")[2])
    return sorted((f for f in found if f), key=len, reverse=True)


def refusal(service: str, status: int, body: bytes, settings: ServiceAlerts) -> str:
    """A 4xx answer (other than 429) in plain words, with what to do about it."""
    name = TITLES[service]
    if service == "discord":
        if status in (401, 403, 404):
            return (f"Discord refused the webhook ({status}): it was deleted or the URL is "
                    "wrong. Copy the webhook URL again in Discord and save it in Settings.")
        return f"Discord refused the message ({status})."
    if service == "telegram":
        said = _telegram_description(body)
        if status == 401 or status == 404:
            return (f"Telegram refused the bot token ({status}): copy the token again from "
                    "@BotFather and save it in Settings.")
        if status == 403:
            return ("The bot may not write to this chat (403): open the chat with your bot and "
                    "press Start, or add the bot to the group.")
        if status == 400 and "chat not found" in said.lower():
            chat = settings.chat_id if isinstance(settings, TelegramAlerts) else ""
            return (f"Telegram does not know chat {chat}: send your bot a message first, then "
                    "check the chat id.")
        return f"Telegram refused the message ({status}{': ' + said if said else ''})."
    if service == "ntfy":
        if status in (401, 403):
            return (f"ntfy refused ({status}): this topic is protected. Save an access token "
                    "for it, or choose another topic.")
        return f"ntfy refused the message ({status}): check the server address and the topic."
    if status in (401, 403):
        return f"{name} refused ({status}): check its bearer token."
    if status == 404:
        return f"{name} answered 404: check its URL."
    return f"{name} refused the message ({status})."


def _telegram_description(body: bytes) -> str:
    try:
        data = json.loads(body)
    except ValueError:
        return ""
    text = data.get("description") if isinstance(data, dict) else None
    return text[:200] if isinstance(text, str) else ""


def retry_after_in_body(body: bytes) -> float | None:
    """Discord's ``retry_after`` and Telegram's ``parameters.retry_after``, in seconds."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    value = data.get("retry_after")
    params = data.get("parameters")
    if value is None and isinstance(params, dict):
        value = params.get("retry_after")
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return float(value)
    return None
