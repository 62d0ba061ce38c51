"""Tool calling tab: tools, a prompt, N targets; each pane runs its own tool loop."""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QTextBrowser,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.domain.tools import TEMPLATES, ToolsCheck
from app.presenters.tools import (
    MAX_STEPS,
    Entry,
    LoopOutcome,
    PaneSummary,
    PendingCall,
    ToolsPane,
    ToolsPresenter,
)
from widgets.common.json_highlighter import JsonHighlighter
from widgets.common.metrics_format import format_metrics
from widgets.common.pane_view import PaneView
from widgets.common.source_dialog import SourceDialog, monospace
from widgets.common.workbench_view import WORKBENCH_SHORTCUTS, WorkbenchView

__all__ = ["SHORTCUTS", "ToolsPaneView", "ToolsTab"]

SHORTCUTS: tuple[tuple[str, str], ...] = (
    *WORKBENCH_SHORTCUTS,
    ("Ctrl+L", "Clear every pane's conversation"),
)

_OK_STYLE = "color: #1a7f37; font-weight: 600;"
_BAD_STYLE = "color: #a40e26; font-weight: 600;"
_NOTE_STYLE = "color: #57606a;"
_WARN_STYLE = "color: #9a6700;"
_SOURCE_TEXT = {
    "mock": "Result from its mock (edit to override)",
    "built-in": "Result from Fireplay's built-in tool (edit to override)",
    "you": "Your result",
    "": "Type the result (JSON or text)",
}
_EMPTY_TEXT = (
    "Define tools on the right, ask something below and press Ctrl+Enter.\n"
    "Each pane shows its model's calls; answer them and the model goes on."
)
_CARDS_MAX_HEIGHT = 340
_PYTHON_EXAMPLE = (
    'def get_weather(city: str, unit: Literal["c", "f"] = "c") -> dict:\n'
    '    """Current weather in a city.\n\n    Args:\n        city: The city name.\n'
    '        unit: Temperature unit.\n    """'
)
_PARALLEL_CHOICES: tuple[tuple[str, bool | None], ...] = (
    ("Server default", None),
    ("Allowed", True),
    ("One call at a time", False),
)


def _fit_lines(editor: QPlainTextEdit, lines: int) -> None:
    height = editor.fontMetrics().lineSpacing() * lines + 12
    editor.setFixedHeight(height)


def _pretty_arguments(text: str) -> str:
    try:
        return json.dumps(json.loads(text or "{}"), ensure_ascii=False)
    except json.JSONDecodeError:
        return text


