"""Parameters as a form generated from a tab's list of :class:`ParamSpec` (Chat: ``PARAMS``).

Every field starts at "default": the parameter is not sent and the provider's own default applies.
The lowest value of each spin box is that "default" state (Qt's ``specialValueText`` idiom).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QLineEdit,
    QSpinBox,
    QWidget,
)

from app.domain.params import ParamKind, ParamSpec

__all__ = ["DEFAULT_TEXT", "ParamPanel"]

DEFAULT_TEXT = "default"


class ParamPanel(QWidget):
    """Editors for a tab's parameters.

    Signals:
        param_changed(str, object): the parameter was set to a value, or to ``None`` for default.
    """

    param_changed = Signal(str, object)

    def __init__(
        self,
        values: dict[str, Any],
        specs: tuple[ParamSpec, ...],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._specs = specs
        self._editors: dict[str, QWidget] = {}
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        for spec in specs:
            editor = self._make_editor(spec)
            editor.setObjectName(f"param-{spec.name}")
            editor.setToolTip(
                f"{spec.help}\nLeave at “{DEFAULT_TEXT}” to use the provider's default."
            )
            self._editors[spec.name] = editor
            form.addRow(spec.label, editor)
        self.set_values(values)

    def editor(self, name: str) -> QWidget:
        """The editor widget of parameter ``name``."""
        return self._editors[name]

    def set_values(self, values: dict[str, Any]) -> None:
        """Show ``values``; parameters absent from it show as default. Emits nothing."""
        for spec in self._specs:
            editor = self._editors[spec.name]
            editor.blockSignals(True)
            value = values.get(spec.name)
            if isinstance(editor, QComboBox):
                editor.setCurrentIndex(max(0, editor.findText(str(value))) if value else 0)
            elif isinstance(editor, QLineEdit):
                editor.setText(_stop_text(value) if spec.kind is ParamKind.STOP else value or "")
            elif isinstance(editor, QSpinBox):
                editor.setValue(editor.minimum() if value is None else int(value))
            elif isinstance(editor, QDoubleSpinBox):
                editor.setValue(editor.minimum() if value is None else float(value))
            editor.blockSignals(False)

    def _make_editor(self, spec: ParamSpec) -> QWidget:
        if spec.kind is ParamKind.CHOICE:
            combo = QComboBox()
            combo.addItems([DEFAULT_TEXT, *spec.choices])
            combo.currentIndexChanged.connect(
                lambda i, s=spec, c=combo: self.param_changed.emit(
                    s.name, None if i == 0 else c.currentText()
                )
            )
            return combo
        if spec.kind in (ParamKind.STOP, ParamKind.TEXT):
            line = QLineEdit()
            line.setPlaceholderText(
                f"{DEFAULT_TEXT} — e.g. \\n\\n, END"
                if spec.kind is ParamKind.STOP
                else DEFAULT_TEXT
            )
            line.editingFinished.connect(
                lambda s=spec, e=line: self.param_changed.emit(s.name, e.text() or None)
            )
            return line
        spin: QSpinBox | QDoubleSpinBox
        if spec.kind is ParamKind.INT:
            spin = QSpinBox()
            spin.setRange(int(spec.minimum) - 1, int(spec.maximum))
            spin.setSingleStep(int(spec.step))
        else:
            spin = QDoubleSpinBox()
            spin.setDecimals(spec.decimals)
            spin.setRange(spec.minimum - spec.step, spec.maximum)
            spin.setSingleStep(spec.step)
        spin.setSpecialValueText(DEFAULT_TEXT)
        spin.setCorrectionMode(QAbstractSpinBox.CorrectionMode.CorrectToNearestValue)
        spin.setKeyboardTracking(False)
        spin.valueChanged.connect(
            lambda v, s=spec, e=spin: self.param_changed.emit(
                s.name, None if v <= e.minimum() else v
            )
        )
        return spin


def _stop_text(value: Any) -> str:
    if not value:
        return ""
    if isinstance(value, str):
        return value
    escaped = (s.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t") for s in value)
    return ", ".join(s.replace(",", "\\,") for s in escaped)
