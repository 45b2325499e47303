"""GUI tests run on Qt's offscreen platform: no display needed, real widgets.

Set before anything creates the QApplication (pytest-qt's ``qapp`` fixture does, lazily).
"""

from __future__ import annotations

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"
