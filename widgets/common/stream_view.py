"""A text view that streams cheaply and renders Markdown once the text is final.

Appending a token must not cost more as the message grows: deltas are buffered and inserted at the
end of the document at most once per flush interval, with one cursor kept for the purpose, so the
document never re-renders what it already shows. Markdown is rendered once, when the message ends.

A flush costs about the same whatever it carries: the pane lays out and repaints what it shows.
So all stream views share one flush clock: a view is flushed no sooner than FLUSH_INTERVAL_MS after
its first pending delta, and the clock flushes at most one view per tick. Eight panes streaming at
once then repaint one after the other, a few milliseconds apart, instead of in one long burst, and
the UI thread is never held for more than one pane's flush.
"""

from __future__ import annotations

import functools
import re
import time

import shiboken6
from PySide6.QtCore import QObject, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPalette, QTextCursor, QTextFormat
from PySide6.QtWidgets import QFrame, QSizePolicy, QTextBrowser, QWidget

__all__ = ["FLUSH_INTERVAL_MS", "StreamView", "with_hard_line_breaks"]

FLUSH_INTERVAL_MS = 25
# At most one flush per tick: with eight busy panes each one is still flushed about every 32 ms.
_TICK_MS = 4
# Qt lays a paragraph out again in full whenever it grows, so a line without end would cost more
# with every token. While streaming, a line longer than this continues in a new paragraph; the
# final Markdown render shows the text as it is.
_LONGEST_STREAMED_LINE = 2000


_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")


def with_hard_line_breaks(markdown: str) -> str:
    """``markdown`` with each single newline made a line break, as chat playgrounds show it.

    CommonMark joins the lines of a paragraph with a space, so a poem or a list of names typed
    line by line would collapse into one line. Two trailing spaces make a line a hard break;
    code blocks are left alone, and the spaces are harmless where a line ends a block anyway
    (headings, list items, table rows).
    """
    lines = markdown.split("\n")
    fence: str | None = None
    for index, line in enumerate(lines[:-1]):
        opening = _FENCE.match(line)
        if fence is not None:
            closing = opening.group(1) if opening else ""
            if closing[:1] == fence[0] and len(closing) >= len(fence):
                fence = None
        elif opening:
            fence = opening.group(1)
        elif line.strip() and lines[index + 1].strip() and not line.endswith(("  ", "\\")):
            lines[index] = line + "  "
    return "\n".join(lines)


class _FlushClock(QObject):
    """Flushes the stream views that have pending text: oldest first, one per tick."""

    def __init__(self) -> None:
        super().__init__()
        # Insertion order is deadline order, since every deadline is "now + one interval".
        self._due: dict[StreamView, float] = {}
        self._timer = QTimer(self)
        self._timer.setInterval(_TICK_MS)
        self._timer.timeout.connect(self._tick)

    def schedule(self, view: StreamView) -> None:
        self._due.setdefault(view, time.monotonic() + FLUSH_INTERVAL_MS / 1000)
        if not self._timer.isActive():
            self._timer.start()

    def cancel(self, view: StreamView) -> None:
        self._due.pop(view, None)

    def _tick(self) -> None:
        for view, deadline in self._due.items():
            if deadline > time.monotonic():
                return
            del self._due[view]
            # A view deleted with text still pending has nothing left to show it in.
            if shiboken6.isValid(view):
                view.flush()
            break
        if not self._due:
            self._timer.stop()


@functools.cache  # one for the whole app, made once a QApplication exists
def _flush_clock() -> _FlushClock:
    return _FlushClock()


class StreamView(QTextBrowser):
    """Read-only text that grows by appends and shows its whole height (no inner scroll bar).

    Signals:
        flushed(): buffered text reached the document.
    """

    flushed = Signal()

    def __init__(self, parent: QWidget | None = None, *, fit_height: bool = True) -> None:
        super().__init__(parent)
        self.setOpenExternalLinks(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextBrowserInteraction
            | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        self._pending: list[str] = []
        self._scheduled = False
        self._cursor = QTextCursor(self.document())
        self._fit_height = fit_height
        if fit_height:
            self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
            self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            self.document().documentLayout().documentSizeChanged.connect(self._fit)
            self.document().setDocumentMargin(2)

    def append_text(self, text: str) -> None:
        """Queue ``text`` for the next flush."""
        self._pending.append(text)
        if not self._scheduled:
            self._scheduled = True
            _flush_clock().schedule(self)

    def flush(self) -> None:
        """Insert queued text now."""
        self._unschedule()
        if not self._pending:
            return
        text = "".join(self._pending)
        self._pending.clear()
        self._cursor.movePosition(QTextCursor.MoveOperation.End)
        start = self._cursor.position()
        self._insert(text)
        # Keep the shaped glyphs of streamed paragraphs: every repaint would shape them again.
        block = self.document().findBlock(start)
        while block.isValid():
            block.layout().setCacheEnabled(True)
            block = block.next()
        self.flushed.emit()

    def set_plain(self, text: str) -> None:
        """Replace the content with plain text."""
        self._discard_pending()
        self.setPlainText(text)
        self._cursor = QTextCursor(self.document())

    def set_markdown(self, text: str) -> None:
        """Replace the content with ``text`` rendered as Markdown, code blocks on a tint.

        Single newlines stay line breaks (see :func:`with_hard_line_breaks`).
        """
        self._discard_pending()
        # One edit block: the document is laid out once, when the text and its tint are in,
        # not again and again as the Markdown importer adds each block, then for the tint.
        edit = QTextCursor(self.document())
        edit.beginEditBlock()
        self.document().setMarkdown(with_hard_line_breaks(text))
        self._tint_code_blocks()
        edit.endEditBlock()
        self._cursor = QTextCursor(self.document())

    def _insert(self, text: str) -> None:
        cursor = self._cursor
        line = text.find("\n")
        grown = cursor.positionInBlock() + (len(text) if line < 0 else line)
        if cursor.positionInBlock() and grown > _LONGEST_STREAMED_LINE:
            # Break after the last space, where a wrapped line would end anyway.
            cut = text.rfind(" ", 0, None if line < 0 else line) + 1
            cursor.insertText(text[:cut])
            cursor.insertBlock()
            text = text[cut:]
        cursor.insertText(text)

    def _unschedule(self) -> None:
        if self._scheduled:
            self._scheduled = False
            _flush_clock().cancel(self)

    def _discard_pending(self) -> None:
        self._unschedule()
        self._pending.clear()

    def _tint_code_blocks(self) -> None:
        tint = self.palette().color(QPalette.ColorRole.AlternateBase)
        if tint == self.palette().color(QPalette.ColorRole.Base):
            tint = QColor(127, 127, 127, 28)
        cursor = QTextCursor(self.document())
        block = self.document().begin()
        while block.isValid():
            fmt = block.blockFormat()
            if fmt.hasProperty(QTextFormat.Property.BlockCodeFence):
                fmt.setBackground(tint)
                cursor.setPosition(block.position())
                cursor.setBlockFormat(fmt)
            block = block.next()

    def _fit(self) -> None:
        height = int(self.document().size().height()) + 2 * self.frameWidth() + 2
        if height != self.height():
            self.setFixedHeight(height)

    def sizeHint(self) -> QSize:
        """Full document height when fitting content, else the default."""
        if not self._fit_height:
            return super().sizeHint()
        return QSize(super().sizeHint().width(), int(self.document().size().height()) + 4)
