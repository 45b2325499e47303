"""Embedded simulated ProjectX gateway (TopstepX): exchange, market, REST and SignalR hubs.

Demo mode and the tests run the real client against it on 127.0.0.1. It stands beside the
product like a real server, so it may import only ``core.domain`` and ``core.config``, never
the client, the engine or the app (only the app may start it).
"""

from core.sim.demo_trader import DemoTrader
from core.sim.exchange import SimExchange
from core.sim.market import MarketEvent, MarketSimulator
from core.sim.models import Bracket, SimAccount, SimContract, SimResult, UserEvent
from core.sim.server import (
    DEMO_ACCOUNT_ID,
    DEMO_API_KEY,
    DEMO_USERNAME,
    SimulatedGateway,
    demo_accounts,
)

__all__ = [
    "DEMO_ACCOUNT_ID",
    "DEMO_API_KEY",
    "DEMO_USERNAME",
    "Bracket",
    "DemoTrader",
    "MarketEvent",
    "MarketSimulator",
    "SimAccount",
    "SimContract",
    "SimExchange",
    "SimResult",
    "SimulatedGateway",
    "UserEvent",
    "demo_accounts",
]
