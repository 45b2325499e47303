"""Hub rebuilds cost no memory, threads or files: the real service against the simulated gateway,
both hubs dropped by the server again and again (a shorter run of the bench's 100 rebuilds)."""

from __future__ import annotations

import gc
import os
import sys
import threading
from pathlib import Path

import pytest
from signalrcore.hub_connection_builder import HubConnectionBuilder

from core.gateway import signalr_fixes
from tests.integration.conftest import StartService
from tests.integration.support import ACCT, Harness, until

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

REBUILDS = 30
MAX_GROWTH_MB = 5.0


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def rebuild(h: Harness) -> None:
    made = (h.service.user_hub.connections_made, h.service.market_hub.connections_made)
    assert h.sim.drop_connections() >= 2
    await until(lambda: h.service.user_hub.connections_made > made[0]
                and h.service.market_hub.connections_made > made[1] and h.protected(),
                "both hubs rebuilt and the account protected again")


async def test_many_hub_rebuilds_add_no_memory_threads_or_files(start_service: StartService) -> None:
    h = await start_service(max_contracts={"limit": 2})
    for _ in range(3):  # warm up: first-use caches, the thread pools, the sim's own buffers
        await rebuild(h)
    gc.collect()
    rss, threads, fds = rss_mb(), threading.active_count(), open_fds()
    for _ in range(REBUILDS):
        await rebuild(h)
    h.notices.clear()
    gc.collect()
    grown = rss_mb() - rss
    assert grown <= MAX_GROWTH_MB, f"{REBUILDS} rebuilds added {grown:.1f} MB"
    await until(lambda: threading.active_count() <= threads + 1, "no thread left behind")
    await until(lambda: open_fds() <= fds + 2, "no file handle left behind")
    assert h.service.status[ACCT] == "protected"


def test_every_builder_shares_one_tls_context_and_keeps_the_librarys_attributes() -> None:
    signalr_fixes.apply()
    first, second = HubConnectionBuilder(), HubConnectionBuilder()
    assert first.ssl_context is second.ssl_context is signalr_fixes.shared_ssl_context()
    library = object.__new__(HubConnectionBuilder)
    signalr_fixes.LIBRARY_BUILDER_INIT(library)
    assert vars(first).keys() == vars(library).keys()
    assert library.ssl_context is not first.ssl_context  # the library makes a new one each time
    # Still a context that verifies the server's certificate and name.
    assert first.ssl_context.check_hostname and first.ssl_context.verify_mode.name == "CERT_REQUIRED"
