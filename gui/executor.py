"""A concurrent.futures executor on a private QThreadPool: where the GUI runs core's SQLite writes.

Core's batch writers take any object with ``submit(fn) -> Future``. In the GUI that work runs on
Qt's own worker threads, so Qt's shutdown waits for it and no extra Python pool lingers. The pool
is private (never ``QThreadPool.globalInstance()``) and has one thread: two flushes of the same
SQLite file must never race each other, and other Qt users of the global pool cannot starve it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any, ParamSpec, TypeVar

from PySide6.QtCore import QRunnable, QThreadPool

P = ParamSpec("P")
T = TypeVar("T")


class _Task(QRunnable):
    def __init__(self, future: Future[Any], fn: Callable[..., Any], args: tuple[Any, ...],
                 kwargs: dict[str, Any], done: Callable[[_Task], None]) -> None:
        super().__init__()
        # Python owns the runnable (it is kept in the executor's pending set): Qt must not
        # delete the wrapper's C++ side under us when run() returns.
        self.setAutoDelete(False)
        self.future = future
        self._fn = fn
        self._args = args
        self._kwargs = kwargs
        self._done = done

    def run(self) -> None:
        try:
            # False: cancelled while queued (shutdown(cancel_futures=True)); skip the work.
            if not self.future.set_running_or_notify_cancel():
                return
            try:
                result = self._fn(*self._args, **self._kwargs)
            except BaseException as exc:  # noqa: BLE001 - the caller reads it from the Future
                self.future.set_exception(exc)
            else:
                self.future.set_result(result)
        finally:
            # Drop references to the work early: a flush closure can hold a lot of rows.
            self._fn = _noop
            self._args = ()
            self._kwargs = {}
            self._done(self)


def _noop(*_args: Any, **_kwargs: Any) -> None:
    return None


class QThreadPoolExecutor(Executor):
    """``submit(fn, *args) -> Future``; exceptions land in the Future, as with ThreadPoolExecutor."""

    def __init__(self, max_threads: int = 1) -> None:
        self._pool = QThreadPool()
        self._pool.setMaxThreadCount(max_threads)
        self._lock = threading.Lock()
        self._pending: set[_Task] = set()
        self._shutdown = False

    @property
    def pool(self) -> QThreadPool:
        return self._pool

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        future: Future[T] = Future()
        with self._lock:
            if self._shutdown:
                raise RuntimeError("cannot schedule new futures after shutdown")
            task = _Task(future, fn, args, dict(kwargs), self._forget)
            self._pending.add(task)
        # Outside the lock: with a free thread Qt may run the task (and _forget) at once.
        self._pool.start(task)
        return future

    def _forget(self, task: _Task) -> None:
        with self._lock:
            self._pending.discard(task)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            self._shutdown = True
            queued = list(self._pending)
        if cancel_futures:
            for task in queued:
                task.future.cancel()  # only succeeds for work that has not started
        if wait:
            self._pool.waitForDone()

    def pending(self) -> int:
        """Tasks submitted and not yet finished (running ones included)."""
        with self._lock:
            return len(self._pending)
