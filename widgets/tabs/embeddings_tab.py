"""Embeddings tab: embed texts with N models; see their similarity, neighbours and rankings."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.domain.embeddings import Texts
from app.presenters.embeddings import (
    TASK_CHOICES,
    EmbeddingsPane,
    EmbeddingsPresenter,
    PaneAgreement,
)
from app.presenters.workbench import RunOutcome
from widgets.common.pane_view import PaneView
from widgets.common.source_dialog import monospace
from widgets.common.workbench_view import WORKBENCH_SHORTCUTS, WorkbenchView
from widgets.tabs.embedding_views import Heatmap, ScatterMap, SimilarityTable

__all__ = ["SHORTCUTS", "EmbeddingsPaneView", "EmbeddingsTab"]

SHORTCUTS: tuple[tuple[str, str], ...] = (
    *WORKBENCH_SHORTCUTS,
    ("Ctrl+O", "Import texts (.txt, .csv, .jsonl)"),
    ("Ctrl+L", "Clear every pane"),
)

_TEXT_FILES = "Texts (*.txt *.csv *.tsv *.jsonl *.ndjson);;All files (*)"
_ERROR_STYLE = "color: #a40e26;"
_NOTE_STYLE = "color: #9a6700;"
_TASK_HINTS = {
    "auto": "search_query / search_document with a query, clustering without",
    "none": "texts are sent as typed",
}


def _short(text: str, width: int = 70) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


class EmbeddingsPaneView(PaneView):
    """An Embeddings pane: the matrix, the heatmap, the map and the ranking of one model."""

    pane: EmbeddingsPane

    def __init__(
        self, pane: EmbeddingsPane, providers: list[tuple[str, str]], parent: QWidget | None = None
    ) -> None:
        super().__init__(pane, providers, parent)
        self.result.setObjectName("embeddingViews")
        self.summary.setObjectName("output")
        self.progress = QProgressBar()
        self.progress.setObjectName("embedProgress")
        self.progress.setFormat("%v of %m texts")
        self.progress.setMaximumHeight(16)
        self.progress.hide()
        self.pair_label = QLabel()
        self.pair_label.setObjectName("pairLabel")
        self.pair_label.setWordWrap(True)
        self.pair_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.pair_label.hide()
        self.add_below_result(self.pair_label)
        self.add_below_result(self.progress)
        self.export_actions = [
            self.add_menu_action("Export matrix as CSV…", lambda: self._ask_export("csv")),
            self.add_menu_action("Export vectors as JSONL…", lambda: self._ask_export("jsonl")),
            self.add_menu_action("Export vectors as .npy…", lambda: self._ask_export("npy")),
        ]
        self.similarity.pair_chosen.connect(self.show_pair)
        self.heatmap.pair_chosen.connect(self._on_heatmap_pair)
        self.map.point_chosen.connect(self._on_point)
        pane.progress.connect(self._on_progress)
        pane.analysed.connect(self._show_analysis)
        # Not run_ended alone: a restored result (and Clear) replace the metrics too.
        pane.result_changed.connect(self._show_outcome)
        self._show_analysis()
        self._show_outcome()

    # -- the pane's hooks ----------------------------------------------------------------------

    def _result_widget(self) -> QWidget:
        self.similarity = SimilarityTable()
        self.similarity.setObjectName("similarity")
        self.heatmap = Heatmap()
        self.heatmap.setObjectName("heatmap")
        self.map = ScatterMap()
        self.map.setObjectName("embeddingMap")
        self.summary = QPlainTextEdit()
        self.summary.setReadOnly(True)
        self.summary.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.summary.setPlaceholderText("Send to see each text's nearest neighbours, or a ranking.")
        monospace(self.summary)
        views = QTabWidget()
        views.setDocumentMode(True)
        # In a narrow pane the labels shorten rather than hide behind scroll arrows.
        views.setUsesScrollButtons(False)
        views.setElideMode(Qt.TextElideMode.ElideRight)
        views.addTab(self.similarity, "Matrix")
        views.addTab(self.heatmap, "Heatmap")
        views.addTab(self.map, "Map")
        views.addTab(self.summary, "List")
        views.setTabToolTip(0, "Cosine similarity of every two texts; click a cell for the pair")
        views.setTabToolTip(1, "The whole matrix at a glance; click to find the pair")
        views.setTabToolTip(2, "The texts on their first two principal components")
        views.setTabToolTip(3, "Each text's nearest neighbours (or, with a query, the ranking)")
        self.views = views
        return views

    def _focus_sources(self) -> tuple[Any, ...]:
        return (self.similarity.viewport(), self.summary.viewport(), self.heatmap, self.map)

    # -- public --------------------------------------------------------------------------------

    def show_pair(self, row: int, column: int) -> None:
        """Name the two texts of a matrix cell and their cosine under the views."""
        analysis = self.pane.analysis
        texts = self.pane.texts
        if analysis is None or not (0 <= row < len(texts) and 0 <= column < len(texts)):
            return
        value = float(analysis.similarity[row, column])
        self.pair_label.setText(
            f"#{row + 1} {_short(texts[row])}\n#{column + 1} {_short(texts[column])}\n"
            f"cosine {value:.3f}"
        )
        self.pair_label.show()
        self.map.highlight(row)

    # -- presenter events ----------------------------------------------------------------------

    def _on_progress(self, done: int, total: int) -> None:
        self.progress.setVisible(total > 0)
        if total:
            self.progress.setMaximum(total)
            self.progress.setValue(done)

    def _show_analysis(self) -> None:
        pane = self.pane
        analysis = pane.analysis
        texts = pane.texts
        self.pair_label.hide()
        if analysis is None:
            self.similarity.set_matrix((), None)
            self.heatmap.set_shades(None)
            self.map.set_points(None)
            self.summary.setPlainText("")
        else:
            self.similarity.set_matrix(texts, analysis.similarity, analysis.shade_range)
            # The matrix paints first; the other views follow in the next turn of the loop.
            QTimer.singleShot(0, self._show_other_views)
        for action in self.export_actions:
            action.setEnabled(analysis is not None)

    def _show_other_views(self) -> None:
        pane = self.pane
        analysis = pane.analysis
        if analysis is None:
            return
        texts = pane.texts
        self.heatmap.set_shades(analysis.shades, texts, analysis.shade_range, analysis.similarity)
        self.map.set_points(analysis.points, texts)
        self.summary.setPlainText(pane.summary_text)

    def _show_outcome(self) -> None:
        pane = self.pane
        note = {RunOutcome.STOPPED: "stopped", RunOutcome.FAILED: "failed"}.get(pane.outcome, "")
        self.show_metrics(pane.last_metrics, note=note)

    def _on_heatmap_pair(self, row: int, column: int) -> None:
        self.show_pair(row, column)
        self.similarity.show_pair(row, column)

    def _on_point(self, index: int) -> None:
        self.show_pair(index, index)
        self.similarity.show_pair(index, index)

    def _ask_export(self, kind: str) -> None:
        title = "Export similarity matrix" if kind == "csv" else "Export vectors"
        filters = {"csv": "CSV (*.csv)", "jsonl": "JSON Lines (*.jsonl)", "npy": "NumPy (*.npy)"}
        dialog = QFileDialog(self, title)
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setDefaultSuffix(kind)
        dialog.setNameFilter(filters[kind])
        stem = "similarity" if kind == "csv" else "vectors"
        dialog.selectFile(f"{stem}.{kind}")
        dialog.fileSelected.connect(lambda path: self.pane.export_to(Path(path)))
        dialog.open()


class EmbeddingsTab(WorkbenchView):
    """View of an :class:`EmbeddingsPresenter`: the texts, a query, and one model per pane."""

    presenter: EmbeddingsPresenter
    shortcuts = SHORTCUTS

    def __init__(self, presenter: EmbeddingsPresenter, parent: QWidget | None = None) -> None:
        super().__init__(presenter, parent)
        self._agreement_dialog: AgreementDialog | None = None
        self.texts_input.textChanged.connect(
            lambda: presenter.set_texts_text(self.texts_input.toPlainText())
        )
        self.query_input.textChanged.connect(presenter.set_query)
        self.import_button.clicked.connect(self.import_texts)
        self.sample_button.clicked.connect(presenter.load_sample)
        self.compare_button.clicked.connect(self.compare)
        self.clear_button.clicked.connect(self.clear)
        self.task_picker.currentIndexChanged.connect(
            lambda i: self.selected_pane().set_task(self.task_picker.itemData(i))
        )
        presenter.texts_changed.connect(self._show_texts_info)
        presenter.texts_replaced.connect(self._replace_texts)
        presenter.inputs_restored.connect(self._show_inputs)
        presenter.send_state_changed.connect(self._update_all_actions)
        presenter.targets_changed.connect(lambda: self._pane_selected(self.selected_pane()))
        presenter.agreements_ready.connect(self._show_agreements)
        self._show_texts_info(presenter.texts)

    # -- the workbench's hooks -----------------------------------------------------------------

    def _build_input(self) -> QWidget:
        self.texts_input = QPlainTextEdit(self.presenter.texts_text)
        self.texts_input.setObjectName("textsInput")
        self.texts_input.setPlaceholderText(
            "One text per line: sentences, questions, documents… (Ctrl+Enter to embed)"
        )
        self.texts_input.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.texts_input.setTabChangesFocus(True)
        self.texts_input.setFixedHeight(130)
        self.texts_info = QLabel()
        self.texts_info.setObjectName("textsInfo")
        self.import_button = QPushButton("Import…")
        self.import_button.setObjectName("importTextsButton")
        self.import_button.setToolTip(
            "Texts from a .txt (one per line), .csv (a text column) or .jsonl file (Ctrl+O)"
        )
        self.sample_button = QPushButton("Sample texts")
        self.sample_button.setObjectName("sampleTextsButton")
        self.sample_button.setToolTip("Paraphrases, unrelated sentences and another language")
        self.import_status = QLabel()
        self.import_status.setObjectName("importStatus")
        self.import_status.setWordWrap(True)
        self.import_status.setStyleSheet(_ERROR_STYLE)
        self.import_status.hide()
        header = QHBoxLayout()
        header.setContentsMargins(0, 0, 0, 0)
        header.addWidget(QLabel("Texts, one per line:"))
        header.addWidget(self.texts_info, 1)
        header.addWidget(self.sample_button)
        header.addWidget(self.import_button)
        self.query_input = QLineEdit(self.presenter.query)
        self.query_input.setObjectName("queryInput")
        self.query_input.setPlaceholderText(
            "Optional query: rank the texts by similarity to it (empty: nearest neighbours)"
        )
        self.query_input.setClearButtonEnabled(True)
        box = QWidget()
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addLayout(header)
        layout.addWidget(self.texts_input)
        layout.addWidget(self.import_status)
        layout.addWidget(self.query_input)
        return box

    def _action_buttons(self) -> list[QWidget]:
        self.compare_button = QPushButton("Compare models…")
        self.compare_button.setObjectName("compareButton")
        self.clear_button = QPushButton("Clear")
        self.clear_button.setObjectName("clearButton")
        self.clear_button.setToolTip("Clear every pane's result (Ctrl+L)")
        return [self.compare_button, self.clear_button]

    def _pane_param_widgets(self) -> list[QWidget]:
        self.task_picker = QComboBox()
        self.task_picker.setObjectName("taskPrefix")
        for task in TASK_CHOICES:
            self.task_picker.addItem(task, task)
        self.task_hint = QLabel()
        self.task_hint.setObjectName("hint")
        self.task_hint.setWordWrap(True)
        box = QWidget()
        form = QFormLayout(box)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Task prefix", self.task_picker)
        form.addRow(self.task_hint)
        return [box]

    def _tab_shortcuts(self) -> list[tuple[str, Callable[[], object]]]:
        return [("Ctrl+O", self.import_texts), ("Ctrl+L", self.clear)]

    def _make_pane_view(self, pane: EmbeddingsPane) -> PaneView:
        view = EmbeddingsPaneView(pane, self.presenter.providers())
        pane.analysed.connect(self._update_all_actions)
        return view

    def _send(self) -> bool:
        return self.presenter.send()

    def _pane_selected(self, pane: EmbeddingsPane) -> None:
        takes = pane.takes_task_prefix
        self.task_picker.blockSignals(True)
        self.task_picker.setCurrentIndex(TASK_CHOICES.index(pane.task))
        self.task_picker.blockSignals(False)
        self.task_picker.setEnabled(takes)
        self.task_hint.setText(
            _TASK_HINTS.get(pane.task, f"every text starts with “{pane.task}: ”")
            if takes
            else "Only Nomic models take a task prefix; this model gets the texts as typed."
        )

    def _update_actions(self) -> None:
        blocker = self.presenter.send_blocker()
        self.send_button.setEnabled(not blocker)
        self.send_button.setToolTip(blocker or "Embed the texts with every pane (Ctrl+Enter)")
        ready = sum(1 for pane in self.presenter.panes if pane.analysis is not None)
        self.compare_button.setEnabled(ready >= 2 and not self.presenter.busy)
        self.compare_button.setToolTip(
            "How far the models agree on which texts are alike, and where they differ most"
            if ready >= 2
            else "Needs two panes with results: add a target and send"
        )
        self.clear_button.setEnabled(not self.presenter.busy and ready > 0)

    # -- user commands -------------------------------------------------------------------------

    def import_texts(self) -> None:
        """Choose a file of texts to embed."""
        path, _ = QFileDialog.getOpenFileName(self, "Import texts", "", _TEXT_FILES)
        if path:
            self.import_file(Path(path))

    def import_file(self, path: Path) -> None:
        """Replace the texts with those of ``path``; a file that cannot be read says why."""
        try:
            self.presenter.import_file(path)
        except ValueError as error:
            self.import_status.setText(str(error))
            self.import_status.show()
            return
        self.import_status.hide()

    def compare(self) -> None:
        """Compute and show how far the panes' models agree."""
        if self.presenter.compare():
            if self._agreement_dialog is None:
                self._agreement_dialog = AgreementDialog(self)
            self._agreement_dialog.show_waiting()
            self._agreement_dialog.show()

    def clear(self) -> None:
        """Clear every pane's result."""
        self.presenter.clear()

    # -- presenter events ----------------------------------------------------------------------

    def _show_texts_info(self, texts: Texts) -> None:
        self.texts_info.setText(texts.describe())
        self.texts_info.setStyleSheet(_NOTE_STYLE if texts.duplicates or texts.blank_lines else "")

    def _replace_texts(self, text: str) -> None:
        # Through the cursor, so Ctrl+Z brings back what the import replaced.
        cursor = self.texts_input.textCursor()
        cursor.select(cursor.SelectionType.Document)
        cursor.insertText(text)

    def _show_inputs(self) -> None:
        # Signals blocked: the presenter already holds (and has saved) the restored inputs.
        p = self.presenter
        if self.texts_input.toPlainText() != p.texts_text:
            self.texts_input.blockSignals(True)
            self._replace_texts(p.texts_text)
            self.texts_input.blockSignals(False)
        if self.query_input.text() != p.query:
            self.query_input.blockSignals(True)
            self.query_input.setText(p.query)
            self.query_input.blockSignals(False)

    def _show_agreements(self, agreements: list[PaneAgreement]) -> None:
        if self._agreement_dialog is not None:
            texts = next((p.texts for p in self.presenter.panes if p.analysis is not None), ())
            models = [pane.model for pane in self.presenter.panes]
            self._agreement_dialog.show_agreements(agreements, models, texts)


