"""The conversation as a scrolling column of messages."""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.domain.conversation import Role, Turn, TurnStatus
from widgets.common.metrics_format import format_metrics, metrics_tooltip
from widgets.common.stream_view import StreamView

__all__ = ["MessageView", "Transcript"]

_STATUS_TEXT = {
    TurnStatus.STREAMING: "streaming…",
    TurnStatus.STOPPED: "stopped",
    TurnStatus.FAILED: "failed",
    TurnStatus.COMPLETE: "",
}


class MessageView(QFrame):
    """One turn: who said it, its text, collapsed reasoning, error, metrics, and a copy button."""

    def __init__(self, turn: Turn, assistant_name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._turn = turn
        is_user = turn.role is Role.USER
        self.setObjectName("userMessage" if is_user else "assistantMessage")
        self.setFrameShape(QFrame.Shape.StyledPanel)

        # Fireworks ids are long paths; the last segment names the model, the tooltip has it all.
        self.role_label = QLabel("You" if is_user else assistant_name.rsplit("/", 1)[-1])
        self.role_label.setObjectName("roleLabel")
        self.role_label.setToolTip("" if is_user else assistant_name)
        self.role_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.status_label = QLabel()
        self.status_label.setObjectName("turnStatus")
        self.copy_button = QToolButton()
        self.copy_button.setObjectName("copyButton")
        self.copy_button.setText("Copy")
        self.copy_button.setToolTip("Copy this message as Markdown")
        self.copy_button.setAutoRaise(True)
        self.copy_button.clicked.connect(self._copy)

        header = QHBoxLayout()
        header.setContentsMargins(0, 0, 0, 0)
        header.addWidget(self.role_label, 1)
        header.addWidget(self.status_label)
        header.addWidget(self.copy_button)

        self.reasoning_toggle = QToolButton()
        self.reasoning_toggle.setObjectName("reasoningToggle")
        self.reasoning_toggle.setCheckable(True)
        self.reasoning_toggle.setAutoRaise(True)
        self.reasoning_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.reasoning_toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.reasoning_toggle.toggled.connect(self._on_reasoning_toggled)
        self.reasoning = StreamView()
        self.reasoning.setObjectName("reasoning")
        self.reasoning.setVisible(False)
        # The size in the toggle's label follows the text on screen, not every token.
        self.reasoning.flushed.connect(self._label_reasoning)
        self.reasoning_toggle.setVisible(bool(turn.reasoning))

        self.body = StreamView()
        self.body.setObjectName("messageBody")
        self.error_label = QLabel()
        self.error_label.setObjectName("errorLabel")
        self.error_label.setWordWrap(True)
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error_label.setVisible(False)
        self.metrics_label = QLabel()
        self.metrics_label.setObjectName("messageMetrics")
        self.metrics_label.setVisible(False)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        layout.setSpacing(2)
        layout.addLayout(header)
        layout.addWidget(self.reasoning_toggle, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.reasoning)
        layout.addWidget(self.body)
        layout.addWidget(self.error_label)
        layout.addWidget(self.metrics_label)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        if turn.status is TurnStatus.STREAMING:
            self._show_streaming()
        else:
            self.show_final()

    @property
    def turn(self) -> Turn:
        """The turn this view shows."""
        return self._turn

    def append_text(self, text: str) -> None:
        """Stream more answer text."""
        self.body.append_text(text)

    def append_reasoning(self, text: str) -> None:
        """Stream more reasoning text (shown collapsed)."""
        if not self.reasoning_toggle.isVisibleTo(self):
            self.reasoning_toggle.setVisible(True)
            self._label_reasoning()
        self.reasoning.append_text(text)

    def show_final(self) -> None:
        """Render the finished turn: Markdown, status, error and metrics."""
        turn = self._turn
        self.body.set_markdown(turn.content) if turn.content else self.body.set_plain("")
        self.body.setVisible(bool(turn.content) or turn.status is not TurnStatus.FAILED)
        if turn.reasoning:
            self.reasoning.set_plain(turn.reasoning)
            self.reasoning_toggle.setVisible(True)
            self._label_reasoning()
        self.status_label.setText(_STATUS_TEXT[turn.status])
        self.error_label.setVisible(turn.error is not None)
        if turn.error is not None:
            kept = " The text above arrived before the error and is kept." if turn.content else ""
            self.error_label.setText(f"⚠ {turn.error}{kept}")
        if turn.metrics is not None:
            self.metrics_label.setText(format_metrics(turn.metrics))
            self.metrics_label.setToolTip(metrics_tooltip(turn.metrics))
        self.metrics_label.setVisible(turn.metrics is not None and bool(self.metrics_label.text()))

    def _show_streaming(self) -> None:
        self.status_label.setText(_STATUS_TEXT[TurnStatus.STREAMING])
        if self._turn.content:
            self.body.set_plain(self._turn.content)

    def _label_reasoning(self) -> None:
        size = len(self._turn.reasoning)
        self.reasoning_toggle.setText(f"Reasoning ({size:,} characters)")

    def _on_reasoning_toggled(self, shown: bool) -> None:
        self.reasoning.setVisible(shown)
        self.reasoning_toggle.setArrowType(
            Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow
        )

    def _copy(self) -> None:
        QGuiApplication.clipboard().setText(self._turn.content)


class _Column(QWidget):
    """The transcript's column of messages, opaque so that it alone repaints as messages grow.

    Filled with its own background colour (the one the theme gives it), so Qt does not repaint
    the pane, tab and window behind it whenever a streaming message changes. A style sheet resets
    the fill when it polishes the widget, hence the event handler.
    """

    def event(self, event: QEvent) -> bool:
        """Keep the background fill after every (re)polish."""
        handled = super().event(event)
        if event.type() in (QEvent.Type.Polish, QEvent.Type.StyleChange):
            self.setAutoFillBackground(True)
        return handled


class Transcript(QScrollArea):
    """A column of :class:`MessageView` that follows new text while the user is at the bottom.

    Signals:
        message_copied(): a message was copied to the clipboard.
    """

    message_copied = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._column = _Column()
        self._column.setObjectName("transcriptColumn")
        self._layout = QVBoxLayout(self._column)
        self._layout.setContentsMargins(8, 8, 8, 8)
        self._layout.setSpacing(8)
        self._placeholder = QLabel()
        self._placeholder.setObjectName("transcriptPlaceholder")
        self._placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._placeholder.setWordWrap(True)
        self._layout.addWidget(self._placeholder)
        self._layout.addStretch(1)
        self.setWidget(self._column)
        self._views: list[MessageView] = []
        self._follow = True
        bar = self.verticalScrollBar()
        bar.valueChanged.connect(self._on_scrolled)
        bar.rangeChanged.connect(self._on_range_changed)

    @property
    def messages(self) -> list[MessageView]:
        """The message views, oldest first."""
        return list(self._views)

    def set_placeholder(self, text: str) -> None:
        """Text shown while the conversation is empty."""
        self._placeholder.setText(text)

    def add(self, turn: Turn, assistant_name: str) -> MessageView:
        """Append a view for ``turn``."""
        view = MessageView(turn, assistant_name)
        view.copy_button.clicked.connect(self.message_copied)
        self._layout.insertWidget(self._layout.count() - 1, view)
        self._views.append(view)
        self._placeholder.setVisible(False)
        self._follow = True
        return view

    def view(self, index: int) -> MessageView:
        """The view of the turn at ``index``."""
        return self._views[index]

    def clear(self) -> None:
        """Remove every message."""
        for view in self._views:
            self._layout.removeWidget(view)
            view.deleteLater()
        self._views.clear()
        self._placeholder.setVisible(True)

    def text(self) -> str:
        """Plain text of the whole conversation as shown (for tests and copying)."""
        self.flush()
        return "\n\n".join(v.body.toPlainText() for v in self._views)

    def flush(self) -> None:
        """Push every buffered delta to the screen."""
        for view in self._views:
            view.body.flush()
            view.reasoning.flush()

    def _on_scrolled(self, value: int) -> None:
        self._follow = value >= self.verticalScrollBar().maximum() - 4

    def _on_range_changed(self, _minimum: int, maximum: int) -> None:
        if self._follow:
            self.verticalScrollBar().setValue(maximum)
