from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from core.gateway.rest import GatewayRest
from tests.gateway.support import FakeGateway, FakeTime, make_client


@pytest.fixture
def clock() -> FakeTime:
    return FakeTime(auto=True)


@pytest.fixture
def gateway(clock: FakeTime) -> FakeGateway:
    return FakeGateway(clock)


@pytest.fixture
async def client(gateway: FakeGateway, clock: FakeTime) -> AsyncIterator[GatewayRest]:
    rest = make_client(gateway, clock)
    yield rest
    await rest.aclose()
    await rest._http.aclose()
