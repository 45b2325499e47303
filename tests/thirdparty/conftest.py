"""The ``thirdparty`` marker: tests that install ProjectX clients from PyPI (deselect with
``-m "not thirdparty"``; they skip themselves when the package index cannot be reached)."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "thirdparty: drives ProjectX clients from PyPI against main.py sim")
