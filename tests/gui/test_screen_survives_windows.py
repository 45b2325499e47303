"""Windows the garbage collector frees must leave the application's screen alone.

The dashboard and the message window size themselves to the screen they are on. Freed from a
reference cycle (the tray app's windows hold their controller and the other way round), a
window must not take the QScreen with it: the next widget created would crash the process.
Each case runs in its own interpreter, so a crash fails one test instead of ending the run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent("""
    import gc, sys
    from PySide6.QtWidgets import QApplication, QMenu
    app = QApplication([])
    from gui.dashboard import DashboardWindow
    from gui.popup_window import PopupWindow, Shown

    def open_and_drop(kind):
        if kind == "dashboard":
            window = DashboardWindow()
            window.resize(window.fitting_size())
        else:
            window = PopupWindow()
            window.add(Shown("lock", "Daily loss limit", "Locked until 5:00 PM CT.", "critical",
                             "window", 0.0), 0)
        window.show()
        app.processEvents()
        window.close()
        window.cycle = window  # freed only by the garbage collector, as in the app

    for _ in range(3):
        open_and_drop(sys.argv[1])
        gc.collect()
        menu = QMenu()
        menu.addAction("Quit")
        assert app.primaryScreen() is not None
    print("screen intact")
""")


@pytest.mark.parametrize("window", ["dashboard", "notices"])
def test_a_window_freed_by_the_collector_leaves_the_screen(window: str) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", SCRIPT, window], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "screen intact" in done.stdout


def test_no_widget_asks_for_its_screen_directly() -> None:
    """``QWidget.screen()`` is the call that ties the screen to a window; gui/screens.py says
    where a window is without it."""
    callers = [str(path.relative_to(ROOT)) for path in sorted((ROOT / "gui").rglob("*.py"))
               if path.name != "screens.py" and ".screen()" in path.read_text(encoding="utf-8")]
    assert callers == []
