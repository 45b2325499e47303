"""The Linux bundle, built for real (packaging/build_bundle.sh into a tmp dir) and run as a user
would: headless demo to protection, a RULE-001 enforcement and a clean SIGTERM exit, then the tray
app on Qt's offscreen platform (and on a real X server when Xvfb is installed).

The build takes ~30-40 s on two cores; RISKMANAGER_SKIP_BUNDLE=1 skips this module locally.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.bundle_layout import REPO, SpecLayout, spec_layout

SKIP_ENV = "RISKMANAGER_SKIP_BUNDLE"
QT_MODULES_USED = {"QtCore", "QtGui", "QtWidgets", "QtNetwork"}
# Far above today's ~150 MB: catches a dependency or Qt module sneaking in, not small growth.
SIZE_CEILING_MB = 185
NOT_BUNDLED = ("mypy", "hypothesis", "pytest", "_pytest", "pygments", "PyQt5", "PyQt6", "tkinter")


def _why_skip() -> str | None:
    if os.environ.get(SKIP_ENV, "") not in ("", "0"):
        return f"{SKIP_ENV} is set"
    if sys.platform != "linux":
        return "builds and runs the Linux bundle (Windows/macOS: packaging/windows, the spec)"
    if not sysconfig.get_config_var("Py_ENABLE_SHARED"):
        return (f"{sys.executable} has no shared libpython (Py_ENABLE_SHARED=0): "
                "PyInstaller cannot bundle it")
    return None


pytestmark = [
    pytest.mark.bundle,
    pytest.mark.slow,
    pytest.mark.timeout(900),
    pytest.mark.skipif(_why_skip() is not None, reason=_why_skip() or ""),
]


class Bundle:
    def __init__(self, folder: Path, work: Path, layout: SpecLayout, build_seconds: float) -> None:
        self.folder, self.work, self.layout = folder, work, layout
        self.build_seconds = build_seconds
        self.app = folder / layout.app_name
        self.cli = folder / layout.cli_name


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Bundle:
    root = tmp_path_factory.mktemp("bundle")
    layout = spec_layout()
    env = {**os.environ, "PYTHON": sys.executable, "DIST_DIR": str(root / "dist"),
           "WORK_DIR": str(root / "build")}
    start = time.monotonic()
    result = subprocess.run(["bash", str(REPO / "packaging" / "build_bundle.sh")], env=env,
                            cwd=REPO, capture_output=True, text=True, timeout=800)
    assert result.returncode == 0, f"build failed:\n{result.stdout}\n{result.stderr}"
    return Bundle(root / "dist" / layout.folder, root / "build", layout, time.monotonic() - start)


def child_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """No user config, keyring or temp dir of the real user; nothing pointing at the sources."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PROJECTX_", "PYTHON", "QT_"))}
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"),
               XDG_DATA_HOME=str(home / ".local" / "share"), TMPDIR=str(tmp_path),
               PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring")
    env.update(extra)
    return env


class Running:
    """The bundle's executable as a child process, stdout and stderr read as they come."""

    def __init__(self, command: list[str], env: dict[str, str], cwd: Path) -> None:
        self.started = time.monotonic()
        self.proc = subprocess.Popen(command, env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        self._seen = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._seen:
                self.lines.append(line.rstrip("\n"))
                self._seen.notify_all()
        with self._seen:
            self._seen.notify_all()

    def output(self) -> str:
        return "\n".join(self.lines)

    def expect(self, *words: str, timeout: float = 20.0) -> float:
        """Seconds from launch to the first line holding every word."""
        deadline = time.monotonic() + timeout
        with self._seen:
            while True:
                if any(all(w in line for w in words) for line in self.lines):
                    return time.monotonic() - self.started
                left = deadline - time.monotonic()
                if left <= 0 or not self._reader.is_alive():
                    raise AssertionError(f"no line with {words!r} (exit {self.proc.poll()}):\n"
                                         + self.output())
                self._seen.wait(left)

    def stop(self, timeout: float = 20.0) -> int:
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout)
        self._reader.join(timeout)
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def run(tmp_path: Path) -> Iterator[list[Running]]:
    started: list[Running] = []
    yield started
    for app in started:
        app.kill()


def start(run: list[Running], command: list[str], tmp_path: Path, **env: str) -> Running:
    app = Running(command, child_env(tmp_path, **env), cwd=tmp_path)
    run.append(app)
    return app


