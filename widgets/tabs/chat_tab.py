"""Chat tab: a streaming multi-turn conversation with one target."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.presenters.chat import ChatPresenter
from widgets.common.metrics_format import format_metrics, metrics_tooltip
from widgets.common.param_panel import ParamPanel
from widgets.common.transcript import Transcript

__all__ = ["SHORTCUTS", "ChatTab"]

SHORTCUTS: tuple[tuple[str, str], ...] = (
    ("Ctrl+Return", "Send"),
    ("Esc", "Stop the reply"),
    ("Ctrl+R", "Regenerate the last reply"),
    ("Ctrl+E", "Edit and resend the last message"),
    ("Ctrl+L", "New conversation"),
)

_EMPTY_TEXT = (
    "Type a message below and press Ctrl+Enter.\n"
    "Pick a provider and model above; parameters left at “default” use the provider's defaults."
)


class ChatTab(QWidget):
    """View of a :class:`ChatPresenter`: renders its turns and forwards the user's commands."""

    def __init__(self, presenter: ChatPresenter, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.presenter = presenter
        self._build()
        self._wire()
        self._fill_providers()
        self._on_target_changed()
        self._on_busy_changed(False)

    # -- construction --------------------------------------------------------------------------

    def _build(self) -> None:
        p = self.presenter
        self.provider_picker = QComboBox()
        self.provider_picker.setObjectName("providerPicker")
        self.provider_picker.setToolTip("Provider (Settings → Providers to add keys and endpoints)")
        self.model_picker = QComboBox()
        self.model_picker.setObjectName("modelPicker")
        self.model_picker.setEditable(True)
        self.model_picker.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.model_picker.setMinimumContentsLength(28)
        self.model_picker.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.model_picker.setToolTip("Model id; pick from the provider's list or type any id")
        self.refresh_button = QPushButton("Refresh models")
        self.refresh_button.setObjectName("refreshModelsButton")
        self.status_label = QLabel()
        self.status_label.setObjectName("statusLabel")
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        target_bar = QHBoxLayout()
        target_bar.addWidget(QLabel("Provider"))
        target_bar.addWidget(self.provider_picker)
        target_bar.addWidget(QLabel("Model"))
        target_bar.addWidget(self.model_picker, 1)
        target_bar.addWidget(self.refresh_button)

        self.transcript = Transcript()
        self.transcript.setObjectName("output")
        self.transcript.set_placeholder(_EMPTY_TEXT)
        self.metrics_label = QLabel()
        self.metrics_label.setObjectName("metrics")
        self.metrics_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        pane = QWidget()
        pane.setObjectName("pane-0")
        pane_layout = QVBoxLayout(pane)
        pane_layout.setContentsMargins(0, 0, 0, 0)
        pane_layout.addLayout(target_bar)
        pane_layout.addWidget(self.transcript, 1)
        pane_layout.addWidget(self.metrics_label)
        pane_layout.addWidget(self.status_label)

        self.prompt = QPlainTextEdit()
        self.prompt.setObjectName("promptInput")
        self.prompt.setPlaceholderText("Message… (Ctrl+Enter to send)")
        self.prompt.setTabChangesFocus(True)
        self.prompt.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.prompt.setFixedHeight(96)
        self.send_button = QPushButton("Send")
        self.send_button.setObjectName("sendButton")
        self.send_button.setDefault(True)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setObjectName("stopButton")
        self.regenerate_button = QPushButton("Regenerate")
        self.regenerate_button.setObjectName("regenerateButton")
        self.edit_button = QPushButton("Edit last")
        self.edit_button.setObjectName("editLastButton")
        self.clear_button = QPushButton("New chat")
        self.clear_button.setObjectName("clearButton")
        for button, tip in (
            (self.send_button, "Send (Ctrl+Enter)"),
            (self.stop_button, "Stop the reply; the text so far is kept (Esc)"),
            (self.regenerate_button, "Ask again for the last reply (Ctrl+R)"),
            (self.edit_button, "Take back your last message to edit and resend it (Ctrl+E)"),
            (self.clear_button, "Start a new conversation (Ctrl+L)"),
        ):
            button.setToolTip(tip)
        actions = QHBoxLayout()
        actions.addWidget(self.clear_button)
        actions.addWidget(self.edit_button)
        actions.addWidget(self.regenerate_button)
        actions.addStretch(1)
        actions.addWidget(self.stop_button)
        actions.addWidget(self.send_button)

        main = QWidget()
        main_layout = QVBoxLayout(main)
        main_layout.setContentsMargins(8, 8, 4, 8)
        main_layout.addWidget(pane, 1)
        main_layout.addWidget(self.prompt)
        main_layout.addLayout(actions)

        self.system_prompt = QPlainTextEdit(p.system_prompt)
        self.system_prompt.setObjectName("systemPrompt")
        self.system_prompt.setPlaceholderText("You are a helpful assistant…")
        self.system_prompt.setTabChangesFocus(True)
        system_box = QGroupBox("System prompt")
        system_layout = QVBoxLayout(system_box)
        system_layout.addWidget(self.system_prompt)

        self.params = ParamPanel(p.params)
        self.params.setObjectName("paramPanel")
        params_box = QGroupBox("Parameters")
        params_layout = QVBoxLayout(params_box)
        params_layout.addWidget(self.params)
        params_note = QLabel("“default” = not sent; the provider's default applies.")
        params_note.setWordWrap(True)
        params_note.setObjectName("hint")
        params_layout.addWidget(params_note)

        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(4, 8, 8, 8)
        side_layout.addWidget(system_box, 1)
        side_layout.addWidget(params_box)
        side_scroll = QScrollArea()
        side_scroll.setWidgetResizable(True)
        side_scroll.setWidget(side)
        side_scroll.setMinimumWidth(270)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(main)
        splitter.addWidget(side_scroll)
        splitter.setStretchFactor(0, 1)
        splitter.setSizes([900, 300])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)

    def _wire(self) -> None:
        p = self.presenter
        self.send_button.clicked.connect(self._on_send_clicked)
        self.stop_button.clicked.connect(p.stop)
        self.regenerate_button.clicked.connect(p.regenerate)
        self.edit_button.clicked.connect(self._on_edit_clicked)
        self.clear_button.clicked.connect(p.clear)
        self.refresh_button.clicked.connect(p.refresh_models)
        self.provider_picker.activated.connect(self._on_provider_activated)
        self.model_picker.activated.connect(self._on_model_chosen)
        model_line = self.model_picker.lineEdit()
        assert model_line is not None  # the picker is editable
        model_line.editingFinished.connect(self._on_model_chosen)
        self.system_prompt.textChanged.connect(
            lambda: p.set_system_prompt(self.system_prompt.toPlainText())
        )
        self.params.param_changed.connect(p.set_param)

        p.turn_added.connect(self._on_turn_added)
        p.text_received.connect(lambda i, text: self.transcript.view(i).append_text(text))
        p.reasoning_received.connect(lambda i, text: self.transcript.view(i).append_reasoning(text))
        p.turn_finished.connect(self._on_turn_finished)
        p.turns_reset.connect(self._rebuild)
        p.busy_changed.connect(self._on_busy_changed)
        p.models_changed.connect(self._on_models_changed)
        p.target_changed.connect(self._on_target_changed)
        p.status_changed.connect(self.status_label.setText)
        p.failed.connect(self.status_label.setText)
        p.providers_changed.connect(self._fill_providers)

        def shortcut(keys: str, slot: Callable[[], object]) -> None:
            QShortcut(
                QKeySequence(keys),
                self,
                slot,
                context=Qt.ShortcutContext.WidgetWithChildrenShortcut,
            )

        shortcut("Ctrl+Return", self._on_send_clicked)
        shortcut("Ctrl+Enter", self._on_send_clicked)
        shortcut("Esc", p.stop)
        shortcut("Ctrl+R", p.regenerate)
        shortcut("Ctrl+E", self._on_edit_clicked)
        shortcut("Ctrl+L", p.clear)

    # -- user commands -------------------------------------------------------------------------

    def _on_send_clicked(self) -> None:
        self._on_model_chosen()
        if self.presenter.send(self.prompt.toPlainText()):
            self.prompt.clear()

    def _on_edit_clicked(self) -> None:
        text = self.presenter.edit_last()
        if text is not None:
            self.prompt.setPlainText(text)
            self.prompt.setFocus()
            self.prompt.moveCursor(self.prompt.textCursor().MoveOperation.End)

    def _on_provider_activated(self, index: int) -> None:
        self.presenter.set_provider(self.provider_picker.itemData(index))

    def _on_model_chosen(self) -> None:
        self.presenter.set_model(self.model_picker.currentText())

    # -- presenter events ----------------------------------------------------------------------

    def _assistant_name(self) -> str:
        return self.presenter.model or "Assistant"

    def _on_turn_added(self, index: int) -> None:
        self.transcript.add(self.presenter.turns[index], self._assistant_name())

    def _on_turn_finished(self, index: int) -> None:
        view = self.transcript.view(index)
        view.body.flush()
        view.reasoning.flush()
        view.show_final()
        metrics = view.turn.metrics
        self.metrics_label.setText(format_metrics(metrics) if metrics else "")
        self.metrics_label.setToolTip(metrics_tooltip(metrics) if metrics else "")

    def _rebuild(self) -> None:
        self.transcript.clear()
        for turn in self.presenter.turns:
            self.transcript.add(turn, self._assistant_name())
        self.metrics_label.clear()

    def _on_busy_changed(self, busy: bool) -> None:
        has_turns = bool(self.presenter.turns)
        self.send_button.setEnabled(not busy)
        self.stop_button.setEnabled(busy)
        self.regenerate_button.setEnabled(not busy and has_turns)
        self.edit_button.setEnabled(not busy and has_turns)

    def _on_models_changed(self, ids: list[str], _source: str) -> None:
        current = self.presenter.model
        self.model_picker.blockSignals(True)
        self.model_picker.clear()
        self.model_picker.addItems(ids)
        self.model_picker.setEditText(current)
        self.model_picker.blockSignals(False)

    def _on_target_changed(self) -> None:
        p = self.presenter
        index = self.provider_picker.findData(p.provider_id)
        if index >= 0:
            self.provider_picker.setCurrentIndex(index)
        if self.model_picker.currentText() != p.model:
            self.model_picker.setEditText(p.model)

    def _fill_providers(self) -> None:
        self.provider_picker.blockSignals(True)
        self.provider_picker.clear()
        for provider_id, name in self.presenter.providers():
            self.provider_picker.addItem(name, provider_id)
        self.provider_picker.blockSignals(False)
        self._on_target_changed()
