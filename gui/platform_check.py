"""Before Qt starts on Linux: are the system libraries of its X11 (xcb) platform there?

Without them Qt prints a hint and aborts the process (a core dump), which tells a trader
nothing. This check runs first, without loading Qt, and names the Debian/Ubuntu packages to
install instead. It asks the dynamic linker (``ldd``) what the xcb plugin cannot find; where
``ldd`` is missing it tries to load the known libraries one by one.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

# soname → the Debian/Ubuntu package that ships it
XCB_LIBRARIES: dict[str, str] = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb.so.1": "libxcb1",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libfontconfig.so.1": "libfontconfig1",
    "libdbus-1.so.3": "libdbus-1-3",
    "libglib-2.0.so.0": "libglib2.0-0",
}


def uses_xcb(env: dict[str, str] | None = None) -> bool:
    """Qt will pick its X11 platform: Linux, a DISPLAY, and no other platform asked for."""
    environ = os.environ if env is None else env
    if not sys.platform.startswith("linux"):
        return False
    platform = environ.get("QT_QPA_PLATFORM", "")
    if platform:
        return platform.split(":")[0] == "xcb"
    return bool(environ.get("DISPLAY")) and not environ.get("WAYLAND_DISPLAY")


def _qt_dir() -> Path | None:
    spec = importlib.util.find_spec("PySide6")  # finds the package without loading Qt
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "Qt"


def missing_libraries(qt_dir: Path | None = None) -> list[str]:
    """The sonames the xcb platform plugin needs and the system lacks."""
    folder = qt_dir or _qt_dir()
    plugin = folder / "plugins" / "platforms" / "libqxcb.so" if folder else None
    ldd = shutil.which("ldd")
    if plugin is not None and plugin.exists() and ldd:
        missing: list[str] = []
        for target in (plugin, folder / "lib" / "libQt6XcbQpa.so.6" if folder else plugin):
            try:
                out = subprocess.run([ldd, str(target)], capture_output=True, text=True,
                                     timeout=10, check=False).stdout
            except (OSError, subprocess.SubprocessError):
                continue
            for line in out.splitlines():
                if "not found" in line:
                    name = line.split("=>")[0].strip()
                    if name not in missing:
                        missing.append(name)
        return missing
    found: list[str] = []
    for soname in XCB_LIBRARIES:
        try:
            ctypes.CDLL(soname)
        except OSError:
            found.append(soname)
    return found


def packages_for(sonames: list[str]) -> list[str]:
    return sorted({XCB_LIBRARIES.get(name, name) for name in sonames})


def xcb_problem(env: dict[str, str] | None = None) -> str | None:
    """A message naming the packages to install, or None when Qt can start."""
    if not uses_xcb(env):
        return None
    missing = missing_libraries()
    if not missing:
        return None
    packages = " ".join(packages_for(missing))
    return (
        "The desktop window cannot open: Qt's X11 support needs system libraries that are "
        f"missing here ({', '.join(missing)}).\n"
        f"Install them with:  sudo apt-get install {packages}\n"
        "(or run with --headless to use the risk manager without a window)."
    )
