"""Draw the tray icons into resources/icons/ (run after changing gui/icons.py, commit the PNGs).

    python scripts/make_icons.py [--out DIR]

Runs without a display: it uses Qt's offscreen platform unless QT_QPA_PLATFORM says otherwise.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="target folder (default resources/icons)")
    args = parser.parse_args(argv)
    # Before the first Qt import: a build machine usually has no display.
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))  # run as a plain script from anywhere

    from PySide6.QtGui import QGuiApplication

    from gui.icons import ICON_DIR, write_icons

    app = QGuiApplication.instance() or QGuiApplication([])
    written = write_icons(args.out or ICON_DIR)
    for path in written:
        print(path.relative_to(REPO) if path.is_relative_to(REPO) else path)
    del app
    return 0


if __name__ == "__main__":
    sys.exit(main())
