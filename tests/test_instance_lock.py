"""core.app.instance: one copy per user, released however the holder ends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from core.app.instance import AlreadyRunning, InstanceLock, default_lock_path
from tests.builders import REPO


def test_a_second_lock_is_refused_naming_the_holder(tmp_path: Path) -> None:
    path = tmp_path / "instance.lock"
    first = InstanceLock(path)
    first.acquire("headless")
    with pytest.raises(AlreadyRunning) as refused:
        InstanceLock(path).acquire("tray app")
    assert refused.value.holder == f"headless, process {os.getpid()}"
    assert "already running" in str(refused.value) and "twice" in str(refused.value)
    first.release()
    with InstanceLock(path) as again:
        again.acquire("tray app")
        assert again.held


def test_a_killed_holder_leaves_no_stale_lock(tmp_path: Path) -> None:
    path = tmp_path / "instance.lock"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from pathlib import Path; from core.app.instance import InstanceLock; "
         f"lock = InstanceLock(Path({str(path)!r})); lock.acquire('headless'); print('held', flush=True); "
         "time.sleep(60)"],
        cwd=REPO, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(AlreadyRunning, match=f"process {holder.pid}"):
            InstanceLock(path).acquire("headless")
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    lock = InstanceLock(path)
    lock.acquire("headless")  # the OS released the dead process's lock
    lock.release()


def test_the_default_place_is_per_user_not_per_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    assert default_lock_path() == tmp_path / "share" / "RiskManager" / "instance.lock"
