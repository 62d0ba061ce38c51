"""The conversation as a scrolling column of messages.

A message view costs a few milliseconds to build, lay out and paint, and a finished reply's
Markdown render a few more. One Send adds two messages to every pane and panes often finish
together, so doing all of it at once would hold the UI for tens of milliseconds. Instead, that
work goes through one queue shared by every transcript, which does one piece of it per
event-loop turn, oldest first: the first piece at once when nothing else ran in the same turn,
the rest in the turns that follow, with input, timers and painting in between.

A view that is needed earlier (text arrives for it, or code asks for it) is built on the spot,
together with every view queued before it in the same transcript, so messages never change
order. A queued render runs early when the transcript is flushed, and is dropped when the
transcript is cleared.
"""

from __future__ import annotations

import functools
from collections import deque
from collections.abc import Callable

import shiboken6
from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
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


class _OnePerTurn(QObject):
    """Deferred view work, one job per event-loop turn, in the order it was submitted.

    A job returns whether it did anything: one that finds its work already done (its view was
    built on demand, its render ran early or was dropped) gives its turn to the next job.
    """

    def __init__(self) -> None:
        super().__init__()
        self._jobs: deque[Callable[[], bool]] = deque()
        # Active from a job until the next turn: while it is, new jobs wait for their turn.
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._run_next)

    @property
    def idle(self) -> bool:
        """Whether every submitted job has had its turn."""
        return not self._jobs and not self._timer.isActive()

    def submit(self, job: Callable[[], bool]) -> None:
        """Run ``job`` now if no other job ran in this turn, else in a later turn."""
        if self._timer.isActive():
            self._jobs.append(job)
            return
        job()
        self._timer.start()

    def _run_next(self) -> None:
        while self._jobs:
            if self._jobs.popleft()():
                self._timer.start()
                return


@functools.cache  # one for the whole app, made once a QApplication exists
def _one_per_turn() -> _OnePerTurn:
    return _OnePerTurn()


