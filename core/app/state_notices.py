"""Notices about the app's own state, published on the service's bus beside the engine's.

Each is also logged by the service in plain words; the tray, the dashboard, the notice log
and the alerts word them from these fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

# The rule id of the lock that closes new entries while the trade history of a rebuilt state
# file has not been read back ("Waiting for trade history" in the trader's words).
HISTORY_LOCK = "HISTORY"


@dataclass(frozen=True, slots=True)
class StateRebuilt:
    """The state file was damaged (kept aside as ``kept_as``) or missing: a new one was started,
    and today's P&L and daily locks are rebuilt from the gateway's trade history. Until each
    account's history has been read, it is not protected and new entries are closed."""

    why: str  # "damaged" or "missing"
    kept_as: str | None
    detail: str


@dataclass(frozen=True, slots=True)
class StateRebuildDone:
    """Every protected account's trade history has been read back after :class:`StateRebuilt`."""

    account_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class StateWriteFailed:
    """Critical: a lock, a trade or the day's P&L could not be written to the state file after
    retries (disk full, a damaged disk). Protection goes on from memory, but a crash now would
    lose it. Stays until :class:`StateWriteRecovered`."""

    what: str  # "the RULE-003 lock of account 123"
    error: str


@dataclass(frozen=True, slots=True)
class StateWriteRecovered:
    """Everything that had failed to reach the state file has been written."""


@dataclass(frozen=True, slots=True)
class ConfigInForceChanged:
    """The running engine has taken a new config in force (a tightening at once, a loosening
    at the reset): what is enforced on each account may have changed (a limit enabled, or the
    last one switched off)."""


@dataclass(frozen=True, slots=True)
class GapClose:
    """A closing fill, while the app was not running, of contracts opened while it was not."""

    contract_id: str
    size: int
    opened_at: datetime
    closed_at: datetime
    pnl: Decimal  # net of fees, the share of this closing fill


@dataclass(frozen=True, slots=True)
class ProtectionGap:
    """The app stopped without shutting down (a crash, a kill, a power cut): protection stopped
    at about ``stopped_at`` (the last sign of life) and resumed at ``resumed_at``. ``closed``
    lists what was opened and closed in between (None: the trade history could not be read)."""

    account_id: int
    stopped_at: datetime
    resumed_at: datetime
    closed: tuple[GapClose, ...] | None
    net: Decimal | None
