"""Word-level diff of two panes' answers, as coloured text."""

from __future__ import annotations

import html

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QSplitter,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from app.domain.compare import DiffOp, Segment
from app.presenters.workbench import Workbench

__all__ = ["DiffDialog", "segments_html"]

_STYLE = {
    DiffOp.EQUAL: "{}",
    DiffOp.DELETE: '<span style="background:#ffd7d5;text-decoration:line-through">{}</span>',
    DiffOp.INSERT: '<span style="background:#ccffd8">{}</span>',
}


def segments_html(segments: list[Segment], shown: frozenset[DiffOp] = frozenset(DiffOp)) -> str:
    """Render the ``shown`` kinds of diff segments as HTML that keeps the answers' line breaks.

    Inline (every kind shown), a deletion and the insertion that replaces it are set apart by a
    space when neither brings one, so the two never read as one word.
    """
    parts = []
    previous: Segment | None = None
    for segment in segments:
        if segment.op not in shown:
            continue
        if (
            previous is not None
            and (previous.op, segment.op) == (DiffOp.DELETE, DiffOp.INSERT)
            and not previous.text[-1:].isspace()
            and not segment.text[:1].isspace()
        ):
            parts.append(" ")
        parts.append(_STYLE[segment.op].format(html.escape(segment.text)))
        previous = segment
    return f'<div style="white-space:pre-wrap">{"".join(parts)}</div>'


def _words(count: int) -> str:
    return f"{count} word" if count == 1 else f"{count} words"


class DiffDialog(QDialog):
    """Pick two panes and see how their newest answers differ, word by word."""

    def __init__(self, presenter: Workbench, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.presenter = presenter
        self.setObjectName("diffDialog")
        self.setWindowTitle("Compare answers")
        self.resize(760, 520)
        self.left_picker = QComboBox()
        self.left_picker.setObjectName("diffLeft")
        self.right_picker = QComboBox()
        self.right_picker.setObjectName("diffRight")
        self.view = QTextBrowser()
        self.view.setObjectName("diffOutput")
        self.left_view = QTextBrowser()
        self.left_view.setObjectName("diffLeftOutput")
        self.right_view = QTextBrowser()
        self.right_view.setObjectName("diffRightOutput")
        self.side_by_side = QSplitter()
        self.side_by_side.addWidget(self.left_view)
        self.side_by_side.addWidget(self.right_view)
        self.side_by_side.hide()
        self.side_by_side_check = QCheckBox("Side by side")
        self.side_by_side_check.setObjectName("diffSideBySide")
        self.side_by_side_check.toggled.connect(self._show_side_by_side)
        self.summary = QLabel()
        self.summary.setObjectName("diffSummary")
        pickers = QHBoxLayout()
        pickers.addWidget(QLabel("Removed from"))
        pickers.addWidget(self.left_picker, 1)
        pickers.addWidget(QLabel("added in"))
        pickers.addWidget(self.right_picker, 1)
        pickers.addWidget(self.side_by_side_check)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addLayout(pickers)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.side_by_side, 1)
        layout.addWidget(self.summary)
        layout.addWidget(buttons)
        self.left_picker.currentIndexChanged.connect(self.refresh)
        self.right_picker.currentIndexChanged.connect(self.refresh)
        self.reload()

    def reload(self) -> None:
        """List the current panes (first two preselected) and show their diff."""
        names = [
            f"Pane {n}: {pane.model or '(no model)'}"
            for n, pane in enumerate(self.presenter.panes, 1)
        ]
        for picker, default in ((self.left_picker, 0), (self.right_picker, 1)):
            picker.blockSignals(True)
            picker.clear()
            picker.addItems(names)
            picker.setCurrentIndex(min(default, len(names) - 1))
            picker.blockSignals(False)
        self.refresh()

    def refresh(self) -> None:
        """Show the diff of the chosen panes."""
        left, right = self.left_picker.currentIndex(), self.right_picker.currentIndex()
        if left < 0 or right < 0:
            return
        segments = self.presenter.diff(left, right)
        self.view.setHtml(segments_html(segments))
        self.left_view.setHtml(segments_html(segments, frozenset({DiffOp.EQUAL, DiffOp.DELETE})))
        self.right_view.setHtml(segments_html(segments, frozenset({DiffOp.EQUAL, DiffOp.INSERT})))
        removed = sum(len(s.text.split()) for s in segments if s.op is DiffOp.DELETE)
        added = sum(len(s.text.split()) for s in segments if s.op is DiffOp.INSERT)
        self.summary.setText(f"{_words(removed)} removed, {_words(added)} added")

    def _show_side_by_side(self, on: bool) -> None:
        self.view.setVisible(not on)
        self.side_by_side.setVisible(on)
