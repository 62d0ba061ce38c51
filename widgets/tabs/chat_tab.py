"""Chat tab: one shared message streamed to 1–8 panes side by side, each a conversation."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QSignalBlocker, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QGroupBox,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.domain.conversation import TurnStatus
from app.presenters.chat import ChatPresenter
from app.presenters.pane import ChatPane
from widgets.common.pane_view import PaneView
from widgets.common.transcript import Transcript
from widgets.common.workbench_view import WORKBENCH_SHORTCUTS, WorkbenchView

__all__ = ["SHORTCUTS", "ChatPaneView", "ChatTab"]

SHORTCUTS: tuple[tuple[str, str], ...] = (
    *WORKBENCH_SHORTCUTS,
    ("Ctrl+R", "Regenerate the last replies"),
    ("Ctrl+E", "Edit and resend the last message"),
    ("Ctrl+L", "New conversation"),
)

_EMPTY_TEXT = "Type a message below and press Ctrl+Enter.\nEvery pane answers the same input."


class ChatPaneView(PaneView):
    """A Chat pane: its conversation as a transcript, with regenerate and continue.

    Signals:
        continue_requested(): "Continue with this pane" was chosen.
    """

    continue_requested = Signal()

    pane: ChatPane

    def __init__(
        self, pane: ChatPane, providers: list[tuple[str, str]], parent: QWidget | None = None
    ) -> None:
        super().__init__(pane, providers, parent)
        self.regenerate_button = QToolButton()
        self.regenerate_button.setObjectName("paneRegenerateButton")
        self.regenerate_button.setText("↻")
        self.regenerate_button.setToolTip("Regenerate this pane's last reply")
        self.strip.insertWidget(self.strip.indexOf(self.stop_button), self.regenerate_button)
        self.continue_action = self.add_menu_action(
            "Continue with this pane (copy its conversation to the others)",
            self.continue_requested,
        )
        self.regenerate_button.clicked.connect(pane.regenerate)
        pane.turn_added.connect(self._on_turn_added)
        pane.text_received.connect(self.transcript.append_text)
        pane.reasoning_received.connect(self.transcript.append_reasoning)
        pane.turn_finished.connect(self._on_turn_finished)
        pane.turns_reset.connect(self._rebuild)
        self._rebuild()

    @property
    def transcript(self) -> Transcript:
        """The conversation view (``output``)."""
        assert isinstance(self.result, Transcript)
        return self.result

    def _result_widget(self) -> QWidget:
        transcript = Transcript()
        transcript.set_placeholder(_EMPTY_TEXT)
        return transcript

    def _focus_sources(self) -> tuple[QObject, ...]:
        return (self.transcript.viewport(),)

    def _on_turn_added(self, index: int) -> None:
        self.transcript.add(self.pane.turns[index], self.pane.model or "Assistant")

    def _on_turn_finished(self, index: int) -> None:
        self.transcript.finish(index)
        self._show_last_metrics()

    def _show_last_metrics(self) -> None:
        turn = next((t for t in reversed(self.pane.turns) if t.role.value == "assistant"), None)
        note = "stopped" if turn is not None and turn.status is TurnStatus.STOPPED else ""
        self.show_metrics(self.pane.last_metrics, note=note)

    def _rebuild(self) -> None:
        self.transcript.clear()
        for turn in self.pane.turns:
            self.transcript.add(turn, self.pane.model or "Assistant")
        self._show_last_metrics()
        self._on_busy_changed(self.pane.busy)

    def _on_busy_changed(self, busy: bool) -> None:
        super()._on_busy_changed(busy)
        has_turns = bool(self.pane.turns)
        self.regenerate_button.setEnabled(not busy and has_turns)
        self.continue_action.setEnabled(not busy and has_turns)


class ChatTab(WorkbenchView):
    """View of a :class:`ChatPresenter`: the workbench with a message box and a system prompt."""

    presenter: ChatPresenter
    shortcuts = SHORTCUTS

    def __init__(self, presenter: ChatPresenter, parent: QWidget | None = None) -> None:
        super().__init__(presenter, parent)
        self.system_prompt.textChanged.connect(
            lambda: presenter.set_system_prompt(self.system_prompt.toPlainText())
        )
        self.prompt.textChanged.connect(lambda: presenter.set_draft(self.prompt.toPlainText()))
        presenter.inputs_restored.connect(self._show_inputs)
        self.own_prompt_check.toggled.connect(self._on_own_prompt_toggled)
        self.own_prompt.textChanged.connect(self._on_own_prompt_edited)
        self.regenerate_button.clicked.connect(presenter.regenerate)
        self.edit_button.clicked.connect(self.edit_last)
        self.clear_button.clicked.connect(self.new_chat)

    # -- the workbench's hooks -----------------------------------------------------------------

    def _build_input(self) -> QWidget:
        self.prompt = QPlainTextEdit()
        self.prompt.setObjectName("promptInput")
        self.prompt.setPlaceholderText("Message every pane… (Ctrl+Enter to send)")
        self.prompt.setTabChangesFocus(True)
        self.prompt.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.prompt.setFixedHeight(88)
        return self.prompt

    def _action_buttons(self) -> list[QWidget]:
        self.regenerate_button = QPushButton("Regenerate")
        self.regenerate_button.setObjectName("regenerateButton")
        self.edit_button = QPushButton("Edit last")
        self.edit_button.setObjectName("editLastButton")
        self.clear_button = QPushButton("New chat")
        self.clear_button.setObjectName("clearButton")
        self.clear_button.setToolTip("Start a new conversation in every pane (Ctrl+L)")
        return [self.clear_button, self.edit_button, self.regenerate_button]

    def _side_boxes(self) -> list[QWidget]:
        self.system_prompt = QPlainTextEdit(self.presenter.system_prompt)
        self.system_prompt.setObjectName("systemPrompt")
        self.system_prompt.setPlaceholderText("You are a helpful assistant…")
        self.system_prompt.setTabChangesFocus(True)
        system_box = QGroupBox("System prompt (all panes)")
        system_layout = QVBoxLayout(system_box)
        system_layout.addWidget(self.system_prompt)
        return [system_box]

    def _pane_param_widgets(self) -> list[QWidget]:
        self.own_prompt_check = QCheckBox("Own system prompt for this pane")
        self.own_prompt_check.setObjectName("ownSystemPromptCheck")
        self.own_prompt = QPlainTextEdit()
        self.own_prompt.setObjectName("ownSystemPrompt")
        self.own_prompt.setTabChangesFocus(True)
        self.own_prompt.setFixedHeight(70)
        return [self.own_prompt_check, self.own_prompt]

    def _tab_shortcuts(self) -> list[tuple[str, Callable[[], object]]]:
        return [
            ("Ctrl+R", self.presenter.regenerate),
            ("Ctrl+E", self.edit_last),
            ("Ctrl+L", self.new_chat),
        ]

    def _make_pane_view(self, pane: ChatPane) -> PaneView:
        view = ChatPaneView(pane, self.presenter.providers())
        view.continue_requested.connect(
            lambda v=view: self.presenter.continue_with(self.pane_views.index(v))
        )
        pane.turns_reset.connect(self._update_all_actions)
        return view

    def _send(self) -> bool:
        if self.presenter.send(self.prompt.toPlainText()):
            self.prompt.clear()
            return True
        return False

    def receive_text(self, text: str) -> None:
        """Put ``text`` (e.g. a transcript) in the message box, after what is already there."""
        cursor = self.prompt.textCursor()
        cursor.movePosition(cursor.MoveOperation.End)
        if self.prompt.toPlainText().strip():
            cursor.insertText("\n\n")
        cursor.insertText(text)
        self.prompt.setTextCursor(cursor)
        self.prompt.setFocus()

    def _pane_selected(self, pane: ChatPane) -> None:
        own = pane.own_system_prompt
        for widget in (self.own_prompt_check, self.own_prompt):
            widget.blockSignals(True)
        self.own_prompt_check.setChecked(own is not None)
        self.own_prompt.setPlainText(own or "")
        self.own_prompt.setVisible(own is not None)
        for widget in (self.own_prompt_check, self.own_prompt):
            widget.blockSignals(False)

    def _update_actions(self) -> None:
        busy = self.presenter.busy
        has_turns = self.presenter.has_turns
        reason = "" if has_turns else " (nothing to act on yet: send a message first)"
        for button, tip in (
            (self.regenerate_button, "Ask every pane again for its last reply (Ctrl+R)"),
            (self.edit_button, "Take back your last message to edit and resend it (Ctrl+E)"),
        ):
            button.setEnabled(not busy and has_turns)
            button.setToolTip(tip + reason)

    # -- user commands -------------------------------------------------------------------------

    def edit_last(self) -> None:
        """Take back the last message into the input box, to edit and resend it."""
        text = self.presenter.edit_last()
        if text is not None:
            self.prompt.setPlainText(text)
            self.prompt.setFocus()
            self.prompt.moveCursor(self.prompt.textCursor().MoveOperation.End)

    def new_chat(self) -> None:
        """Start a new conversation in every pane, after asking when one is going."""
        if self.presenter.has_turns and not self.confirm_discard(
            "New chat clears the conversation in every pane."
        ):
            return
        self.presenter.clear()

    def _show_inputs(self) -> None:
        # The presenter holds these already: editing them back would only save them again.
        for editor, text in (
            (self.system_prompt, self.presenter.system_prompt),
            (self.prompt, self.presenter.draft),
        ):
            with QSignalBlocker(editor):
                editor.setPlainText(text)
        # The panes may have been replaced: the side panel shows the selected one's settings.
        self._select(min(self._selected, len(self.pane_views) - 1))

    def _on_own_prompt_toggled(self, own: bool) -> None:
        self.own_prompt.setVisible(own)
        if own and not self.own_prompt.toPlainText():
            self.own_prompt.setPlainText(self.presenter.system_prompt)
        self.selected_pane().set_own_system_prompt(self.own_prompt.toPlainText() if own else None)

    def _on_own_prompt_edited(self) -> None:
        if self.own_prompt_check.isChecked():
            self.selected_pane().set_own_system_prompt(self.own_prompt.toPlainText())
