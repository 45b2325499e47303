"""Event-loop responsiveness of the tray app while the demo pushes quotes.

One process, one thread for Qt and asyncio, as ``main.py --demo`` runs it: a QApplication
(``QT_QPA_PLATFORM=offscreen`` unless a display is set), ``qasync.run``, the embedded
:class:`SimulatedGateway` (``market_interval=None``: the bench sends the quotes) with the real
:class:`RiskService` (both hubs, the engine, the executor) as
:class:`bench.gateway_harness.Harness` sets them up (one demo account long 1 in each of four
contracts, RULE-001 and RULE-004 on, so every quote is valued by the rules), and the real
:class:`TrayApp` with its dashboard shown, so its 4 snapshots a second are taken and rendered.

For each target rate (0 quotes/s is the baseline) GatewayQuote pushes to the held contracts are
paced for a few seconds while two probes measure how late the loop runs things:

* Qt probe: a ``Qt.PreciseTimer`` QTimer firing every 5 ms; stall = gap between firings − 5 ms.
* asyncio probe: a task looping on ``asyncio.sleep(0.005)``; stall = gap − 5 ms. qasync turns
  the remaining delay into a whole-millisecond QTimer (``int(delay * 1000)``), so this probe
  may wake up to 1 ms early; negative stalls count as 0.

The app's own work on the loop thread is timed from the outside (wrapped bound methods on the
instances; nothing in ``gui`` or ``core`` is edited): the snapshot, the tray update, the
dashboard's render and Python's garbage collector. After each phase a forced synchronous
``repaint()`` of the dashboard gives the native cost of painting one full frame.

Then the goal rate runs once more, shorter, with an application-wide event filter that logs the
start of every event: the events inside each of the longest Qt stalls say what held the loop.
The goal (reported, not asserted): at 1,000 quotes/s the longest Qt stall stays under 50 ms.
If it does not (or with ``profile=True``), a further goal-rate run is cProfiled (the loop
thread only) and its top entries printed.

The probes and instruments live in :mod:`bench.gui_probes`; this module runs the phases
and prints the report.
"""

from __future__ import annotations

import asyncio
import contextlib
import cProfile
import gc
import io
import logging
import math
import os
import pstats
import statistics
import sys
import time
from dataclasses import dataclass, field

from PySide6.QtCore import (
    QCoreApplication,
    QMessageLogContext,
    QtMsgType,
    qInstallMessageHandler,
)
from PySide6.QtGui import QGuiApplication

from bench.gateway_harness import HELD, Harness, until
from bench.gui_probes import (
    PROBE_MS,
    AsyncProbe,
    EventLog,
    HandleLog,
    Instruments,
    QtProbe,
    Stall,
    stalls,
)
from bench.measure import ms, percentile, perf
from gui.app import TrayApp

DEFAULT_RATES = (0, 1_000, 2_500)
DEFAULT_SECONDS = 10.0
GOAL_RATE = 1_000
GOAL_MS = 50.0
DIAGNOSIS_SECONDS = 4.0  # the attribution and cProfile runs
WORST = 5  # longest Qt stalls laid against the app's timed work
DRAIN_TIMEOUT = 15.0
# The offscreen plugin warns about every window-manager hint it ignores; say nothing of those.
QUIET_QT = ("This plugin does not support", "systemTrayWindowChanged")


# ---------------------------------------------------------------------------------- phases


@dataclass
class Phase:
    rate: int
    seconds: float
    pushed: int
    handled_in_window: int
    handled: int
    drain_s: float
    dropped: bool
    qt: list[Stall]
    aio: list[Stall]
    renders: int
    repaints: int
    loop_cpu: float  # loop-thread CPU seconds over the window
    work: dict[str, list[float]]  # per call, ms
    worst: list[tuple[float, dict[str, float]]]  # longest Qt stalls and the timed work inside
    repaint_ms: float
    events: int = 0  # events delivered (attribution run only)
    culprits: list[tuple[float, list[tuple[float, str]]]] = field(default_factory=list)
    slow_callbacks: list[list[tuple[float, str]]] = field(default_factory=list)

    @property
    def longest(self) -> float:
        return max((s for s, _, _ in self.qt), default=math.nan)


