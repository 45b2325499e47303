"""One risk manager per user in every mode: the app as a user starts it, twice."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from core.sim.server import DEMO_API_KEY, DEMO_USERNAME, SimulatedGateway
from tests.integration.support import ACCT, BUY, MNQ, App, Trader, app_env, config_toml, until

pytestmark = [
    pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals"),
    pytest.mark.slow,
]


def env_for(tmp_path: Path) -> dict[str, str]:
    # One user: the same home for every copy. QT_QPA_PLATFORM lets the tray app run here.
    return app_env(tmp_path, PROJECTX_USERNAME=DEMO_USERNAME, PROJECTX_API_KEY=DEMO_API_KEY,
                   QT_QPA_PLATFORM="offscreen")


def config(sim: SimulatedGateway, tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.toml"
    # Another config file and another data folder: still the same trader.
    path.write_text(config_toml(sim, tmp_path / f"data-{name}", {"max_contracts": {"limit": 2}}))
    return path


async def refused(app: App) -> str:
    code = await app.finished(60.0)
    assert code == 1, app._report()
    message = "\n".join(app.errors)
    assert "already running" in message and "twice" in message, app._report()
    assert "headless, process" in message or "tray app, process" in message
    return message


async def test_a_second_headless_copy_refuses_to_start(sim: SimulatedGateway, tmp_path: Path) -> None:
    env = env_for(tmp_path)
    first = await App.start("--headless", "--config", str(config(sim, tmp_path, "a")), env=env)
    try:
        await first.expect("protected", str(ACCT))
        second = await App.start("--headless", "--config", str(config(sim, tmp_path, "b")), env=env)
        try:
            message = await refused(second)
            assert f"headless, process {first.proc.pid}" in message
        finally:
            await second.kill()
        # The first copy protects on, alone: one close per breach.
        trader = Trader(sim)
        trader.market(MNQ, BUY, 4)
        await until(lambda: trader.net(MNQ) == 2, "the running copy to enforce")
    finally:
        await first.kill()  # SIGKILL: nothing released by the app itself
    third = await App.start("--headless", "--config", str(config(sim, tmp_path, "a")), env=env)
    try:
        await third.expect("protected", str(ACCT))  # a killed copy leaves no stale lock
        assert await third.signal(signal.SIGTERM) == 0
    finally:
        await third.kill()


async def test_a_tray_app_next_to_a_headless_copy_refuses_and_the_reverse(
    sim: SimulatedGateway, tmp_path: Path
) -> None:
    env = env_for(tmp_path)
    headless = await App.start("--headless", "--config", str(config(sim, tmp_path, "a")), env=env)
    try:
        await headless.expect("protected", str(ACCT))
        tray = await App.start("--config", str(config(sim, tmp_path, "b")), env=env)
        try:
            await refused(tray)
        finally:
            await tray.kill()
    finally:
        assert await headless.signal(signal.SIGTERM) == 0
        await headless.kill()

    tray = await App.start("--config", str(config(sim, tmp_path, "b")), env=env)
    try:
        await tray.expect("protected", str(ACCT), timeout=60.0)
        headless = await App.start("--headless", "--config", str(config(sim, tmp_path, "a")),
                                   env=env)
        try:
            message = await refused(headless)
            assert "tray app, process" in message
        finally:
            await headless.kill()
    finally:
        await tray.kill()


async def test_demo_copies_need_no_lock(tmp_path: Path) -> None:
    """The demo runs its own simulated gateway and touches no real account."""
    env = env_for(tmp_path)
    first = await App.start("--headless", "--demo", env=env)
    second = await App.start("--headless", "--demo", env=env)
    try:
        await first.expect("protected", "13370001")
        await second.expect("protected", "13370001")
    finally:
        await first.kill()
        await second.kill()
