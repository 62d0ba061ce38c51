"""Structured output tab: a JSON Schema and a prompt, N targets, each reply validated."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QTextEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.domain.schema import MISSING, SAMPLES, FieldAgreement, RepeatStats, SchemaCheck, Validation
from app.presenters.structured import MAX_REPEAT, MODES, JsonPane, JsonPresenter
from app.presenters.workbench import RunOutcome
from widgets.common.json_highlighter import JsonHighlighter
from widgets.common.pane_view import PaneView
from widgets.common.source_dialog import SourceDialog, monospace
from widgets.common.workbench_view import WORKBENCH_SHORTCUTS, WorkbenchView

__all__ = ["SHORTCUTS", "JsonPaneView", "JsonTab"]

SHORTCUTS: tuple[tuple[str, str], ...] = (
    *WORKBENCH_SHORTCUTS,
    ("Ctrl+L", "Clear every pane's reply"),
)

_MODE_TEXT = {
    "json_schema": "json_schema (OpenAI form, strict)",
    "json_object_schema": "json_object + schema (Fireworks, llama.cpp)",
    "json_object": "json_object (any JSON)",
    "grammar": "grammar (GBNF, Fireworks)",
}
_STOPPED_TEXT = "Stopped before the reply was complete"
_VALID_STYLE = "color: #1a7f37; font-weight: 600;"
_INVALID_STYLE = "color: #a40e26; font-weight: 600;"


class JsonPaneView(PaneView):
    """A Structured output pane: the reply as live, pretty JSON, and its validation."""

    pane: JsonPane

    def __init__(
        self, pane: JsonPane, providers: list[tuple[str, str]], parent: QWidget | None = None
    ) -> None:
        super().__init__(pane, providers, parent)
        self.validation_label = QLabel()
        self.validation_label.setObjectName("validation")
        self.validation_label.setWordWrap(True)
        self.validation_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.repeat_label = QLabel()
        self.repeat_label.setObjectName("repeatStats")
        self.repeat_label.setWordWrap(True)
        self.repeat_label.hide()
        self.problems_label = QLabel()
        self.problems_label.setObjectName("paneProblems")
        self.problems_label.setWordWrap(True)
        self.problems_label.setStyleSheet("color: #9a6700;")
        self.problems_label.hide()
        for widget in (self.problems_label, self.repeat_label, self.validation_label):
            self.add_below_result(widget)
        self._end = QTextCursor(self.output.document())
        pane.output_reset.connect(self._on_reset)
        pane.output_appended.connect(self._on_appended)
        pane.validated.connect(self._on_validated)
        pane.repeat_changed.connect(self._on_repeat_changed)
        pane.run_ended.connect(self._on_run_ended)
        pane.result_changed.connect(self._show_result)
        self._show_result()

    @property
    def output(self) -> QPlainTextEdit:
        """The reply (``output``)."""
        assert isinstance(self.result, QPlainTextEdit)
        return self.result

    def show_problems(self, problems: list[str]) -> None:
        """Say what this pane's provider will not do with the schema in its mode."""
        self.problems_label.setText("\n".join(f"⚠ {p}" for p in problems))
        self.problems_label.setVisible(bool(problems))

    def _result_widget(self) -> QWidget:
        output = QPlainTextEdit()
        output.setReadOnly(True)
        output.setPlaceholderText("The JSON each model returns streams in here, then is validated.")
        monospace(output)
        self._highlighter = JsonHighlighter(output.document())
        return output

    def _focus_sources(self) -> tuple[Any, ...]:
        return (self.output.viewport(),)

    def _on_reset(self) -> None:
        self.output.clear()
        self.output.setExtraSelections([])
        self._end = QTextCursor(self.output.document())
        self.validation_label.setText("streaming…" if self.pane.busy else "")
        self.validation_label.setStyleSheet("")

    def _on_appended(self, text: str) -> None:
        self._end.movePosition(QTextCursor.MoveOperation.End)
        self._end.insertText(text)

    def _on_validated(self, validation: Validation) -> None:
        if self.output.toPlainText() != validation.pretty:
            self.output.setPlainText(validation.pretty)
        self._show_validation(validation)

    def _show_validation(self, validation: Validation) -> None:
        self.validation_label.setText(validation.label)
        self.validation_label.setStyleSheet(_VALID_STYLE if validation.ok else _INVALID_STYLE)
        selections = []
        if validation.error_span is not None:
            start, end = validation.error_span
            selection = QTextEdit.ExtraSelection()
            selection.cursor = QTextCursor(self.output.document())
            selection.cursor.setPosition(start)
            selection.cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
            marked = QTextCharFormat()
            marked.setBackground(QBrush(QColor("#ffebe9")))
            marked.setUnderlineStyle(QTextCharFormat.UnderlineStyle.WaveUnderline)
            marked.setUnderlineColor(QColor("#cf222e"))
            selection.format = marked
            selections.append(selection)
        self.output.setExtraSelections(selections)

    def _on_repeat_changed(self, stats: RepeatStats | None) -> None:
        self.repeat_label.setVisible(stats is not None)
        if stats is None:
            self.repeat_label.clear()
            return
        lines = [f"Repeat: {stats.valid}/{stats.total} valid ({stats.validity_rate:.0%})"]
        for spread in stats.fields[:6]:
            if spread.minimum is not None and spread.maximum is not None:
                lines.append(
                    f"{spread.pointer}: {spread.minimum:g} – {spread.maximum:g}"
                    f" (mean {spread.mean:g})"
                )
            else:
                shown = ", ".join(f"{_short(v)} ×{n}" for v, n in spread.counts[:3])
                more = f", … {len(spread.counts) - 3} more" if len(spread.counts) > 3 else ""
                lines.append(f"{spread.pointer}: {shown}{more}")
        self.repeat_label.setText("\n".join(lines))

    def _on_run_ended(self, outcome: str) -> None:
        if outcome == RunOutcome.STOPPED:
            self.validation_label.setText(_STOPPED_TEXT)
            self.validation_label.setStyleSheet("")
        elif outcome == RunOutcome.FAILED:
            self.validation_label.setText("")
        note = "stopped" if outcome == RunOutcome.STOPPED else ""
        self.show_metrics(self.pane.last_metrics, note=note)

    def _show_result(self) -> None:
        """Show the pane's whole result at once (a new view, a restored or cleared result)."""
        pane = self.pane
        self.output.setPlainText(pane.pretty)
        if pane.validation is not None:
            self._show_validation(pane.validation)
        else:
            self.output.setExtraSelections([])
            stopped = pane.outcome == RunOutcome.STOPPED
            self.validation_label.setText(_STOPPED_TEXT if stopped else "")
            self.validation_label.setStyleSheet("")
        self._on_repeat_changed(pane.repeat)
        note = "stopped" if pane.outcome == RunOutcome.STOPPED else ""
        self.show_metrics(pane.last_metrics, note=note)
        if pane.error:
            self.status_label.setText(pane.error)


