from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.alerts.support import AlertServer


@pytest.fixture
async def server() -> AsyncIterator[AlertServer]:
    alert_server = AlertServer()
    await alert_server.start()
    yield alert_server
    alert_server.hang = False
    await alert_server.stop()