class MessageView(QFrame):
    """One turn: who said it, its text, collapsed reasoning, error, metrics, and a copy button.

    The reasoning toggle and view exist only once the turn has reasoning (most models send
    none): until then :attr:`reasoning_toggle` and :attr:`reasoning` are ``None``.

    Signals:
        rendered(): the finished turn's final form (Markdown) replaced the streamed text.
    """

    rendered = Signal()

    def __init__(self, turn: Turn, assistant_name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._turn = turn
        self._render_due = False
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

        self.reasoning_toggle: QToolButton | None = None
        self.reasoning: StreamView | None = None
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

        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(10, 6, 10, 6)
        self._layout.setSpacing(2)
        self._layout.addLayout(header)
        if turn.images:
            # A restored turn may list images whose data was not kept: they are not sent again.
            names = (
                i.name if i.part is not None else f"{i.name} (image not kept)" for i in turn.images
            )
            images = QLabel("Images: " + ", ".join(names))
            images.setObjectName("messageImages")
            images.setWordWrap(True)
            images.setStyleSheet("color: #57606a;")
            self._layout.addWidget(images)
        self._layout.addWidget(self.body)
        self._layout.addWidget(self.error_label)
        self._layout.addWidget(self.metrics_label)
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
        self._reasoning_view().append_text(text)

    def show_final(self) -> None:
        """Render the finished turn now: Markdown, status, error and metrics."""
        self._show_outcome()
        self._render()

    def finish(self) -> None:
        """Show how the turn ended now, and its Markdown in a coming event-loop turn.

        Until the render runs, the body keeps the streamed text, which is the same text
        unformatted. :meth:`flush` renders at once.
        """
        self._show_outcome()
        self._render_due = True
        _one_per_turn().submit(self._render_if_due)

    def flush(self) -> None:
        """Bring the view up to date now: buffered deltas, and a final render not yet done."""
        if self._render_due:
            self._render()
            return
        self.body.flush()
        if self.reasoning is not None:
            self.reasoning.flush()

    def discard(self) -> None:
        """Drop a final render not yet done: the view is going away."""
        self._render_due = False

    def _show_outcome(self) -> None:
        turn = self._turn
        self.body.setVisible(bool(turn.content) or turn.status is not TurnStatus.FAILED)
        if turn.reasoning:
            self._reasoning_view()
        self.status_label.setText(_STATUS_TEXT[turn.status])
        self.error_label.setVisible(turn.error is not None)
        if turn.error is not None:
            kept = " The text above arrived before the error and is kept." if turn.content else ""
            self.error_label.setText(f"⚠ {turn.error}{kept}")
        if turn.metrics is not None:
            self.metrics_label.setText(format_metrics(turn.metrics))
            self.metrics_label.setToolTip(metrics_tooltip(turn.metrics))
        self.metrics_label.setVisible(turn.metrics is not None and bool(self.metrics_label.text()))

    def _render_if_due(self) -> bool:
        # The flag first: it is plain Python, readable even once Qt has deleted the view.
        if not self._render_due or not shiboken6.isValid(self):
            return False
        self._render()
        return True

    def _render(self) -> None:
        self._render_due = False
        turn = self._turn
        self.body.set_markdown(turn.content) if turn.content else self.body.set_plain("")
        if self.reasoning is not None:
            self.reasoning.set_plain(turn.reasoning)
            self._label_reasoning()
        self.rendered.emit()

    def _show_streaming(self) -> None:
        self.status_label.setText(_STATUS_TEXT[TurnStatus.STREAMING])
        if self._turn.content:
            self.body.set_plain(self._turn.content)
        if self._turn.reasoning:
            self._reasoning_view().set_plain(self._turn.reasoning)

    def _reasoning_view(self) -> StreamView:
        """The reasoning view, made (collapsed, behind its toggle) when first needed."""
        if self.reasoning is not None:
            return self.reasoning
        toggle = QToolButton()
        toggle.setObjectName("reasoningToggle")
        toggle.setCheckable(True)
        toggle.setAutoRaise(True)
        toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        toggle.setArrowType(Qt.ArrowType.RightArrow)
        toggle.toggled.connect(self._on_reasoning_toggled)
        reasoning = StreamView()
        reasoning.setObjectName("reasoning")
        reasoning.setVisible(False)
        # The size in the toggle's label follows the text on screen, not every token.
        reasoning.flushed.connect(self._label_reasoning)
        self.reasoning_toggle, self.reasoning = toggle, reasoning
        # Below the header, above the answer.
        self._layout.insertWidget(1, toggle, 0, Qt.AlignmentFlag.AlignLeft)
        self._layout.insertWidget(2, reasoning)
        self._label_reasoning()
        return reasoning

    def _label_reasoning(self) -> None:
        assert self.reasoning_toggle is not None  # made with the reasoning view
        size = len(self._turn.reasoning)
        self.reasoning_toggle.setText(f"Reasoning ({size:,} characters)")

    def _on_reasoning_toggled(self, shown: bool) -> None:
        assert self.reasoning is not None and self.reasoning_toggle is not None
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

    Views are built and finished replies rendered through the shared queue described in the
    module docstring; every accessor builds what it returns first.

    Signals:
        message_copied(): a message was copied to the clipboard.
        message_rendered(): a finished message replaced its streamed text with its final form.
    """

    message_copied = Signal()
    message_rendered = Signal()

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
        # Turns added whose views are not built yet, oldest first; always after self._views.
        self._unbuilt: deque[tuple[Turn, str]] = deque()
        self._follow = True
        bar = self.verticalScrollBar()
        bar.valueChanged.connect(self._on_scrolled)
        bar.rangeChanged.connect(self._on_range_changed)

    @property
    def messages(self) -> list[MessageView]:
        """The message views, oldest first."""
        self._build_through(self._count() - 1)
        return list(self._views)

    def set_placeholder(self, text: str) -> None:
        """Text shown while the conversation is empty."""
        self._placeholder.setText(text)

    def add(self, turn: Turn, assistant_name: str) -> None:
        """Append a view for ``turn``, built now or in a coming event-loop turn."""
        self._unbuilt.append((turn, assistant_name))
        self._placeholder.setVisible(False)
        self._follow = True
        _one_per_turn().submit(self._build_next)

    def view(self, index: int) -> MessageView:
        """The view of the turn at ``index``."""
        self._build_through(index)
        return self._views[index]

    def append_text(self, index: int, text: str) -> None:
        """Stream ``text``, already added to the turn at ``index``, into its view.

        Like :meth:`append_reasoning` and :meth:`finish`, this ignores a turn that is no longer
        shown: a reply still arriving when the conversation was cleared.
        """
        if index >= self._count() or self._build_through(index):
            return  # gone, or built just now from the turn, which holds the text already
        self._views[index].append_text(text)

    def append_reasoning(self, index: int, text: str) -> None:
        """Stream reasoning ``text``, already added to the turn at ``index``, into its view."""
        if index >= self._count() or self._build_through(index):
            return
        self._views[index].append_reasoning(text)

    def finish(self, index: int) -> None:
        """The turn at ``index`` ended: show how, and render it in a coming event-loop turn."""
        if index >= self._count() or self._build_through(index):
            return  # gone, or built just now from the finished turn, and so already rendered
        self._views[index].finish()

    def clear(self) -> None:
        """Remove every message, and drop the work still queued for them."""
        self._unbuilt.clear()
        for view in self._views:
            view.discard()
            self._layout.removeWidget(view)
            view.deleteLater()
        self._views.clear()
        self._placeholder.setVisible(True)

    def text(self) -> str:
        """Plain text of the whole conversation as shown (for tests and copying)."""
        self.flush()
        return "\n\n".join(v.body.toPlainText() for v in self._views)

    def flush(self) -> None:
        """Build every queued view and push every buffered delta and render to the screen."""
        for view in self.messages:
            view.flush()

    def _count(self) -> int:
        return len(self._views) + len(self._unbuilt)

    def _build_next(self) -> bool:
        # The queue is plain Python, readable even once Qt has deleted the transcript.
        if not self._unbuilt or not shiboken6.isValid(self):
            return False
        self._build(*self._unbuilt.popleft())
        return True

    def _build_through(self, index: int) -> bool:
        """Build the views up to ``index``; whether that one was built by this call."""
        built = False
        while len(self._views) <= index and self._unbuilt:
            self._build(*self._unbuilt.popleft())
            built = True
        return built and len(self._views) > index

    def _build(self, turn: Turn, assistant_name: str) -> None:
        view = MessageView(turn, assistant_name)
        view.copy_button.clicked.connect(self.message_copied)
        view.rendered.connect(self.message_rendered)
        # Before the stretch that keeps short conversations at the top.
        self._layout.insertWidget(self._layout.count() - 1, view)
        self._views.append(view)

    def _on_scrolled(self, value: int) -> None:
        self._follow = value >= self.verticalScrollBar().maximum() - 4

    def _on_range_changed(self, _minimum: int, maximum: int) -> None:
        if self._follow:
            self.verticalScrollBar().setValue(maximum)