class GuiBench:
    def __init__(self, harness: Harness, ui: TrayApp) -> None:
        self.harness, self.ui = harness, ui
        self.qt = QtProbe()
        self.aio = AsyncProbe()
        self.instruments = Instruments(ui)

    def handled(self) -> int:
        return len(self.harness.probe.quotes.handled)

    async def caught_up(self, timeout: float = DRAIN_TIMEOUT) -> None:
        q = self.harness.probe.quotes
        with contextlib.suppress(TimeoutError):
            await until(lambda: len(q.handled) >= len(q.sent), "the quotes to drain", timeout)

    async def phase(self, rate: int, seconds: float, log_events: bool = False) -> Phase:
        harness, service, dashboard = self.harness, self.harness.service, self.ui.dashboard
        await self.caught_up()
        await asyncio.sleep(0.3)  # let the previous phase's renders and writers settle
        gc.collect()
        connections = service.market_hub.connections_made
        handled0, renders0 = self.handled(), dashboard.render_count
        repaints0 = self.instruments.updates.count
        contracts = [(cid, harness.quotes[cid]) for cid in HELD]
        total = int(rate * seconds)
        app = QCoreApplication.instance()
        events = EventLog() if log_events and app is not None else None
        handles = HandleLog()
        self.qt.times.clear()
        self.aio.times.clear()
        self.instruments.record(True)
        if app is not None and events is not None:
            app.installEventFilter(events)
            handles.__enter__()
        self.qt.recording = self.aio.recording = True
        cpu0, start = time.thread_time(), perf()
        pushed = 0
        dropped = False
        while (now := perf()) - start < seconds:
            due = min(total, int((now - start) * rate) + 1) if rate else 0
            while pushed < due:
                contract_id, variants = contracts[pushed % len(contracts)]
                harness.push_quote(contract_id, variants[(pushed // len(contracts)) % 8])
                pushed += 1
            if service.market_hub.connections_made != connections:
                dropped = True
                break
            await asyncio.sleep(0.001)
        end = perf()
        loop_cpu = time.thread_time() - cpu0
        self.qt.recording = self.aio.recording = False
        if app is not None and events is not None:
            app.removeEventFilter(events)
            handles.__exit__()
        self.instruments.record(False)
        handled_in_window = self.handled() - handled0
        renders = dashboard.render_count - renders0
        repaints = self.instruments.updates.count - repaints0
        t = perf()
        await self.caught_up()
        drain = perf() - t
        dropped = dropped or service.market_hub.connections_made != connections
        qt, aio = stalls(self.qt.times), stalls(self.aio.times)
        work = self.instruments.work
        longest = sorted(qt, reverse=True)[:WORST]
        return Phase(
            rate=rate,
            seconds=end - start,
            pushed=pushed,
            handled_in_window=handled_in_window,
            handled=self.handled() - handled0,
            drain_s=drain,
            dropped=dropped,
            qt=qt,
            aio=aio,
            renders=renders,
            repaints=repaints,
            loop_cpu=loop_cpu,
            work={name: stat.durations_ms() for name, stat in work.items()},
            worst=[
                (s, {name: stat.overlap_ms(a, b) for name, stat in work.items()})
                for s, a, b in longest
            ],
            repaint_ms=self.instruments.forced_repaint_ms(),
            events=0 if events is None else len(events.starts),
            culprits=[] if events is None else [(s, events.culprits(a, b)) for s, a, b in longest],
            slow_callbacks=[handles.inside(a, b) for _, a, b in longest],
        )

    async def profiled(self, rate: int, seconds: float) -> tuple[Phase, str]:
        profiler = cProfile.Profile()
        profiler.enable()  # this thread only, the loop's (sys.setprofile is per thread)
        try:
            result = await self.phase(rate, seconds)
        finally:
            profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(15)
        return result, out.getvalue()

    async def close(self) -> None:
        self.qt.stop()
        await self.aio.stop()
        self.instruments.close()


@dataclass
class Results:
    platform: str
    phases: list[Phase]
    attribution: Phase  # the goal rate again, every event's start logged
    profile: tuple[Phase, str] | None  # the goal rate again, under cProfile


async def _run(rates: list[int], seconds: float, profile: bool) -> Results:
    harness = Harness()
    await harness.start()
    ui = TrayApp(harness.service, demo=True, quit_requested=asyncio.Event())
    ui.dashboard.show_and_raise()
    bench: GuiBench | None = None
    try:
        await until(lambda: ui.dashboard.render_count > 0, "the dashboard's first render", 10.0)
        bench = GuiBench(harness, ui)
        await asyncio.sleep(0.5)  # first renders, the tab, popups for the hubs coming up
        phases = [await bench.phase(rate, seconds) for rate in rates]
        short = min(seconds, DIAGNOSIS_SECONDS)
        attribution = await bench.phase(GOAL_RATE, short, log_events=True)
        at_goal = next((p for p in phases if p.rate == GOAL_RATE), None)
        missed = at_goal is not None and at_goal.longest >= GOAL_MS
        prof = await bench.profiled(GOAL_RATE, short) if profile or missed else None
        return Results(QGuiApplication.platformName(), phases, attribution, prof)
    finally:
        if bench is not None:
            await bench.close()
        ui.close()
        await harness.stop()


# ---------------------------------------------------------------------------------- report


def stall_cells(values: list[Stall]) -> str:
    s = [v for v, _, _ in values]
    if not s:
        return "n/a | n/a | n/a"
    return f"{ms(max(s))} | {ms(percentile(s, 99))} | {ms(percentile(s, 50))}"


def report(r: Results) -> None:
    phases = r.phases
    print(
        "GUI benchmark: TrayApp (dashboard shown) + RiskService + SimulatedGateway on one qasync "
        f"loop, Qt platform '{r.platform}'"
    )
    print(
        f"({len(HELD)} positions of 1 on the demo account, every quote valued by the rules; "
        f"probes: a {PROBE_MS} ms Qt PreciseTimer and an asyncio.sleep({PROBE_MS / 1000:g}) task, "
        f"stall = gap − {PROBE_MS} ms)"
    )
    print()
    print(
        "| target quotes/s | pushed/s | quotes handled in window / pushed (after drain) "
        "| Qt stall max | p99 | p50 | asyncio stall max | p99 | p50 "
        "| dashboard renders/s | repaints/s | loop-thread CPU |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for p in phases:
        after = f"{p.handled:,}" + (f" in +{p.drain_s:.1f} s" if p.drain_s > 0.05 else "")
        if p.dropped:
            after += ", the sim dropped the client"
        print(
            f"| {p.rate:,} | {p.pushed / p.seconds:,.0f} | {p.handled_in_window:,} / {p.pushed:,} "
            f"({after}) | {stall_cells(p.qt)} | {stall_cells(p.aio)} "
            f"| {p.renders / p.seconds:.1f} | {p.repaints / p.seconds:.1f} "
            f"| {p.loop_cpu / p.seconds:.0%} |"
        )
    print()
    print(
        "| target quotes/s | snapshot: calls, p50 / max | tray update | dashboard render "
        "| gc pauses | forced full repaint (native paint), median |"
    )
    print("|---|---|---|---|---|---|")
    for p in phases:
        cells = []
        for name in Instruments.NAMES:
            d = p.work[name]
            cells.append(f"{len(d)}, {ms(statistics.median(d))} / {ms(max(d))}" if d else "0")
        print(f"| {p.rate:,} | {' | '.join(cells)} | {ms(p.repaint_ms)} |")
    print()
    a = r.attribution
    print(
        f"The {WORST} longest Qt stalls of a further {a.seconds:.1f} s at {a.rate:,} quotes/s "
        f"with every event's start logged ({a.events / a.seconds:,.0f} events/s; "
        f"Qt stall max {ms(a.longest)}, p99 {ms(percentile([s for s, _, _ in a.qt], 99))}):"
    )
    print()
    print(
        "| Qt stall | app work inside (snapshot / tray update / dashboard render / gc) "
        "| events that held the loop longest in the gap | asyncio callbacks over 2 ms in the gap |"
    )
    print("|---|---|---|---|")
    for (s, inside), (_, held), slow in zip(a.worst, a.culprits, a.slow_callbacks, strict=True):
        named = " / ".join(f"{inside[n]:.1f}" for n in Instruments.NAMES)
        events = "; ".join(f"{label} {v:.1f} ms" for v, label in held)
        callbacks = "; ".join(f"{what} {v:.1f} ms" for v, what in slow) or "none"
        print(f"| {ms(s)} | {named} ms | {events} | {callbacks} |")
    print()
    at_goal = next((p for p in phases if p.rate == GOAL_RATE), None)
    if at_goal is not None:
        verdict = "met" if at_goal.longest < GOAL_MS else "NOT met"
        print(
            f"- goal, longest Qt stall under {GOAL_MS:.0f} ms at {GOAL_RATE:,} quotes/s: "
            f"{verdict} ({ms(at_goal.longest)})"
        )
    for p in phases:
        if p.handled < p.pushed:
            print(f"- at {p.rate:,}/s only {p.handled:,} of {p.pushed:,} quotes reached the engine")
    if r.profile is not None:
        phase, text = r.profile
        print(
            f"- cProfile of the loop thread, {phase.seconds:.1f} s at {GOAL_RATE:,} quotes/s "
            f"(Qt stall max under the profiler {ms(phase.longest)}):"
        )
        print()
        print("```")
        print(text.strip())
        print("```")


def _qt_messages(kind: QtMsgType, _context: QMessageLogContext, message: str) -> None:
    if not message.startswith(QUIET_QT) and QUIET_QT[1] not in message:
        print(message, file=sys.stderr)


def run(
    rates: list[int] | None = None, seconds: float = DEFAULT_SECONDS, profile: bool = False
) -> None:
    # qasync tries other Qt bindings first; name ours before it is imported (as main.py does).
    os.environ.setdefault("QT_API", "pyside6")
    if not any(os.environ.get(k) for k in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    import qasync
    from PySide6.QtWidgets import QApplication

    previous = qInstallMessageHandler(_qt_messages)
    try:
        existing = QApplication.instance()
        app = existing if isinstance(existing, QApplication) else QApplication([])
        app.setQuitOnLastWindowClosed(False)  # a tray app: a popup closing must not end the loop
        logging.getLogger("core").setLevel(logging.ERROR)  # as the gateway bench
        results = qasync.run(
            _run(list(DEFAULT_RATES) if rates is None else rates, seconds, profile)
        )
    finally:
        qInstallMessageHandler(previous)
    report(results)


if __name__ == "__main__":
    run()
