"""Which accounts the service protects, and keeping that in step with the config in force.

At start: the accounts of the config's list that the login can see (every active one for an
empty list), and any account a lock still holds, whatever the list says: a lock protects its
account until it ends. When a config comes into force (a tightening at once, a loosening at the
reset) the engine takes it, and an account it newly protects is subscribed and re-read without
a restart. A mixin of :class:`core.app.service.RiskService`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from core.app.protection import PROTECTED_STATUS, Protection, account_state
from core.app.snapshot_builder import take_snapshot
from core.app.state_notices import ConfigInForceChanged
from core.config.models import AppConfig
from core.domain.bus import EventBus
from core.domain.clock import Clock
from core.domain.events import AccountEvent
from core.domain.words import rule_label
from core.engine.engine import Engine
from core.persistence.store import StateStore

if TYPE_CHECKING:
    from core.app.reread import AccountRereader
    from core.gateway.hubs import Hub

log = logging.getLogger("core.app.service")

RECONCILING = "reconciling"
STARTING = "starting"


def accounts_at_stake(engine: Engine, status: Mapping[int, str]) -> dict[int, str]:
    """Every account quitting would leave unguarded, with its status: those the service protects
    (``status``), and those only the state file knows so far (a lock in force, a position held
    when the app stopped), "starting" until the gateway has answered. The state is restored
    before the gateway is reached: autostart before the network is up, or the gateway down,
    must not make a locked account look like nothing is at stake."""
    now = engine.clock.now()
    accounts = dict(status)
    for lock in engine.lockouts.all_locks():
        if lock.active_at(now):
            accounts.setdefault(lock.account_id, STARTING)
    for account_id, account in engine.mirror.accounts.items():
        # An account the config in force no longer protects (and no lock holds) is not
        # watched now: quitting gives nothing up there.
        if account.positions and engine.is_protected(account_id):
            accounts.setdefault(account_id, STARTING)
    return accounts


class AccountsInForce:
    # Provided by RiskService.
    config: AppConfig
    bus: EventBus
    clock: Clock
    engine: Engine
    store: StateStore
    status: dict[int, str]
    names: dict[int, str]
    user_hub: Hub
    _rereader: AccountRereader
    _accounts: Sequence[AccountEvent]

    def _set_status(self, account_id: int, status: str) -> None:
        raise NotImplementedError

    def _spawn(self, coro: Awaitable[Any], name: str) -> None:
        raise NotImplementedError

    def _locked_accounts(self) -> set[int]:
        _, symbol_locks = self.store.load_locks()
        held = {lock.account_id for lock in self.engine.lockouts.all_locks()}
        return held | {sl.account_id for sl in symbol_locks
                       if self.engine.lockouts.symbol_locks(sl.account_id)}

    def _choose_accounts(self, accounts: Sequence[AccountEvent]) -> list[AccountEvent]:
        """The accounts to protect from the login's active ones; each starts as "starting"."""
        self._accounts = accounts
        wanted = set(self.config.general.accounts)
        locked = self._locked_accounts()
        protected = [a for a in accounts
                     if not wanted or a.account_id in wanted or a.account_id in locked]
        for account_id in sorted(wanted - {a.account_id for a in accounts}):
            log.warning("account %s from the config is not an active account of this login", account_id)
        for account in protected:
            if wanted and account.account_id not in wanted:
                log.warning("account %s is not in the config's account list but a lock still "
                            "holds it: protected until the lock ends", account.account_id)
        self.engine.protected = {a.account_id for a in protected}
        for account in protected:
            self.names[account.account_id] = account.name or ""
            self._set_status(account.account_id, STARTING)
        return protected

    def _log_restored_locks(self) -> None:
        """A lock from before a restart is not a new LockSet; still say it is in force."""
        now = self.clock.now()
        zone = ZoneInfo(self.config.general.timezone)
        for lock in self.engine.lockouts.all_locks():
            if not lock.active_at(now):
                continue
            until = (
                f"until {lock.until.astimezone(zone):%a %Y-%m-%d %H:%M %Z}"
                if lock.until is not None
                else "until the gateway allows trading again"
            )
            log.info(
                "restored lock: account %s %s %s lock %s: %s",
                lock.account_id, rule_label(lock.rule_id), lock.kind.value, until, lock.reason,
            )

    def enforces_anything(self, account_id: int) -> bool:
        """Whether a connected account has a limit enabled, judged as the tray judges it
        (:func:`core.app.protection.account_state`): with none, nothing is enforced, and the
        account is not "protected" whatever its connection says."""
        snapshot = take_snapshot(self.engine, account_id, status=PROTECTED_STATUS)
        return account_state(snapshot) is not Protection.NO_LIMITS

    def _config_changed(self, config: AppConfig) -> None:
        """A new config in force (a tightening now, a loosening at the reset)."""
        old = self.config
        self.config = config
        # The engine protects the new list; an account it leaves out stays protected while a
        # lock holds it (Engine.is_protected).
        self.engine.apply_config(config)
        self.bus.publish(ConfigInForceChanged())  # a limit enabled, or the last one switched off
        if (config.gateway, config.general.data_dir) != (old.gateway, old.general.data_dir):
            log.warning("the gateway, user or data folder in force changed: the risk manager "
                        "uses them from its next start")
        wanted = set(config.general.accounts)
        added = [a for a in getattr(self, "_accounts", ())
                 if a.account_id not in self.status and (not wanted or a.account_id in wanted)]
        if added:
            self._spawn(self._protect_more(added), "accounts")

    async def _protect_more(self, accounts: list[AccountEvent]) -> None:
        """Accounts the config in force now protects: subscribe and re-read them."""
        for account in accounts:
            self.names[account.account_id] = account.name or ""
            self._set_status(account.account_id, STARTING)
            log.info("account %s is protected from now on", account.account_id)
        if not self.user_hub.connected:
            return  # the next connection subscribes every account in self.status
        for account in accounts:
            await self.user_hub.invoke("SubscribeOrders", [account.account_id])
            await self.user_hub.invoke("SubscribePositions", [account.account_id])
            await self.user_hub.invoke("SubscribeTrades", [account.account_id])
            self._set_status(account.account_id, RECONCILING)
            self._rereader.request(account.account_id, "newly protected")
