"""Helpers for the end-to-end tests: the service against the simulated gateway over loopback.

Everything is real except the exchange: httpx REST, signalrcore websockets, a SQLite file in the
test's tmp_path. The trader trades straight on ``sim.exchange`` (as the platform's own order
ticket would), and the assertions read the exchange back: positions, orders, trades.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import sqlite3
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from core.app.credentials import Credentials
from core.app.service import RiskService
from core.config.models import AppConfig
from core.engine.notices import AccountStatusChanged
from core.sim.server import DEMO_ACCOUNT_ID, DEMO_API_KEY, DEMO_USERNAME, SimulatedGateway
from tests.builders import REPO, config

T = TypeVar("T")

ACCT = DEMO_ACCOUNT_ID
MNQ = "CON.F.US.MNQ.U26"  # $2 a point
MES = "CON.F.US.MES.U26"  # $5 a point
LIMIT, MARKET = 1, 2
BUY, SELL = 0, 1

# Fast reconnects and a short silence watchdog: a dropped socket is rebuilt in well under a second.
HUB_OPTIONS: dict[str, Any] = {
    "keepalive": 0.25,
    "silence_timeout": 3.0,
    "connect_timeout": 3.0,
    "backoff": (0.05, 0.1, 0.2, 0.5),
}
TICK_INTERVAL = 0.05
NO_PERIODIC_RECONCILE = 3600.0

WAIT = 10.0  # a safety net for hangs, not a speed assertion


def make_sim(port: int = 0) -> SimulatedGateway:
    """A hand-moved market (no random walk) and quick server pings so the watchdog stays calm."""
    return SimulatedGateway(market_interval=None, ping_interval=0.5, client_timeout=5.0, port=port)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wired(cfg: AppConfig, sim: SimulatedGateway) -> AppConfig:
    gateway = cfg.gateway.model_copy(
        update={
            "api_url": sim.base_url,
            "user_hub_url": sim.user_hub_url,
            "market_hub_url": sim.market_hub_url,
            "username": DEMO_USERNAME,
        }
    )
    return cfg.model_copy(update={"gateway": gateway})


def demo_credentials() -> Credentials:
    return Credentials(DEMO_USERNAME, DEMO_API_KEY)


async def until(check: Callable[[], T], what: str, timeout: float = WAIT) -> T:
    """Poll ``check`` until it returns something truthy; fail naming ``what`` on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        await asyncio.sleep(0.02)


class Trader:
    """The trader, trading straight on the sim's exchange; and the exchange read back."""

    def __init__(self, sim: SimulatedGateway) -> None:
        self.sim = sim
        self.placed: list[int] = []  # order ids the trader placed (the app places none)

    def market(self, contract_id: str, side: int, size: int) -> int:
        result = self.sim.exchange.place_order(ACCT, contract_id, MARKET, side, size)
        assert result.success and result.order_id is not None, result
        self.placed.append(result.order_id)
        return result.order_id

    def limit(self, contract_id: str, side: int, size: int, price: float) -> int:
        result = self.sim.exchange.place_order(
            ACCT, contract_id, LIMIT, side, size, limit_price=price
        )
        assert result.success and result.order_id is not None, result
        self.placed.append(result.order_id)
        return result.order_id

    def price(self, contract_id: str) -> float:
        return self.sim.market.last_price(contract_id)

    def move(self, contract_id: str, price: float) -> None:
        self.sim.set_market_price(contract_id, price)

    def net(self, contract_id: str) -> int:
        position = self.sim.exchange.position(ACCT, contract_id)
        return 0 if position is None else position.net

    def positions(self) -> dict[str, int]:
        return {p.contract.id: p.net for p in self.sim.exchange.positions(ACCT) if p.net}

    def working_orders(self) -> list[int]:
        return [o.id for o in self.sim.exchange.open_orders(ACCT)]

    def subscribed(self) -> bool:
        """The sim's user hub has a live connection subscribed to everything about the account."""
        return any(
            conn.subs.accounts
            and ACCT in conn.subs.orders
            and ACCT in conn.subs.positions
            and ACCT in conn.subs.trades
            for conn in self.sim.user_hub.connections
        )

    def quotes_subscribed(self, contract_id: str) -> bool:
        return any(contract_id in conn.subs.quotes for conn in self.sim.market_hub.connections)

    async def round_trip_loss(self, points: float, seen: Callable[[], bool],
                              contract_id: str = MNQ) -> None:
        """A losing round trip of one contract: buy, the market drops ``points``, sell.

        Waits for ``seen()`` (the app has the position) between the fills, as a live stream
        would deliver them: opening fill, quotes, closing fill.
        """
        self.market(contract_id, BUY, 1)
        await until(seen, f"the app to see the {contract_id} position")
        self.move(contract_id, self.price(contract_id) - points)
        self.market(contract_id, SELL, 1)


class Harness(Trader):
    """A trader and the service protecting the account, with every notice it published."""

    def __init__(self, sim: SimulatedGateway, service: RiskService, data_dir: Path) -> None:
        super().__init__(sim)
        self.service = service
        self.data_dir = data_dir
        self.notices: list[Any] = []
        service.bus.subscribe(self.notices.append)

    @property
    def db_path(self) -> Path:
        return self.data_dir / "state.db"

    def of(self, kind: type[T]) -> list[T]:
        return [n for n in self.notices if isinstance(n, kind)]

    def statuses(self, account_id: int = ACCT) -> list[str]:
        return [n.status for n in self.of(AccountStatusChanged) if n.account_id == account_id]

    def protected(self) -> bool:
        return self.service.status.get(ACCT) == "protected"

    def lock_rows(self) -> list[dict[str, Any]]:
        return lock_rows(self.db_path)

    async def realize_loss(self, points: float, contract_id: str = MNQ) -> None:
        mirror = self.service.engine.mirror
        await self.round_trip_loss(
            points, lambda: contract_id in mirror.account(ACCT).positions, contract_id
        )


