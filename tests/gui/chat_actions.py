"""What a user does in the Chat tab, as the GUI tests do it: type and send, add panes, wait."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QPlainTextEdit, QPushButton


def send(qtbot: Any, tab: Any, text: str) -> None:
    """Type ``text`` into the shared input and click Send."""
    prompt = tab.findChild(QPlainTextEdit, "promptInput")
    prompt.setFocus()
    qtbot.keyClicks(prompt, text)
    qtbot.mouseClick(tab.findChild(QPushButton, "sendButton"), Qt.MouseButton.LeftButton)


def wait_idle(qtbot: Any, tab: Any) -> None:
    """Wait until every pane has finished and Send is enabled again."""
    qtbot.waitUntil(lambda: not tab.presenter.busy, timeout=10_000)
    qtbot.waitUntil(tab.findChild(QPushButton, "sendButton").isEnabled, timeout=2000)


def add_pane(qtbot: Any, tab: Any, model: str) -> None:
    """Click Add target and type ``model`` into the new pane's model picker."""
    qtbot.mouseClick(tab.findChild(QPushButton, "addTargetButton"), Qt.MouseButton.LeftButton)
    line = tab.pane_views[-1].findChild(QComboBox, "modelPicker").lineEdit()
    line.clear()
    qtbot.keyClicks(line, model)
    qtbot.keyClick(line, Qt.Key.Key_Return)
