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


# In-line retries of a failed group before the alarm (a busy or briefly full disk often clears).
RETRY_DELAYS = (0.05, 0.25, 1.0)
RETRY_EVERY = 5.0  # seconds between attempts at what is still unwritten after the alarm
# SQLite result codes of a disk or file that may come good: busy, locked, read-only (a volume
# remounted), I/O error, full, cannot open, protocol. Any other failure will not go away.
_TRANSIENT = {5, 6, 8, 10, 13, 14, 15}

_Item = tuple[Work, Callback | None, Future[None], str]


def transient(exc: BaseException) -> bool:
    """A failure that may pass (a full or busy disk), as opposed to a value SQLite cannot store."""
    orig = getattr(exc, "orig", exc)
    code = getattr(orig, "sqlite_errorcode", None)
    return isinstance(code, int) and code & 0xFF in _TRANSIENT


class CriticalWriter:
    """One thread commits critical state; callbacks run on the owner's thread via the inbox.

    A group that fails is retried (:data:`RETRY_DELAYS`), then each item alone. An item that
    still fails raises the alarm (``on_failed(what, error)``, through the inbox); the state it
    carries stays in force in memory (the engine enforces from memory), but its ``on_durable``
    callback waits: nobody is told of state that a crash would undo. A failure that may pass
    (disk full) is tried again every :data:`RETRY_EVERY` seconds, first in line, until it is
    written (then its callback runs, and ``on_recovered()`` once nothing is left unwritten);
    one that cannot pass (a value SQLite cannot store) is given up, its future failed.
    """

    def __init__(
        self,
        engine: Engine,
        inbox: Inbox,
        *,
        retry_delays: tuple[float, ...] = RETRY_DELAYS,
        retry_every: float = RETRY_EVERY,
    ) -> None:
        self._engine = engine
        self._inbox = inbox
        self.retry_delays = retry_delays
        self.retry_every = retry_every
        self.on_failed: Callable[[str, str], None] | None = None
        self.on_recovered: Callable[[], None] | None = None
        self._queue: queue.Queue[_Item | None] = queue.Queue()
        self._idle = threading.Condition()
        self._in_flight = 0
        self._finished = 0  # finished in this write; counted out of _in_flight once its notices are posted
        self._unwritten: list[_Item] = []  # failed but may pass: tried again first
        self._told: set[int] = set()  # ids of the futures an alarm was raised for
        self._alarmed = False
        self._thread = threading.Thread(target=self._run, name="critical-writer", daemon=True)
        self._thread.start()

    @property
    def alarmed(self) -> bool:
        return self._alarmed

    def submit(self, work: Work, on_durable: Callback | None = None, what: str = "state") -> Future[None]:
        future: Future[None] = Future()
        with self._idle:
            self._in_flight += 1
        self._queue.put((work, on_durable, future, what))
        return future

    def _run(self) -> None:
        conn = self._engine.connect()
        try:
            while True:
                try:
                    item = self._queue.get(timeout=self.retry_every if self._unwritten else None)
                except queue.Empty:
                    item = _RETRY_NOW
                if item is None:
                    if self._unwritten:
                        self._write(conn, [], final=True)
                    return
                batch: list[_Item] = [] if item is _RETRY_NOW else [item]
                stop = False
                while True:
                    try:
                        nxt = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if nxt is None:
                        stop = True  # finish this batch, then stop
                        break
                    batch.append(nxt)
                self._write(conn, batch)
                if stop:
                    self._queue.put(None)
        finally:
            conn.close()

    def _write(self, conn: Connection, batch: list[_Item], final: bool = False) -> None:
        try:
            self._write_batch(conn, batch, final)
        finally:
            # Idle only once every notice of this write (durable callbacks, the recovery) is posted,
            # so whoever waits for idle and then drains the inbox sees all of them.
            with self._idle:
                self._in_flight -= self._finished
                self._finished = 0
                self._idle.notify_all()

    def _write_batch(self, conn: Connection, batch: list[_Item], final: bool) -> None:
        retrying, self._unwritten = self._unwritten, []
        items = retrying + batch
        if not items:
            return
        if self._commit(conn, items):
            self._finish(items, None)
        else:
            delays = () if retrying and not batch else self.retry_delays
            for delay in delays:  # the whole group again: a busy or full disk may clear
                time.sleep(delay)
                if self._commit(conn, items):
                    self._finish(items, None)
                    break
            else:
                for item in items:  # one bad item must not lose the others
                    self._one(conn, item, final)
        if self._alarmed and not self._unwritten:
            self._alarmed = False
            log.warning("critical state is being written again")
            if self.on_recovered is not None:
                self._inbox.post(self.on_recovered)

    def _one(self, conn: Connection, item: _Item, final: bool) -> None:
        work, _, future, what = item
        try:
            with conn.begin():
                work(conn)
        except Exception as exc:
            error: BaseException = exc
        else:
            self._finish([item], None)
            return
        if id(future) not in self._told:  # each unwritten item raises the alarm once
            self._told.add(id(future))
            log.critical("critical state write failed (%s): %s", what, error, exc_info=error)
            self._alarm(what, error)
        if transient(error) and not final:
            self._unwritten.append(item)
        else:
            self._finish([item], RuntimeError(f"critical state write failed ({what}): {error}"))

    def _alarm(self, what: str, error: BaseException) -> None:
        self._alarmed = True
        on_failed = self.on_failed
        if on_failed is not None:
            text = str(getattr(error, "orig", None) or error).splitlines()[0][:200]
            self._inbox.post(lambda: on_failed(what, text))

    def _commit(self, conn: Connection, items: list[_Item]) -> bool:
        try:
            with conn.begin():
                for work, _, _, _ in items:
                    work(conn)
        except Exception:
            return False
        return True

    def _finish(self, batch: list[_Item], error: Exception | None) -> None:
        for _, callback, future, _ in batch:
            self._told.discard(id(future))
            if error is None:
                future.set_result(None)
                if callback is not None:  # durable now: only now is anyone told
                    self._inbox.post(callback)
            else:
                future.set_exception(error)
        self._finished += len(batch)

    def wait_idle(self, timeout: float = 10.0) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: self._in_flight == 0, timeout)

    def close(self, timeout: float = 10.0) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout)


