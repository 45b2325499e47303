"""Shared by the client drivers. Runs inside a third-party client's venv: standard library only.

A driver performs a scenario with its client and prints one JSON report as its last line:
``{"steps": {name: facts}, "failures": [...]}``. A step that raised is a failure naming it;
the test then asserts on the facts, so what a client could not do is visible, not hidden.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

MNQ_ROOT = "MNQ"


def sandbox() -> dict[str, Any]:
    config: dict[str, Any] = json.loads(os.environ["SANDBOX"])
    return config


class Events:
    """Hub pushes as the client delivered them, per kind, collected from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: dict[str, list[Any]] = {}

    def recorder(self, kind: str) -> Callable[..., None]:
        def record(*args: Any) -> None:
            with self._lock:
                self._seen.setdefault(kind, []).append(args)
        return record

    def of(self, kind: str) -> list[Any]:
        with self._lock:
            return list(self._seen.get(kind, []))

    def counts(self) -> dict[str, int]:
        with self._lock:
            return {kind: len(items) for kind, items in self._seen.items()}


def payloads(args: Any) -> list[Any]:
    """The entity dicts inside whatever a client handed its callback: signalrcore gives a
    list of the invocation's arguments, user events are ``{action, data}`` envelopes,
    market events are ``(contractId, data)``."""
    found: list[Any] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if "action" in value and "data" in value:
                walk(value["data"])
            else:
                found.append(value)
        elif isinstance(value, list | tuple):
            for item in value:
                walk(item)
    walk(args)
    return found


def wait_until(check: Callable[[], Any], timeout: float = 10.0, step: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(step)


def settle(events: Events, kinds: tuple[str, ...], quiet: float = 0.3,
           timeout: float = 5.0) -> None:
    """Wait until no new push of these kinds has come for ``quiet`` seconds."""
    deadline = time.monotonic() + timeout
    last = [len(events.of(k)) for k in kinds]
    calm_since = time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.05)
        now = [len(events.of(k)) for k in kinds]
        if now != last:
            last, calm_since = now, time.monotonic()
        elif time.monotonic() - calm_since >= quiet:
            return


class Report:
    def __init__(self) -> None:
        self.steps: dict[str, Any] = {}
        self.failures: list[str] = []

    def step(self, name: str, action: Callable[[], Any]) -> Any:
        try:
            result = action()
        except Exception as exc:
            self.failures.append(f"{name}: {type(exc).__name__}: {exc}")
            traceback.print_exc(file=sys.stderr)
            return None
        self.steps[name] = result
        return result

    def emit(self) -> None:
        print(json.dumps({"steps": self.steps, "failures": self.failures}, default=str))
        sys.stdout.flush()


def last_price(events: Events) -> float | None:
    """The newest ``lastPrice`` seen on GatewayQuote pushes (quotes may be partial)."""
    for args in reversed(events.of("quote")):
        for data in payloads(args):
            if isinstance(data.get("lastPrice"), int | float):
                return float(data["lastPrice"])
    return None


def ticks_from(price: float, ticks: int, tick_size: float) -> float:
    return round(round(price / tick_size) * tick_size + ticks * tick_size, 6)
