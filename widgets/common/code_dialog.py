"""View code: the code that makes a pane's newest request again, in the language picked."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.domain.codegen import LANGUAGES
from app.presenters.workbench import WorkbenchPane
from widgets.common.source_dialog import monospace

__all__ = ["CodeDialog"]

_SUFFIXES = {"curl": ".sh", "python-openai": ".py", "python-httpx": ".py", "javascript": ".mjs"}
_TITLES = {
    "curl": "curl",
    "python-openai": "Python (openai)",
    "python-httpx": "Python (httpx)",
    "javascript": "JavaScript (openai)",
}


class CodeDialog(QDialog):
    """``codeDialog``: ``codeLanguage`` picks the language, ``codeText`` holds the code."""

    def __init__(self, pane: WorkbenchPane, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.pane = pane
        self.setObjectName("codeDialog")
        self.setWindowTitle(f"Code — {title}")
        self.resize(760, 560)
        self.language = QComboBox()
        self.language.setObjectName("codeLanguage")
        for language in LANGUAGES:
            self.language.addItem(language, language)
            self.language.setItemData(
                self.language.count() - 1, _TITLES[language], Qt.ItemDataRole.ToolTipRole
            )
        self.language.setToolTip("The language and library the code uses")
        self.text = QPlainTextEdit()
        self.text.setObjectName("codeText")
        self.text.setReadOnly(True)
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        monospace(self.text)
        self.note = QLabel()
        self.note.setObjectName("codeNote")
        self.note.setWordWrap(True)
        self.copy_button = QPushButton("Copy")
        self.copy_button.setObjectName("codeCopyButton")
        self.copy_button.clicked.connect(self.copy)
        self.save_button = QPushButton("Save…")
        self.save_button.setObjectName("codeSaveButton")
        self.save_button.clicked.connect(self._ask_save)
        close_button = QPushButton("Close")
        close_button.clicked.connect(self.close)
        top = QHBoxLayout()
        top.addWidget(QLabel("Language:"))
        top.addWidget(self.language)
        top.addStretch(1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.copy_button)
        buttons.addWidget(self.save_button)
        buttons.addStretch(1)
        buttons.addWidget(close_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.note)
        layout.addLayout(buttons)
        self.language.currentIndexChanged.connect(lambda _index: self.reload())
        self.reload()

    def reload(self) -> None:
        """Show the code for the pane's newest request in the chosen language."""
        language = self.language.currentData()
        code = self.pane.code(language)
        request = self.pane.code_request()
        if code is None or request is None:
            self.text.setPlainText("")
            self.note.setText("Send once: the code is that of this pane's newest request.")
        else:
            self.text.setPlainText(code)
            self.note.setText(
                f"The key is read from the {request.api_key_env} environment variable; "
                "it is never written into the code."
            )
        self.copy_button.setEnabled(code is not None)
        self.save_button.setEnabled(code is not None)

    def copy(self) -> None:
        """Put the code on the clipboard."""
        QGuiApplication.clipboard().setText(self.text.toPlainText())

    def save_to(self, path: Path) -> bool:
        """Write the code to ``path`` (a shell script is made executable); False if it failed."""
        try:
            path.write_text(self.text.toPlainText(), encoding="utf-8")
            if path.suffix == ".sh":
                path.chmod(path.stat().st_mode | 0o100)
        except OSError as error:
            self.note.setText(f"Could not save {path.name}: {error.strerror or error}.")
            return False
        self.note.setText(f"Saved as {path}.")
        return True

    def _ask_save(self) -> None:
        language = self.language.currentData()
        dialog = QFileDialog(self, "Save code")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.selectFile(f"request{_SUFFIXES[language]}")
        dialog.fileSelected.connect(lambda path: self.save_to(Path(path)))
        dialog.open()
