"""A dialog to paste source text (a pydantic class, a Python function, an example) and convert it.

The conversion is the presenter's: it raises ``ValueError`` with the line at fault, and the
message stays in the dialog beside the text, so nothing typed is lost.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

__all__ = ["SourceDialog", "monospace"]


def monospace(editor: QPlainTextEdit) -> None:
    """Show ``editor``'s text in the system's fixed-width font (code, JSON)."""
    editor.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))


class SourceDialog(QDialog):
    """Paste text and convert it; the dialog closes only when the conversion worked."""

    def __init__(
        self,
        title: str,
        hint: str,
        convert: Callable[[str], None],
        parent: QWidget,
        *,
        name: str,
        action: str,
        placeholder: str = "",
    ) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.setWindowTitle(title)
        self.resize(600, 440)
        self._convert = convert
        self.editor = QPlainTextEdit()
        self.editor.setObjectName("sourceEditor")
        self.editor.setPlaceholderText(placeholder)
        monospace(self.editor)
        self.error = QLabel()
        self.error.setObjectName("sourceError")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #a40e26;")
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.convert_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.convert_button.setText(action)
        buttons.accepted.connect(self._on_convert)
        buttons.rejected.connect(self.reject)
        hint_label = QLabel(hint)
        hint_label.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(hint_label)
        layout.addWidget(self.editor, 1)
        layout.addWidget(self.error)
        layout.addWidget(buttons)

    def _on_convert(self) -> None:
        try:
            self._convert(self.editor.toPlainText())
        except ValueError as error:
            self.error.setText(str(error))
            return
        self.accept()
