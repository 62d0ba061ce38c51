"""A text view that streams cheaply and renders Markdown once the text is final.

Appending a token must not cost more as the message grows: deltas are buffered and inserted at the
end of the document at most once per flush interval, with one cursor kept for the purpose, so the
document never re-renders what it already shows. Markdown is rendered once, when the message ends.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPalette, QTextCursor, QTextFormat
from PySide6.QtWidgets import QFrame, QSizePolicy, QTextBrowser, QWidget

__all__ = ["FLUSH_INTERVAL_MS", "StreamView"]

FLUSH_INTERVAL_MS = 25
# Qt lays a paragraph out again in full whenever it grows, so a line without end would cost more
# with every token. While streaming, a line longer than this continues in a new paragraph; the
# final Markdown render shows the text as it is.
_LONGEST_STREAMED_LINE = 2000


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
        self._cursor = QTextCursor(self.document())
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(FLUSH_INTERVAL_MS)
        self._timer.timeout.connect(self.flush)
        self._fit_height = fit_height
        if fit_height:
            self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
            self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            self.document().documentLayout().documentSizeChanged.connect(self._fit)
            self.document().setDocumentMargin(2)

    def append_text(self, text: str) -> None:
        """Queue ``text`` for the next flush."""
        self._pending.append(text)
        if not self._timer.isActive():
            self._timer.start()

    def flush(self) -> None:
        """Insert queued text now."""
        self._timer.stop()
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
        self._pending.clear()
        self._timer.stop()
        self.setPlainText(text)
        self._cursor = QTextCursor(self.document())

    def set_markdown(self, text: str) -> None:
        """Replace the content with ``text`` rendered as Markdown, code blocks on a tint."""
        self._pending.clear()
        self._timer.stop()
        self.document().setMarkdown(text)
        self._tint_code_blocks()
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

    def _tint_code_blocks(self) -> None:
        tint = self.palette().color(QPalette.ColorRole.AlternateBase)
        if tint == self.palette().color(QPalette.ColorRole.Base):
            tint = QColor(127, 127, 127, 28)
        # One edit block: the document is laid out once, not once per code line.
        cursor = QTextCursor(self.document())
        cursor.beginEditBlock()
        block = self.document().begin()
        while block.isValid():
            fmt = block.blockFormat()
            if fmt.hasProperty(QTextFormat.Property.BlockCodeFence):
                fmt.setBackground(tint)
                cursor.setPosition(block.position())
                cursor.setBlockFormat(fmt)
            block = block.next()
        cursor.endEditBlock()

    def _fit(self) -> None:
        height = int(self.document().size().height()) + 2 * self.frameWidth() + 2
        if height != self.height():
            self.setFixedHeight(height)

    def sizeHint(self) -> QSize:
        """Full document height when fitting content, else the default."""
        if not self._fit_height:
            return super().sizeHint()
        return QSize(super().sizeHint().width(), int(self.document().size().height()) + 4)
