"""The history window: every run of every tab, searchable, reopened into its tab with one click."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.domain.history import RunRecord, RunSummary
from app.presenters.history import History
from widgets.common.metrics_format import format_metrics
from widgets.common.source_dialog import monospace

__all__ = ["HistoryDialog"]

_COLUMNS = ("When", "Tab", "Model", "Provider", "Status", "Prompt", "Output")
_PERIODS = (("Any time", None), ("Today", 0), ("Last 7 days", 7), ("Last 30 days", 30))
# The detail pane shows this much of an output; reopening the run shows all of it.
_DETAIL_CHARS = 200_000
_SEARCH_DELAY_MS = 150


def _size(count: int) -> str:
    for unit in ("bytes", "kB", "MB", "GB"):
        if count < 1000 or unit == "GB":
            return f"{count:,.0f} {unit}" if unit == "bytes" else f"{count:,.1f} {unit}"
        count /= 1000  # type: ignore[assignment]
    raise AssertionError("unreachable")


def _one_line(text: str) -> str:
    return " ".join(text.split())


class _RunsModel(QAbstractTableModel):
    """The runs found, one row each; ``Qt.UserRole`` of any cell holds the run id."""

    def __init__(self, titles: dict[str, str]) -> None:
        super().__init__()
        self._titles = titles
        self.runs: list[RunSummary] = []

    def set_runs(self, runs: list[RunSummary]) -> None:
        self.beginResetModel()
        self.runs = runs
        self.endResetModel()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.runs)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(_COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = 0) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return _COLUMNS[section]
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = 0) -> Any:
        run = self.runs[index.row()]
        if role == Qt.ItemDataRole.UserRole:
            return run.id
        if role == Qt.ItemDataRole.ToolTipRole and index.column() == 6 and run.error:
            return run.error
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        match index.column():
            case 0:
                return dt.datetime.fromtimestamp(run.started_at).strftime("%Y-%m-%d %H:%M:%S")
            case 1:
                return self._titles.get(run.tab, run.tab)
            case 2:
                return run.model
            case 3:
                return run.provider
            case 4:
                return run.status
            case 5:
                return _one_line(run.prompt)
            case _:
                more = run.output_chars - len(run.output_preview)
                shown = _one_line(
                    run.error if run.error and not run.output_preview else run.output_preview
                )
                return f"{shown} … (+{more:,} characters)" if more > 0 else shown


class HistoryDialog(QDialog):
    """``historyDialog``: search, filter, read, reopen, delete and export runs.

    Signals:
        reopen_requested(int): show this run in its tab.
    """

    reopen_requested = Signal(int)

    def __init__(
        self, history: History, titles: dict[str, str], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.history = history
        self.setObjectName("historyDialog")
        self.setWindowTitle("History")
        self.resize(1100, 680)
        self._titles = titles

        self.search = QLineEdit()
        self.search.setObjectName("historySearch")
        self.search.setPlaceholderText("Search prompts and outputs")
        self.search.setClearButtonEnabled(True)
        self.tab_filter = self._filter("historyTab", "Only runs of this tab")
        self.model_filter = self._filter("historyModel", "Only runs of this model")
        self.provider_filter = self._filter("historyProvider", "Only runs of this provider")
        self.period = QComboBox()
        self.period.setObjectName("historyWhen")
        for label, days in _PERIODS:
            self.period.addItem(label, days)
        filters = QHBoxLayout()
        filters.addWidget(self.search, 2)
        for combo in (self.tab_filter, self.model_filter, self.provider_filter, self.period):
            filters.addWidget(combo, 1)

        self.model = _RunsModel(titles)
        self.table = QTableView()
        self.table.setObjectName("historyList")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        for column in range(5):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(5, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(6, QHeaderView.ResizeMode.Stretch)
        self.detail = QPlainTextEdit()
        self.detail.setObjectName("historyDetail")
        self.detail.setReadOnly(True)
        monospace(self.detail)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.table)
        splitter.addWidget(self.detail)
        splitter.setSizes([380, 220])

        self.size_label = QLabel()
        self.size_label.setObjectName("historySize")
        self.problem_label = QLabel()
        self.problem_label.setObjectName("historyProblem")
        self.problem_label.setWordWrap(True)
        self.reopen_button = QPushButton("Reopen in its tab")
        self.reopen_button.setObjectName("historyReopenButton")
        self.reopen_button.setToolTip("Show the run in its tab: target, inputs and output")
        self.delete_button = QPushButton("Delete")
        self.delete_button.setObjectName("historyDeleteButton")
        self.delete_all_button = QPushButton("Delete all…")
        self.delete_all_button.setObjectName("historyDeleteAllButton")
        self.export_button = QToolButton()
        self.export_button.setObjectName("historyExportButton")
        self.export_button.setText("Export")
        self.export_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        export_menu = QMenu(self.export_button)
        export_menu.addAction("Runs shown, as JSONL…").triggered.connect(
            lambda: self._ask_export(batch=False)
        )
        export_menu.addAction("Runs shown, as OpenAI batch input (JSONL)…").triggered.connect(
            lambda: self._ask_export(batch=True)
        )
        self.export_button.setMenu(export_menu)
        buttons = QHBoxLayout()
        buttons.addWidget(self.size_label)
        buttons.addWidget(self.problem_label, 1)
        buttons.addWidget(self.export_button)
        buttons.addWidget(self.delete_all_button)
        buttons.addWidget(self.delete_button)
        buttons.addWidget(self.reopen_button)

        layout = QVBoxLayout(self)
        layout.addLayout(filters)
        layout.addWidget(splitter, 1)
        layout.addLayout(buttons)

        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(_SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self.refresh)
        self.search.textChanged.connect(lambda _text: self._search_timer.start())
        for combo in (self.tab_filter, self.model_filter, self.provider_filter, self.period):
            combo.currentIndexChanged.connect(lambda _index: self.refresh())
        self.table.selectionModel().currentRowChanged.connect(lambda *_: self._show_selected())
        self.table.doubleClicked.connect(lambda _index: self.reopen())
        self.reopen_button.clicked.connect(self.reopen)
        self.delete_button.clicked.connect(self.delete_selected)
        self.delete_all_button.clicked.connect(self._ask_delete_all)
        history.runs_changed.connect(self._on_runs_changed)
        history.problem_changed.connect(self.problem_label.setText)
        self.problem_label.setText(history.problem)
        self.refresh()

    def _filter(self, name: str, tip: str) -> QComboBox:
        combo = QComboBox()
        combo.setObjectName(name)
        combo.setToolTip(tip)
        combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        combo.setMinimumContentsLength(10)
        return combo

    # -- public --------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Search again with the filters as set, keeping the selected run selected."""
        self._fill_filters()
        selected = self.selected_id()
        days = self.period.currentData()
        since = None
        if days is not None:
            midnight = dt.datetime.combine(dt.date.today(), dt.time())
            since = (
                (midnight - dt.timedelta(days=days)).timestamp() if days else midnight.timestamp()
            )
        runs = self.history.search(
            self.search.text(),
            tab=self.tab_filter.currentData(),
            model=self.model_filter.currentData(),
            provider=self.provider_filter.currentData(),
            since=since,
        )
        self.model.set_runs(runs)
        row = next((i for i, run in enumerate(runs) if run.id == selected), 0 if runs else -1)
        if row >= 0:
            self.table.selectRow(row)
        self._show_selected()
        self.size_label.setText(
            f"{len(runs):,} runs shown · history {_size(self.history.size_bytes())}"
        )

    def selected_id(self) -> int | None:
        """Id of the selected run."""
        index = self.table.currentIndex()
        return self.model.runs[index.row()].id if index.isValid() and self.model.runs else None

    def reopen(self) -> None:
        """Ask for the selected run to be shown in its tab."""
        run_id = self.selected_id()
        if run_id is not None:
            self.reopen_requested.emit(run_id)

    def delete_selected(self) -> None:
        """Forget the selected run."""
        run_id = self.selected_id()
        if run_id is not None:
            self.history.delete(run_id)

    def export_to(self, path: Path, *, batch: bool) -> str:
        """Write the runs shown to ``path``; returns what was done, as shown to the user."""
        ids = [run.id for run in reversed(self.model.runs)]  # oldest first
        try:
            written, skipped = self.history.export(path, ids, batch=batch)
        except OSError as error:
            message = f"Could not write {path.name}: {error.strerror or error}."
        else:
            message = f"Wrote {written:,} runs to {path.name}"
            if skipped:
                message += f"; {skipped:,} runs have no JSON request (audio) and were left out"
            message += "."
        self.problem_label.setText(message)
        return message

    # -- internals -----------------------------------------------------------------------------

    def _fill_filters(self) -> None:
        tabs, models, providers = self.history.facets()
        for combo, values, everything, shown in (
            (self.tab_filter, tabs, "All tabs", self._titles),
            (self.model_filter, models, "All models", {}),
            (self.provider_filter, providers, "All providers", {}),
        ):
            current = combo.currentData()
            combo.blockSignals(True)
            combo.clear()
            combo.addItem(everything, None)
            for value in values:
                combo.addItem(shown.get(value, value), value)
            combo.setCurrentIndex(max(0, combo.findData(current)))
            combo.blockSignals(False)

    def _show_selected(self) -> None:
        run_id = self.selected_id()
        record = self.history.get(run_id) if run_id is not None else None
        self.reopen_button.setEnabled(record is not None and record.tab in self._titles)
        self.delete_button.setEnabled(record is not None)
        self.detail.setPlainText(self._describe(record) if record is not None else "")

    def _describe(self, record: RunRecord) -> str:
        from app.domain.compare import metrics_from_dict

        when = dt.datetime.fromtimestamp(record.started_at).strftime("%Y-%m-%d %H:%M:%S")
        lines = [
            f"{self._titles.get(record.tab, record.tab)} · {record.model} · {record.provider}"
            f" · {when} · {record.status}"
        ]
        metrics = metrics_from_dict(record.metrics)
        if metrics is not None:
            lines.append(format_metrics(metrics))
        if record.error:
            lines.append(f"Error: {record.error}")
        output = record.output
        if len(output) > _DETAIL_CHARS:
            more = len(output) - _DETAIL_CHARS
            output = output[:_DETAIL_CHARS] + f"\n… {more:,} more characters (reopen to see all)"
        lines += ["", "— Prompt —", record.prompt, "", "— Output —", output]
        return "\n".join(lines)

    def _on_runs_changed(self) -> None:
        if self.isVisible():
            self._search_timer.start()

    def _ask_delete_all(self) -> None:
        answer = QMessageBox.question(
            self,
            "Delete every run?",
            "Every run of every tab is deleted from the history. This cannot be undone.",
            QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        if answer == QMessageBox.StandardButton.Discard:
            self.history.delete_all()

    def _ask_export(self, *, batch: bool) -> None:
        dialog = QFileDialog(self, "Export runs")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setDefaultSuffix("jsonl")
        dialog.setNameFilter("JSON Lines (*.jsonl)")
        stamp = time.strftime("%Y%m%d")
        dialog.selectFile(f"fireplay-{'batch' if batch else 'runs'}-{stamp}.jsonl")
        dialog.fileSelected.connect(lambda path: self.export_to(Path(path), batch=batch))
        dialog.open()