def assert_clean(app: Running, code: int) -> None:
    assert code == 0, app.output()
    assert "stopped cleanly" in app.lines[-1], app.output()
    errors = [line for line in app.lines if " ERROR " in line or "Traceback" in line]
    assert not errors, app.output()


# --- layout -----------------------------------------------------------------------------------

def test_the_bundle_has_the_spec_layout_and_nothing_it_should_not(bundle: Bundle) -> None:
    layout = bundle.layout
    assert os.access(bundle.app, os.X_OK)
    assert bundle.cli.is_symlink() and bundle.cli.resolve() == bundle.app.resolve()
    for path in layout.data_files():
        assert (bundle.folder / path).is_file(), f"{path} missing from the bundle"
    contents = bundle.folder / layout.contents_dir
    bindings = {p.name.split(".")[0] for p in (contents / "PySide6").glob("Qt*.abi3.so")}
    assert bindings == QT_MODULES_USED
    qt_libs = " ".join(p.name for p in contents.rglob("libQt6*"))
    assert not re.search(r"Qt6(Qml|Quick|WebEngine|Pdf|3D|Multimedia|Sql|Designer)", qt_libs)
    assert not list(contents.rglob("*.qm")), "Qt translations are never loaded"
    # The Python modules packed into the executable, from PyInstaller's own table of contents.
    toc = ast.literal_eval((bundle.work / "pyinstaller" / "PYZ-00.toc").read_text())
    modules = {entry[0].split(".")[0] for entry in toc[1]}
    assert {"core", "gui", "qasync", "httpx", "signalrcore", "sqlalchemy"} <= modules
    assert not modules.intersection(NOT_BUNDLED)
    size = sum(p.stat().st_size for p in bundle.folder.rglob("*") if not p.is_symlink()
               and p.is_file())
    assert size < SIZE_CEILING_MB * 1024 * 1024, f"{size / 2**20:.0f} MB"


# --- running it -------------------------------------------------------------------------------

def test_headless_demo_protects_enforces_and_stops_cleanly(
    bundle: Bundle, run: list[Running], tmp_path: Path
) -> None:
    app = start(run, [str(bundle.cli), "--headless", "--demo"], tmp_path)
    protected = app.expect("protected", "13370001")
    # The scripted demo trader goes over 5 contracts within a few 3-second steps.
    # The rule named first, its id in brackets: "Max contracts [RULE-001]: reduced MNQU6 …"
    enforced = app.expect("Max contracts [RULE-001]: ", "account 13370001", " ms (",
                          timeout=protected + 20.0)
    assert_clean(app, app.stop())
    print(f"\nbundle: built in {bundle.build_seconds:.0f} s; headless demo protected after "
          f"{protected:.2f} s, RULE-001 enforced after {enforced:.2f} s")
    # Its state file went to a fresh temp dir, as from source.
    assert list(tmp_path.glob("riskmanager-demo-*/state.db"))


def test_bad_config_exits_2_naming_the_key(bundle: Bundle, tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[rules.max_contracts]\nenabled = true\nlimt = 5\n")
    result = subprocess.run([str(bundle.cli), "--headless", "--config", str(config)],
                            env=child_env(tmp_path), cwd=tmp_path, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2
    assert "rules.max_contracts.limt" in result.stderr


def test_tray_app_runs_on_offscreen_qt(bundle: Bundle, run: list[Running], tmp_path: Path) -> None:
    app = start(run, [str(bundle.app), "--demo"], tmp_path, QT_QPA_PLATFORM="offscreen")
    app.expect("protected", "13370001")
    assert_clean(app, app.stop())


@pytest.mark.skipif(shutil.which("Xvfb") is None, reason="Xvfb is not installed")
def test_tray_app_runs_on_an_x_server(bundle: Bundle, run: list[Running], tmp_path: Path) -> None:
    # Xvfb picks a free display and writes its number to the pipe: no clash with other servers.
    read_end, write_end = os.pipe()
    xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(write_end), "-screen", "0", "1024x768x24",
                             "-nolisten", "tcp"], pass_fds=(write_end,),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write_end)
    try:
        with os.fdopen(read_end) as pipe:
            display = pipe.readline().strip()
        assert display, "Xvfb did not start"
        # xcb named: a developer's Wayland session must not get the window instead.
        app = start(run, [str(bundle.app), "--demo"], tmp_path, DISPLAY=f":{display}",
                     QT_QPA_PLATFORM="xcb")
        app.expect("protected", "13370001")
        assert_clean(app, app.stop())
    finally:
        xvfb.terminate()
        xvfb.wait(10)
