"""The bundle's layout as pyinstaller.spec describes it, read without running PyInstaller.

tests/test_packaging.py checks the installer scripts against it; tests/test_bundle.py checks a
real build against it. The spec keeps these values as plain literals for that reason.
"""

from __future__ import annotations

import ast
import contextlib
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SPEC = REPO / "pyinstaller.spec"


def pyproject_version() -> str:
    return str(tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"])


def _literals(tree: ast.Module) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name):
                # Values that are not literals (paths, regexes) are not part of the layout.
                with contextlib.suppress(ValueError):
                    found[target.id] = ast.literal_eval(node.value)
    return found


def _keyword(tree: ast.Module, call: str, name: str) -> ast.expr | None:
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id == call):
            for keyword in node.keywords:
                if keyword.arg == name:
                    return keyword.value
    return None


@dataclass(frozen=True)
class SpecLayout:
    app_name: str
    cli_name: str
    folder: str  # COLLECT's name: dist/<folder>
    contents_dir: str  # where Python, Qt and the data go, beside the executables
    datas: list[tuple[str, str]]
    version_file: str

    def executables(self, windows: bool) -> list[str]:
        suffix = ".exe" if windows else ""
        return [self.app_name + suffix, self.cli_name + suffix]

    def data_files(self) -> list[str]:
        """Every data file's path inside the bundle folder, from the spec's (source, dest) pairs."""
        files = []
        for source, dest in self.datas:
            src = REPO / source
            if src.is_dir():
                files += [f"{self.contents_dir}/{dest}/{path.relative_to(src).as_posix()}"
                          for path in sorted(src.rglob("*")) if path.is_file()]
            else:
                files.append(f"{self.contents_dir}/{dest}/{src.name}")
        return files


def spec_layout() -> SpecLayout:
    tree = ast.parse(SPEC.read_text(encoding="utf-8"), filename=str(SPEC))
    values = _literals(tree)
    folder = _keyword(tree, "COLLECT", "name")
    assert isinstance(folder, ast.Name), "COLLECT(name=...) should name the APP_NAME constant"
    contents = _keyword(tree, "dict", "contents_directory")
    assert contents is not None, "the spec should set contents_directory for its EXEs"
    return SpecLayout(
        app_name=values["APP_NAME"],
        cli_name=values["CLI_NAME"],
        folder=values[folder.id],
        contents_dir=ast.literal_eval(contents),
        datas=[tuple(pair) for pair in values["DATAS"]],  # type: ignore[misc]
        version_file=values["VERSION_FILE"],
    )
