"""The GUI benchmark's probes and instruments, attached from the outside to the loop and the app.

Two stall probes (a precise Qt timer and an asyncio sleeper), the app's loop-thread work timed
by wrapping bound methods (:class:`Instruments`), a repaint counter, and the attribution logs:
every event's start (:class:`EventLog`) and slow asyncio callbacks (:class:`HandleLog`).
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import gc
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, QTimer

from bench.measure import perf
from gui.app import TrayApp

PROBE_MS = 5
Stall = tuple[float, float, float]  # stall ms, gap start, gap end (perf_counter s)


class QtProbe(QObject):
    """A precise 5 ms QTimer; every firing's time is kept while recording."""

    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []
        self.recording = False
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(PROBE_MS)
        self._timer.timeout.connect(self._fire)
        self._timer.start()

    def _fire(self) -> None:
        if self.recording:
            self.times.append(perf())

    def stop(self) -> None:
        self._timer.stop()


class AsyncProbe:
    """A task sleeping 5 ms at a time; every wake-up's time is kept while recording."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self.recording = False
        self._task = asyncio.ensure_future(self._loop())

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(PROBE_MS / 1000)
            if self.recording:
                self.times.append(perf())

    async def stop(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


def stalls(times: list[float]) -> list[Stall]:
    return [
        (max(0.0, (b - a) * 1e3 - PROBE_MS), a, b) for a, b in zip(times, times[1:], strict=False)
    ]


@dataclass
class Timed:
    """Calls of one piece of the app's loop-thread work, with their spans."""

    spans: list[tuple[float, float]] = field(default_factory=list)
    recording: bool = False

    def add(self, start: float, end: float) -> None:
        if self.recording:
            self.spans.append((start, end))

    def durations_ms(self) -> list[float]:
        return [(b - a) * 1e3 for a, b in self.spans]

    def overlap_ms(self, start: float, end: float) -> float:
        return sum(max(0.0, min(b, end) - max(a, start)) for a, b in self.spans) * 1e3


def wrap(stat: Timed, fn: Callable[..., Any]) -> Callable[..., Any]:
    def timed(*args: Any, **kwargs: Any) -> Any:
        t = perf()
        try:
            return fn(*args, **kwargs)
        finally:
            stat.add(t, perf())

    return timed


class UpdateCounter(QObject):
    """Counts backing-store repaints (UpdateRequest) of the dashboard window."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def eventFilter(self, _watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.UpdateRequest:
            self.count += 1
        return False


def event_name(code: int) -> str:
    try:
        return QEvent.Type(code).name
    except ValueError:
        return f"event {code}"


class EventLog(QObject):
    """Installed on the application: the start of every event delivered on the loop thread.

    An event's share of the loop is the time until the next event starts: its handling (with
    anything it sends synchronously, such as a timer's Python slot or an asyncio callback run
    from qasync's timer), plus any wait for the GIL before the next one can be filtered. Costs
    a Python call per event, so only the attribution run has it.
    """

    def __init__(self) -> None:
        super().__init__()
        self.starts: list[float] = []
        self.what: list[tuple[int, str]] = []

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        self.starts.append(perf())
        self.what.append((int(event.type().value), type(watched).__name__))
        return False

    def culprits(self, start: float, end: float, top: int = 3) -> list[tuple[float, str]]:
        """The kinds of event that held the loop longest between ``start`` and ``end``."""
        starts = self.starts
        i = max(0, bisect.bisect_left(starts, start) - 1)
        held: dict[str, float] = {}
        while i < len(starts) - 1 and starts[i] < end:
            share = min(starts[i + 1], end) - max(starts[i], start)
            if share > 0:
                code, receiver = self.what[i]
                label = f"{event_name(code)} → {receiver}"
                held[label] = held.get(label, 0.0) + share * 1e3
            i += 1
        return sorted(((v, k) for k, v in held.items()), reverse=True)[:top]


def describe(callback: Any) -> str:
    owner = getattr(callback, "__self__", None)
    if isinstance(owner, asyncio.Task):
        coro = owner.get_coro()
        return f"task {getattr(coro, '__qualname__', owner.get_name())}"
    return str(getattr(callback, "__qualname__", type(callback).__name__))


class HandleLog:
    """asyncio callbacks (qasync runs each from a Qt timer event) that took over ``slow_ms``."""

    def __init__(self, slow_ms: float = 2.0) -> None:
        self.slow = slow_ms / 1e3
        self.spans: list[tuple[float, float, str]] = []
        self._original = asyncio.events.Handle._run

    def __enter__(self) -> HandleLog:
        original, spans, slow = self._original, self.spans, self.slow

        def _run(handle: asyncio.Handle) -> None:
            t = perf()
            original(handle)
            end = perf()
            if end - t > slow:
                spans.append((t, end, describe(handle._callback)))  # type: ignore[attr-defined]

        asyncio.events.Handle._run = _run  # type: ignore[method-assign,assignment]
        return self

    def __exit__(self, *_exc: object) -> None:
        asyncio.events.Handle._run = self._original  # type: ignore[method-assign]

    def inside(self, start: float, end: float) -> list[tuple[float, str]]:
        return [
            ((min(b, end) - max(a, start)) * 1e3, what)
            for a, b, what in self.spans
            if b > start and a < end
        ]


class Instruments:
    """The app's loop-thread work, timed from the outside."""

    NAMES = ("snapshot", "tray update", "dashboard render", "gc")

    def __init__(self, ui: TrayApp) -> None:
        self.ui = ui
        self.work = {name: Timed() for name in self.NAMES}
        # refresh() calls self.snapshots() / self.tray.update(); flush() calls self._render():
        # instance attributes shadow the class's methods for those calls.
        ui.snapshots = wrap(self.work["snapshot"], ui.snapshots)  # type: ignore[method-assign]
        ui.tray.update = wrap(self.work["tray update"], ui.tray.update)  # type: ignore[method-assign]
        dashboard = ui.dashboard
        dashboard._render = wrap(self.work["dashboard render"], dashboard._render)  # type: ignore[method-assign]
        self.updates = UpdateCounter()
        dashboard.installEventFilter(self.updates)
        self._gc_start = 0.0
        gc.callbacks.append(self._gc)

    def _gc(self, phase: str, _info: dict[str, Any]) -> None:
        if phase == "start":
            self._gc_start = perf()
        else:
            self.work["gc"].add(self._gc_start, perf())

    def record(self, on: bool) -> None:
        for stat in self.work.values():
            stat.recording = on
            if on:
                stat.spans.clear()

    def forced_repaint_ms(self, times: int = 10) -> float:
        """A synchronous full repaint of the dashboard: the native cost of one frame."""
        dashboard = self.ui.dashboard
        out = []
        for _ in range(times):
            t = perf()
            dashboard.repaint()
            out.append((perf() - t) * 1e3)
        return statistics.median(out)

    def close(self) -> None:
        with contextlib.suppress(ValueError):
            gc.callbacks.remove(self._gc)
        self.ui.dashboard.removeEventFilter(self.updates)
