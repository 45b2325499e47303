"""The real tray app on the real qasync loop, in demo mode, as a process: protected, then a
clean quit with nothing left running."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_demo_tray_app_reaches_protected_and_quits_cleanly(tmp_path: Path) -> None:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONUNBUFFERED="1")
    log_path = tmp_path / "app.log"
    with log_path.open("w") as log:
        app = subprocess.Popen(
            [sys.executable, "main.py", "--demo"], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and log_path.read_text().count(" protected") < 2:
                assert app.poll() is None, log_path.read_text()
                time.sleep(0.1)
            output = log_path.read_text()
            assert "account 13370001 (PRAC-V2-DEMO-13370001) protected" in output
            app.send_signal(signal.SIGTERM)
            assert app.wait(timeout=20) == 0, log_path.read_text()
        finally:
            if app.poll() is None:
                app.kill()
    output = log_path.read_text()
    assert "stopped cleanly (tasks left: 0, non-daemon threads left: 0)" in output
    assert "Traceback" not in output
