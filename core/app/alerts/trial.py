"""The settings page's Test button: one message to one service now, its outcome in words.

Apart from the dispatcher's queues and workers: a test is sent at once and never retried, with
the settings in force or the ones typed on a page not saved yet. Those secrets may not be saved
yet either, so they are kept out of httpx's log while the test is sent.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

import httpx

from core.app.alerts import services
from core.app.alerts.channel import Sender
from core.app.alerts.log_guard import LEAKY_LOGGERS, HttpxSecretFilter
from core.app.alerts.secrets import SecretStore, SecretStoreError, read_secrets
from core.app.alerts.services import Message
from core.app.alerts.words import Alert, Priority
from core.config.alerts import SERVICES, AlertsConfig

EVENT_WORDS = {
    "lock_set": "locks and cooldowns",
    "lock_lifted": "locks lifted",
    "enforcement_failing": "enforcement failing",
    "enforcement_recovered": "enforcement recovered",
    "warning": "warnings",
    "connection_lost": "connection lost and restored",
    "day_summary": "the end-of-day summary",
    "breach": "every breach",
}


@dataclass(frozen=True, slots=True)
class TestResult:
    """What the settings page's Test button shows."""

    __test__ = False  # not a pytest class

    ok: bool
    message: str

    def __str__(self) -> str:
        return self.message


async def send_test_message(
    service: str,
    config: AlertsConfig,
    store: SecretStore,
    secrets: Mapping[str, str] | None,
    *,
    client: Callable[[], httpx.AsyncClient | None],
    timeout: float,
    now: Callable[[], datetime],
) -> TestResult:
    """Send one test message to ``service`` with ``config`` (and ``secrets``, or those in
    ``store``). ``client`` is the dispatcher's HTTP client when it has one by the time the
    message goes; otherwise a client is made for this message alone."""
    if service not in SERVICES:
        return TestResult(False, f"there is no alert service called {service!r}")
    title = services.TITLES[service]
    settings = config.service(service)
    if secrets is None:
        try:
            secrets = await read_secrets(store, service)
        except SecretStoreError as exc:
            return TestResult(False, f"Not sent: {exc}.")
    lacking = services.missing(service, settings, secrets)
    if lacking is not None:
        return TestResult(False, f"Not sent: {lacking}.")
    events = ", ".join(EVENT_WORDS[e] for e in settings.events) or "nothing (no events ticked)"
    alert = Alert(
        "test", "Test from Risk Manager",
        f"Alerts reach you here. This service gets: {events}.",
        Priority.DEFAULT, now(), tags=("white_check_mark",),
    )
    shared = client()
    temporary = shared is None
    if shared is None:
        ssl_context = await asyncio.to_thread(httpx.create_ssl_context)
        shared = httpx.AsyncClient(verify=ssl_context, follow_redirects=False)
    # The secrets being tested may not be saved yet: keep them out of httpx's log too.
    extra = services.secret_fragments(secrets)
    test_filter = HttpxSecretFilter(lambda: extra)
    for name in LEAKY_LOGGERS:
        logging.getLogger(name).addFilter(test_filter)
    try:
        outgoing = services.request(service, Message((alert,)), settings, secrets)
        outcome = await Sender(shared, timeout, now).post(service, outgoing, settings)
    finally:
        for name in LEAKY_LOGGERS:
            logging.getLogger(name).removeFilter(test_filter)
        if temporary:
            await shared.aclose()
    if outcome.ok:
        if not settings.enabled:
            return TestResult(True, f"Sent. Alerts to {title} are switched off: tick "
                                    "Enabled to receive them.")
        return TestResult(True, "Sent")
    problem = outcome.problem
    if outcome.wait is not None:
        problem += f": try again in {max(1, round(outcome.wait))} s"
    elif outcome.retry:
        problem += ": check the address and your internet connection, then try again"
    return TestResult(False, f"Not sent: {problem}")