class _CallCard(QFrame):
    """One call: its tool, its arguments (editable) and its result (editable) — ``toolCall-N``."""

    def __init__(self, index: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(f"toolCall-{index}")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.name_label = QLabel()
        self.name_label.setObjectName("toolName")
        self.name_label.setStyleSheet("font-weight: 600;")
        self.check_label = QLabel()
        self.check_label.setObjectName("toolCheck")
        self.check_label.setWordWrap(True)
        self.check_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.arguments = QPlainTextEdit()
        self.arguments.setObjectName("toolArguments")
        self.arguments.setTabChangesFocus(True)
        monospace(self.arguments)
        _fit_lines(self.arguments, 3)
        self.source_label = QLabel()
        self.source_label.setObjectName("toolResultSource")
        self.source_label.setWordWrap(True)
        self.source_label.setStyleSheet(_NOTE_STYLE)
        self.result = QPlainTextEdit()
        self.result.setObjectName("toolResult")
        self.result.setTabChangesFocus(True)
        self.result.setPlaceholderText('{"temperature_c": 18}')
        monospace(self.result)
        _fit_lines(self.result, 3)
        header = QHBoxLayout()
        header.addWidget(self.name_label)
        header.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.setSpacing(2)
        layout.addLayout(header)
        layout.addWidget(self.check_label)
        layout.addWidget(self.arguments)
        layout.addWidget(self.source_label)
        layout.addWidget(self.result)

    def show_forming(self, name: str, arguments: str) -> None:
        """The call is still streaming: its name and the arguments so far, not editable yet."""
        self.name_label.setText(f"{name or '…'}  (forming)")
        self.arguments.setReadOnly(True)
        if self.arguments.toPlainText() != arguments:
            self.arguments.setPlainText(arguments)
        self.check_label.clear()
        self.source_label.hide()
        self.result.hide()

    def show_call(self, call: PendingCall) -> None:
        """The complete call waiting for its result."""
        origin = "  · parsed from content" if call.from_content else ""
        self.name_label.setText(f"{call.name}{origin}")
        self.name_label.setToolTip(f"Call id {call.id}")
        self.arguments.setReadOnly(False)
        self._set_text(self.arguments, call.arguments)
        unparsed = call.check.label.startswith("Not JSON")
        self.check_label.setText(
            f"{call.check.label}\nRaw: {call.arguments}" if unparsed else call.check.label
        )
        self.check_label.setStyleSheet(_OK_STYLE if call.check.ok else _BAD_STYLE)
        source = _SOURCE_TEXT.get(call.source, "")
        if call.problem:
            source = f"No automatic result: {call.problem}"
        self.source_label.setText(source)
        self.source_label.setStyleSheet(_WARN_STYLE if call.problem else _NOTE_STYLE)
        self.source_label.show()
        self._set_text(self.result, call.result)
        self.result.show()

    @staticmethod
    def _set_text(editor: QPlainTextEdit, text: str) -> None:
        if editor.toPlainText() != text:
            editor.blockSignals(True)
            editor.setPlainText(text)
            editor.blockSignals(False)


class ToolsPaneView(PaneView):
    """A Tool calling pane: the transcript, the calls waiting for results, and Send results."""

    pane: ToolsPane

    def __init__(
        self, pane: ToolsPane, providers: list[tuple[str, str]], parent: QWidget | None = None
    ) -> None:
        super().__init__(pane, providers, parent)
        self.warning_label = QLabel()
        self.warning_label.setObjectName("paneWarning")
        self.warning_label.setWordWrap(True)
        self.warning_label.setStyleSheet(_WARN_STYLE)
        self.note_label = QLabel()
        self.note_label.setObjectName("loopNote")
        self.note_label.setWordWrap(True)
        self.note_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.retry_button = QPushButton("Retry step")
        self.retry_button.setObjectName("retryButton")
        self.retry_button.setToolTip("Ask the failed or stopped step again")
        self.retry_button.clicked.connect(pane.retry)
        note_row = QHBoxLayout()
        note_row.setContentsMargins(0, 0, 0, 0)
        note_row.addWidget(self.note_label, 1)
        note_row.addWidget(self.retry_button)
        self.cards_widget = QWidget()
        self.cards_layout = QVBoxLayout(self.cards_widget)
        self.cards_layout.setContentsMargins(0, 0, 0, 0)
        self.cards_layout.setSpacing(4)
        self.cards_scroll = QScrollArea()
        self.cards_scroll.setObjectName("toolCalls")
        self.cards_scroll.setWidgetResizable(True)
        self.cards_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.cards_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.cards_scroll.setWidget(self.cards_widget)
        self.send_results_button = QPushButton("Send results")
        self.send_results_button.setObjectName("sendResultsButton")
        self.send_results_button.clicked.connect(self._on_send_results)
        below = QWidget()
        below_layout = QVBoxLayout(below)
        below_layout.setContentsMargins(0, 0, 0, 0)
        below_layout.setSpacing(4)
        below_layout.addWidget(self.warning_label)
        below_layout.addWidget(self.cards_scroll)
        below_layout.addWidget(self.send_results_button)
        below_layout.addLayout(note_row)
        self.add_below_result(below)
        self.request_action = self.add_menu_action("Show the last request…", self._show_request)
        self._cards: dict[int, _CallCard] = {}
        self._end = QTextCursor(self.output.document())
        pane.transcript_changed.connect(self._render)
        pane.text_received.connect(self._append_text)
        pane.call_forming.connect(self._on_call_forming)
        pane.calls_changed.connect(self._rebuild_cards)
        pane.call_updated.connect(self._on_call_updated)
        pane.loop_ended.connect(lambda _outcome: self._show_outcome())
        pane.result_changed.connect(self._show_outcome)
        pane.busy_changed.connect(lambda _busy: self._update_controls())
        pane.target_changed.connect(self._show_warning)
        self._render()
        self._rebuild_cards()
        self._show_warning()
        self.show_metrics(pane.last_metrics)

    @property
    def output(self) -> QTextBrowser:
        """The transcript (``output``)."""
        assert isinstance(self.result, QTextBrowser)
        return self.result

    def card(self, index: int) -> _CallCard | None:
        """The card of call ``index`` (``toolCall-<index>``), if shown."""
        return self._cards.get(index)

    def _result_widget(self) -> QWidget:
        output = QTextBrowser()
        output.setOpenLinks(False)
        output.setPlaceholderText(_EMPTY_TEXT)
        return output

    def _focus_sources(self) -> tuple[Any, ...]:
        return (self.output.viewport(),)

    # -- the transcript ------------------------------------------------------------------------

    def _render(self) -> None:
        bar = self.output.verticalScrollBar()
        at_end = bar.value() >= bar.maximum() - 4
        self.output.setHtml("".join(_entry_html(entry) for entry in self.pane.entries))
        self._end = QTextCursor(self.output.document())
        self._end.movePosition(QTextCursor.MoveOperation.End)
        if at_end:
            bar.setValue(bar.maximum())
        self._update_controls()

    def _append_text(self, text: str) -> None:
        bar = self.output.verticalScrollBar()
        at_end = bar.value() >= bar.maximum() - 4
        self._end.movePosition(QTextCursor.MoveOperation.End)
        self._end.insertText(text)
        if at_end:
            bar.setValue(bar.maximum())

    # -- calls ---------------------------------------------------------------------------------

    def _clear_cards(self) -> None:
        for card in self._cards.values():
            card.setParent(None)
            card.deleteLater()
        self._cards = {}

    def _on_call_forming(self, index: int, name: str, arguments: str) -> None:
        card = self._cards.get(index)
        if card is None:
            card = self._cards[index] = _CallCard(index)
            self.cards_layout.addWidget(card)
        card.show_forming(name, arguments)
        self._update_controls()

    def _rebuild_cards(self) -> None:
        self._clear_cards()
        for position, call in enumerate(self.pane.pending):
            card = self._cards[call.index] = _CallCard(call.index)
            card.show_call(call)
            card.arguments.textChanged.connect(
                lambda p=position, c=card: self.pane.set_arguments(p, c.arguments.toPlainText())
            )
            card.result.textChanged.connect(
                lambda p=position, c=card: self.pane.set_result(p, c.result.toPlainText())
            )
            self.cards_layout.addWidget(card)
        self._update_controls()

    def _on_call_updated(self, position: int) -> None:
        call = self.pane.pending[position]
        card = self._cards.get(call.index)
        if card is not None:
            card.show_call(call)
        self._update_controls()

    def _on_send_results(self) -> None:
        self.pane.send_results()

    # -- state ---------------------------------------------------------------------------------

    def _show_outcome(self) -> None:
        """The loop ended, or its result was replaced (cleared or restored): show its figures."""
        note = "stopped" if self.pane.outcome == LoopOutcome.STOPPED else ""
        self.show_metrics(self.pane.last_metrics, note=note)
        self._update_controls()

    def _update_controls(self) -> None:
        pane = self.pane
        has_cards = bool(self._cards)
        self.cards_scroll.setVisible(has_cards)
        if has_cards:
            # As tall as the cards, up to about two of them; more scroll inside.
            spacing = self.cards_layout.spacing() * (len(self._cards) - 1)
            content = sum(card.sizeHint().height() for card in self._cards.values()) + spacing
            self.cards_scroll.setFixedHeight(min(content, _CARDS_MAX_HEIGHT))
        self.send_results_button.setVisible(bool(pane.pending))
        blocker = pane.send_results_blocker()
        self.send_results_button.setEnabled(not blocker)
        self.send_results_button.setToolTip(blocker or "Send every result and let the model go on")
        parts = []
        if pane.step:
            parts.append(f"Step {pane.step} of {pane.max_steps}")
        if pane.busy:
            parts.append("running…")
        elif pane.note:
            parts.append(pane.note)
        self.note_label.setText(" · ".join(parts))
        self.note_label.setStyleSheet(
            _BAD_STYLE if pane.outcome == LoopOutcome.FAILED and not pane.busy else _NOTE_STYLE
        )
        self.retry_button.setVisible(pane.can_retry)
        self.request_action.setEnabled(pane.last_request is not None)

    def _show_warning(self) -> None:
        warning = self.pane.tools_warning()
        self.warning_label.setText(f"⚠ {warning}" if warning else "")
        self.warning_label.setVisible(bool(warning))

    def _show_request(self) -> None:
        request = self.pane.last_request
        if request is None:
            return
        dialog = _TextDialog(
            "The last request", json.dumps(request, indent=2, ensure_ascii=False), self
        )
        dialog.setObjectName("requestDialog")
        dialog.show()


def _entry_html(entry: Entry) -> str:
    def block(text: str, style: str = "") -> str:
        return f'<p style="white-space: pre-wrap; margin: 2px 0; {style}">{html.escape(text)}</p>'

    if entry.role == "user":
        return block("You", "font-weight: 600;") + block(entry.content)
    if entry.role == "tool":
        head = f"← {entry.name} result ({entry.call_id})"
        return block(head, "color: #57606a; font-weight: 600;") + block(
            entry.content, "font-family: monospace;"
        )
    status = {"streaming": " · streaming…", "stopped": " · stopped", "failed": " · failed"}
    head = f"Assistant · step {entry.step}{status.get(entry.status, '')}"
    parts = [block(head, "color: #0b5394; font-weight: 600;")]
    for call in entry.calls:
        origin = " (parsed from content)" if entry.from_content else ""
        parts.append(
            block(
                f"→ {call.name}({_pretty_arguments(call.arguments)}){origin}",
                "font-family: monospace; color: #6f42c1;",
            )
        )
    if entry.metrics is not None and entry.status != "streaming":
        parts.append(block(format_metrics(entry.metrics), "color: #57606a; font-size: small;"))
    if entry.error:
        parts.append(block(entry.error, "color: #a40e26;"))
    # The streaming text goes last: live deltas are appended at the document's end.
    if entry.content and not entry.from_content:
        parts.append(block(entry.content))
    elif entry.content:
        parts.append(block(entry.content, "color: #57606a; font-family: monospace;"))
    elif entry.status == "streaming":
        parts.append(block(""))
    return "".join(parts)


class ToolsTab(WorkbenchView):
    """View of a :class:`ToolsPresenter`: tools editor, calling options, prompt, and panes."""

    presenter: ToolsPresenter
    shortcuts = SHORTCUTS

    def __init__(self, presenter: ToolsPresenter, parent: QWidget | None = None) -> None:
        super().__init__(presenter, parent)
        self.tools_editor.textChanged.connect(
            lambda: presenter.set_tools_text(self.tools_editor.toPlainText())
        )
        presenter.tools_checked.connect(self._show_check)
        presenter.tools_replaced.connect(self._on_tools_replaced)
        presenter.send_state_changed.connect(self._update_all_actions)
        self.choice_picker.currentIndexChanged.connect(self._on_choice_chosen)
        self.parallel_picker.currentIndexChanged.connect(
            lambda i: presenter.set_parallel(self.parallel_picker.itemData(i))
        )
        self.auto_run_check.toggled.connect(presenter.set_auto_run)
        self.steps_spin.valueChanged.connect(presenter.set_max_steps)
        self.prompt.textChanged.connect(lambda: presenter.set_prompt(self.prompt.toPlainText()))
        presenter.inputs_restored.connect(self._show_inputs)
        self.clear_button.clicked.connect(self._on_clear)
        self.summary_button.clicked.connect(self.open_summary)
        self.form_button.toggled.connect(self._show_form)
        self._show_check(presenter.check)

    # -- the workbench's hooks -----------------------------------------------------------------

    def _build_input(self) -> QWidget:
        self.prompt = QPlainTextEdit(self.presenter.prompt)
        self.prompt.setObjectName("promptInput")
        self.prompt.setPlaceholderText("Ask every pane something its tools can answer…")
        self.prompt.setTabChangesFocus(True)
        self.prompt.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.prompt.setFixedHeight(72)
        return self.prompt

    def _action_buttons(self) -> list[QWidget]:
        self.clear_button = QPushButton("Clear")
        self.clear_button.setObjectName("clearButton")
        self.clear_button.setToolTip("Clear every pane's conversation (Ctrl+L)")
        self.summary_button = QPushButton("Summary…")
        self.summary_button.setObjectName("summaryButton")
        self.summary_button.setToolTip(
            "Which tools each model called, with what arguments, and what it cost"
        )
        return [self.clear_button, self.summary_button]

    def _side_boxes(self) -> list[QWidget]:
        self.templates_button = QToolButton()
        self.templates_button.setObjectName("toolTemplates")
        self.templates_button.setText("Add")
        self.templates_button.setToolTip("Add a template or one of Fireplay's built-in tools")
        self.templates_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        templates = QMenu(self.templates_button)
        builtins = set(self.presenter.builtin_names())
        for name in TEMPLATES:
            label = f"{name} (built-in, answered by Fireplay)" if name in builtins else name
            templates.addAction(label).triggered.connect(
                lambda _=False, n=name: self._guarded(lambda: self.presenter.add_template(n))
            )
        self.templates_button.setMenu(templates)
        self.python_button = QToolButton()
        self.python_button.setObjectName("toolFromPython")
        self.python_button.setText("Python…")
        self.python_button.setToolTip(
            "Paste a Python function; its signature and docstring become a tool (never run)"
        )
        self.python_button.clicked.connect(self._open_python)
        self.import_button = QToolButton()
        self.import_button.setObjectName("importToolsButton")
        self.import_button.setText("Import…")
        self.import_button.clicked.connect(self._ask_import)
        self.export_tools_button = QToolButton()
        self.export_tools_button.setObjectName("exportToolsButton")
        self.export_tools_button.setText("Save…")
        self.export_tools_button.setToolTip("Save the tools (and their mocks) as a .json file")
        self.export_tools_button.clicked.connect(self._ask_export_tools)
        self.form_button = QToolButton()
        self.form_button.setObjectName("toolFormButton")
        self.form_button.setText("Form")
        self.form_button.setCheckable(True)
        self.form_button.setToolTip("Edit one tool at a time, with its mock result")
        bar = QHBoxLayout()
        bar.setSpacing(2)
        for button in (
            self.templates_button,
            self.python_button,
            self.import_button,
            self.export_tools_button,
        ):
            bar.addWidget(button)
        bar.addStretch(1)
        bar.addWidget(self.form_button)

        self.tools_editor = QPlainTextEdit(self.presenter.tools_text)
        self.tools_editor.setObjectName("toolsEditor")
        self.tools_editor.setTabChangesFocus(True)
        self.tools_editor.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        monospace(self.tools_editor)
        self._tools_highlighter = JsonHighlighter(self.tools_editor.document())
        self.form = _ToolForm(self.presenter, self)
        self.editor_stack = QStackedWidget()
        self.editor_stack.addWidget(self.tools_editor)
        self.editor_stack.addWidget(self.form)
        self.tools_status = QLabel()
        self.tools_status.setObjectName("toolsStatus")
        self.tools_status.setWordWrap(True)
        self.tools_status.setStyleSheet("color: #a40e26;")

        self.choice_picker = QComboBox()
        self.choice_picker.setObjectName("toolChoice")
        self.choice_picker.setToolTip("tool_choice: may, may not, or must the model call a tool?")
        self.parallel_picker = QComboBox()
        self.parallel_picker.setObjectName("parallelCalls")
        for text, value in _PARALLEL_CHOICES:
            self.parallel_picker.addItem(text, value)
        self.parallel_picker.setCurrentIndex(
            [value for _, value in _PARALLEL_CHOICES].index(self.presenter.parallel)
        )
        self.parallel_picker.setToolTip("parallel_tool_calls: several calls in one step")
        self.auto_run_check = QCheckBox("Run the loop by itself")
        self.auto_run_check.setObjectName("autoRun")
        self.auto_run_check.setChecked(self.presenter.auto_run)
        self.auto_run_check.setToolTip(
            "Answer calls from mocks and built-in tools without stopping, up to the step limit"
        )
        self.steps_spin = QSpinBox()
        self.steps_spin.setObjectName("maxSteps")
        self.steps_spin.setRange(1, MAX_STEPS)
        self.steps_spin.setValue(self.presenter.max_steps)
        self.steps_spin.setToolTip("Requests per message before the loop waits for you")
        calling = QFormLayout()
        calling.addRow("Tool choice", self.choice_picker)
        calling.addRow("Parallel calls", self.parallel_picker)
        calling.addRow(self.auto_run_check)
        calling.addRow("Step limit", self.steps_spin)

        box = QGroupBox("Tools (all panes)")
        layout = QVBoxLayout(box)
        layout.addLayout(bar)
        layout.addWidget(self.editor_stack, 1)
        layout.addWidget(self.tools_status)
        layout.addLayout(calling)
        return [box]

    def _tab_shortcuts(self) -> list[tuple[str, Callable[[], object]]]:
        return [("Ctrl+L", self._on_clear)]

    def _make_pane_view(self, pane: ToolsPane) -> PaneView:
        return ToolsPaneView(pane, self.presenter.providers())

    def _send(self) -> bool:
        return self.presenter.send(self.prompt.toPlainText())

    def _update_actions(self) -> None:
        blocker = self.presenter.send_blocker()
        busy = self.presenter.busy
        self.send_button.setEnabled(not blocker)
        self.send_button.setToolTip(blocker or "Send to every pane (Ctrl+Enter)")
        self.clear_button.setEnabled(not busy and self.presenter.has_results)
        self.summary_button.setEnabled(self.presenter.has_results)

    # -- user commands -------------------------------------------------------------------------

    def open_summary(self) -> QDialog | None:
        """Show, per pane, which tools its model called and what the loop cost."""
        if not self.presenter.has_results:
            return None
        dialog = _SummaryDialog(self.presenter.summaries(), self)
        dialog.show()
        return dialog

    def _on_clear(self) -> None:
        if self.presenter.has_results and not self.confirm_discard(
            "Clear throws away every pane's conversation."
        ):
            return
        self.presenter.clear()

    def _guarded(self, action: Callable[[], None]) -> None:
        try:
            action()
        except ValueError as error:
            self.tools_status.setText(str(error))
            self.tools_status.show()

    def _open_python(self) -> None:
        SourceDialog(
            "Tool from a Python function",
            "Paste a function (def name(arg: type = default) -> ...: with a docstring). "
            "It is parsed, never imported or run.",
            self.presenter.add_from_python,
            self,
            name="pythonToolDialog",
            action="Add tool",
            placeholder=_PYTHON_EXAMPLE,
        ).open()

    def _ask_import(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import tools", "", "JSON (*.json)")
        if path:
            self.import_tools_from(Path(path))

    def import_tools_from(self, path: Path) -> None:
        """Replace the tools with those of a .json file (a bad file is reported, nothing lost)."""
        try:
            text = path.read_text(encoding="utf-8")
            if self.presenter.tools_text.strip() and not self.confirm_discard(
                "Importing replaces the tools in the editor."
            ):
                return
            self.presenter.import_tools(text)
        except (OSError, UnicodeDecodeError, ValueError) as error:
            self.tools_status.setText(f"Could not import {path.name}: {error}")
            self.tools_status.show()

    def _ask_export_tools(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save tools", "tools.json", "JSON (*.json)")
        if path:
            self.export_tools_to(Path(path))

    def export_tools_to(self, path: Path) -> None:
        """Write the tools (with their mocks) to ``path``."""
        path.write_text(self.presenter.export_tools(), encoding="utf-8")

    # -- presenter events ----------------------------------------------------------------------

    def _show_check(self, check: ToolsCheck) -> None:
        self.tools_status.setText(check.error)
        self.tools_status.setVisible(bool(check.error))
        self._fill_choices(list(check.names))
        self.form.reload()

    def _fill_choices(self, names: list[str]) -> None:
        choice = self.presenter.choice
        self.choice_picker.blockSignals(True)
        self.choice_picker.clear()
        for keyword in ("auto", "none", "required"):
            self.choice_picker.addItem(keyword, keyword)
        for name in names:
            self.choice_picker.addItem(name, name)
        index = self.choice_picker.findData(choice)
        if index < 0:  # a tool that was renamed or removed: show it, Send says why it fails
            self.choice_picker.addItem(f"{choice} (not defined)", choice)
            index = self.choice_picker.count() - 1
        self.choice_picker.setCurrentIndex(index)
        self.choice_picker.blockSignals(False)

    def _on_choice_chosen(self, index: int) -> None:
        if index >= 0:
            self.presenter.set_choice(str(self.choice_picker.itemData(index)))

    def _show_inputs(self) -> None:
        """Show restored inputs; the tools editor and tool choice follow their own signals."""
        p = self.presenter
        # Blocked, so that showing the inputs does not hand them back to the presenter.
        for widget in (self.parallel_picker, self.auto_run_check, self.steps_spin, self.prompt):
            widget.blockSignals(True)
        self.parallel_picker.setCurrentIndex(
            [value for _, value in _PARALLEL_CHOICES].index(p.parallel)
        )
        self.auto_run_check.setChecked(p.auto_run)
        self.steps_spin.setValue(p.max_steps)
        if self.prompt.toPlainText() != p.prompt:
            self.prompt.setPlainText(p.prompt)
        for widget in (self.parallel_picker, self.auto_run_check, self.steps_spin, self.prompt):
            widget.blockSignals(False)

    def _on_tools_replaced(self, text: str) -> None:
        if self.tools_editor.toPlainText() != text:
            self.tools_editor.blockSignals(True)
            self.tools_editor.setPlainText(text)
            self.tools_editor.blockSignals(False)

    def _show_form(self, shown: bool) -> None:
        self.form.reload()
        self.editor_stack.setCurrentWidget(self.form if shown else self.tools_editor)


class _ToolForm(QWidget):
    """One tool of the array at a time: name, description, parameters, and its mock result."""

    def __init__(self, presenter: ToolsPresenter, tab: ToolsTab) -> None:
        super().__init__()
        self.setObjectName("toolForm")
        self._presenter = presenter
        self._tab = tab
        self.picker = QComboBox()
        self.picker.setObjectName("toolFormPicker")
        self.name = QLineEdit()
        self.name.setObjectName("toolFormName")
        self.description = QPlainTextEdit()
        self.description.setObjectName("toolFormDescription")
        _fit_lines(self.description, 3)
        self.parameters = QPlainTextEdit()
        self.parameters.setObjectName("toolFormParameters")
        monospace(self.parameters)
        self._parameters_highlighter = JsonHighlighter(self.parameters.document())
        self.mock = QPlainTextEdit()
        self.mock.setObjectName("toolMock")
        self.mock.setPlaceholderText('{"city": "{{city}}", "temperature_c": 18}')
        monospace(self.mock)
        _fit_lines(self.mock, 3)
        self.mock_hint = QLabel()
        self.mock_hint.setObjectName("hint")
        self.mock_hint.setWordWrap(True)
        self.apply_button = QPushButton("Apply")
        self.apply_button.setObjectName("applyToolButton")
        self.remove_button = QPushButton("Remove")
        self.remove_button.setObjectName("removeToolButton")
        self.error = QLabel()
        self.error.setObjectName("toolFormError")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #a40e26;")
        buttons = QHBoxLayout()
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        buttons.addWidget(self.apply_button)
        layout = QFormLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addRow("Tool", self.picker)
        layout.addRow("Name", self.name)
        layout.addRow("Description", self.description)
        layout.addRow("Parameters", self.parameters)
        layout.addRow("Mock result", self.mock)
        layout.addRow(self.mock_hint)
        layout.addRow(self.error)
        layout.addRow(buttons)
        self.picker.currentIndexChanged.connect(lambda _i: self._show_tool())
        self.apply_button.clicked.connect(self._apply)
        self.remove_button.clicked.connect(self._remove)
        self.mock.textChanged.connect(self._on_mock_edited)

    def reload(self) -> None:
        """Show the tools of the (valid) array; keep the tool shown when it is still there."""
        tools = self._presenter.check.tools
        current = self.picker.currentText()
        self.picker.blockSignals(True)
        self.picker.clear()
        for tool in tools:
            self.picker.addItem(tool["function"]["name"])
        index = self.picker.findText(current)
        self.picker.setCurrentIndex(max(index, 0) if tools else -1)
        self.picker.blockSignals(False)
        usable = bool(tools)
        for widget in (self.name, self.description, self.parameters, self.mock, self.apply_button):
            widget.setEnabled(usable)
        self.remove_button.setEnabled(usable)
        self.error.setText(
            "" if usable else self._presenter.check.error or "No tools yet: add a template."
        )
        self._show_tool()

    def _show_tool(self) -> None:
        position = self.picker.currentIndex()
        tools = self._presenter.check.tools
        if not 0 <= position < len(tools):
            return
        function = tools[position]["function"]
        self.name.setText(function["name"])
        self.description.setPlainText(function.get("description", ""))
        self.parameters.setPlainText(json.dumps(function.get("parameters", {}), indent=2))
        self.mock.blockSignals(True)
        self.mock.setPlainText(self._presenter.mocks.get(function["name"], ""))
        self.mock.blockSignals(False)
        builtin = function["name"] in self._presenter.builtin_names()
        self.mock_hint.setText(
            "Fireplay answers this tool itself; a mock here takes precedence."
            if builtin
            else "{{argument}} is replaced by the call's argument. Empty: you type each result."
        )

    def _apply(self) -> None:
        try:
            parameters = json.loads(self.parameters.toPlainText() or "{}")
        except json.JSONDecodeError as error:
            self.error.setText(f"Parameters are not JSON: {error.msg} (line {error.lineno})")
            return
        tool = {
            "type": "function",
            "function": {
                "name": self.name.text().strip(),
                "description": self.description.toPlainText().strip(),
                "parameters": parameters,
            },
        }
        try:
            self._presenter.update_tool(self.picker.currentIndex(), tool)
        except ValueError as error:
            self.error.setText(str(error))
            return
        self.error.setText(self._presenter.check.error)

    def _remove(self) -> None:
        try:
            self._presenter.remove_tool(self.picker.currentIndex())
        except ValueError as error:
            self.error.setText(str(error))

    def _on_mock_edited(self) -> None:
        if self.picker.currentIndex() >= 0:
            self._presenter.set_mock(self.picker.currentText(), self.mock.toPlainText())


class _TextDialog(QDialog):
    """Read-only text to look at and copy."""

    def __init__(self, title: str, text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.resize(640, 520)
        self.text = QPlainTextEdit(text)
        self.text.setReadOnly(True)
        monospace(self.text)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text, 1)
        layout.addWidget(buttons)


class _SummaryDialog(QDialog):
    """One row per pane: the calls its model made, their validity, steps, tokens, cost, time."""

    _COLUMNS = ("Model", "Calls", "Valid", "Steps", "Outcome", "Tokens", "Cost", "Time", "Answer")

    def __init__(self, summaries: list[PaneSummary], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("toolsSummaryDialog")
        self.setWindowTitle("Tool calls across panes")
        self.resize(960, 420)
        self.table = QTableWidget(len(summaries), len(self._COLUMNS))
        self.table.setObjectName("toolsSummaryTable")
        self.table.setHorizontalHeaderLabels(list(self._COLUMNS))
        for row, summary in enumerate(summaries):
            metrics = summary.metrics
            tokens = ""
            if metrics is not None and metrics.prompt_tokens is not None:
                tokens = f"{metrics.prompt_tokens} in / {metrics.completion_tokens or 0} out"
            cost = f"${metrics.cost_usd:.5f}" if metrics and metrics.cost_usd is not None else "—"
            seconds = f"{metrics.total_s:.2f} s" if metrics and metrics.total_s else "—"
            calls = "\n".join(
                f"{name}({_pretty_arguments(arguments)})" for name, arguments, _ in summary.calls
            )
            valid = sum(1 for *_, ok in summary.calls if ok)
            cells = (
                summary.model.rsplit("/", 1)[-1],
                calls or "(no calls)",
                f"{valid}/{len(summary.calls)}" if summary.calls else "—",
                str(summary.steps),
                summary.outcome or "—",
                tokens or "—",
                cost,
                seconds,
                summary.answer[:200],
            )
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                self.table.setItem(row, column, item)
        self.table.resizeColumnsToContents()
        self.table.resizeRowsToContents()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addWidget(buttons)
