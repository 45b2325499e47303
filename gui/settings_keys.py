"""Dotted config keys in the settings window: where a value goes in the working copy, which
editor an error or a change belongs to, and how the trader reads it ("Daily loss limit › Loss
limit ($)", "Account 13370002 › Topstep plan")."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from gui.settings_fields import FieldEditor
from gui.settings_scope import AccountScope


def doc(model: type[BaseModel]) -> str | None:
    """The model's first doc line, without the internal rule id ("RULE-003: ...")."""
    if not model.__doc__:
        return None
    line = model.__doc__.strip().splitlines()[0]
    line = re.sub(r"^RULE-\d+:\s*", "", line)
    return line[:1].upper() + line[1:]


def put(data: dict[str, Any], key: str, value: Any) -> None:
    *parents, last = key.split(".")
    for part in parents:
        data = data.setdefault(part, {})
    data[last] = value


def reason(err: Any) -> str:
    message = str(err["msg"])
    if message.startswith("Value error, "):
        message = message[len("Value error, "):]
    return {"missing": "a value is needed", "extra_forbidden": "unknown key"}.get(
        str(err["type"]), message)


class KeyWords:
    """Reads the window's editors and pages (both filled as pages are added)."""

    def __init__(self, editors: Mapping[str, FieldEditor], pages: Mapping[str, Any],
                 scope: AccountScope) -> None:
        self.editors, self.pages, self.scope = editors, pages, scope
        self.page_of: dict[str, Any] = {}  # editor key → its page

    def owner(self, key: str) -> tuple[str, list[str]]:
        """The editor (else page) a dotted key belongs to, and the rest of the key below it."""
        parts = key.split(".")
        for cut in range(len(parts), 0, -1):
            head = ".".join(parts[:cut])
            if head in self.editors or head in self.pages:
                return head, parts[cut:]
        return "", parts

    def describe(self, loc: tuple[Any, ...], why: str) -> tuple[str, str]:
        """(owner, words) for a validation error at ``loc``."""
        scoped = self.scope.owner(loc, why)
        if scoped is not None and scoped[0] in self.editors:
            return scoped[0], f"{self.editors[scoped[0]].title}: {scoped[1]}"
        owner, _ = self.owner(".".join(str(p) for p in loc))
        depth = len(owner.split(".")) if owner else 0
        sub = list(loc[depth:])
        if owner in self.editors:
            editor = self.editors[owner]
            where = editor.where(sub)
            return owner, ": ".join(part for part in (editor.title, where, why) if part)
        if owner in self.pages:
            return owner, f"{self.pages[owner].title}: {why}"
        return owner, f"{'.'.join(str(p) for p in loc)}: {why}"

    def label_for(self, key: str) -> str:
        """A changed key as the trader reads it: "Daily realized loss › Loss limit ($)"."""
        account = self.scope.label(key)
        if account is not None:
            return account
        owner, rest = self.owner(key)
        if owner in self.editors and owner in self.page_of:
            return " › ".join([self.page_of[owner].title, self.editors[owner].title, *rest])
        return key