def lock_rows(db_path: Path) -> list[dict[str, Any]]:
    """The lockouts table, read with a separate SQLite connection (what a restart would see)."""
    if not db_path.exists():
        return []
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5.0)
    try:
        conn.row_factory = sqlite3.Row
        return [dict(row) for row in conn.execute("SELECT * FROM lockouts")]
    finally:
        conn.close()


# --- the app as a real process --------------------------------------------------------------


def config_toml(sim: SimulatedGateway, data_dir: Path,
                rules: Mapping[str, Mapping[str, Any]]) -> str:
    """A config file as a user would write it (TOML): ``sim``'s addresses, the demo account."""
    lines = [
        "[gateway]",
        f"api_url = {json.dumps(sim.base_url)}",
        f"user_hub_url = {json.dumps(sim.user_hub_url)}",
        f"market_hub_url = {json.dumps(sim.market_hub_url)}",
        "",
        "[general]",
        f"data_dir = {json.dumps(str(data_dir))}",
        f"accounts = {json.dumps([ACCT])}",
        "",
    ]
    for name, table in rules.items():
        lines.append(f"[rules.{name}]")
        for key, value in {"enabled": True, **table}.items():
            lines.append(f"{key} = {json.dumps(value)}")
        lines.append("")
    return "\n".join(lines)


def app_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment for a child app: no user config, keyring or temp dir of the real user."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROJECTX_")}
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        TMPDIR=str(tmp_path),
        PYTHONPATH=str(REPO),
        PYTHONUNBUFFERED="1",
        PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
    )
    env.update(extra)
    return env


class App:
    """``python main.py ...`` as a child process, its output read line by line on the loop
    (the sim it talks to runs on that same loop, so nothing here may block)."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lines: list[str] = []
        self.errors: list[str] = []  # stderr, drained as it comes so the child never blocks on it
        self._new_line = asyncio.Event()
        loop = asyncio.get_running_loop()
        assert proc.stdout is not None and proc.stderr is not None
        self._readers = [
            loop.create_task(self._read(proc.stdout, self.lines)),
            loop.create_task(self._read(proc.stderr, self.errors)),
        ]

    @staticmethod
    def command(*args: str) -> list[str]:
        return [sys.executable, "main.py", *args]

    @staticmethod
    def options(env: Mapping[str, str]) -> dict[str, Any]:
        return {
            "cwd": REPO,
            "env": dict(env),
            "stdin": asyncio.subprocess.DEVNULL,
            "stdout": asyncio.subprocess.PIPE,
            "stderr": asyncio.subprocess.PIPE,
        }

    @classmethod
    async def start(cls, *args: str, env: Mapping[str, str]) -> App:
        return cls(await asyncio.create_subprocess_exec(*cls.command(*args), **cls.options(env)))

    async def _read(self, stream: asyncio.StreamReader, into: list[str]) -> None:
        async for raw in stream:
            into.append(raw.decode(errors="replace").rstrip("\n"))
            self._new_line.set()
        self._new_line.set()

    def output(self) -> str:
        return "\n".join(self.lines)

    def _report(self) -> str:
        return (f"exit code {self.proc.returncode};\nstdout:\n{self.output()}\n"
                "stderr:\n" + "\n".join(self.errors))

    async def expect(self, *words: str, timeout: float = 20.0) -> str:
        """The first stdout line holding every word; fails with the whole output."""
        deadline = time.monotonic() + timeout
        while True:
            self._new_line.clear()
            for line in self.lines:
                if all(w in line for w in words):
                    return line
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._readers[0].done():
                raise AssertionError(f"no line with {words!r} ({self._report()})")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new_line.wait(), remaining)

    async def finished(self, timeout: float = 20.0) -> int:
        """The exit code, once the child has exited and its output is all read."""
        code = await asyncio.wait_for(self.proc.wait(), timeout)
        await asyncio.wait_for(asyncio.gather(*self._readers), timeout)
        return code

    async def signal(self, sig: signal.Signals, timeout: float = 20.0) -> int:
        if self.proc.returncode is None:
            self.proc.send_signal(sig)
        return await self.finished(timeout)

    async def kill(self) -> None:
        """SIGKILL (if still running) and reap; safe to call in any ``finally``."""
        if self.proc.returncode is None:
            self.proc.kill()
        await self.proc.wait()
        for reader in self._readers:
            reader.cancel()


def rules_for(**rules: dict[str, Any]) -> AppConfig:
    """Only these rules on, protecting only the demo account."""
    return config(rules, general={"accounts": [ACCT]})


async def start_headless(tmp_path: Path, config: Path) -> App:
    """``main.py --headless --config <config>`` as a user runs it, logged in to the demo gateway."""
    env = app_env(tmp_path, PROJECTX_USERNAME=DEMO_USERNAME, PROJECTX_API_KEY=DEMO_API_KEY)
    return await App.start("--headless", "--config", str(config), env=env)
