"""TrayController: state, icon, tooltip and menu, driven by real AccountSnapshots."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from PySide6.QtWidgets import QSystemTrayIcon
from pytestqt.qtbot import QtBot

from core.app.snapshot import AccountSnapshot, LimitUsage, LockView
from gui import icons
from gui.icons import TrayState, draw_icon, file_name, icon_for
from gui.tray import TrayController, tooltip_text, tray_state

NOW = datetime(2026, 8, 19, 15, 0, tzinfo=UTC)
ACCOUNT, OTHER = 26282486, 25775680


def snap(
    status: str = "protected",
    *,
    account_id: int = ACCOUNT,
    name: str = "PA-1",
    realized: str = "0",
    open_pnl: float | None = None,
    locks: tuple[LockView, ...] = (),
    loss_used: float = 0.0,
) -> AccountSnapshot:
    limits = (LimitUsage("RULE-003", "Daily loss", loss_used, 500.0, f"-${loss_used:.2f} of -$500.00"),)
    return AccountSnapshot(
        account_id=account_id, name=name, status=status, trading_day=date(2026, 8, 19),
        taken_at=NOW, realized=Decimal(realized), open_pnl=open_pnl, locks=locks, limits=limits,
        rules_enabled=("RULE-003",),
    )


CHICAGO = ZoneInfo("America/Chicago")


def hard(rule: str = "RULE-003", minutes: float | None = 72) -> LockView:
    until = None if minutes is None else NOW + timedelta(minutes=minutes)
    return LockView(rule, "hard", "Daily loss limit", until, None if minutes is None else minutes * 60)


def cooldown(rule: str = "RULE-007", seconds: float = 250) -> LockView:
    return LockView(rule, "cooldown", "Loss on one trade", NOW + timedelta(seconds=seconds), seconds)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def tray(qtbot: QtBot, clock: Clock) -> Iterator[TrayController]:
    controller = TrayController(now=clock, refresh_ms=60_000)
    controller.show()
    yield controller
    controller.close()


def test_state_walks_protected_warning_locked_reconnecting_protected(
    tray: TrayController, qtbot: QtBot
) -> None:
    changes: list[str] = []
    tray.stateChanged.connect(changes.append)
    assert tray.state is TrayState.DISCONNECTED  # nothing known yet: not protected
    steps = [
        ([snap(realized="-100", loss_used=100)], TrayState.PROTECTED),
        ([snap(realized="-410", loss_used=410)], TrayState.WARNING),
        ([snap(realized="-512", loss_used=512, locks=(hard(),))], TrayState.LOCKED),
        ([snap("reconnecting", realized="-512", loss_used=512, locks=(hard(),))], TrayState.DISCONNECTED),
        ([snap(realized="-50", loss_used=50, locks=(cooldown(),))], TrayState.COOLDOWN),
        ([snap(realized="-50", loss_used=50)], TrayState.PROTECTED),
    ]
    for snapshots, expected in steps:
        tray.update(snapshots, demo=False)
        assert tray.state is expected
        assert tray_state(snapshots) is expected
        assert tray.tray.icon().cacheKey() == icon_for(expected, False).cacheKey()
    assert changes == ["protected", "warning", "locked", "disconnected", "cooldown", "protected"]
    assert tray.tray.isVisible()


def test_one_account_decides_for_all(tray: TrayController) -> None:
    calm = snap(account_id=OTHER, name="PA-2")
    assert tray_state([calm, snap(locks=(cooldown(),))]) is TrayState.COOLDOWN
    assert tray_state([snap(locks=(cooldown(),)), snap(account_id=OTHER, locks=(hard(),))]) is (
        TrayState.LOCKED)
    assert tray_state([calm, snap("reconciling", locks=(hard(),))]) is TrayState.DISCONNECTED
    assert tray_state([calm, snap(loss_used=400)]) is TrayState.WARNING
    assert tray_state([calm, snap(locks=(LockView("RULE-011", "symbol", "ES", None, None),))]) is (
        TrayState.PROTECTED
    )
    assert tray_state([]) is TrayState.DISCONNECTED


def test_demo_overlays_every_state(tray: TrayController) -> None:
    tray.update([snap()], demo=True)
    assert tray.demo and tray.state is TrayState.PROTECTED
    assert tray.tray.icon().cacheKey() == icon_for(TrayState.PROTECTED, True).cacheKey()
    assert "(DEMO)" in tray.tooltip()
    assert "(demo)" in tray.status_text
    images = {(s, d): draw_icon(s, d, 32) for s in TrayState for d in (False, True)}
    assert len({bytes(img.constBits()) for img in images.values()}) == 2 * len(TrayState)


def test_tooltip_shows_pnl_and_lock_countdown(tray: TrayController, clock: Clock) -> None:
    tray.update(
        [
            snap(realized="-512.40", locks=(hard(minutes=72), cooldown())),
            snap(account_id=OTHER, name="", realized="35", open_pnl=-12.5),
        ],
        demo=False,
    )
    lines = tray.tooltip().splitlines()
    assert lines[0] == "Risk Manager: Locked"
    assert lines[1] == "PA-1: Locked until 11:12 CDT (daily loss) · -$512.40 today"
    assert lines[2] == f"{OTHER}: Protected · +$35.00 today, open -$12.50"
    # The menu has one line per account, and the worst state on top.
    assert tray.status_text == "Risk Manager: Locked"
    assert tray.account_texts == lines[1:]
    clock.now += timedelta(minutes=30)
    tray.update([snap(locks=(cooldown(seconds=2000),))], demo=False)
    assert "Cooldown 3 min 20 s left (losing trade)" in tray.tooltip()  # the countdown moves


def test_tooltip_for_cooldown_open_ended_lock_and_reconnecting(tray: TrayController) -> None:
    tray.update([snap(locks=(cooldown(seconds=250),))], demo=False)
    assert "PA-1: Cooldown 4 min 10 s left (losing trade) · $0.00 today" in tray.tooltip()
    assert tray.status_text == "Cooldown 4 min 10 s left (losing trade)"
    tray.update([snap(locks=(hard("RULE-010", minutes=None), hard(minutes=5)))], demo=False)
    assert ("Locked until the gateway allows trading again (trading permission lost)"
            in tray.tooltip())
    tray.update([snap("reconnecting")], demo=False)
    assert "PA-1: Gateway unreachable: not protected · $0.00 today" in tray.tooltip()
    assert tray.status_text == "Gateway unreachable: not protected"
    assert tooltip_text([], False, NOW, CHICAGO) == (
        "Risk Manager\nConnecting: not protected yet")


def test_menu_actions_emit_requests(tray: TrayController, qtbot: QtBot) -> None:
    for action, signal in (
        (tray.dashboard_action, tray.dashboardRequested),
        (tray.settings_action, tray.settingsRequested),
        (tray.about_action, tray.aboutRequested),
        (tray.quit_action, tray.quitRequested),
    ):
        with qtbot.waitSignal(signal, timeout=1000):
            action.trigger()
    texts = [a.text() for a in tray.menu.actions() if not a.isSeparator()]
    assert texts[1:] == ["Dashboard", "History", "Settings…", "Lock me out now…", "What if…",
                         "About", "Quit"]
    for action, signal in ((tray.history_action, tray.historyRequested),
                           (tray.lock_out_action, tray.lockOutRequested)):
        with qtbot.waitSignal(signal, timeout=1000):
            action.trigger()
    with qtbot.waitSignal(tray.dashboardRequested, timeout=1000):
        tray.tray.activated.emit(QSystemTrayIcon.ActivationReason.DoubleClick)
    with qtbot.waitSignal(tray.dashboardRequested, timeout=1000):
        tray.tray.messageClicked.emit()


def test_no_system_tray_offscreen_but_icon_still_shows(tray: TrayController) -> None:
    assert tray.available is False  # the app opens the dashboard instead
    assert tray.tray.isVisible()


def test_committed_icons_exist_and_missing_files_are_drawn(qapp: object, tmp_path: Path) -> None:
    for state in TrayState:
        for demo in (False, True):
            for size in icons.SIZES:
                assert (icons.ICON_DIR / file_name(state, demo, size)).is_file()
    drawn = icon_for("locked", False, directory=tmp_path)  # empty folder: the fallback draws
    assert not drawn.isNull()
    assert sorted(s.width() for s in drawn.availableSizes()) == list(icons.SIZES)
    assert icon_for("reconnecting").cacheKey() == icon_for(TrayState.DISCONNECTED).cacheKey()


def test_write_icons_matches_what_is_committed(qapp: object, tmp_path: Path) -> None:
    written = icons.write_icons(tmp_path)
    assert len(written) == len(TrayState) * 2 * len(icons.SIZES)
    from PySide6.QtGui import QImage

    for path in written:
        assert QImage(str(path)) == QImage(str(icons.ICON_DIR / path.name)), path.name
