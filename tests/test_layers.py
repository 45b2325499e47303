"""The tree keeps its architecture: a lower layer of core never imports a higher one, nothing in
core imports Qt, and the GUI reaches the gateway only through the app layer.

The layers and what each may import are written here once; ``core/__init__.py`` says the same
in words. Every import counts, including those inside functions and under TYPE_CHECKING: a
lazy import is still a dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# What each package of core may import besides itself.
ALLOWED: dict[str, frozenset[str]] = {
    "domain": frozenset(),
    "config": frozenset({"domain"}),
    "sim": frozenset({"domain", "config"}),
    "modules": frozenset({"domain", "config"}),
    "persistence": frozenset({"domain", "config", "modules"}),
    "gateway": frozenset({"domain", "config", "modules"}),
    "engine": frozenset({"domain", "config", "modules", "persistence"}),
    "enforcement": frozenset({"domain", "config", "modules", "persistence", "gateway", "engine"}),
    "replay": frozenset({"domain", "config", "modules", "persistence", "gateway", "engine"}),
    "app": frozenset(
        {"domain", "config", "modules", "persistence", "gateway", "engine", "enforcement", "sim",
         "replay"}
    ),
}
QT = frozenset({"PySide6", "qasync", "shiboken6"})
# The GUI renders and asks; it never talks to the gateway, the disk or the executor itself.
GUI_FORBIDDEN = frozenset({"gateway", "persistence", "enforcement", "sim"})


def imported_modules(source: str, module: str) -> list[str]:
    """Every module an import statement in ``source`` names (relative imports resolved)."""
    names: list[str] = []
    package = module.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            names.append(target)
            # ``from core import app`` imports the package core.app
            if target == "core":
                names.extend(f"core.{alias.name}" for alias in node.names)
    return names


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def layer_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "core" else None


def core_violations(root: Path) -> list[str]:
    found: list[str] = []
    for path in sorted((root / "core").rglob("*.py")):
        module = _module_name(path, root)
        own = layer_of(module)
        for target in imported_modules(path.read_text(encoding="utf-8"), module):
            if target.split(".")[0] in QT:
                found.append(f"{module} imports Qt ({target})")
                continue
            other = layer_of(target)
            if other is None or own is None or other == own:
                continue
            if own not in ALLOWED:
                found.append(f"{module} is in no known layer (core/{own}/)")
            elif other not in ALLOWED[own]:
                found.append(f"{module} ({own}) imports {target} ({other})")
    return found


def gui_violations(root: Path) -> list[str]:
    found: list[str] = []
    for path in sorted((root / "gui").rglob("*.py")):
        module = _module_name(path, root)
        for target in imported_modules(path.read_text(encoding="utf-8"), module):
            if layer_of(target) in GUI_FORBIDDEN:
                found.append(f"{module} imports {target}: go through core.app")
    return found


def test_every_core_package_has_a_layer() -> None:
    packages = {p.name for p in (REPO / "core").iterdir() if (p / "__init__.py").exists()}
    assert packages == set(ALLOWED)


def test_core_imports_run_only_downward_and_never_to_qt() -> None:
    assert core_violations(REPO) == []


def test_gui_never_imports_the_gateway_or_the_disk_directly() -> None:
    assert gui_violations(REPO) == []


def test_each_core_package_says_what_it_owns_and_may_import() -> None:
    for name in ALLOWED:
        doc = ast.get_docstring(ast.parse((REPO / "core" / name / "__init__.py").read_text()))
        assert doc and "import" in doc, f"core/{name}/__init__.py needs its docstring"


# --- the checker itself catches what it must ----------------------------------------------------

def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from core.gateway.rest import GatewayRest\n", "core.engine.x (engine) imports core.gateway.rest"),
        ("def f():\n    from core.app.service import RiskService\n", "imports core.app.service (app)"),
        ("from ..app import service\n", "imports core.app"),
        ("from core import app\n", "imports core.app (app)"),
        ("import PySide6.QtCore\n", "imports Qt"),
        ("from qasync import QEventLoop\n", "imports Qt"),
    ],
)
def test_checker_catches_an_engine_reaching_up(tmp_path: Path, source: str, expected: str) -> None:
    root = _tree(tmp_path, {"core/engine/__init__.py": "", "core/engine/x.py": source})
    found = core_violations(root)
    assert len(found) == 1 and expected in found[0]


def test_checker_allows_downward_and_same_layer_imports(tmp_path: Path) -> None:
    root = _tree(tmp_path, {
        "core/engine/x.py": "from core.domain.events import QuoteEvent\nfrom core.engine import y\n"
                            "from .rules import base\n",
    })
    assert core_violations(root) == []


def test_checker_catches_the_gui_importing_the_gateway(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"gui/w.py": "from core.gateway.rest import GatewayRest\n"
                                        "from core.app.service import RiskService\n"})
    assert gui_violations(root) == ["gui.w imports core.gateway.rest: go through core.app"]
