"""A settings page built from a pydantic model, and the choice of editor for each field's type."""

from __future__ import annotations

import types
import typing
from datetime import time
from functools import cache
from typing import Any, Literal, get_args, get_origin
from zoneinfo import available_timezones

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from PySide6.QtWidgets import QFormLayout, QLabel, QScrollArea, QVBoxLayout, QWidget

from core.config.types import SymbolRoot, TimezoneName
from gui.settings_fields import (
    ERROR_STYLE,
    CheckEditor,
    ChoiceEditor,
    FieldEditor,
    ListEditor,
    NumberEditor,
    PercentListEditor,
    TextEditor,
    TimeEditor,
    boxed,
    humanize,
    set_text,
    text_label,
)
from gui.table_editor import Column, TableEditor


def _title(name: str, info: FieldInfo) -> str:
    return info.title or humanize(name)


def _is_list(info: FieldInfo) -> bool:
    kind: Any = info.annotation
    kinds = get_args(kind) if get_origin(kind) in (typing.Union, types.UnionType) else (kind,)
    return any(get_origin(k) is list for k in kinds)


def _model_columns(model: type[BaseModel]) -> list[Column]:
    return [Column(n, _title(n, f), f.description, _is_list(f))
            for n, f in model.model_fields.items()]


def _is_model(kind: Any) -> bool:
    return isinstance(kind, type) and issubclass(kind, BaseModel)


@cache
def _timezones() -> list[str]:
    return sorted(available_timezones())


def editor_for(key: str, name: str, info: FieldInfo) -> FieldEditor:
    """The editor that fits a field's type; unknown types get a text box pydantic checks."""
    title, description = _title(name, info), info.description
    kind: Any = info.annotation
    origin = get_origin(kind)
    optional = False
    if origin in (typing.Union, types.UnionType):
        options = [a for a in get_args(kind) if a is not type(None)]
        optional, kind = len(options) < len(get_args(kind)), options[0]
        origin = get_origin(kind)
    if kind is bool:
        return CheckEditor(key, title, description)
    if kind in (int, float):
        return NumberEditor(key, title, description, info, kind, optional)
    if origin is Literal:
        return ChoiceEditor(key, title, description, get_args(kind))
    if kind is time:
        return TimeEditor(key, title, description)
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    if origin is list and extra.get("fractions"):
        return PercentListEditor(key, title, description)
    if origin is list:
        (item,) = get_args(kind)
        if _is_model(item):
            return TableEditor(key, title, description, columns=_model_columns(item), keyed=False)
        return ListEditor(key, title, description)
    if origin is dict:
        key_type, item = get_args(kind)
        first = Column(None, "Symbol" if key_type == SymbolRoot else "Key")
        rest = _model_columns(item) if _is_model(item) else [Column(None, title, description)]
        return TableEditor(key, title, description, columns=[first, *rest], keyed=True)
    is_zone = any(meta in get_args(TimezoneName)[1:] for meta in info.metadata)
    return TextEditor(key, title, description, _timezones() if is_zone else ())


class ModelPage(QScrollArea):
    """One page of the settings window: a form for one model (a rule table, General, Gateway)."""

    def __init__(self, key: str, title: str, model: type[BaseModel],
                 heading: str | None = None) -> None:
        super().__init__()
        self.key, self.title, self.model = key, title, model
        self.setWidgetResizable(True)
        self.setObjectName(f"page:{key}")
        body = QWidget()
        self.heading_label = text_label(heading or "")
        # Errors that name the whole table (a window whose start equals its end) go here.
        self.error_label = text_label("", ERROR_STYLE)
        form = self.form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.editors: dict[str, FieldEditor] = {}
        self.labels: dict[str, QLabel] = {}
        for name, info in model.model_fields.items():
            editor = editor_for(f"{key}.{name}", name, info)
            label = QLabel(editor.title)
            label.setBuddy(editor.widget)
            if editor.description:
                label.setToolTip(editor.description)
            form.addRow(label, editor.row)
            self.editors[editor.key] = editor
            self.labels[editor.key] = label
        boxed(QVBoxLayout(body), text_label(f"<b>{title}</b>"), self.heading_label,
              self.error_label, form, 1)
        self.setWidget(body)

    def show_error(self, text: str | None) -> None:
        set_text(self.error_label, text)
