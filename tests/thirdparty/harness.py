"""Run ProjectX clients this project did not write against ``main.py sim``.

Each client lives in its own virtual environment (their pins clash with ours: one needs
signalrcore 0.9.2), kept between runs under ``.cache/thirdparty/`` so a warm run installs
nothing. The sandbox runs as a real process, started and stopped the way a user would.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pytest

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".cache" / "thirdparty"
HERE = Path(__file__).resolve().parent
INSTALL_TIMEOUT = 300.0


def pypi_reachable() -> str | None:
    """None when the package index answers, else why not (the suite then skips)."""
    index = os.environ.get("PIP_INDEX_URL", "https://pypi.org/simple").rstrip("/")
    try:
        with urllib.request.urlopen(index + "/pip/", timeout=5) as reply:
            return None if reply.status == 200 else f"{index} answered HTTP {reply.status}"
    except OSError as exc:
        return f"{index} is unreachable: {exc}"


def client_python(requirement: str) -> Path:
    """The interpreter of a venv holding ``requirement`` (e.g. ``projectx-sdk==0.2.39``).

    Built once and reused; a venv whose install did not finish is rebuilt. Skips the test
    when the venv must be built and the package index cannot be reached."""
    if os.environ.get("RISKMANAGER_SKIP_THIRDPARTY") == "1":
        pytest.skip("RISKMANAGER_SKIP_THIRDPARTY=1")
    name = re.sub(r"[^A-Za-z0-9.]+", "-", requirement)
    venv = CACHE / name
    python = venv / "bin" / "python"
    stamp = venv / ".installed"
    if stamp.exists() and python.exists():
        return python
    why = pypi_reachable()
    if why is not None:
        pytest.skip(f"cannot install {requirement}: {why}")
    shutil.rmtree(venv, ignore_errors=True)
    CACHE.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True,
                   timeout=INSTALL_TIMEOUT)
    done = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
         "--no-input", requirement],
        capture_output=True, text=True, timeout=INSTALL_TIMEOUT,
    )
    if done.returncode != 0:
        raise AssertionError(f"pip install {requirement} failed:\n{done.stderr[-3000:]}")
    stamp.write_text(requirement + "\n")
    return python


def npm_reachable() -> str | None:
    registry = os.environ.get("NPM_CONFIG_REGISTRY", "https://registry.npmjs.org").rstrip("/")
    try:
        with urllib.request.urlopen(registry + "/ws", timeout=5) as reply:
            return None if reply.status == 200 else f"{registry} answered HTTP {reply.status}"
    except OSError as exc:
        return f"{registry} is unreachable: {exc}"


def js_client_dir(package: str) -> Path:
    """A folder whose node_modules holds ``package`` (e.g. ``@microsoft/signalr@10.0.11``)."""
    if os.environ.get("RISKMANAGER_SKIP_THIRDPARTY") == "1":
        pytest.skip("RISKMANAGER_SKIP_THIRDPARTY=1")
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are needed for the JavaScript client")
    folder = CACHE / re.sub(r"[^A-Za-z0-9.]+", "-", package).strip("-")
    stamp = folder / ".installed"
    if stamp.exists():
        return folder
    why = npm_reachable()
    if why is not None:
        pytest.skip(f"cannot install {package}: {why}")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    (folder / "package.json").write_text('{"private": true}\n')
    done = subprocess.run(
        ["npm", "install", "--no-audit", "--no-fund", "--silent", package],
        cwd=folder, capture_output=True, text=True, timeout=INSTALL_TIMEOUT,
    )
    if done.returncode != 0:
        raise AssertionError(f"npm install {package} failed:\n{done.stderr[-3000:]}")
    stamp.write_text(package + "\n")
    return folder


class Endpoints(Protocol):
    """Where a driver connects and how it logs in."""

    base_url: str
    user_hub: str
    market_hub: str
    username: str
    api_key: str
    account_ids: list[int]


@dataclass
class Sandbox:
    process: subprocess.Popen[str]
    base_url: str
    user_hub: str
    market_hub: str
    username: str
    api_key: str
    account_ids: list[int]
    banner: str

    def stop(self) -> int:
        """Ctrl-C, as a person would stop it; its exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
            raise AssertionError("main.py sim did not stop on Ctrl-C") from None


def start_sandbox(*extra: str) -> Sandbox:
    """``python main.py sim --port 0 ...`` and what it printed about itself."""
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "main.py"), "sim", "--port", "0", *extra],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    assert process.stdout is not None
    lines: list[str] = []
    for line in process.stdout:  # the banner ends with the line telling how to stop it
        lines.append(line.rstrip("\n"))
        if line.startswith("Ctrl-C"):
            break
    else:
        process.wait(timeout=5)
        raise AssertionError(f"main.py sim exited {process.returncode}: {lines}")
    text = "\n".join(lines)

    def value(label: str) -> str:
        match = re.search(rf"^\s*{label}\s+(\S+)", text, re.MULTILINE)
        assert match, f"no {label!r} in the banner:\n{text}"
        return match.group(1)

    accounts = [int(m) for m in re.findall(r"^\s+(\d+)\s{2}", text, re.MULTILINE)]
    return Sandbox(process, value("REST API"), value("User hub"), value("Market hub"),
                   value("Username"), value("API key"), accounts, text)


@dataclass
class GatewayInThread:
    base_url: str
    user_hub: str
    market_hub: str
    username: str
    api_key: str
    account_ids: list[int]


@contextmanager
def gateway_in_thread(**options: Any) -> Iterator[GatewayInThread]:
    """The simulated gateway with hub options ``main.py sim`` does not offer (a short server
    keep-alive), served from a thread of this process so a blocking :func:`drive` can reach it."""
    from core.sim.server import DEMO_ACCOUNT_ID, DEMO_API_KEY, DEMO_USERNAME, SimulatedGateway

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="sim-gateway", daemon=True)
    thread.start()

    async def start() -> SimulatedGateway:
        gateway = SimulatedGateway(**options)  # built on its own loop
        await gateway.start()
        return gateway

    gateway = asyncio.run_coroutine_threadsafe(start(), loop).result(15)
    try:
        yield GatewayInThread(gateway.base_url, gateway.user_hub_url, gateway.market_hub_url,
                              DEMO_USERNAME, DEMO_API_KEY, [DEMO_ACCOUNT_ID])
    finally:
        asyncio.run_coroutine_threadsafe(gateway.stop(), loop).result(15)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(15)
        loop.close()


def drive(python: Path | list[str], script: str, sandbox: Endpoints, home: Path,
          timeout: float = 75.0, extra_env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run a driver with the client's interpreter; it prints one JSON report on its last line."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),  # some clients cache tokens under ~: keep them out of the real one
        "SANDBOX": json.dumps({
            "base_url": sandbox.base_url, "user_hub": sandbox.user_hub,
            "market_hub": sandbox.market_hub, "username": sandbox.username,
            "api_key": sandbox.api_key, "account_id": sandbox.account_ids[0],
        }),
        **(extra_env or {}),
    }
    command = [str(python)] if isinstance(python, Path) else list(python)
    done = subprocess.run([*command, str(HERE / script)], capture_output=True, text=True,
                          env=env, cwd=home, timeout=timeout)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise AssertionError(f"{script} exited {done.returncode}\nstdout:\n{done.stdout[-4000:]}"
                             f"\nstderr:\n{done.stderr[-4000:]}")
    report: dict[str, Any] = json.loads(lines[-1])
    report["stderr"] = done.stderr[-4000:]
    return report
