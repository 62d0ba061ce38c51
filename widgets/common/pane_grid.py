"""Arranges result panes in resizable columns or a grid."""

from __future__ import annotations

import math

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSplitter, QVBoxLayout, QWidget

__all__ = ["PaneGrid", "grid_shape"]


def grid_shape(count: int) -> tuple[int, int]:
    """Rows and columns for ``count`` panes in a grid: as square as possible, wider than tall."""
    columns = max(1, math.ceil(math.sqrt(count)))
    return math.ceil(count / columns), columns


class PaneGrid(QWidget):
    """Holds pane widgets in splitters, so every pane can be resized by dragging."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._root: QSplitter | None = None
        self.panes: list[QWidget] = []
        self.arrangement = "columns"

    def arrange(self, panes: list[QWidget], arrangement: str) -> None:
        """Lay ``panes`` out in ``columns`` (one row) or a ``grid``, keeping the widgets alive."""
        self.panes = list(panes)
        self.arrangement = arrangement
        for pane in panes:
            pane.setParent(None)  # detach before the old splitters go
        if self._root is not None:
            self._layout.removeWidget(self._root)
            self._root.deleteLater()
        rows, columns = grid_shape(len(panes)) if arrangement == "grid" else (1, len(panes))
        root = QSplitter(Qt.Orientation.Vertical)
        root.setChildrenCollapsible(False)
        for row in range(rows):
            line = QSplitter(Qt.Orientation.Horizontal)
            line.setChildrenCollapsible(False)
            for pane in panes[row * columns : (row + 1) * columns]:
                line.addWidget(pane)
            line.setSizes([1000] * line.count())
            root.addWidget(line)
        root.setSizes([1000] * root.count())
        self._root = root
        self._layout.addWidget(root)
