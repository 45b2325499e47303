"""Tray balloons one at a time, so that none is lost.

A tray shows one balloon: a second ``showMessage`` replaces the first at once, so a loss warning
followed 4 ms later by a cooldown notice used to vanish unread. Messages wait here instead:
the first goes out at once, and those arriving within ``gap`` seconds of a balloon go out
together in the next one, grouped, the most urgent first. Every message is in the notifier's
history regardless.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QSystemTrayIcon

from gui.popup_window import CRITICAL, INFO, WARNING, Shown

TRAY_ICONS = {
    INFO: QSystemTrayIcon.MessageIcon.Information,
    WARNING: QSystemTrayIcon.MessageIcon.Warning,
    CRITICAL: QSystemTrayIcon.MessageIcon.Critical,
}
_RANK = {CRITICAL: 0, WARNING: 1, INFO: 2}
MAX_LINES = 6  # a balloon holds a few lines; the dashboard and history hold the rest


def urgency(shown: Shown) -> int:
    return _RANK.get(shown.level, 3)


class BalloonQueue:
    def __init__(
        self,
        tray: QSystemTrayIcon,
        monotonic: Callable[[], float],
        *,
        gap: float = 4.0,
        message_ms: int = 8000,
        critical_ms: int = 20000,
    ) -> None:
        self._tray = tray
        self._monotonic = monotonic
        self.gap = gap
        self._message_ms, self._critical_ms = message_ms, critical_ms
        self._queue: list[Shown] = []
        self._current: list[Shown] = []  # what the balloon on screen holds
        self._last: float | None = None
        self.balloons: list[tuple[str, str, str]] = []  # (title, body, level) as shown, newest last

    @property
    def waiting(self) -> int:
        return len(self._queue)

    def put(self, shown: Shown) -> None:
        self._queue.append(shown)
        self.pump()

    def pump(self) -> None:
        """Show what waits, if the last balloon has had its time (the notifier's tick calls
        this every second). A critical message does not wait behind a routine one: it goes out
        at once, and the balloon it replaces early is repeated inside it."""
        if not self._queue:
            return
        now = self._monotonic()
        recent = self._last is not None and now - self._last < self.gap
        critical_now = any(s.level == CRITICAL for s in self._queue) and not any(
            s.level == CRITICAL for s in self._current)
        if recent and not critical_now:
            return
        waiting = self._queue + (self._current if recent else [])
        batch = sorted(waiting, key=urgency)  # stable: arrival order within a level
        self._queue.clear()
        self._current = batch
        self._last = now
        title, body, level = group(batch)
        msecs = self._critical_ms if level == CRITICAL else self._message_ms
        self.balloons.append((title, body, level))
        del self.balloons[:-50]
        self._tray.showMessage(title, body, TRAY_ICONS[level], msecs)

    def clear(self) -> None:
        self._queue.clear()


def group(batch: list[Shown]) -> tuple[str, str, str]:
    """One balloon for several messages: the most urgent one's title, every title in the body."""
    first = batch[0]
    if len(batch) == 1:
        return first.title, first.body, first.level
    title = f"{first.title} (+{len(batch) - 1} more)"
    lines = [f"• {s.title}: {' '.join(s.body.split())}".rstrip(": ") for s in batch[:MAX_LINES]]
    if len(batch) > MAX_LINES:
        lines.append(f"… and {len(batch) - MAX_LINES} more on the dashboard")
    return title, "\n".join(lines), first.level
