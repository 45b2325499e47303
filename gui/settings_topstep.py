"""The Topstep page of the settings window: the consistency warning for every account, and for
the account picked at the top its plan (read from its name, or picked) and the Maximum Loss
Limit floor typed in from the Topstep dashboard. The plan table from ``resources/plans.toml``
is shown with every number Topstep has not confirmed marked "unconfirmed"."""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from typing import Any

from PySide6.QtWidgets import (
    QFormLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from core.config.accounts import AccountConfig
from core.config.models import TopstepConfig
from core.config.plans import (
    PlanError,
    PlanKind,
    PlanSpec,
    PlanTable,
    detect_plan,
    load_plan_table,
    plan_choices,
)
from gui.model_page import ModelPage
from gui.pnl_chart import AMBER
from gui.settings_fields import ChoiceEditor, NumberEditor, set_text, text_label

UNCONFIRMED = " (unconfirmed)"
COLUMNS = ("Plan", "Start", "Target", "MLL", "Max lots", "Micros a lot",
           "Scaling (Express Funded)")
KEYS = ("starting_balance", "profit_target", "mll", "max_position", "micros_ratio", "scaling")


def _cell(spec: PlanSpec, key: str) -> str:
    if key == "scaling":
        return ", ".join(f"{t.max_position} above ${t.above_profit:,.0f}" if t.above_profit
                         else str(t.max_position) for t in spec.scaling) or "—"
    value = getattr(spec, key)
    return f"${value:,.0f}" if key in ("starting_balance", "profit_target", "mll") else str(value)


def _choice_words(choice: str) -> str:
    if choice == "auto":
        return "auto: from the account name"
    if choice == "none":
        return "none: no Topstep plan (a practice or personal account)"
    size, _, kind = choice.partition("-")
    return f"{size} {'Trading Combine' if kind == PlanKind.COMBINE.value else 'Express Funded'}"


class ShareEditor(NumberEditor):
    """A share typed as a percentage ("40 %"), kept as a fraction (0.4) in the file."""

    def __init__(self, key: str, title: str, description: str | None, info: Any) -> None:
        super().__init__(key, title, description, info, float, optional=False)
        self.spin.setRange(0.0, 99.0)
        self.spin.setSuffix(" %")
        self.spin.setSpecialValueText("off")

    def value(self) -> float:
        return round(float(self.spin.value()) / 100, 6)

    def set_value(self, value: Any) -> None:
        self.spin.setValue(float(value or 0.0) * 100)


class TopstepPage(ModelPage):
    def __init__(self, names: Callable[[], Mapping[int, str]] | None = None) -> None:
        super().__init__("topstep", "Topstep account", TopstepConfig,
                         "Topstep's own rules act only on accounts with a plan: the Maximum Loss "
                         "Limit guard, the plan's position size and flat before the firm's close. "
                         "Their settings are on their own pages.")
        self._names = names or dict
        self._share_as_percent("topstep.consistency_warning")
        try:
            self.table: PlanTable = load_plan_table()
            problem = ""
        except PlanError as exc:
            self.table, problem = PlanTable(), str(exc)
        body = self.widget().layout()
        assert isinstance(body, QVBoxLayout)
        at = body.count() - 1  # above the stretch
        self.account_heading = text_label("")
        self.pick_note = text_label("Pick an account at the top of this window to choose its "
                                    "plan and type in its Maximum Loss Limit floor.")
        fields = AccountConfig.model_fields
        self.plan_editor = ChoiceEditor("account.plan", fields["plan"].title or "Topstep plan",
                                        fields["plan"].description, plan_choices(self.table))
        floor = fields["mll_floor"]  # Amount | None: the generic chooser would give a text box
        self.floor_editor = NumberEditor("account.mll_floor", floor.title or "MLL floor",
                                         floor.description, floor, float, optional=True)
        for index, choice in enumerate(plan_choices(self.table)):
            self.plan_editor.combo.setItemText(index, _choice_words(choice))
        for editor in (self.plan_editor, self.floor_editor):
            self.editors[editor.key] = editor
        self.plans = text_label(self.plans_html(), name="plan-table")
        self.plans.setToolTip("Numbers marked unconfirmed are not confirmed by Topstep: check "
                              "your Topstep dashboard, and correct resources/plans.toml if it "
                              "differs.")
        self.problem_label = text_label(problem, "color: #c62828;")
        self.account_form = QWidget()
        form = QFormLayout(self.account_form)
        form.setContentsMargins(0, 0, 0, 0)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        for editor in (self.plan_editor, self.floor_editor):
            form.addRow(QLabel(editor.title), editor.row)
        for offset, widget in enumerate((self.account_heading, self.pick_note, self.account_form,
                                         text_label("<b>The plans</b> (resources/plans.toml; "
                                                    "numbers marked unconfirmed are not confirmed "
                                                    "by Topstep)"),
                                         self.problem_label, self.plans)):
            body.insertWidget(at + offset, widget)
        self.set_account(None)

    def plans_html(self) -> str:
        """The plan table as rich text (it wraps where a table widget would cut a long cell);
        a number Topstep has not confirmed says so, in amber."""
        head = "".join(f"<th align='left'>{html.escape(c)}</th>" for c in COLUMNS)
        rows = []
        for size, spec in self.table.plans.items():
            cells = [f"<td><b>{html.escape(size)}</b></td>"]
            for key in KEYS:
                text = html.escape(_cell(spec, key))
                if key in spec.unconfirmed:
                    text = f"<span style='color:{AMBER}'>{text}{UNCONFIRMED}</span>"
                cells.append(f"<td>{text}</td>")
            rows.append("<tr>" + "".join(cells) + "</tr>")
        return (f"<table cellspacing='0' cellpadding='4' border='1'><tr>{head}</tr>"
                + "".join(rows) + "</table>")

    def _share_as_percent(self, key: str) -> None:
        """The generated number box for a share, swapped for one in percent."""
        form = self.form
        row, _ = form.getWidgetPosition(self.editors[key].row)
        info = TopstepConfig.model_fields[key.rsplit(".", 1)[1]]
        new = ShareEditor(key, f"{info.title} (% of the profit)",
                          "Warn when the best day is more than this share of the total profit "
                          "(off: no warning). Topstep's own number is unconfirmed.", info)
        form.removeRow(row)
        label = QLabel(new.title)
        label.setBuddy(new.widget)
        form.insertRow(row, label, new.row)
        self.editors[key], self.labels[key] = new, label

    def set_account(self, account_id: int | None) -> None:
        """Show the plan editors for the account picked at the top (none: all accounts)."""
        picked = account_id is not None
        self.pick_note.setVisible(not picked)
        self.account_form.setVisible(picked)
        if not picked:
            set_text(self.account_heading, None)
            return
        name = self._names().get(account_id or 0, "")
        detected = detect_plan(name, self.table) if name else None
        seen = detected.title if detected is not None else "no plan"
        said = f"the name {name} says {seen}" if name else "the account's name is not known yet"
        self.plan_editor.combo.setItemText(0, f"auto: from the account name ({seen})")
        set_text(self.account_heading, f"<b>Account {account_id}</b>: {said}. Pick another plan "
                 "if the name is wrong; the floor your Topstep dashboard shows wins over the "
                 "app's own.")

