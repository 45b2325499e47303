"""The account picker on top of the settings window: the shared rules, or one account's own.

With "All accounts" picked, the rule pages edit the shared ``[rules]`` tables. With an account
picked, they show what protects that account: each field its own value where the account has
one (``[accounts."<id>".<table>]``), else the shared value, and under each field which of the
two it is. Editing a field gives the account its own value; "Use the shared value" takes it
away again. The account's Topstep plan and typed-in floor are edited on the Topstep page.

Everything is kept in the window's working copy of the config (a dict in the TOML file's
shape): switching the picker keeps edits made under the other choice until OK or Cancel.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from core.app.words import table_name
from gui.settings_fields import HELP_STYLE, FieldEditor, PercentListEditor, show_value

ACCOUNT_KEYS = ("plan", "mll_floor")  # the account's own settings beside its rule tables
SHARED_TEXT = "Uses the shared value (All accounts)"
OWN_TEXT = "This account's own value"
OWN_STYLE = "color: #1565c0; font-weight: bold;"
SHARED_NOTE = "Every account uses these rules unless it has its own values (pick it above)."
ACCOUNT_NOTE = ("Rule fields marked \"This account's own value\" apply to this account only; the "
                "others follow All accounts. Its Topstep plan and floor are on the Topstep page.")


def _rule_key(key: str) -> tuple[str, str] | None:
    parts = key.split(".")
    if len(parts) == 3 and parts[0] == "rules":
        return parts[1], parts[2]
    return None


class AccountScope(QObject):
    """The picker and the bookkeeping of which rule fields an account has its own value for."""

    picked = Signal()  # the trader picked another account (or the shared rules)

    def __init__(self, accounts: Callable[[], Mapping[int, str]] | None = None) -> None:
        super().__init__()
        self._accounts: Callable[[], Mapping[int, str]] = accounts or dict
        self.combo = QComboBox()
        self.combo.setObjectName("account-picker")
        self.combo.setMinimumContentsLength(28)
        self.combo.setToolTip("Edit the rules every account shares, or pick an account to give it "
                              "its own values and its Topstep plan.")
        self.combo.currentIndexChanged.connect(lambda _index: self.picked.emit())
        self.account_id: int | None = None
        self.overridden: set[str] = set()  # "rules.<table>.<field>" the account has its own of
        self._markers: dict[str, tuple[QWidget, QLabel, QPushButton]] = {}
        self._editors: dict[str, FieldEditor] = {}

    # --- the picker ----------------------------------------------------------------------------

    def refresh(self, configured: Mapping[str, Any]) -> None:
        """The accounts the gateway reported, and those the config already has a table for."""
        names = dict(self._accounts())
        for key in configured:
            names.setdefault(int(key), "")
        wanted: list[tuple[int | None, str]] = [(None, "All accounts (shared rules)")]
        for account_id in sorted(names):
            name = names[account_id]
            own = " · own settings" if str(account_id) in configured else ""
            wanted.append((account_id, f"{name} ({account_id}){own}" if name else f"{account_id}{own}"))
        current = [(self.combo.itemData(i), self.combo.itemText(i)) for i in range(self.combo.count())]
        if current == wanted:
            return
        self.combo.blockSignals(True)
        try:
            self.combo.clear()
            for account_id, text in wanted:
                self.combo.addItem(text, account_id)
            index = self.combo.findData(self.account_id) if self.account_id is not None else 0
            self.combo.setCurrentIndex(max(0, index))
        finally:
            self.combo.blockSignals(False)
        self.account_id = self.combo.currentData()

    def choose(self, account_id: int | None) -> None:
        """Pick in code (tests, the screenshot script): as if the trader had picked it."""
        index = 0 if account_id is None else self.combo.findData(account_id)
        if index < 0:
            raise KeyError(account_id)
        self.combo.setCurrentIndex(index)

    def note(self) -> str:
        return SHARED_NOTE if self.account_id is None else ACCOUNT_NOTE

    def current(self) -> int | None:
        data = self.combo.currentData()
        return int(data) if data is not None else None

    # --- the markers under each rule field -----------------------------------------------------

    def attach(self, editor: FieldEditor, use_shared: Callable[[str], None]) -> None:
        if _rule_key(editor.key) is None:
            return
        marker = QWidget()
        label = QLabel(SHARED_TEXT)
        label.setObjectName(f"scope:{editor.key}")
        button = QPushButton("Use the shared value")
        button.setObjectName(f"shared:{editor.key}")
        button.clicked.connect(lambda _checked=False, key=editor.key: use_shared(key))
        label.setWordWrap(True)  # a narrow window wraps it rather than scrolling sideways
        row = QHBoxLayout(marker)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(label, 1)
        row.addWidget(button)
        layout = editor.row.layout()
        assert isinstance(layout, QVBoxLayout)
        layout.insertWidget(1, marker)  # under the field, above its help
        marker.hide()
        self._markers[editor.key] = (marker, label, button)
        self._editors[editor.key] = editor

    def show_markers(self, base: Mapping[str, Any]) -> None:
        """Under each rule field: shared, or the account's own (with the shared value beside)."""
        for key, (marker, label, button) in self._markers.items():
            marker.setVisible(self.account_id is not None)
            own = key in self.overridden
            text = SHARED_TEXT
            if own:
                _, table, name = key.split(".")
                shared = base.get("rules", {}).get(table, {}).get(name)
                text = f"{OWN_TEXT} (All accounts: {self._shown(key, shared)})"
            label.setText(text)
            label.setStyleSheet(OWN_STYLE if own else HELP_STYLE)
            button.setVisible(own)

    def _shown(self, key: str, value: Any) -> str:
        if isinstance(self._editors.get(key), PercentListEditor) and isinstance(value, list):
            return ", ".join(f"{float(v) * 100:g}" for v in value) + " %"
        return show_value(value)

    def marker_text(self, key: str) -> str:
        return self._markers[key][1].text() if key in self._markers else ""

    def own_tables(self) -> set[str]:
        return {key.split(".")[1] for key in self.overridden}

    # --- between the editors and the working copy ----------------------------------------------

    def value(self, base: Mapping[str, Any], key: str) -> tuple[bool, Any]:
        """(handled, value) for an editor in this scope: a rule field shows the account's own
        value or the shared one; the account's plan and floor its own settings."""
        if self.account_id is None:
            return False, None
        account = base.get("accounts", {}).get(str(self.account_id), {})
        rule = _rule_key(key)
        if rule is not None:
            table, name = rule
            own = account.get(table, {})
            if name in own:
                return True, own[name]
            return True, base.get("rules", {}).get(table, {}).get(name)
        if key.startswith("account."):
            name = key.split(".", 1)[1]
            return True, account.get(name, "auto" if name == "plan" else None)
        return False, None

    def load(self, base: Mapping[str, Any]) -> None:
        """Which fields the picked account has its own value for (from the working copy)."""
        self.account_id = self.current()
        self.overridden = set()
        if self.account_id is not None:
            account = base.get("accounts", {}).get(str(self.account_id), {})
            for table, values in account.items():
                if isinstance(values, dict):
                    self.overridden.update(f"rules.{table}.{name}" for name in values)

    def put(self, data: dict[str, Any], key: str, value: Any) -> bool:
        """Write an editor's value into ``data`` for this scope; False: not a scoped key."""
        if self.account_id is None:
            return key.startswith("account.")  # the plan editors mean nothing for all accounts
        rule = _rule_key(key)
        if rule is None and not key.startswith("account."):
            return False
        accounts = data.setdefault("accounts", {})
        account = accounts.setdefault(str(self.account_id), {})
        if rule is None:
            account[key.split(".", 1)[1]] = value
            return True
        table, name = rule
        if key in self.overridden:
            account.setdefault(table, {})[name] = value
        else:
            own = account.get(table)
            if isinstance(own, dict):
                own.pop(name, None)
                if not own:
                    del account[table]
        return True

    def finish(self, data: dict[str, Any]) -> None:
        """An account table left with nothing of its own is removed, not written as defaults."""
        accounts = data.get("accounts", {})
        for key in list(accounts):
            account = accounts[key]
            plain = all(name in ACCOUNT_KEYS for name in account)
            if plain and account.get("plan", "auto") == "auto" and account.get("mll_floor") is None:
                del accounts[key]

    # --- words ---------------------------------------------------------------------------------

    def owner(self, loc: tuple[Any, ...], reason: str) -> tuple[str, str] | None:
        """The editor an account table's error belongs to, when that account is picked."""
        if len(loc) < 2 or loc[0] != "accounts" or str(loc[1]) != str(self.account_id):
            return None
        if len(loc) >= 3 and loc[2] in ACCOUNT_KEYS:
            return f"account.{loc[2]}", reason
        head, _, rest = reason.partition(": ")
        parts = head.split(".")
        if len(parts) >= 2:
            return f"rules.{parts[0]}.{parts[1]}", rest or reason
        return None

    @staticmethod
    def label(key: str) -> str | None:
        """A changed account key in words: "Account 13370002 › Daily loss limit › limit"."""
        parts = key.split(".")
        if len(parts) < 3 or parts[0] != "accounts":
            return None
        head = f"Account {parts[1]}"
        if parts[2] == "plan":
            return f"{head} › Topstep plan"
        if parts[2] == "mll_floor":
            return f"{head} › MLL floor from Topstep"
        return " › ".join([head, table_name(parts[2]), *parts[3:]])
