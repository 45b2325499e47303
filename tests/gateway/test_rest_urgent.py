"""Enforcement's requests give up quickly on a gateway that accepts and never answers (real
httpx over a real socket on 127.0.0.1); background reads keep their patient defaults."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from core.gateway.errors import AmbiguousResult, GatewayHttpError
from core.gateway.rest import GatewayRest
from core.gateway.session import URGENT_ATTEMPTS, urgent_requests
from tests.gateway.support import API_KEY, USERNAME, make_jwt

SHORT = httpx.Timeout(0.2, connect=0.2)


class Silent:
    """Accepts every connection and reads the request; never answers."""

    def __init__(self) -> None:
        self.requests = 0
        self.server: asyncio.Server | None = None

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.requests += 1
        while await reader.read(65536):
            pass
        writer.close()

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"


@pytest.fixture
async def silent() -> AsyncIterator[Silent]:
    server = Silent()
    server.server = await asyncio.start_server(server.serve, "127.0.0.1", 0)
    yield server
    server.server.close()


@pytest.fixture
async def rest(silent: Silent) -> AsyncIterator[GatewayRest]:
    client = GatewayRest(
        silent.url, USERNAME, API_KEY, urgent_timeout=SHORT, sleep=lambda _s: asyncio.sleep(0),
        http=httpx.AsyncClient(timeout=httpx.Timeout(30.0)),
    )
    client._tokens.set(make_jwt(time.time() + 3600))  # logged in before the gateway went quiet
    yield client
    await client.aclose()
    await client._http.aclose()


async def test_a_close_gives_up_after_the_short_timeout_without_resending(
    rest: GatewayRest, silent: Silent
) -> None:
    with pytest.raises(AmbiguousResult, match="ReadTimeout"):
        await asyncio.wait_for(rest.close_contract(1, "CON.F.US.MNQ.U26"), 10.0)
    assert silent.requests == 1  # it may have been executed: never sent twice


async def test_a_read_inside_enforcement_tries_briefly(rest: GatewayRest, silent: Silent) -> None:
    with urgent_requests(), pytest.raises(GatewayHttpError, match="gave up"):
        await asyncio.wait_for(rest.open_positions(1), 10.0)
    assert silent.requests == URGENT_ATTEMPTS


async def test_urgency_reaches_the_tasks_enforcement_starts(rest: GatewayRest, silent: Silent) -> None:
    with urgent_requests():
        results = await asyncio.wait_for(
            asyncio.gather(rest.open_positions(1), rest.open_orders(1), return_exceptions=True), 10.0
        )
    assert all(isinstance(r, GatewayHttpError) for r in results)


async def test_a_background_read_is_not_urgent(rest: GatewayRest, silent: Silent) -> None:
    # Outside enforcement the client's own (long) timeout applies: still waiting after the
    # short one has passed several times over.
    read = asyncio.ensure_future(rest.open_positions(1))
    await asyncio.sleep(1.0)
    assert not read.done()
    read.cancel()
