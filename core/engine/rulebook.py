"""Which rules protect which account: the shared rule set, and one per account that has its own
tables (``[accounts."<id>"]``), built once per config and looked up on every event."""

from __future__ import annotations

from typing import Any

from core.config.models import AppConfig
from core.config.rules import RulesConfig
from core.engine.rules import Rule, build_rules

Kinds = dict[type, list[Rule[Any]]]


def _index(rules: list[Rule[Any]]) -> Kinds:
    kinds: Kinds = {}
    for rule in rules:
        for kind in rule.watches:
            kinds.setdefault(kind, []).append(rule)
    return kinds


class RuleBook:
    def __init__(self, config: AppConfig) -> None:
        self.config = config
        self.shared: list[Rule[Any]] = build_rules(config.rules)
        self._shared_kinds = _index(self.shared)
        self._accounts: dict[int, tuple[list[Rule[Any]], Kinds]] = {}
        self._own = {int(key) for key, acct in config.accounts.items() if acct.overrides}

    def kinds(self, account_id: int) -> Kinds:
        """Event type → the account's enabled rules watching it, in table order."""
        if account_id not in self._own:
            return self._shared_kinds
        built = self._accounts.get(account_id)
        if built is None:
            rules = build_rules(self.config.rules_for(account_id))
            built = self._accounts[account_id] = (rules, _index(rules))
        return built[1]

    def rules(self, account_id: int) -> list[Rule[Any]]:
        self.kinds(account_id)
        built = self._accounts.get(account_id)
        return built[0] if built is not None else self.shared

    def tables(self, account_id: int) -> RulesConfig:
        return self.config.rules_for(account_id)


def changed_tables(old: AppConfig, new: AppConfig, account_id: int) -> frozenset[str]:
    """The account's rule tables that differ between two configs and are on in the new one."""
    before, after = old.rules_for(account_id), new.rules_for(account_id)
    return frozenset(
        key
        for key in type(after).model_fields
        if getattr(after, key) != getattr(before, key) and getattr(after, key).enabled
    )
