"""The gateway's time for the app's clock (:class:`core.domain.clock.GatewayClock`)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from core.domain.clock import GatewayClock

log = logging.getLogger("core.app.service")


async def learn_gateway_time(
    clock: GatewayClock, login: Callable[[], Awaitable[object]], timeout: float
) -> None:
    """Before restoring: locks and missed resets are judged on "now", so ask the gateway first
    (a login answers with its ``Date``), briefly, so that a PC clock moved while the app was
    stopped does not decide. Unreachable: this computer's clock until the gateway answers."""
    try:
        async with asyncio.timeout(timeout):
            await login()
    except Exception as exc:  # a refused login is raised again, and final, just after
        log.warning("could not learn the gateway's time before restoring (%s)", exc)
    if not clock.anchored:
        log.warning("restored locks are judged on this computer's clock until the gateway answers")
