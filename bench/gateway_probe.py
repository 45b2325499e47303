"""Timing hooks for the gateway benchmark, attached from the outside to the sim and the service.

A :class:`Breach` is one breach's timeline; a :class:`QuoteStream` holds per-quote stamps; the
:class:`Probe` wraps the sim's user-hub push and REST handler, signalrcore's frame parser on
the receive thread, and the service's ``engine.handle``, ``executor.submit`` and market-hub
``_deliver``. Nothing in ``core`` is edited.
"""

from __future__ import annotations

import asyncio
import json
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench.measure import perf
from core.app.service import RiskService
from core.domain.events import PositionEvent, QuoteEvent
from core.gateway.signalr_fixes import TolerantJsonHubProtocol
from core.sim.security import normalize_path
from core.sim.server import SimulatedGateway

CLOSE_PATHS = ("position/closecontract", "position/partialclosecontract")


@dataclass
class Breach:
    """One breach's timeline (perf_counter seconds)."""

    kind: str  # "RULE-001" (a position push) or "RULE-004" (a quote push)
    contract_id: str
    size: int = 0  # RULE-001: the breaching position size to look for in the push
    seq: int = -1  # RULE-004: the breaching quote's index in the quote stream
    pushed: float = 0.0  # right before the sim pushes the breaching event
    received: float = math.nan  # signalrcore's receive thread parses the frame
    engine: float = math.nan  # engine.handle() gets the event
    submitted: float = math.nan  # the engine hands the command to the executor
    read: float = math.nan  # the executor's pre-read (Position/searchOpen) reaches the sim
    arrived: float = math.nan  # closeContract / partialCloseContract reaches the sim
    path: str = ""

    @property
    def total_ms(self) -> float:
        return (self.arrived - self.pushed) * 1e3


@dataclass
class QuoteStream:
    """Per-quote stamps, index-aligned: one hub connection delivers in order."""

    sent: list[float] = field(default_factory=list)
    received: list[float] = field(default_factory=list)  # appended by the receive thread
    handled: list[float] = field(default_factory=list)

    def bases(self) -> tuple[int, int, int]:
        return len(self.sent), len(self.received), len(self.handled)


class Probe:
    """The hooks: sim push / client receive thread / engine / executor / sim REST arrival."""

    def __init__(self) -> None:
        self.current: Breach | None = None
        self.arrived = asyncio.Event()
        self.quotes = QuoteStream()
        self.base = (0, 0, 0)  # quote-stream indices at the start of the current phase
        self.stray_enforcement = 0
        self.recv_cpu = 0.0  # receive-thread CPU seconds, sampled inside that thread
        self.recv_cpu_mark: float | None = None
        self.recv_thread = 0  # a reconnect brings a new receive thread with its own clock
        self.deliver_time = 0.0  # loop seconds spent in the market hub's _deliver
        self.deliver_calls = 0

    def begin(self, breach: Breach) -> None:
        self.current = breach
        self.arrived.clear()

    def start_phase(self) -> None:
        self.base = self.quotes.bases()

    def quote_index(self, seq: int, which: list[float], base: int) -> float:
        i = base + (seq - self.base[0])
        return which[i] if 0 <= i < len(which) else math.nan

    # --- sim side ---
    def wrap_user_push(self, sim: SimulatedGateway) -> None:
        original = sim.user_hub.push

        def push(target: str, arguments: list[Any], accept: Any = None) -> int:
            b = self.current
            if (
                b is not None
                and b.kind == "RULE-001"
                and not b.pushed
                and target == "GatewayUserPosition"
            ):
                data = (
                    arguments[0].get("data", {})
                    if arguments and isinstance(arguments[0], dict)
                    else {}
                )
                if data.get("contractId") == b.contract_id and data.get("size") == b.size:
                    b.pushed = perf()
            return original(target, arguments, accept)

        sim.user_hub.push = push  # type: ignore[method-assign]

    def wrap_rest(self, sim: SimulatedGateway) -> None:
        original = sim.rest.handle

        async def handle(request: Any) -> Any:
            t = perf()
            path = normalize_path(request.match_info.get("tail", ""))
            b = self.current
            if path in CLOSE_PATHS:
                body = json.loads(await request.read() or b"{}")  # cached for the real handler
                if (
                    b is not None
                    and b.pushed
                    and math.isnan(b.arrived)
                    and body.get("contractId") == b.contract_id
                ):
                    b.arrived, b.path = t, path
                    self.arrived.set()
                else:
                    self.stray_enforcement += 1
            elif (
                path == "position/searchopen"
                and b is not None
                and not math.isnan(b.submitted)
                and math.isnan(b.read)
            ):
                b.read = t
            return await original(request)

        sim.rest.handle = handle  # type: ignore[method-assign]

    # --- client side ---
    def patch_receive_thread(self) -> Callable[[], None]:
        original = TolerantJsonHubProtocol.parse_messages
        received = self.quotes.received
        thread_time, get_ident = time.thread_time, threading.get_ident

        def parse_messages(proto: Any, raw: str) -> list[Any]:
            t = perf()
            n = raw.count('"GatewayQuote"')
            if n:
                cpu, thread = thread_time(), get_ident()
                if self.recv_cpu_mark is not None and thread == self.recv_thread:
                    self.recv_cpu += cpu - self.recv_cpu_mark
                self.recv_cpu_mark, self.recv_thread = cpu, thread
                for _ in range(n):
                    received.append(t)
            else:
                b = self.current
                if (
                    b is not None
                    and b.kind == "RULE-001"
                    and b.pushed
                    and math.isnan(b.received)
                    and '"GatewayUserPosition"' in raw
                    and b.contract_id in raw
                ):
                    b.received = t
            return original(proto, raw)

        TolerantJsonHubProtocol.parse_messages = parse_messages  # type: ignore[method-assign,assignment]

        def undo() -> None:
            TolerantJsonHubProtocol.parse_messages = original  # type: ignore[method-assign]

        return undo

    def wrap_service(self, service: RiskService) -> None:
        engine, executor, hub = service.engine, service.enforcement, service.market_hub
        original_handle = engine.handle
        handled = self.quotes.handled

        def handle(event: Any) -> None:
            t = perf()
            kind = type(event)
            if kind is QuoteEvent:
                handled.append(t)
            elif kind is PositionEvent:
                b = self.current
                if (
                    b is not None
                    and b.kind == "RULE-001"
                    and b.pushed
                    and math.isnan(b.engine)
                    and event.contract_id == b.contract_id
                    and event.size == b.size
                ):
                    b.engine = t
            original_handle(event)

        engine.handle = handle  # type: ignore[method-assign]

        original_submit = executor.submit

        def submit(command: Any) -> None:
            b = self.current
            if (
                b is not None
                and b.pushed
                and math.isnan(b.submitted)
                and getattr(command, "contract_id", None) == b.contract_id
            ):
                b.submitted = perf()
            original_submit(command)

        executor.submit = submit  # type: ignore[method-assign]

        # The hub captures _deliver when it connects: set before the first connect runs.
        original_deliver = hub._deliver

        def deliver(event: str, arguments: Any) -> None:
            t = perf()
            original_deliver(event, arguments)
            self.deliver_time += perf() - t
            self.deliver_calls += 1

        hub._deliver = deliver  # type: ignore[method-assign]
