"""Two small app pieces on their own: the alert secrets kept by the API key's rules (the OS
keyring, else a file only the user can read), and the account of what was opened and closed
while the app was not running."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends.fail import Keyring as NoKeyring

from core.app.alerts import save_secret
from core.app.alerts.secrets import SecretStoreError, load_secrets
from core.app.secret_store import AppSecretStore
from core.app.unclean_stop import closed_in_gap
from core.domain.events import TradeEvent
from tests.builders import ACCOUNT, MNQ, T0

URL = "https://discord.com/api/webhooks/1/secret-token"
NAME = "alerts.discord.webhook_url"


class MemoryKeyring(KeyringBackend):
    """A keyring that works (this container has no Secret Service to run a real one)."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.values.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.values[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if (service, username) not in self.values:
            raise keyring.errors.PasswordDeleteError(username)
        del self.values[(service, username)]


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> Iterator[KeyringBackend]:
    previous = keyring.get_keyring()
    chosen: KeyringBackend = MemoryKeyring() if request.param == "keyring" else NoKeyring()
    keyring.set_keyring(chosen)
    yield chosen
    keyring.set_keyring(previous)


@pytest.mark.parametrize("backend", ["none"], indirect=True)
def test_without_a_keyring_the_secrets_go_to_a_file_only_the_user_reads(
    backend: KeyringBackend, tmp_path: Path
) -> None:
    store = AppSecretStore(tmp_path / "cfg" / "alert-secrets.json")
    with pytest.raises(SecretStoreError, match="no keyring"):  # not without the trader's consent
        save_secret(store, "discord", "webhook_url", URL)
    store.allow_file = True
    save_secret(store, "discord", "webhook_url", URL)
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert json.loads(store.path.read_text()) == {NAME: URL}
    assert load_secrets(AppSecretStore(store.path), "discord") == {"webhook_url": URL}
    assert store.delete(NAME) and store.get(NAME) is None


@pytest.mark.parametrize("backend", ["keyring"], indirect=True)
def test_with_a_keyring_the_secrets_go_there_and_nowhere_else(
    backend: KeyringBackend, tmp_path: Path
) -> None:
    store = AppSecretStore(tmp_path / "alert-secrets.json")
    store.set(NAME, URL)
    assert isinstance(backend, MemoryKeyring) and backend.values == {("RiskManager", NAME): URL}
    assert not store.path.exists() and store.get(NAME) == URL


@pytest.mark.parametrize("backend", ["keyring"], indirect=True)
def test_a_file_left_from_a_keyless_day_is_still_read(backend: KeyringBackend, tmp_path: Path) -> None:
    path = tmp_path / "alert-secrets.json"
    path.write_text(json.dumps({NAME: URL}))
    assert AppSecretStore(path).get(NAME) == URL


@pytest.mark.parametrize("backend", ["none"], indirect=True)
def test_a_damaged_secrets_file_is_a_clear_error(backend: KeyringBackend, tmp_path: Path) -> None:
    path = tmp_path / "alert-secrets.json"
    path.write_text("{not json")
    with pytest.raises(SecretStoreError, match="cannot be read"):
        AppSecretStore(path).get(NAME)


# --- what was opened and closed while the app was not running --------------------------------------


def fill(n: int, minutes: float, side: int, size: int, pnl: str | None, fees: str = "0.37",
         contract: str = MNQ) -> TradeEvent:
    return TradeEvent(n, ACCOUNT, contract, T0 + timedelta(minutes=minutes), 21000.0, side, size,
                      Decimal(fees), Decimal(pnl) if pnl is not None else None)


BUY, SELL = 0, 1


def test_a_round_trip_in_the_gap_is_reported_net_of_both_fills_fees() -> None:
    [close] = closed_in_gap([fill(1, 5, BUY, 2, None, "0.74"), fill(2, 9, SELL, 2, "-40", "0.74")],
                            {}, T0)
    assert (close.contract_id, close.size) == (MNQ, 2)
    assert close.opened_at == T0 + timedelta(minutes=5) and close.closed_at == T0 + timedelta(minutes=9)
    assert close.pnl == Decimal("-41.48")


def test_closing_what_was_held_at_the_stop_is_not_what_was_done_unprotected() -> None:
    assert closed_in_gap([fill(1, 5, SELL, 2, "30")], {MNQ: 2}, T0) == []


def test_held_lots_close_first_then_the_gap_entries() -> None:
    trades = [fill(1, 1, BUY, 1, None), fill(2, 2, SELL, 2, "10", "0.74")]
    [close] = closed_in_gap(trades, {MNQ: 1}, T0)
    assert close.size == 1 and close.opened_at == T0 + timedelta(minutes=1)


def test_a_reversal_through_flat_opens_the_other_way() -> None:
    trades = [fill(1, 1, BUY, 1, None), fill(2, 2, SELL, 3, "5", "1.11"), fill(3, 3, BUY, 2, "-8", "0.74")]
    closes = closed_in_gap(trades, {}, T0)
    assert [(c.size, c.opened_at.minute - T0.minute) for c in closes] == [(1, 1), (2, 2)]


def test_trades_before_the_stop_and_voided_ones_do_not_count() -> None:
    early = fill(1, -5, BUY, 1, None)
    voided = TradeEvent(2, ACCOUNT, MNQ, T0 + timedelta(minutes=1), 21000.0, BUY, 1, Decimal("0"),
                        None, voided=True)
    assert closed_in_gap([early, voided, fill(3, 2, SELL, 1, "4")], {}, T0) == []
