"""One result pane of any tab: its target strip, the tab's result widget and its live metrics."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, QRect, Qt, Signal
from PySide6.QtGui import QAction, QPainter, QPaintEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.domain.metrics import RunMetrics
from app.presenters.workbench import WorkbenchPane
from widgets.common.metrics_format import format_metrics, metrics_tooltip

if TYPE_CHECKING:
    from widgets.common.code_dialog import CodeDialog
    from widgets.common.inspector_dialog import InspectorDialog

__all__ = ["PANE_MIN_WIDTH", "PaneView"]

# Narrower than this a pane's strip and text are unreadable; the grid scrolls instead.
PANE_MIN_WIDTH = 280


class _MiddleElidedLineEdit(QLineEdit):
    """Shows a long model id with its middle elided (``accounts/…/llama-v3p1``) until focused.

    The start of an id names the account and the end names the model, so both stay visible.
    """

    def _text_area(self) -> QRect:
        return self.contentsRect().adjusted(2, 0, -2, 0)

    def shown_text(self) -> str:
        """The text as painted: the whole id when it fits or while editing, else elided."""
        width = self._text_area().width()
        if self.hasFocus() or self.fontMetrics().horizontalAdvance(self.text()) <= width:
            return self.text()
        return self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideMiddle, width)

    def paintEvent(self, event: QPaintEvent) -> None:
        shown = self.shown_text()
        if shown == self.text():
            super().paintEvent(event)
            return
        painter = QPainter(self)
        painter.setPen(self.palette().text().color())
        alignment = Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft
        painter.drawText(self._text_area(), int(alignment), shown)


class PaneView(QFrame):
    """View of a :class:`WorkbenchPane` around the tab's own result widget.

    Subclasses make the result widget in :meth:`_result_widget` (it becomes :attr:`result`, named
    ``output``) and may add buttons to :attr:`strip` and actions to the pane's menu.

    Signals:
        activated(): the user clicked or focused into this pane.
        duplicate_requested(): "Duplicate target" was chosen.
        remove_requested(): "Remove pane" was chosen.
    """

    activated = Signal()
    duplicate_requested = Signal()
    remove_requested = Signal()

    def __init__(
        self, pane: WorkbenchPane, providers: list[tuple[str, str]], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.pane = pane
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setProperty("class", "pane")
        self.setMinimumWidth(PANE_MIN_WIDTH)

        self.provider_picker = QComboBox()
        self.provider_picker.setObjectName("providerPicker")
        self.provider_picker.setToolTip("Provider (File → Settings to add keys and endpoints)")
        self.model_picker = QComboBox()
        self.model_picker.setObjectName("modelPicker")
        self.model_picker.setEditable(True)
        self.model_picker.setLineEdit(_MiddleElidedLineEdit())
        self.model_picker.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.model_picker.setMinimumContentsLength(12)
        self.model_picker.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.stop_button = QToolButton()
        self.stop_button.setObjectName("paneStopButton")
        self.stop_button.setText("■")
        self.stop_button.setToolTip("Stop this pane (what it received so far is kept)")
        self.view_code_button = QToolButton()
        self.view_code_button.setObjectName("viewCodeButton")
        self.view_code_button.setText("</>")
        self.view_code_button.clicked.connect(self.open_code)
        self.menu_button = QToolButton()
        self.menu_button.setObjectName("paneMenuButton")
        self.menu_button.setText("⋯")
        self.menu_button.setToolTip("More for this pane")
        self.menu_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.menu = QMenu(self.menu_button)
        self.refresh_action = self.menu.addAction("Refresh model list")
        self.refresh_action.triggered.connect(pane.refresh_models)
        self.duplicate_action = self.menu.addAction("Duplicate target")
        self.duplicate_action.triggered.connect(self.duplicate_requested)
        self.menu.addSeparator()
        self.code_action = self.menu.addAction("View code…")
        self.code_action.triggered.connect(self.open_code)
        self.inspect_action = self.menu.addAction("Inspect request…")
        self.inspect_action.triggered.connect(self.open_inspector)
        self._menu_end = self.menu.addSeparator()
        self.remove_action = self.menu.addAction("Remove pane")
        self.remove_action.triggered.connect(self.remove_requested)
        self.menu_button.setMenu(self.menu)

        self.strip = QHBoxLayout()
        self.strip.setContentsMargins(0, 0, 0, 0)
        self.strip.setSpacing(4)
        self.strip.addWidget(self.provider_picker)
        self.strip.addWidget(self.model_picker, 1)
        self.strip.addWidget(self.stop_button)
        self.strip.addWidget(self.view_code_button)
        self.strip.addWidget(self.menu_button)
        self.variation_label = QLabel()
        self.variation_label.setObjectName("paneVariation")
        self.variation_label.setToolTip("What sets this pane apart (Same model × N)")

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

        self.result = self._result_widget()
        self.result.setObjectName("output")
        layout = self._column = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(4)
        layout.addLayout(self.strip)
        layout.addWidget(self.variation_label)
        layout.addWidget(self.result, 1)
        layout.addLayout(metrics_row)
        layout.addWidget(self.status_label)

        self._code_dialog: CodeDialog | None = None
        self._inspector: InspectorDialog | None = None
        self.fill_providers(providers)
        self._wire()
        self._update_request_actions()
        for child in (self, self.provider_picker, self.model_picker, *self._focus_sources()):
            child.installEventFilter(self)

    # -- for subclasses ------------------------------------------------------------------------

    def _result_widget(self) -> QWidget:
        """The tab's result widget (it becomes ``output``)."""
        raise NotImplementedError

    def _focus_sources(self) -> tuple[QObject, ...]:
        """Widgets inside the result whose clicks select the pane (e.g. a viewport)."""
        return ()

    def add_below_result(self, widget: QWidget) -> None:
        """Show ``widget`` under the result, above the metrics (e.g. a validation line)."""
        self._column.insertWidget(self._column.indexOf(self.result) + 1, widget)

    def add_menu_action(self, text: str, slot: object) -> QAction:
        """Add an item to the pane's menu, above "Remove pane"."""
        action = QAction(text, self.menu)
        action.triggered.connect(slot)
        self.menu.insertAction(self._menu_end, action)
        return action

    def show_metrics(self, metrics: RunMetrics | None, *, note: str = "") -> None:
        """Show ``metrics`` (with ``note``, e.g. "stopped"), or clear the line for ``None``."""
        text = format_metrics(metrics) if metrics else ""
        queue = self.pane.queue_note if metrics else ""
        self.metrics_label.setText(" · ".join(t for t in (text, note, queue) if t))
        self.metrics_label.setToolTip(metrics_tooltip(metrics) if metrics else "")

    # -- public --------------------------------------------------------------------------------

    def open_code(self) -> CodeDialog:
        """Show View code (non-modal) for this pane's newest request."""
        from widgets.common.code_dialog import CodeDialog

        if self._code_dialog is None:
            self._code_dialog = CodeDialog(self.pane, self._title(), self)
        self._code_dialog.reload()
        self._code_dialog.show()
        self._code_dialog.raise_()
        return self._code_dialog

    def open_inspector(self) -> InspectorDialog:
        """Show the request inspector (non-modal) for this pane's newest run."""
        from widgets.common.inspector_dialog import InspectorDialog

        if self._inspector is None:
            self._inspector = InspectorDialog(self.pane, self._title(), self)
        self._inspector.reload()
        self._inspector.show()
        self._inspector.raise_()
        return self._inspector

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
        self.badges.setToolTip(
            "Of the runs that completed for this input: shortest total time / lowest estimated cost"
            if marks
            else ""
        )

    def set_removable(self, removable: bool) -> None:
        """Allow "Remove pane" only while more than one pane exists."""
        self.remove_action.setEnabled(removable)

    def set_can_duplicate(self, possible: bool) -> None:
        """Allow "Duplicate target" only while another pane fits."""
        self.duplicate_action.setEnabled(possible)

    # -- events --------------------------------------------------------------------------------

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Any click or focus inside the pane selects it; opening the model list loads it."""
        if event.type() in (QEvent.Type.MouseButtonPress, QEvent.Type.FocusIn):
            self.activated.emit()
            if watched is self.model_picker:
                self.pane.ensure_models()
        return False

    def _wire(self) -> None:
        p = self.pane
        self.stop_button.clicked.connect(p.stop)
        self.provider_picker.activated.connect(
            lambda i: p.set_provider(self.provider_picker.itemData(i))
        )
        self.model_picker.activated.connect(self.commit_model)
        line = self.model_picker.lineEdit()
        assert line is not None  # the picker is editable
        line.editingFinished.connect(self.commit_model)
        p.busy_changed.connect(self._on_busy_changed)
        p.models_changed.connect(self._on_models_changed)
        p.target_changed.connect(self._show_target)
        p.status_changed.connect(self.status_label.setText)
        p.failed.connect(self.status_label.setText)
        p.live_metrics.connect(lambda m: self.show_metrics(m, note="streaming"))

    def _on_busy_changed(self, busy: bool) -> None:
        self.stop_button.setEnabled(busy)
        self._update_request_actions()

    def _update_request_actions(self) -> None:
        sent = bool(self.pane.exchanges)
        self.view_code_button.setEnabled(sent)
        self.code_action.setEnabled(sent)
        self.inspect_action.setEnabled(sent)
        self.view_code_button.setToolTip(
            "View code: the same request in curl, Python or JavaScript"
            if sent
            else "View code: send once, then see this pane's request as code"
        )

    def _title(self) -> str:
        number = self.objectName().removeprefix("pane-")
        pane = f"pane {int(number) + 1}" if number.isdigit() else "pane"
        return f"{pane} · {self.pane.model}"

    def _on_models_changed(self, suited: list[str], others: list[str], _source: str) -> None:
        picker = self.model_picker
        picker.blockSignals(True)
        picker.clear()
        picker.addItems(suited)
        if others:
            # Still offered (a list can be wrong), but apart and marked.
            if suited:
                picker.insertSeparator(picker.count())
            why = f"Not listed as a {self.pane.capability} model by the provider or the catalog"
            dim = self.palette().color(
                self.palette().ColorGroup.Disabled, self.palette().ColorRole.Text
            )
            for model_id in others:
                picker.addItem(model_id)
                picker.setItemData(picker.count() - 1, why, Qt.ItemDataRole.ToolTipRole)
                picker.setItemData(picker.count() - 1, dim, Qt.ItemDataRole.ForegroundRole)
        picker.setEditText(self.pane.model)
        picker.blockSignals(False)

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
        variation = self.pane.variation_label()
        self.variation_label.setText(variation)
        self.variation_label.setVisible(bool(variation))