class AgreementDialog(QDialog):
    """Rank agreement of every two panes, and the texts on which they disagree most."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("agreementDialog")
        self.setWindowTitle("Do the models agree?")
        self.table = QTableWidget(0, 5)
        self.table.setObjectName("agreementTable")
        self.table.setHorizontalHeaderLabels(
            ["Pane", "Pane", "Spearman ρ", "Kendall τ", "Compared"]
        )
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.itemSelectionChanged.connect(self._show_selected)
        self.details = QPlainTextEdit()
        self.details.setObjectName("disagreements")
        self.details.setReadOnly(True)
        monospace(self.details)
        hint = QLabel(
            "1 = the two models order the texts (or the pairs of texts) the same way; 0 = no "
            "relation. Below: where their ranks differ most."
        )
        hint.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(hint)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.details, 1)
        layout.addWidget(buttons)
        self._agreements: list[PaneAgreement] = []
        self._models: list[str] = []
        self._texts: tuple[str, ...] = ()
        self.resize(720, 520)

    def show_waiting(self) -> None:
        """Say the figures are being computed."""
        self.table.setRowCount(0)
        self.details.setPlainText("Computing…")

    def show_agreements(
        self, agreements: list[PaneAgreement], models: list[str], texts: tuple[str, ...]
    ) -> None:
        """Fill the table: one row per pair of panes."""
        self._agreements, self._models, self._texts = agreements, models, texts
        self.table.setRowCount(len(agreements))
        for row, item in enumerate(agreements):
            found = item.agreement
            cells = [
                f"{item.left + 1}: {_short(models[item.left], 40)}",
                f"{item.right + 1}: {_short(models[item.right], 40)}",
                f"{found.spearman:.3f}",
                f"{found.kendall:.3f}",
                found.basis,
            ]
            for column, text in enumerate(cells):
                self.table.setItem(row, column, QTableWidgetItem(text))
        if agreements:
            self.table.selectRow(0)
        else:
            self.details.setPlainText("The panes embedded different texts: send again to compare.")

    def _show_selected(self) -> None:
        rows = {index.row() for index in self.table.selectedIndexes()}
        if not rows:
            return
        item = self._agreements[min(rows)]
        lines = [f"Where pane {item.left + 1} and pane {item.right + 1} disagree most:", ""]
        for case in item.agreement.disagreements:
            names = " ↔ ".join(f"#{i + 1} {_short(self._texts[i], 50)}" for i in case.texts)
            lines.append(
                f"rank {case.rank_a} vs {case.rank_b}  ({case.value_a:.3f} vs {case.value_b:.3f})"
                f"  {names}"
            )
        if not item.agreement.disagreements:
            lines.append("Nowhere: they rank everything the same.")
        self.details.setPlainText("\n".join(lines))
