"""The request inspector: what a pane's newest run sent and received, exactly."""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.presenters.workbench import WorkbenchPane
from widgets.common.source_dialog import monospace

__all__ = ["InspectorDialog"]


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


def _headers(headers: dict[str, str]) -> str:
    return "\n".join(f"{name}: {value}" for name, value in headers.items())


class InspectorDialog(QDialog):
    """``requestInspector``: request, response, raw events and attempts of each exchange."""

    def __init__(self, pane: WorkbenchPane, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.pane = pane
        self.setObjectName("requestInspector")
        self.setWindowTitle(f"Request inspector — {title}")
        self.resize(820, 620)
        self.exchange_picker = QComboBox()
        self.exchange_picker.setObjectName("inspectorExchange")
        self.exchange_picker.setToolTip("The requests of this pane's newest run, oldest first")
        self.summary = QLabel()
        self.summary.setObjectName("inspectorSummary")
        self.summary.setWordWrap(True)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("inspectorTabs")
        self.request_text = self._page("inspectorRequest", "Request")
        self.response_text = self._page("inspectorResponse", "Response")
        self.events_text = self._page("inspectorEvents", "Events")
        self.attempts_text = self._page("inspectorAttempts", "Attempts")
        self.copy_button = QPushButton("Copy as JSON")
        self.copy_button.setObjectName("inspectorCopyButton")
        self.copy_button.setToolTip("Copy every request of the run, exactly as recorded")
        self.copy_button.clicked.connect(self.copy)
        close_button = QPushButton("Close")
        close_button.clicked.connect(self.close)
        top = QHBoxLayout()
        top.addWidget(QLabel("Request:"))
        top.addWidget(self.exchange_picker, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.copy_button)
        buttons.addStretch(1)
        buttons.addWidget(close_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.summary)
        layout.addWidget(self.tabs, 1)
        layout.addLayout(buttons)
        self.exchange_picker.currentIndexChanged.connect(self._show)
        pane.busy_changed.connect(lambda busy: None if busy else self.reload())
        self._exchanges: list[dict[str, Any]] = []
        self.reload()

    def _page(self, name: str, title: str) -> QPlainTextEdit:
        page = QPlainTextEdit()
        page.setObjectName(name)
        page.setReadOnly(True)
        page.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        monospace(page)
        self.tabs.addTab(page, title)
        return page

    def reload(self) -> None:
        """Show the pane's newest run (the newest request selected)."""
        self._exchanges = self.pane.inspection(elide_media=True)
        self.exchange_picker.blockSignals(True)
        self.exchange_picker.clear()
        for number, exchange in enumerate(self._exchanges, 1):
            status = exchange["status"] if exchange["status"] is not None else "no response"
            self.exchange_picker.addItem(
                f"{number} · {exchange['method']} {exchange['path']} · {status}"
            )
        self.exchange_picker.setCurrentIndex(len(self._exchanges) - 1)
        self.exchange_picker.blockSignals(False)
        self.exchange_picker.setEnabled(len(self._exchanges) > 1)
        self.copy_button.setEnabled(bool(self._exchanges))
        self._show(len(self._exchanges) - 1)

    def copy(self) -> None:
        """Put every exchange of the run on the clipboard as JSON (media in full)."""
        QGuiApplication.clipboard().setText(_pretty(self.pane.inspection()))

    def _show(self, index: int) -> None:
        if not 0 <= index < len(self._exchanges):
            self.summary.setText("No request yet: send once to see what goes over the wire.")
            for page in (self.request_text, self.response_text, self.events_text):
                page.setPlainText("")
            self.attempts_text.setPlainText("")
            return
        exchange = self._exchanges[index]
        self.summary.setText(self._summary(exchange))
        request = f"{exchange['method']} {exchange['url']}\n{_headers(exchange['request_headers'])}"
        if exchange["body"] is not None:
            request += "\n\n" + _pretty(exchange["body"])
        elif exchange["form"] is not None:
            fields = "\n".join(f"{name} = {value}" for name, value in exchange["form"].items())
            files = "\n".join(
                f"{f['field']} = @{f['filename']} ({f['content_type']}, {f['size'] or '?'} bytes)"
                for f in exchange["files"]
            )
            request += f"\n\nmultipart/form-data:\n{fields}\n{files}"
        self.request_text.setPlainText(request)
        response = (
            f"HTTP {exchange['status']}\n{_headers(exchange['response_headers'])}"
            if exchange["status"] is not None
            else "No response."
        )
        if exchange["response_body"] is not None:
            response += "\n\n" + exchange["response_body"]
        if exchange["error"]:
            response += f"\n\nError: {exchange['error']}"
        self.response_text.setPlainText(response)
        events = "\n".join(f"+{e['at_s']:8.3f} s  {e['data']}" for e in exchange["events"])
        if exchange["events_dropped"]:
            events += f"\n… {exchange['events_dropped']:,} later events were not kept."
        self.events_text.setPlainText(events or "The response was not streamed.")
        self.attempts_text.setPlainText(
            "\n".join(self._attempt_line(n, a) for n, a in enumerate(exchange["attempts"], 1))
        )

    @staticmethod
    def _summary(exchange: dict[str, Any]) -> str:
        tries = len(exchange["attempts"])
        retried = f", after {tries - 1} retr{'y' if tries == 2 else 'ies'}" if tries > 1 else ""
        events = f" · {len(exchange['events']):,} events" if exchange["events"] else ""
        status = exchange["status"] if exchange["status"] is not None else "no response"
        return f"{exchange['method']} {exchange['url']} → {status}{retried}{events}"

    @staticmethod
    def _attempt_line(number: int, attempt: dict[str, Any]) -> str:
        line = f"#{number} sent at +{attempt['at_s']:.3f} s → {attempt['outcome'] or 'no answer'}"
        if attempt["retry_in_s"] is not None:
            line += f", retried after {attempt['retry_in_s']:.2f} s"
        return line
