"""QThreadPoolExecutor: the GUI's executor for core's SQLite batch writers."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import CancelledError, Future
from pathlib import Path

import pytest
from sqlalchemy import Connection, create_engine, text

from core.persistence.writers import BatchWriter
from gui.executor import QThreadPoolExecutor


@pytest.fixture
def executor(qapp: object) -> Iterator[QThreadPoolExecutor]:
    pool = QThreadPoolExecutor()
    yield pool
    pool.shutdown(wait=True)


def test_runs_on_a_pool_thread_and_returns_the_result(executor: QThreadPoolExecutor) -> None:
    future = executor.submit(lambda a, b: (threading.get_ident(), a + b), 2, b=3)
    ident, total = future.result(timeout=5)
    assert total == 5
    assert ident != threading.get_ident()


def test_one_thread_runs_tasks_in_submission_order(executor: QThreadPoolExecutor) -> None:
    assert executor.pool.maxThreadCount() == 1
    seen: list[int] = []
    running = 0
    overlap = False

    def work(i: int) -> None:
        nonlocal running, overlap
        running += 1
        overlap = overlap or running > 1
        time.sleep(0.002)
        seen.append(i)
        running -= 1

    futures = [executor.submit(work, i) for i in range(50)]
    for future in futures:
        future.result(timeout=10)
    assert seen == list(range(50))
    assert not overlap


def test_exceptions_land_in_the_future(executor: QThreadPoolExecutor) -> None:
    def boom() -> None:
        raise ValueError("disk full")

    future = executor.submit(boom)
    with pytest.raises(ValueError, match="disk full"):
        future.result(timeout=5)
    # The pool survives a failing task.
    assert executor.submit(lambda: 7).result(timeout=5) == 7


def test_shutdown_waits_then_refuses_new_work(executor: QThreadPoolExecutor) -> None:
    done = threading.Event()

    def slow() -> None:
        time.sleep(0.05)
        done.set()

    executor.submit(slow)
    executor.shutdown(wait=True)
    assert done.is_set()
    assert executor.pending() == 0
    with pytest.raises(RuntimeError):
        executor.submit(lambda: None)


def test_shutdown_can_cancel_queued_work(qapp: object) -> None:
    executor = QThreadPoolExecutor()
    gate, started = threading.Event(), threading.Event()

    def hold() -> bool:
        started.set()
        return gate.wait(5)

    first = executor.submit(hold)
    assert started.wait(5)  # running work cannot be cancelled; only the queue behind it
    queued: list[Future[None]] = [executor.submit(lambda: None) for _ in range(3)]
    executor.shutdown(wait=False, cancel_futures=True)
    gate.set()
    assert first.result(timeout=5) is True
    for future in queued:
        with pytest.raises(CancelledError):
            future.result(timeout=5)
    executor.shutdown(wait=True)


def test_map_and_context_manager_come_from_executor(qapp: object) -> None:
    with QThreadPoolExecutor() as executor:
        assert list(executor.map(lambda x: x * x, range(5))) == [0, 1, 4, 9, 16]


def test_batch_writer_flushes_through_it(executor: QThreadPoolExecutor, tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'state.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE kv (k TEXT PRIMARY KEY, v INTEGER, thread INTEGER)"))
    main = threading.get_ident()

    def upsert(key: str, value: int):  # type: ignore[no-untyped-def]
        def work(conn: Connection) -> None:
            conn.execute(
                text("INSERT INTO kv VALUES (:k, :v, :t) ON CONFLICT(k) DO UPDATE SET v = :v, thread = :t"),
                {"k": key, "v": value, "t": threading.get_ident()},
            )

        return work

    writer = BatchWriter(engine, executor, interval=0.0, name="test")
    writer.put("a", upsert("a", 1))
    writer.put("a", upsert("a", 2))  # latest value per key wins
    writer.put("b", upsert("b", 3))
    writer.flush()
    assert writer.wait_idle(5)
    writer.close()  # not its executor: it must not shut ours down
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT k, v, thread FROM kv ORDER BY k")).all()
    assert [(k, v) for k, v, _ in rows] == [("a", 2), ("b", 3)]
    assert all(thread != main for _, _, thread in rows)
    assert executor.submit(lambda: "still open").result(timeout=5) == "still open"
    engine.dispose()
