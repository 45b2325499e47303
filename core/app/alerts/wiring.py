"""Alerts for a running RiskService, in two lines.

    alerts = start_alerts(service, secret_store)   # right after RiskService(...), on the loop
    ...
    await alerts.stop()                            # after service.stop()

Call it before ``service.start()`` (or ``start_unless``) so no notice is missed; it returns at
once (the keyring is read and the HTTP client built in the background). It also counts the
day's breaches and locks and publishes the end-of-day :class:`DaySummary` on the service's bus,
whether or not any alert service is on. A ConfigManager on the service gets a listener, so
alert settings saved in the settings window apply at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.app.alerts.dispatcher import AlertDispatcher
from core.app.alerts.secrets import SecretStore
from core.app.day_summary import DaySummaries, SummarySource
from core.modules.lockouts import Lock

if TYPE_CHECKING:
    from core.app.service import RiskService


@dataclass(slots=True)
class RunningAlerts:
    dispatcher: AlertDispatcher
    summaries: DaySummaries

    async def stop(self, flush_timeout: float = 2.0) -> None:
        self.summaries.close()
        await self.dispatcher.stop(flush_timeout)


def start_alerts(
    service: RiskService, secret_store: SecretStore | None = None, **options: Any
) -> RunningAlerts:
    """Attach the end-of-day summary and the alert dispatcher to ``service``'s bus and start
    the dispatcher's workers. ``secret_store``: the app's one store
    (:class:`core.app.secret_store.AppSecretStore`) unless given. ``options`` go to
    :class:`AlertDispatcher` (timeouts, tests)."""
    if secret_store is None:
        from core.app.secret_store import AppSecretStore  # it builds on this package

        secret_store = AppSecretStore()

    def engine() -> Any:
        return getattr(service, "engine", None)  # it exists once service.start() has begun

    def source() -> SummarySource | None:
        found: SummarySource | None = engine()
        return found

    def contract_name(contract_id: str) -> str:
        contracts = getattr(engine(), "contracts", None)
        contract = contracts.get(contract_id) if contracts is not None else None
        return contract.name if contract is not None and contract.name else contract_id

    def locks_in_force(account_id: int) -> list[Lock]:
        lockouts = getattr(engine(), "lockouts", None)
        return list(lockouts.locks(account_id)) if lockouts is not None else []

    summaries = DaySummaries(service.bus, source, service.clock)
    dispatcher = AlertDispatcher(
        service.bus,
        service.config,
        secret_store,
        clock=service.clock,
        contract_name=contract_name,
        locks_in_force=locks_in_force,
        **options,
    )
    dispatcher.start()
    if service.config_manager is not None:
        service.config_manager.add_listener(dispatcher.apply_config)
    return RunningAlerts(dispatcher, summaries)
