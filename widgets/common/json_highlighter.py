"""Colours JSON text (keys, strings, numbers, literals) line by line as it is typed or streamed."""

from __future__ import annotations

import re

from PySide6.QtGui import QColor, QFont, QSyntaxHighlighter, QTextCharFormat, QTextDocument

__all__ = ["JsonHighlighter"]

# A string followed by a colon is a key. Lines are coloured on their own: a pretty-printed
# document never splits a token across lines, and a raw one still gets most of its colours.
_TOKENS = re.compile(
    r'(?P<key>"(?:[^"\\]|\\.)*"(?=\s*:))'
    r'|(?P<string>"(?:[^"\\]|\\.)*"?)'
    r"|(?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)"
    r"|(?P<literal>\b(?:true|false|null)\b)"
)


def _format(color: str, *, bold: bool = False) -> QTextCharFormat:
    fmt = QTextCharFormat()
    fmt.setForeground(QColor(color))
    if bold:
        fmt.setFontWeight(QFont.Weight.DemiBold)
    return fmt


class JsonHighlighter(QSyntaxHighlighter):
    """Highlights the JSON of ``document``."""

    def __init__(self, document: QTextDocument) -> None:
        super().__init__(document)
        self._formats = {
            "key": _format("#0550ae", bold=True),
            "string": _format("#0a3069"),
            "number": _format("#953800"),
            "literal": _format("#8250df"),
        }

    def highlightBlock(self, text: str) -> None:
        """Colour one line."""
        for match in _TOKENS.finditer(text):
            kind = match.lastgroup
            if kind is not None:
                self.setFormat(match.start(), match.end() - match.start(), self._formats[kind])
