"""``main.py sim``: the simulated gateway on its own, a local ProjectX sandbox for any client.

It listens on 127.0.0.1 only, prints where its REST API and hubs are and the credentials to
log in with, keeps the market moving (and, when asked, the scripted demo trader trading), and
stops cleanly on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from core.sim.models import SimAccount
from core.sim.server import (
    DEMO_ACCOUNT_ID,
    DEMO_API_KEY,
    DEMO_USERNAME,
    END_OF_DAY_EVERY,
    SimulatedGateway,
    demo_accounts,
)

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
DEFAULT_PORT = 5858
MARKET_STEP_SECONDS = 0.25  # at --speed 1
TRADER_STEP_SECONDS = 3.0

_ACCOUNT_KEYS = {"id", "name", "balance", "canTrade", "isVisible", "simulated", "active"}
_FILE_KEYS = {"accounts", "userName", "apiKey"}


class AccountsFileError(ValueError):
    """The --accounts file cannot be used; the message says where and why."""


@dataclass
class SandboxSetup:
    accounts: list[SimAccount] = field(default_factory=demo_accounts)
    username: str = DEMO_USERNAME
    api_key: str = DEMO_API_KEY


@dataclass(frozen=True)
class SandboxOptions:
    port: int = DEFAULT_PORT
    seed: int = 0
    speed: float = 1.0
    demo_trader: bool = False
    setup: SandboxSetup = field(default_factory=SandboxSetup)


def load_accounts_file(path: Path) -> SandboxSetup:
    """Read a JSON accounts file: ``{"accounts": [...], "userName": ..., "apiKey": ...}`` or a
    bare list of accounts. Each account is ``{"id", "name", "balance"}`` plus optional
    ``canTrade``, ``isVisible``, ``simulated`` and ``active`` (all true by default)."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise AccountsFileError(f"cannot read {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise AccountsFileError(f"{path} is not valid JSON: {exc}") from None
    setup = SandboxSetup(accounts=[])
    items: Any = raw
    if isinstance(raw, Mapping):
        unknown = sorted(set(raw) - _FILE_KEYS)
        if unknown:
            raise AccountsFileError(f"unknown key {unknown[0]!r} (allowed: "
                                    f"{', '.join(sorted(_FILE_KEYS))})")
        setup.username = _text(raw, "userName", DEMO_USERNAME, "")
        setup.api_key = _text(raw, "apiKey", DEMO_API_KEY, "")
        items = raw.get("accounts")
    if not isinstance(items, list) or not items:
        raise AccountsFileError("'accounts' must be a non-empty list of accounts")
    seen: set[int] = set()
    for index, item in enumerate(items):
        account = _account(item, f"accounts[{index}]")
        if account.id in seen:
            raise AccountsFileError(f"accounts[{index}].id {account.id} appears twice")
        seen.add(account.id)
        setup.accounts.append(account)
    return setup


def _text(raw: Mapping[str, Any], key: str, default: str, where: str) -> str:
    value = raw.get(key, default)
    if not isinstance(value, str) or not value.strip():
        raise AccountsFileError(f"{where}{key} must be a non-empty string")
    return value


def _flag(raw: Mapping[str, Any], key: str, where: str) -> bool:
    value = raw.get(key, True)
    if not isinstance(value, bool):
        raise AccountsFileError(f"{where}.{key} must be true or false")
    return value


def _account(item: Any, where: str) -> SimAccount:
    if not isinstance(item, Mapping):
        raise AccountsFileError(f"{where} must be an object with id, name and balance")
    unknown = sorted(set(item) - _ACCOUNT_KEYS)
    if unknown:
        raise AccountsFileError(f"{where}: unknown key {unknown[0]!r} (allowed: "
                                f"{', '.join(sorted(_ACCOUNT_KEYS))})")
    account_id = item.get("id")
    # Live account ids are int32: a bot's parser may rely on it.
    if isinstance(account_id, bool) or not isinstance(account_id, int) or not (
        0 < account_id < 2**31
    ):
        raise AccountsFileError(f"{where}.id must be a whole number from 1 to 2147483647")
    name = _text(item, "name", "", f"{where}.")
    balance = item.get("balance")
    if isinstance(balance, bool) or not isinstance(balance, int | float) or balance != balance:
        raise AccountsFileError(f"{where}.balance must be a number")
    return SimAccount(
        account_id, name, float(balance),
        can_trade=_flag(item, "canTrade", where), is_visible=_flag(item, "isVisible", where),
        simulated=_flag(item, "simulated", where), active=_flag(item, "active", where),
    )


def banner(gateway: SimulatedGateway, options: SandboxOptions) -> str:
    setup = options.setup
    accounts = "\n".join(
        f"                {a.id}  {a.name}  ${a.balance:,.2f}"
        + ("" if a.can_trade else "  (cannot trade)") + ("" if a.active else "  (inactive)")
        for a in setup.accounts
    )
    trader = (f"on, trading account {trader_account(setup)}" if options.demo_trader else "off")
    return (
        f"ProjectX sandbox: a simulated gateway on {HOST} (no real money, no network)\n"
        f"  REST API      {gateway.base_url}   (POST /api/<Controller>/<action>)\n"
        f"  User hub      {gateway.user_hub_url}\n"
        f"  Market hub    {gateway.market_hub_url}\n"
        f"  Username      {setup.username}\n"
        f"  API key       {setup.api_key}\n"
        f"  Accounts\n{accounts}\n"
        f"  Market        moving every {MARKET_STEP_SECONDS / options.speed:g} s "
        f"(seed {options.seed}, speed {options.speed:g}x); demo trader {trader}\n"
        "Ctrl-C stops it."
    )


def trader_account(setup: SandboxSetup) -> int:
    ids = [a.id for a in setup.accounts]
    return DEMO_ACCOUNT_ID if DEMO_ACCOUNT_ID in ids else ids[0]


async def run_sandbox(options: SandboxOptions, *, out: TextIO, err: TextIO,
                      stop: asyncio.Event | None = None) -> int:
    """Serve until ``stop`` is set (Ctrl-C and SIGTERM set it). 0 on a clean stop, 1 when
    the port cannot be had."""
    stop = stop or asyncio.Event()
    setup = options.setup
    gateway = SimulatedGateway(
        username=setup.username, api_key=setup.api_key, host=HOST, port=options.port,
        accounts=setup.accounts, seed=options.seed,
        market_interval=MARKET_STEP_SECONDS / options.speed,
        end_of_day_interval=END_OF_DAY_EVERY,
    )
    try:
        await gateway.start()
    except OSError as exc:
        await gateway.stop()
        print(f"risk-manager sim: cannot listen on {HOST}:{options.port} (--port): "
              f"{exc.strerror or exc}", file=err)
        return 1
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)  # not on Windows: KeyboardInterrupt there
            installed.append(sig)
    try:
        if options.demo_trader:
            gateway.start_demo_trader(trader_account(setup),
                                      step_seconds=TRADER_STEP_SECONDS / options.speed,
                                      seed=options.seed)
        print(banner(gateway, options), file=out, flush=True)
        await stop.wait()
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
        await gateway.stop()
    print("ProjectX sandbox stopped.", file=out, flush=True)
    return 0
