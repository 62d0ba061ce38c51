"""One result pane: its target strip, its conversation and its live metrics."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMenu,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.presenters.pane import ChatPane
from widgets.common.metrics_format import format_metrics, metrics_tooltip
from widgets.common.transcript import Transcript

__all__ = ["PaneView"]

_EMPTY_TEXT = "Type a message below and press Ctrl+Enter.\nEvery pane answers the same input."


class PaneView(QFrame):
    """View of a :class:`ChatPane`. Pane-level commands that need the workbench are requested.

    Signals:
        activated(): the user clicked or focused into this pane.
        duplicate_requested(): "Duplicate target" was chosen.
        remove_requested(): "Remove pane" was chosen.
        continue_requested(): "Continue with this pane" was chosen.
    """

    activated = Signal()
    duplicate_requested = Signal()
    remove_requested = Signal()
    continue_requested = Signal()

    def __init__(
        self, pane: ChatPane, providers: list[tuple[str, str]], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.pane = pane
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setProperty("class", "pane")

        self.provider_picker = QComboBox()
        self.provider_picker.setObjectName("providerPicker")
        self.provider_picker.setToolTip("Provider (File → Settings to add keys and endpoints)")
        self.model_picker = QComboBox()
        self.model_picker.setObjectName("modelPicker")
        self.model_picker.setEditable(True)
        self.model_picker.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.model_picker.setMinimumContentsLength(14)
        self.model_picker.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.stop_button = QToolButton()
        self.stop_button.setObjectName("paneStopButton")
        self.stop_button.setText("■")
        self.stop_button.setToolTip("Stop this pane (its text so far is kept)")
        self.regenerate_button = QToolButton()
        self.regenerate_button.setObjectName("paneRegenerateButton")
        self.regenerate_button.setText("↻")
        self.regenerate_button.setToolTip("Regenerate this pane's last reply")
        self.menu_button = QToolButton()
        self.menu_button.setObjectName("paneMenuButton")
        self.menu_button.setText("⋯")
        self.menu_button.setToolTip("More for this pane")
        self.menu_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.menu_button)
        self.refresh_action = self._action(menu, "Refresh model list", pane.refresh_models)
        self.duplicate_action = self._action(menu, "Duplicate target", self.duplicate_requested)
        self.continue_action = self._action(
            menu,
            "Continue with this pane (copy its conversation to the others)",
            self.continue_requested,
        )
        menu.addSeparator()
        self.remove_action = self._action(menu, "Remove pane", self.remove_requested)
        self.menu_button.setMenu(menu)

        strip = QHBoxLayout()
        strip.setContentsMargins(0, 0, 0, 0)
        strip.setSpacing(4)
        strip.addWidget(self.provider_picker)
        strip.addWidget(self.model_picker, 1)
        strip.addWidget(self.regenerate_button)
        strip.addWidget(self.stop_button)
        strip.addWidget(self.menu_button)

        self.transcript = Transcript()
        self.transcript.setObjectName("output")
        self.transcript.set_placeholder(_EMPTY_TEXT)
        self.metrics_label = QLabel()
        self.metrics_label.setObjectName("metrics")
        self.metrics_label.setWordWrap(True)
        self.metrics_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.badges = QLabel()
        self.badges.setObjectName("paneBadges")
        self.status_label = QLabel()
        self.status_label.setObjectName("statusLabel")
        self.status_label.setWordWrap(True)
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        metrics_row = QHBoxLayout()
        metrics_row.setContentsMargins(0, 0, 0, 0)
        metrics_row.addWidget(self.metrics_label, 1)
        metrics_row.addWidget(self.badges)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(4)
        layout.addLayout(strip)
        layout.addWidget(self.transcript, 1)
        layout.addLayout(metrics_row)
        layout.addWidget(self.status_label)

        self.fill_providers(providers)
        self._wire()
        self._rebuild()
        self._on_busy_changed(pane.busy)
        for child in (self, self.transcript.viewport(), self.provider_picker, self.model_picker):
            child.installEventFilter(self)

    def _action(self, menu: QMenu, text: str, slot: object) -> QAction:
        action = menu.addAction(text)
        action.triggered.connect(slot)
        return action

    def _wire(self) -> None:
        p = self.pane
        self.stop_button.clicked.connect(p.stop)
        self.regenerate_button.clicked.connect(p.regenerate)
        self.provider_picker.activated.connect(
            lambda i: p.set_provider(self.provider_picker.itemData(i))
        )
        self.model_picker.activated.connect(self.commit_model)
        line = self.model_picker.lineEdit()
        assert line is not None  # the picker is editable
        line.editingFinished.connect(self.commit_model)
        p.turn_added.connect(self._on_turn_added)
        p.text_received.connect(self.transcript.append_text)
        p.reasoning_received.connect(self.transcript.append_reasoning)
        p.turn_finished.connect(self._on_turn_finished)
        p.turns_reset.connect(self._rebuild)
        p.busy_changed.connect(self._on_busy_changed)
        p.models_changed.connect(self._on_models_changed)
        p.target_changed.connect(self._show_target)
        p.status_changed.connect(self.status_label.setText)
        p.failed.connect(self.status_label.setText)

    # -- public --------------------------------------------------------------------------------

    def commit_model(self) -> None:
        """Hand the model picker's text to the pane (also done before every send)."""
        self.pane.set_model(self.model_picker.currentText())

    def fill_providers(self, providers: list[tuple[str, str]]) -> None:
        """List the configured providers."""
        self.provider_picker.blockSignals(True)
        self.provider_picker.clear()
        for provider_id, name in providers:
            self.provider_picker.addItem(name, provider_id)
        self.provider_picker.blockSignals(False)
        self._show_target()

    def set_selected(self, selected: bool) -> None:
        """Highlight this pane as the one the side panel edits."""
        self.setProperty("selected", selected)
        self.style().unpolish(self)
        self.style().polish(self)

    def set_marks(self, fastest: bool, cheapest: bool) -> None:
        """Show whether this pane was the fastest and/or cheapest of the comparison."""
        marks = [m for m, on in (("⚡ fastest", fastest), ("$ cheapest", cheapest)) if on]
        self.badges.setText("  ".join(marks))

    def set_removable(self, removable: bool) -> None:
        """Allow "Remove pane" only while more than one pane exists."""
        self.remove_action.setEnabled(removable)

    def set_can_duplicate(self, possible: bool) -> None:
        """Allow "Duplicate target" only while another pane fits."""
        self.duplicate_action.setEnabled(possible)

    # -- events --------------------------------------------------------------------------------

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Any click or focus inside the pane selects it."""
        if event.type() in (QEvent.Type.MouseButtonPress, QEvent.Type.FocusIn):
            self.activated.emit()
        return False

    def _on_turn_added(self, index: int) -> None:
        self.transcript.add(self.pane.turns[index], self.pane.model or "Assistant")

    def _on_turn_finished(self, index: int) -> None:
        self.transcript.finish(index)
        self._show_metrics()

    def _show_metrics(self) -> None:
        metrics = self.pane.last_metrics
        self.metrics_label.setText(format_metrics(metrics) if metrics else "")
        self.metrics_label.setToolTip(metrics_tooltip(metrics) if metrics else "")

    def _rebuild(self) -> None:
        self.transcript.clear()
        for turn in self.pane.turns:
            self.transcript.add(turn, self.pane.model or "Assistant")
        self._show_metrics()
        self._on_busy_changed(self.pane.busy)

    def _on_busy_changed(self, busy: bool) -> None:
        self.stop_button.setEnabled(busy)
        self.regenerate_button.setEnabled(not busy and bool(self.pane.turns))
        self.continue_action.setEnabled(not busy and bool(self.pane.turns))

    def _on_models_changed(self, ids: list[str], _source: str) -> None:
        self.model_picker.blockSignals(True)
        self.model_picker.clear()
        self.model_picker.addItems(ids)
        self.model_picker.setEditText(self.pane.model)
        self.model_picker.blockSignals(False)

    def _show_target(self) -> None:
        index = self.provider_picker.findData(self.pane.provider_id)
        if index >= 0:
            self.provider_picker.setCurrentIndex(index)
        if self.model_picker.currentText() != self.pane.model:
            self.model_picker.setEditText(self.pane.model)
        # A long id does not fit the picker; the tooltip always names it in full.
        self.model_picker.setToolTip(
            f"{self.pane.model}\n\nPick from the provider's list or type any model id"
            if self.pane.model
            else "Model id: pick from the provider's list or type any id"
        )