_RETRY_NOW: _Item = (lambda _conn: None, None, Future(), "retry")


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

    def _take(self) -> list[tuple[Hashable | None, Work]]:
        with self._lock:
            works: list[tuple[Hashable | None, Work]] = list(self._keyed.items())
            works += [(None, work) for work in self._appended]
            self._keyed = {}
            self._appended = []
            self._last_flush = time.monotonic()
            return works

    def _flush_all(self) -> None:
        works = self._take()
        while works:
            try:
                with self._engine.begin() as conn:
                    for _, work in works:
                        work(conn)
            except Exception as exc:
                log.error("batched state write of %d rows failed (%s): each row alone now",
                          len(works), exc)
                if self._one_by_one(works):
                    break  # the disk may come good: what failed waits for the next flush
            works = self._take()
        with self._idle:
            self._idle.notify_all()

    def _one_by_one(self, works: list[tuple[Hashable | None, Work]]) -> bool:
        """One bad row must not lose the others: each alone. A row that fails for a reason that
        may pass (a full disk) is queued again unless a newer value replaced it; one that cannot
        be stored is dropped and logged. True when something was queued again."""
        dropped = 0
        again: list[tuple[Hashable | None, Work]] = []
        for key, work in works:
            try:
                with self._engine.begin() as conn:
                    work(conn)
            except Exception as exc:
                if transient(exc):
                    again.append((key, work))
                else:
                    dropped += 1
                    log.error("a batched row cannot be stored and is dropped: %s", exc)
        if dropped:
            log.error("%d of %d batched rows dropped after retrying them one by one",
                      dropped, len(works))
        if not again:
            return False
        with self._lock:
            room = max(0, self._max_pending - len(self._keyed) - len(self._appended))
            self._appended[:0] = [work for key, work in again if key is None][:room]
            for key, work in again:
                if key is not None and key not in self._keyed:
                    self._keyed[key] = work
        log.warning("%d batched rows wait for the disk: tried again at the next flush", len(again))
        return True

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
            time.sleep(0.05)  # rows waiting for a full disk: do not spin on it
            self.flush()
        return False

    def close(self) -> None:
        self.wait_idle()
        if self._own_executor and isinstance(self._executor, Executor):
            self._executor.shutdown(wait=True)
