"""Rules per account: ``[accounts."<id>"]`` tables on top of the shared ``[rules]``.

```toml
[accounts."13370001"]
plan = "50K-combine"      # "auto" (from the account name, the default), "none", or a plan
mll_floor = 48500         # the floor shown on the Topstep dashboard: wins over the app's own

[accounts."13370001".daily_realized_loss]
limit = 300               # only the keys given replace the shared table's
```

An account table may hold any rule table by its ``[rules]`` name, with any of its keys; the keys
left out come from the shared table. What an account's rules are is :func:`effective_rules`.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_serializer,
    model_validator,
)

from core.config.plans import check_plan_choice
from core.config.rules import RuleConfig, RulesConfig
from core.config.types import Amount

RULE_TABLES: dict[str, type[RuleConfig]] = {
    name: info.annotation  # type: ignore[misc]
    for name, info in RulesConfig.model_fields.items()
}

PlanChoice = Annotated[str, BeforeValidator(check_plan_choice)]


class AccountConfig(BaseModel):
    """One account's plan, its typed-in MLL floor, and its rule tables' overrides."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=True)

    plan: PlanChoice = Field(
        "auto", title="Topstep plan",
        description="auto: read from the account name; none: no plan; or e.g. 50K-combine.",
    )
    mll_floor: Amount | None = Field(
        None, gt=0, title="MLL floor from Topstep ($)",
        description="The floor your Topstep dashboard shows; it wins over the app's own.",
    )
    overrides: dict[str, dict[str, Any]] = Field(default_factory=dict, exclude=True)

    @model_validator(mode="before")
    @classmethod
    def _collect_rule_tables(cls, data: Any) -> Any:
        """Rule tables sit beside ``plan`` in the TOML; keep them apart, checked key by key."""
        if not isinstance(data, dict) or "overrides" in data:
            return data
        out: dict[str, Any] = {}
        overrides: dict[str, dict[str, Any]] = {}
        for key, value in data.items():
            if key not in RULE_TABLES:
                out[key] = value
                continue
            if not isinstance(value, dict):
                raise ValueError(f"{key} must be a table of that rule's keys")
            _check_override(key, value)
            overrides[key] = dict(value)
        out["overrides"] = overrides
        return out

    @model_serializer(mode="wrap")
    def _flat(self, handler: Any) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        data.pop("overrides", None)
        for key, table in self.overrides.items():
            data[key] = RULE_TABLES[key].model_validate({"enabled": False, **table}).model_dump(
                mode="json", include=set(table), exclude_none=True
            )
        return data


def _check_override(key: str, table: dict[str, Any]) -> None:
    model = RULE_TABLES[key]
    try:
        model.model_validate({"enabled": False, **table})
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = "unknown key (a typo here must not silently switch protection off)"
        raise ValueError(f"{key}.{where}: {message}") from None


def effective_rules(shared: RulesConfig, account: AccountConfig | None) -> RulesConfig:
    """The account's rule tables: the shared ones with the account's keys put over them."""
    if account is None or not account.overrides:
        return shared
    tables: dict[str, RuleConfig] = {}
    for key, table in account.overrides.items():
        base = getattr(shared, key)
        tables[key] = type(base).model_validate({**base.model_dump(), **table})
    return shared.model_copy(update=tables)


def check_account_key(key: Any) -> str:
    if not isinstance(key, str) or not key.strip().isdigit() or not key.strip().isascii():
        raise ValueError(f"{key!r} is not an account id (the number TopstepX shows, in quotes)")
    return key.strip()


AccountKey = Annotated[str, BeforeValidator(check_account_key)]