class JsonTab(WorkbenchView):
    """View of a :class:`JsonPresenter`: schema editor, prompt, and validated panes."""

    presenter: JsonPresenter
    shortcuts = SHORTCUTS

    def __init__(self, presenter: JsonPresenter, parent: QWidget | None = None) -> None:
        super().__init__(presenter, parent)
        self.schema_editor.textChanged.connect(
            lambda: presenter.set_schema_text(self.schema_editor.toPlainText())
        )
        presenter.schema_checked.connect(self._show_check)
        presenter.schema_replaced.connect(self._on_schema_replaced)
        presenter.inputs_restored.connect(self._show_inputs)
        presenter.send_state_changed.connect(self._update_all_actions)
        presenter.targets_changed.connect(self._show_problems)
        presenter.pane_added.connect(lambda _index: self._show_problems())
        self.prompt.textChanged.connect(lambda: presenter.set_prompt(self.prompt.toPlainText()))
        self.prompt.textChanged.connect(self._show_problems)
        self.describe_check.toggled.connect(presenter.set_describe_schema)
        self.repeat_spin.valueChanged.connect(presenter.set_repeat)
        self.mode_picker.currentIndexChanged.connect(self._on_mode_chosen)
        self.strict_check.toggled.connect(lambda on: self.selected_pane().set_strict(on))
        self.grammar_editor.textChanged.connect(
            lambda: self.selected_pane().set_grammar(self.grammar_editor.toPlainText())
        )
        self.clear_button.clicked.connect(presenter.clear)
        self.agreement_button.clicked.connect(self.open_agreement)
        self._show_check(presenter.check)
        self._show_problems()
        self._pane_selected(self.selected_pane())

    # -- the workbench's hooks -----------------------------------------------------------------

    def _build_input(self) -> QWidget:
        self.prompt = QPlainTextEdit(self.presenter.prompt)
        self.prompt.setObjectName("promptInput")
        self.prompt.setPlaceholderText("Ask every pane for JSON… (Ctrl+Enter to send)")
        self.prompt.setTabChangesFocus(True)
        self.prompt.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.prompt.setFixedHeight(72)
        return self.prompt

    def _action_buttons(self) -> list[QWidget]:
        self.clear_button = QPushButton("Clear")
        self.clear_button.setObjectName("clearButton")
        self.clear_button.setToolTip("Clear every pane's reply (Ctrl+L)")
        self.agreement_button = QPushButton("Agreement…")
        self.agreement_button.setObjectName("agreementButton")
        repeat_label = QLabel("Runs per target")
        self.repeat_spin = QSpinBox()
        self.repeat_spin.setObjectName("repeatCount")
        self.repeat_spin.setRange(1, MAX_REPEAT)
        self.repeat_spin.setValue(self.presenter.repeat)
        self.repeat_spin.setToolTip(
            "Ask each target this many times per Send: how often is its JSON valid, "
            "and how much does each field vary?"
        )
        repeat_label.setBuddy(self.repeat_spin)
        return [self.clear_button, self.agreement_button, repeat_label, self.repeat_spin]

    def _side_boxes(self) -> list[QWidget]:
        self.samples_button = QToolButton()
        self.samples_button.setObjectName("schemaSamples")
        self.samples_button.setText("Samples")
        self.samples_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        samples = QMenu(self.samples_button)
        for name in SAMPLES:
            samples.addAction(name).triggered.connect(
                lambda _=False, n=name: self._replace_asking(lambda: self.presenter.load_sample(n))
            )
        self.samples_button.setMenu(samples)
        self.pydantic_button = QToolButton()
        self.pydantic_button.setObjectName("schemaFromPydantic")
        self.pydantic_button.setText("Pydantic…")
        self.pydantic_button.setToolTip(
            "Paste a pydantic model class; it is read, never run, and becomes the JSON Schema"
        )
        self.pydantic_button.clicked.connect(self._open_pydantic)
        self.example_button = QToolButton()
        self.example_button.setObjectName("schemaFromExample")
        self.example_button.setText("Example…")
        self.example_button.setToolTip("Paste an example JSON document; its schema is inferred")
        self.example_button.clicked.connect(self._open_example)
        self.strict_button = QToolButton()
        self.strict_button.setObjectName("makeStrictButton")
        self.strict_button.setText("Make strict")
        self.strict_button.setToolTip(
            "Require every property and forbid others, as OpenAI's strict mode needs"
        )
        self.strict_button.clicked.connect(self.presenter.make_strict)
        tools = QHBoxLayout()
        tools.setSpacing(2)
        for button in (
            self.samples_button,
            self.pydantic_button,
            self.example_button,
            self.strict_button,
        ):
            tools.addWidget(button)
        tools.addStretch(1)

        self.schema_editor = QPlainTextEdit(self.presenter.schema_text)
        self.schema_editor.setObjectName("schemaEditor")
        self.schema_editor.setTabChangesFocus(True)
        self.schema_editor.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        monospace(self.schema_editor)
        self._schema_highlighter = JsonHighlighter(self.schema_editor.document())
        self.schema_status = QLabel()
        self.schema_status.setObjectName("schemaStatus")
        self.schema_status.setWordWrap(True)
        self.schema_status.setStyleSheet("color: #a40e26;")
        self.schema_hint = QLabel()
        self.schema_hint.setObjectName("schemaHint")
        self.schema_hint.setWordWrap(True)
        self.schema_hint.setStyleSheet("color: #57606a;")
        self.describe_check = QCheckBox("Also give the schema in a system message")
        self.describe_check.setObjectName("describeSchemaCheck")
        self.describe_check.setChecked(self.presenter.describe_schema)
        self.describe_check.setToolTip(
            "Models answer better when the prompt shows the schema; response_format alone "
            "constrains the output but does not explain it"
        )
        box = QGroupBox("JSON Schema (all panes)")
        layout = QVBoxLayout(box)
        layout.addLayout(tools)
        layout.addWidget(self.schema_editor, 1)
        layout.addWidget(self.schema_status)
        layout.addWidget(self.schema_hint)
        layout.addWidget(self.describe_check)
        return [box]

    def _pane_param_widgets(self) -> list[QWidget]:
        self.mode_picker = QComboBox()
        self.mode_picker.setObjectName("modePicker")
        self.mode_picker.addItem("Provider default", None)
        for mode in MODES:
            self.mode_picker.addItem(_MODE_TEXT[mode], mode)
        self.mode_picker.setToolTip("The response_format this pane sends")
        self.strict_check = QCheckBox("strict")
        self.strict_check.setObjectName("strictCheck")
        self.strict_check.setToolTip("Send json_schema with strict: true")
        self.grammar_editor = QPlainTextEdit()
        self.grammar_editor.setObjectName("grammarEditor")
        self.grammar_editor.setPlaceholderText('root ::= ("yes" | "no")')
        self.grammar_editor.setFixedHeight(70)
        monospace(self.grammar_editor)
        label = QLabel("Response format for this pane")
        label.setObjectName("hint")
        return [label, self.mode_picker, self.strict_check, self.grammar_editor]

    def _tab_shortcuts(self) -> list[tuple[str, Callable[[], object]]]:
        return [("Ctrl+L", self.presenter.clear)]

    def _make_pane_view(self, pane: JsonPane) -> PaneView:
        return JsonPaneView(pane, self.presenter.providers())

    def _send(self) -> bool:
        return self.presenter.send(self.prompt.toPlainText())

    def _pane_selected(self, pane: JsonPane) -> None:
        widgets = (self.mode_picker, self.strict_check, self.grammar_editor)
        for widget in widgets:
            widget.blockSignals(True)
        self.mode_picker.setItemText(0, f"Provider default ({pane.mode})")
        index = 0 if pane.mode_is_default else self.mode_picker.findData(pane.mode)
        self.mode_picker.setCurrentIndex(index)
        self.strict_check.setChecked(pane.strict)
        self.grammar_editor.setPlainText(pane.grammar)
        for widget in widgets:
            widget.blockSignals(False)
        self._show_mode_widgets(pane)

    def _update_actions(self) -> None:
        blocker = self.presenter.send_blocker()
        busy = self.presenter.busy
        self.send_button.setEnabled(not blocker)
        self.send_button.setToolTip(blocker or "Send to every pane (Ctrl+Enter)")
        has_results = self.presenter.has_results
        self.agreement_button.setEnabled(not busy and self.presenter.can_diff)
        self.agreement_button.setToolTip(
            "Which panes' JSON agree, field by field"
            if self.presenter.can_diff
            else "Needs two panes with replies: add a target and send"
        )
        self.clear_button.setEnabled(not busy and has_results)

    # -- user commands -------------------------------------------------------------------------

    def open_agreement(self) -> QDialog | None:
        """Show, field by field, which panes' JSON agree (when two panes have replies)."""
        if not self.presenter.can_diff:
            return None
        dialog = _AgreementDialog(self.presenter.agreement(), self._pane_names(), self)
        dialog.show()
        return dialog

    def _pane_names(self) -> list[str]:
        return [
            f"{n}: {pane.model.rsplit('/', 1)[-1] or '(no model)'}"
            for n, pane in enumerate(self.presenter.panes, 1)
        ]

    def _replace_asking(self, replace: Callable[[], None]) -> None:
        if self.presenter.schema_text.strip() and not self.confirm_discard(
            "This replaces the schema in the editor."
        ):
            return
        replace()

    def _open_pydantic(self) -> None:
        SourceDialog(
            "Schema from a pydantic model",
            "Paste a pydantic model (class … (BaseModel)). It is parsed, never imported or run.",
            self.presenter.schema_from_pydantic,
            self,
            name="pydanticDialog",
            action="Use as schema",
        ).open()

    def _open_example(self) -> None:
        SourceDialog(
            "Schema from an example",
            "Paste an example JSON document; its schema is inferred (every key required).",
            self.presenter.schema_from_example,
            self,
            name="exampleDialog",
            action="Use as schema",
        ).open()

    # -- presenter events ----------------------------------------------------------------------

    def _show_check(self, check: SchemaCheck) -> None:
        self.schema_status.setText(check.error)
        self.schema_status.setVisible(bool(check.error))
        self.schema_hint.setText("\n".join(check.warnings))
        self.schema_hint.setVisible(bool(check.warnings))
        self.strict_button.setEnabled(check.schema is not None)
        self._show_problems()

    def _show_inputs(self) -> None:
        p = self.presenter
        # Signals blocked: the presenter already holds these values, so nothing is saved again.
        widgets = (self.schema_editor, self.prompt, self.describe_check, self.repeat_spin)
        for widget in widgets:
            widget.blockSignals(True)
        if self.schema_editor.toPlainText() != p.schema_text:
            self.schema_editor.setPlainText(p.schema_text)
        if self.prompt.toPlainText() != p.prompt:
            self.prompt.setPlainText(p.prompt)
        self.describe_check.setChecked(p.describe_schema)
        self.repeat_spin.setValue(p.repeat)
        for widget in widgets:
            widget.blockSignals(False)
        self._show_check(p.check)

    def _on_schema_replaced(self, text: str) -> None:
        if self.schema_editor.toPlainText() != text:
            self.schema_editor.blockSignals(True)
            self.schema_editor.setPlainText(text)
            self.schema_editor.blockSignals(False)

    def _show_problems(self) -> None:
        prompt = self.prompt.toPlainText()
        for index, view in enumerate(self.pane_views):
            assert isinstance(view, JsonPaneView)
            view.show_problems(self.presenter.pane_problems(index, prompt))

    def _on_mode_chosen(self, index: int) -> None:
        pane = self.selected_pane()
        pane.set_mode(self.mode_picker.itemData(index))
        self._show_mode_widgets(pane)

    def _show_mode_widgets(self, pane: JsonPane) -> None:
        self.strict_check.setVisible(pane.mode == "json_schema")
        self.grammar_editor.setVisible(pane.mode == "grammar")


class _AgreementDialog(QDialog):
    """A table of the JSON's fields (rows) by pane (columns); disagreeing fields stand out."""

    def __init__(
        self, fields: list[FieldAgreement], panes: list[str], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("agreementDialog")
        self.setWindowTitle("Field-by-field agreement")
        self.resize(760, 480)
        self.table = QTableWidget(len(fields), len(panes))
        self.table.setObjectName("agreementTable")
        self.table.setHorizontalHeaderLabels(panes)
        self.table.setVerticalHeaderLabels([f.pointer for f in fields])
        differ = QColor("#fff1c2")
        for row, field in enumerate(fields):
            for column, value in enumerate(field.values):
                item = QTableWidgetItem("—" if value is MISSING else _short(value, 60))
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                if not field.agree:
                    item.setBackground(differ)
                self.table.setItem(row, column, item)
        self.table.resizeColumnsToContents()
        agreeing = sum(1 for f in fields if f.agree)
        summary = QLabel(f"{agreeing} of {len(fields)} fields agree across every pane")
        summary.setObjectName("agreementSummary")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(summary)
        layout.addWidget(self.table, 1)
        layout.addWidget(buttons)


def _short(value: Any, width: int = 24) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= width else text[: width - 1] + "…"
