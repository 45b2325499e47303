"""Reading a replay's input from files, for traders offline.

- trades: the gateway's trade JSON (the ``trades`` list of ``Trade/search``, bare or in its
  envelope), or a CSV file with a header row using the same field names (see the README);
- orders: the ``orders`` list of ``Order/search`` (JSON);
- bars: JSON ``{contractId: [bars as History/retrieveBars sends them]}``, or CSV with
  ``contractId,t,o,h,l,c[,v]``;
- contracts: the ``contracts`` list of ``Contract/available`` (JSON).

Every problem raises :class:`InputError` naming the file and the row: a replay built on a
silently skipped fill would report numbers that never happened.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from core.domain.events import OrderEvent, TradeEvent
from core.domain.parse import ParseError, parse_order, parse_trade
from core.modules.contracts import Contract
from core.replay.inputs import Bar, InputError, parse_bar, sorted_bars

T = TypeVar("T")

# CSV trade columns: the gateway's own names. Required ones first.
TRADE_REQUIRED = ("contractId", "creationTimestamp", "price", "side", "size")
TRADE_OPTIONAL = ("id", "accountId", "profitAndLoss", "fees", "commissions", "voided", "orderId")
BAR_COLUMNS = ("contractId", "t", "o", "h", "l", "c")


def _read_text(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"cannot read the {what} file {path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"cannot read the {what} file {path}: it is a folder") from None
    except UnicodeDecodeError:
        raise InputError(f"cannot read the {what} file {path}: it is not UTF-8 text") from None
    except OSError as exc:
        raise InputError(f"cannot read the {what} file {path}: {exc.strerror}") from None


def _read_json(path: Path, what: str) -> Any:
    text = _read_text(path, what)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"the {what} file {path} is not valid JSON (line {exc.lineno}, column {exc.colno})"
        ) from None


def _json_list(path: Path, what: str, key: str) -> list[Any]:
    data = _read_json(path, what)
    if isinstance(data, Mapping) and isinstance(data.get(key), list):
        data = data[key]  # the gateway's whole answer, envelope and all
    if not isinstance(data, list):
        raise InputError(f"the {what} file {path} must hold a list of {what} (or {{\"{key}\": [...]}})")
    return data


def _parse_each(path: Path, what: str, items: list[Any], parser: Callable[[Any], T],
                label: Callable[[int], str]) -> list[T]:
    out = []
    for index, item in enumerate(items):
        try:
            out.append(parser(item))
        except ParseError as exc:
            raise InputError(f"the {what} file {path}: {label(index)}: {exc}") from None
    return out


def _is_csv(path: Path) -> bool:
    return path.suffix.lower() == ".csv"


def _csv_rows(path: Path, what: str, required: tuple[str, ...]) -> list[dict[str, str]]:
    reader = csv.DictReader(_read_text(path, what).splitlines())
    header = reader.fieldnames or []
    missing = [name for name in required if name not in header]
    if missing:
        raise InputError(
            f"the {what} file {path} lacks the column(s) {', '.join(missing)} "
            f"(its header row must name {', '.join(required)})"
        )
    return [{k: (v or "").strip() for k, v in row.items() if k is not None} for row in reader]


def read_trades(path: Path, account_id: int | None = None) -> list[TradeEvent]:
    """The trades in a JSON or CSV file. ``account_id`` fills a CSV without an accountId column."""
    if _is_csv(path):
        rows = _csv_rows(path, "trades", TRADE_REQUIRED)
        payloads = [_csv_trade(row, index, account_id) for index, row in enumerate(rows)]
        # Row 1 is the header: the first trade is on line 2.
        return _parse_each(path, "trades", payloads, parse_trade, lambda i: f"line {i + 2}")
    items = _json_list(path, "trades", "trades")
    return _parse_each(path, "trades", items, parse_trade, lambda i: f"trade {i + 1}")


def _csv_trade(row: dict[str, str], index: int, account_id: int | None) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "id": row.get("id") or index + 1,
        "accountId": row.get("accountId") or (account_id if account_id is not None else 0),
        "contractId": row["contractId"],
        "creationTimestamp": row["creationTimestamp"],
        "price": _number(row["price"]),
        "side": {"buy": 0, "sell": 1}.get(row["side"].lower(), row["side"]),
        "size": row["size"],
        "fees": _number(row.get("fees") or "0"),
        "voided": (row.get("voided") or "").lower() in ("true", "1", "yes"),
    }
    for key in ("profitAndLoss", "commissions"):
        if row.get(key):
            payload[key] = _number(row[key])
    if row.get("orderId"):
        payload["orderId"] = row["orderId"]
    for key in ("id", "accountId", "side", "size", "orderId"):
        value = payload.get(key)
        if isinstance(value, str):
            payload[key] = int(value) if value.lstrip("-").isdigit() else value
    return payload


def _number(text: str) -> Any:
    """A CSV cell as the number JSON would hold, or the text itself (the parser names it)."""
    try:
        return float(text) if any(ch in text for ch in ".eE") else int(text)
    except ValueError:
        return text


def read_orders(path: Path) -> list[OrderEvent]:
    items = _json_list(path, "orders", "orders")
    return _parse_each(path, "orders", items, parse_order, lambda i: f"order {i + 1}")


def read_contracts(path: Path) -> dict[str, Contract]:
    items = _json_list(path, "contracts", "contracts")

    def parse(item: Any) -> Contract:
        if not isinstance(item, Mapping):
            raise ParseError("not an object")
        try:
            contract = Contract.from_gateway(item)
        except (KeyError, TypeError, ValueError) as exc:
            raise ParseError(f"{type(exc).__name__}: {exc}") from None
        if contract.tick_size <= 0 or contract.tick_value <= 0:
            raise ParseError(f"contract {contract.contract_id} has a bad tick size or value")
        return contract

    parsed = _parse_each(path, "contracts", items, parse, lambda i: f"contract {i + 1}")
    return {c.contract_id: c for c in parsed}


def _bar_label(contract_id: str) -> Callable[[int], str]:
    return lambda index: f"{contract_id} bar {index + 1}"


def read_bars(path: Path) -> dict[str, tuple[Bar, ...]]:
    found: dict[str, list[Bar]] = {}
    if _is_csv(path):
        rows = _csv_rows(path, "bars", BAR_COLUMNS)
        for index, row in enumerate(rows):
            payload = {"t": row["t"], **{k: _number(row[k]) for k in ("o", "h", "l", "c")},
                       "v": _number(row.get("v") or "0")}
            try:
                found.setdefault(row["contractId"], []).append(parse_bar(payload))
            except ParseError as exc:
                raise InputError(f"the bars file {path}: line {index + 2}: {exc}") from None
    else:
        data = _read_json(path, "bars")
        if not isinstance(data, Mapping) or not all(isinstance(v, list) for v in data.values()):
            raise InputError(
                f"the bars file {path} must map each contract id to its list of bars "
                '({"CON.F.US.MNQ.U26": [{"t": ..., "o": ..., "h": ..., "l": ..., "c": ...}]})'
            )
        for contract_id, items in data.items():
            found[str(contract_id)] = _parse_each(
                path, "bars", items, parse_bar, _bar_label(str(contract_id))
            )
    return {contract_id: sorted_bars(bars) for contract_id, bars in found.items()}
