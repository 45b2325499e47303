"""Writers: one thread for critical state, batches on a caller-supplied executor for the rest.

Critical writes (lockouts, daily P&L and its trades) are committed with synchronous=FULL on a
single dedicated thread, so the event loop never waits on the disk; what depends on them being
durable (telling the trader) runs afterwards through an :class:`Inbox` on the loop's thread.
Everything queued while a commit is in progress goes into the next one (group commit).
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import Any, Protocol

from sqlalchemy import Connection, Engine

log = logging.getLogger(__name__)

Work = Callable[[Connection], None]
Callback = Callable[[], None]


class Inbox:
    """Callbacks posted from writer threads, run on the owner's thread.

    With an asyncio loop attached they are scheduled with ``call_soon_threadsafe``; otherwise
    they wait until the owner calls :meth:`drain` (the engine does on every event and tick).
    """

    def __init__(self) -> None:
        self._pending: deque[Callback] = deque()
        self._schedule: Callable[[Callable[[], Any]], Any] | None = None

    def attach(self, schedule: Callable[[Callable[[], Any]], Any] | None) -> None:
        self._schedule = schedule

    def post(self, callback: Callback) -> None:
        self._pending.append(callback)
        if self._schedule is not None:
            # A loop closed during shutdown raises: the owner drains what is left instead.
            with contextlib.suppress(RuntimeError):
                self._schedule(self.drain)

    def drain(self) -> int:
        count = 0
        while self._pending:
            callback = self._pending.popleft()
            count += 1
            try:
                callback()
            except Exception:
                log.exception("callback after a durable write failed")
        return count


class CriticalWriter:
    def __init__(self, engine: Engine, inbox: Inbox) -> None:
        self._engine = engine
        self._inbox = inbox
        self._queue: queue.Queue[tuple[Work, Callback | None, Future[None]] | None] = queue.Queue()
        self._idle = threading.Condition()
        self._in_flight = 0
        self._thread = threading.Thread(target=self._run, name="critical-writer", daemon=True)
        self._thread.start()

    def submit(self, work: Work, on_durable: Callback | None = None) -> Future[None]:
        future: Future[None] = Future()
        with self._idle:
            self._in_flight += 1
        self._queue.put((work, on_durable, future))
        return future

    def _run(self) -> None:
        conn = self._engine.connect()
        try:
            while True:
                item = self._queue.get()
                if item is None:
                    return
                batch = [item]
                while True:
                    try:
                        nxt = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if nxt is None:
                        self._queue.put(None)  # finish this batch, then stop
                        break
                    batch.append(nxt)
                self._commit(conn, batch)
        finally:
            conn.close()

    def _commit(self, conn: Connection, batch: list[tuple[Work, Callback | None, Future[None]]]) -> None:
        try:
            with conn.begin():
                for work, _, _ in batch:
                    work(conn)
            self._finish(batch, None)
            return
        except Exception:
            if len(batch) == 1:
                log.critical("critical state write failed", exc_info=True)
                self._finish(batch, RuntimeError("critical state write failed"))
                return
        # One bad item must not lose the others: retry them one by one.
        for item in batch:
            self._commit(conn, [item])

    def _finish(self, batch: list[tuple[Work, Callback | None, Future[None]]], error: Exception | None) -> None:
        for _, callback, future in batch:
            if error is None:
                future.set_result(None)
                if callback is not None:
                    self._inbox.post(callback)
            else:
                future.set_exception(error)
        with self._idle:
            self._in_flight -= len(batch)
            self._idle.notify_all()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: self._in_flight == 0, timeout)

    def close(self, timeout: float = 10.0) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout)


class SubmitsWork(Protocol):
    def submit(self, fn: Callable[[], None], /) -> Future[None]: ...


class BatchWriter:
    """Writes that may lag a few seconds: latest value per key wins, flushed in one transaction.

    ``executor`` runs the flush: a thread pool headless, a QThreadPool adapter in the GUI.
    Flushes are serialised, so a slow disk never has two transactions racing each other.
    """

    def __init__(
        self,
        engine: Engine,
        executor: Executor | SubmitsWork | None = None,
        interval: float = 5.0,
        max_pending: int = 1000,
        name: str = "batch",
    ) -> None:
        self._engine = engine
        self._own_executor = executor is None
        self._executor: Executor | SubmitsWork = executor or ThreadPoolExecutor(
            max_workers=1, thread_name_prefix=f"{name}-writer"
        )
        self._interval = interval
        self._max_pending = max_pending
        self._lock = threading.Lock()
        self._keyed: dict[Hashable, Work] = {}
        self._appended: list[Work] = []
        self._last_flush = time.monotonic()
        self._running: Future[None] | None = None
        self._idle = threading.Condition()

    def put(self, key: Hashable, work: Work) -> None:
        with self._lock:
            self._keyed.pop(key, None)  # keep insertion order = order of last change
            self._keyed[key] = work
            full = len(self._keyed) + len(self._appended) >= self._max_pending
        if full:
            self.flush()

    def append(self, work: Work) -> None:
        with self._lock:
            self._appended.append(work)
            full = len(self._keyed) + len(self._appended) >= self._max_pending
        if full:
            self.flush()

    def pending(self) -> int:
        with self._lock:
            return len(self._keyed) + len(self._appended)

    def maybe_flush(self) -> None:
        if time.monotonic() - self._last_flush >= self._interval and self.pending():
            self.flush()

    def flush(self) -> None:
        with self._lock:
            if self._running is not None and not self._running.done():
                return  # the running flush re-checks for more work when it ends
            if not self._keyed and not self._appended:
                return
            self._running = self._executor.submit(self._flush_all)

    def _take(self) -> list[Work]:
        with self._lock:
            works = list(self._keyed.values()) + self._appended
            self._keyed = {}
            self._appended = []
            self._last_flush = time.monotonic()
            return works

    def _flush_all(self) -> None:
        works = self._take()
        while works:
            try:
                with self._engine.begin() as conn:
                    for work in works:
                        work(conn)
            except Exception:
                log.exception("batched state write of %d rows failed", len(works))
                if len(works) > 1:
                    self._one_by_one(works)
            works = self._take()
        with self._idle:
            self._idle.notify_all()

    def _one_by_one(self, works: list[Work]) -> None:
        """One bad row must not lose the others: each alone; a row that still fails is dropped."""
        failed = 0
        for work in works:
            try:
                with self._engine.begin() as conn:
                    work(conn)
            except Exception:
                failed += 1
        log.error("%d of %d batched rows dropped after retrying them one by one", failed, len(works))

    def wait_idle(self, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        self.flush()
        while time.monotonic() < deadline:
            with self._lock:
                running = self._running
            if running is not None:
                try:
                    running.result(timeout=max(0.0, deadline - time.monotonic()))
                except Exception:
                    log.exception("batched flush failed")
            if not self.pending():
                return True
            self.flush()
        return False

    def close(self) -> None:
        self.wait_idle()
        if self._own_executor and isinstance(self._executor, Executor):
            self._executor.shutdown(wait=True)
