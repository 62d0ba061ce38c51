"""Passive views of one Embeddings pane: similarity table, overview heatmap and 2-D map.

The data arrives computed (numpy arrays made off the UI thread). With up to 2,000 texts a matrix
has four million cells, so nothing here loops over cells or pixels in Python: the table asks only
for visible cells, the heatmap hands its bytes to Qt as one indexed image, and the map keeps its
screen coordinates as one array.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from PySide6.QtCore import (
    QAbstractTableModel,
    QEvent,
    QItemSelectionModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPoint,
    QPointF,
    QRect,
    QRectF,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import (
    QColor,
    QHelpEvent,
    QImage,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QPen,
    QPixmap,
    QPolygonF,
    QResizeEvent,
    QStaticText,
    qRgb,
)
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QToolTip, QWidget

__all__ = [
    "PALETTE",
    "Heatmap",
    "ScatterMap",
    "SimilarityModel",
    "SimilarityTable",
    "shade_of",
    "shades_of",
]

# Viridis at nine even stops: perceptually ordered, readable on light and dark themes and by
# colour-blind readers; low is dark blue-purple, high is yellow.
_ANCHORS = (
    (0x44, 0x01, 0x54),
    (0x48, 0x28, 0x78),
    (0x3E, 0x49, 0x89),
    (0x31, 0x68, 0x8E),
    (0x26, 0x82, 0x8E),
    (0x1F, 0x9E, 0x89),
    (0x35, 0xB7, 0x79),
    (0x6E, 0xCE, 0x58),
    (0xFD, 0xE7, 0x25),
)


def _interpolate(anchors: Sequence[tuple[int, int, int]], count: int) -> list[tuple[int, int, int]]:
    stops = np.linspace(0.0, 1.0, len(anchors))
    where = np.linspace(0.0, 1.0, count)
    channels = np.array(anchors, dtype=np.float64)
    rgb = [np.interp(where, stops, channels[:, c]) for c in range(3)]
    return [(round(r), round(g), round(b)) for r, g, b in zip(*rgb, strict=True)]


_RGB = _interpolate(_ANCHORS, 256)
# As QRgb ints, the form QImage.setColorTable takes.
_COLOR_TABLE = [qRgb(r, g, b) for r, g, b in _RGB]

PALETTE: tuple[QColor, ...] = tuple(QColor(r, g, b) for r, g, b in _RGB)
"""The 256 shades of the similarity map, low (index 0) to high (255)."""


def _luminance(rgb: tuple[int, int, int]) -> float:
    """WCAG relative luminance of an sRGB colour."""
    linear = [c / 255 / 12.92 if c <= 10 else ((c / 255 + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrasting(rgb: tuple[int, int, int]) -> QColor:
    light = _luminance(rgb)
    # Whichever of black and white has the higher WCAG contrast ratio with the shade.
    on_black = (light + 0.05) / 0.05
    on_white = 1.05 / (light + 0.05)
    return QColor(0, 0, 0) if on_black >= on_white else QColor(255, 255, 255)


_FOREGROUND: tuple[QColor, ...] = tuple(_contrasting(rgb) for rgb in _RGB)
_LIGHT_TEXT = np.array([color.lightness() > 127 for color in _FOREGROUND])

# The roles a cell answers; views ask for a dozen per visible cell, most of them unused here.
_CELL_ROLES = frozenset(
    {
        Qt.ItemDataRole.DisplayRole,
        Qt.ItemDataRole.UserRole,
        Qt.ItemDataRole.BackgroundRole,
        Qt.ItemDataRole.ForegroundRole,
        Qt.ItemDataRole.ToolTipRole,
        Qt.ItemDataRole.TextAlignmentRole,
    }
)
_INDEXED = QImage.Format.Format_Indexed8
# The table's grid line takes the last colour index; cells use the 255 shades below it.
_GRID = 255
_TOOLTIP_CHARS = 80
_HEADER_TOOLTIP_CHARS = 300
_LABEL_CHARS = 18
_NEAR_PX = 12


def shade_of(value: float, shade_range: tuple[float, float] = (-1.0, 1.0)) -> int:
    """The palette index (0..255) of ``value``, mapped linearly from ``shade_range`` and clipped.

    NaN maps to 0. An empty range (high ≤ low) maps values at or above low to 255, the rest to 0.
    Agrees exactly with :func:`shades_of`.
    """
    low, high = shade_range
    if math.isnan(value):
        return 0
    if high <= low:
        return 255 if value >= low else 0
    index = math.floor((value - low) / (high - low) * 255 + 0.5)
    return min(255, max(0, index))


def shades_of(values: np.ndarray, shade_range: tuple[float, float] = (-1.0, 1.0)) -> np.ndarray:
    """:func:`shade_of` for a whole array: a C-contiguous uint8 array of the same shape.

    Vectorised, but meant for a worker thread when the array is large.
    """
    low, high = shade_range
    data = np.asarray(values, dtype=np.float64)
    if high <= low:
        index = np.where(data >= low, 255.0, 0.0)
    else:
        with np.errstate(invalid="ignore"):
            index = np.clip(np.floor((data - low) / (high - low) * 255 + 0.5), 0, 255)
    return np.ascontiguousarray(np.nan_to_num(index, nan=0.0), dtype=np.uint8)


def _short(text: str, limit: int) -> str:
    """``text`` on one line, cut to ``limit`` characters with an ellipsis."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def _numbered(texts: Sequence[str], index: int, limit: int = _TOOLTIP_CHARS) -> str:
    text = _short(texts[index], limit) if index < len(texts) else ""
    return f"#{index + 1}  {text}".rstrip()


def _pair_tooltip(texts: Sequence[str], row: int, column: int, value: float | None) -> str:
    lines = [_numbered(texts, row), _numbered(texts, column)]
    if value is not None:
        lines.append(f"cosine {value:.3f}")
    return "\n".join(lines)


def _square(name: str, array: np.ndarray) -> int:
    if array.ndim != 2 or array.shape[0] != array.shape[1]:
        raise ValueError(f"{name} must be a square (n, n) array, not {array.shape}")
    return int(array.shape[0])


def _cells(pixels: Any, side: int, count: int) -> Any:
    """The cell (0..count-1) that pixel column ``pixels`` (an int or int array) of ``side`` shows.

    Enlarged, a pixel shows the cell under its centre; shrunk, the first and last pixels show the
    first and last cells so the corners name #1 and #n. Painting and hit tests both use this.
    """
    if side >= count:
        return (2 * pixels + 1) * count // (2 * side)
    if side <= 1:
        return pixels * 0
    # round(pixels * (count - 1) / (side - 1)) in integers
    return (2 * pixels * (count - 1) + side - 1) // (2 * (side - 1))


def _check_texts(texts: Sequence[str], count: int) -> None:
    # No texts is allowed (numbers only); a different count means the data got mixed up.
    if texts and len(texts) != count:
        raise ValueError(f"{len(texts)} texts for {count} rows")


class SimilarityModel(QAbstractTableModel):
    """An (n, n) cosine-similarity matrix as a read-only table, shaded with :data:`PALETTE`.

    Roles: DisplayRole the value to two decimals, UserRole the value as a float, BackgroundRole
    its shade, ForegroundRole black or white to contrast with it, ToolTipRole the pair and value.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._texts: tuple[str, ...] = ()
        self._matrix: np.ndarray | None = None
        self._range: tuple[float, float] = (-1.0, 1.0)

    @property
    def texts(self) -> tuple[str, ...]:
        """The texts of the rows (and columns), in order."""
        return self._texts

    @property
    def matrix(self) -> np.ndarray | None:
        """The matrix shown (None when cleared)."""
        return self._matrix

    @property
    def shade_range(self) -> tuple[float, float]:
        """The values that map to the first and the last shade."""
        return self._range

    def set_matrix(
        self,
        texts: Sequence[str],
        similarity: np.ndarray | None,
        shade_range: tuple[float, float] = (-1.0, 1.0),
    ) -> None:
        """Show ``similarity`` (n, n) for ``texts``, shaded over ``shade_range``; None clears.

        The array is kept, not copied: the caller must not change it afterwards.
        """
        self.beginResetModel()
        try:
            if similarity is None:
                self._texts, self._matrix = (), None
            else:
                matrix = np.asarray(similarity)
                count = _square("similarity", matrix)
                _check_texts(texts, count)
                self._texts, self._matrix = tuple(texts), matrix
            self._range = (float(shade_range[0]), float(shade_range[1]))
        finally:
            self.endResetModel()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex | None = None) -> int:
        if self._matrix is None or (parent is not None and parent.isValid()):
            return 0
        return int(self._matrix.shape[0])

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex | None = None) -> int:
        return self.rowCount(parent)

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if self._matrix is None or not index.isValid() or role not in _CELL_ROLES:
            return None
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return Qt.AlignmentFlag.AlignCenter
        row, column = index.row(), index.column()
        value = float(self._matrix[row, column])
        if role == Qt.ItemDataRole.DisplayRole:
            return f"{value:.2f}"
        if role == Qt.ItemDataRole.UserRole:
            return value
        if role == Qt.ItemDataRole.BackgroundRole:
            return PALETTE[shade_of(value, self._range)]
        if role == Qt.ItemDataRole.ForegroundRole:
            return _FOREGROUND[shade_of(value, self._range)]
        return _pair_tooltip(self._texts, row, column, value)

    # No headerData override: Qt's own numbers the sections 1..n in C++. A Python one is asked a
    # dozen roles for hundreds of sections whenever the matrix changes (about 40 ms at 2,000);
    # the headers' tooltips come from SimilarityTable instead.

    def header_tooltip(self, section: int) -> str:
        """The text of row and column ``section`` ("" outside the matrix)."""
        if not 0 <= section < len(self._texts):
            return ""
        return _short(self._texts[section], _HEADER_TOOLTIP_CHARS)

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable


class SimilarityTable(QTableView):
    """The similarity matrix as a compact table of fixed-size cells (``similarityTable``).

    Fixed sections with default sizes mean 2,000 rows and columns cost no per-section work.

    Signals:
        pair_chosen(int, int): the user clicked the cell at (row, column).
    """

    pair_chosen = Signal(int, int)

    CELL_WIDTH = 44
    CELL_HEIGHT = 22

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("similarityTable")
        self._model = SimilarityModel(self)
        self.setModel(self._model)
        for header, size in (
            (self.horizontalHeader(), self.CELL_WIDTH),
            (self.verticalHeader(), self.CELL_HEIGHT),
        ):
            # The style's minimum can exceed 22 px and would silently win over the default.
            header.setMinimumSectionSize(min(size, 16))
            header.setDefaultSectionSize(size)
            header.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
            header.setHighlightSections(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectItems)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setWordWrap(False)
        self.clicked.connect(self._clicked)
        for header in (self.horizontalHeader(), self.verticalHeader()):
            header.viewport().installEventFilter(self)
        self._labels: dict[str, tuple[QStaticText, int]] = {}
        self._labels_font = self.font()

    def similarity_model(self) -> SimilarityModel:
        """The model this table shows."""
        return self._model

    def set_matrix(
        self,
        texts: Sequence[str],
        similarity: np.ndarray | None,
        shade_range: tuple[float, float] = (-1.0, 1.0),
    ) -> None:
        """See :meth:`SimilarityModel.set_matrix`."""
        self._model.set_matrix(texts, similarity, shade_range)

    def show_pair(self, row: int, column: int) -> None:
        """Select the cell at (``row``, ``column``) and scroll it into the middle of the view."""
        index = self._model.index(row, column)
        if not index.isValid():
            return
        self.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect
        )
        self.scrollTo(index, QAbstractItemView.ScrollHint.PositionAtCenter)

    def _clicked(self, index: QModelIndex) -> None:
        if index.isValid():
            self.pair_chosen.emit(index.row(), index.column())

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """A header section's tooltip is its text."""
        if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent):
            for header in (self.horizontalHeader(), self.verticalHeader()):
                if watched is header.viewport():
                    position = event.pos()
                    along = position.x() if header is self.horizontalHeader() else position.y()
                    text = self._model.header_tooltip(header.logicalIndexAt(along))
                    if text:
                        QToolTip.showText(event.globalPos(), text, header)
                    else:
                        QToolTip.hideText()
                    return True
        return super().eventFilter(watched, event)

    def paintEvent(self, event: QPaintEvent) -> None:
        """Paint the visible cells at once: their shades as one image, then their values.

        Qt's own item painting asks the model a dozen roles per cell and styles each one: about
        60 ms for a pane full of cells, every repaint. This draws the same cells in a few ms.
        """
        matrix = self._model.matrix
        if matrix is None or not len(matrix):
            super().paintEvent(event)
            return
        viewport = self.viewport()
        columns = self.horizontalHeader()
        rows = self.verticalHeader()
        count = len(matrix)
        first_column = max(columns.logicalIndexAt(0), 0)
        first_row = max(rows.logicalIndexAt(0), 0)
        last_column = columns.logicalIndexAt(viewport.width() - 1)
        last_row = rows.logicalIndexAt(viewport.height() - 1)
        last_column = count - 1 if last_column < 0 else last_column
        last_row = count - 1 if last_row < 0 else last_row
        block = matrix[first_row : last_row + 1, first_column : last_column + 1]
        shades = shades_of(block, self._model.shade_range)
        left = columns.sectionViewportPosition(first_column)
        top = rows.sectionViewportPosition(first_row)
        cell_width, cell_height = self.CELL_WIDTH, self.CELL_HEIGHT
        painter = QPainter(viewport)
        # The shades, one block per cell with its grid line, as one image drawn unscaled.
        cells = np.minimum(shades, _GRID - 1)
        blocks = np.repeat(np.repeat(cells, cell_height, axis=0), cell_width, axis=1)
        blocks[cell_height - 1 :: cell_height, :] = _GRID
        blocks[:, cell_width - 1 :: cell_width] = _GRID
        image = QImage(blocks.data, blocks.shape[1], blocks.shape[0], blocks.shape[1], _INDEXED)
        grid = self.palette().color(QPalette.ColorRole.Base).rgb()
        image.setColorTable([*_COLOR_TABLE[:_GRID], grid])
        painter.drawImage(QPoint(left, top), image)
        labels = self._labels
        if self._labels_font != self.font():
            labels.clear()
            self._labels_font = self.font()
        metrics = self.fontMetrics()
        baseline = (cell_height - 1 + metrics.ascent() - metrics.descent()) // 2 - metrics.ascent()
        light = _LIGHT_TEXT[shades]
        for pen, on in ((QColor(255, 255, 255), light), (QColor(0, 0, 0), ~light)):
            painter.setPen(pen)
            where = np.nonzero(on)
            for row, column, value in zip(*where, block[where].tolist(), strict=True):
                text = f"{value:.2f}"
                label = labels.get(text)
                if label is None:
                    # Laid out once: a pane shows the same few hundred strings over and over.
                    label = labels[text] = (QStaticText(text), metrics.horizontalAdvance(text))
                painter.drawStaticText(
                    left + int(column) * cell_width + (cell_width - 1 - label[1]) // 2,
                    top + int(row) * cell_height + baseline,
                    label[0],
                )
        current = self.currentIndex()
        if current.isValid():
            rect = self.visualRect(current).adjusted(0, 0, -2, -2)
            painter.setPen(self.palette().color(QPalette.ColorRole.Highlight))
            painter.drawRect(rect)
            painter.drawRect(rect.adjusted(1, 1, -1, -1))
        painter.end()


@functools.cache
def _legend_image() -> QImage:
    """The palette low to high as a 256×1 image, stretched into the legend strip."""
    strip = np.arange(256, dtype=np.uint8).reshape(1, 256)
    image = QImage(strip.data, 256, 1, 256, _INDEXED)
    image.setColorTable(_COLOR_TABLE)
    # The conversion copies, so the image outlives ``strip``.
    return image.convertToFormat(QImage.Format.Format_RGB32)


def _hint(painter: QPainter, widget: QWidget, text: str) -> None:
    painter.setPen(widget.palette().color(QPalette.ColorRole.PlaceholderText))
    painter.drawText(widget.rect(), int(Qt.AlignmentFlag.AlignCenter), text)


class Heatmap(QWidget):
    """The whole similarity matrix as one square image with a legend (``similarityHeatmap``).

    Signals:
        pair_chosen(int, int): the user clicked the cell at (row, column).
    """

    pair_chosen = Signal(int, int)

    _MARGIN = 4
    _BAR = 8
    _GAP = 3

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("similarityHeatmap")
        self._count = 0
        self._shades: np.ndarray | None = None
        self._image: QImage | None = None
        self._texts: tuple[str, ...] = ()
        self._similarity: np.ndarray | None = None
        self._range: tuple[float, float] = (-1.0, 1.0)
        self._pixmap: QPixmap | None = None
        self._pixmap_key: tuple[int, float] = (0, 0.0)
        self._pressed: tuple[int, int] | None = None

    # -- public --------------------------------------------------------------------------------

    def set_shades(
        self,
        shades: np.ndarray | None,
        texts: Sequence[str] = (),
        shade_range: tuple[float, float] = (-1.0, 1.0),
        similarity: np.ndarray | None = None,
    ) -> None:
        """Show ``shades``, an (n, n) uint8 array of palette indices; None (or 0×0) clears.

        Args:
            shades: Palette indices (see :func:`shades_of`); kept, not copied, and turned into
                an image once.
            texts: The n texts, for tooltips.
            shade_range: The values that index 0 and 255 stand for, shown in the legend.
            similarity: The (n, n) values, for tooltips; kept, not copied.
        """
        self._pixmap = None
        self._pressed = None
        if shades is None or np.size(shades) == 0:
            self._count, self._texts, self._similarity = 0, (), None
            self._shades, self._image = None, None
            self._range = (float(shade_range[0]), float(shade_range[1]))
            self.update()
            return
        array = np.asarray(shades)
        if array.dtype != np.uint8:
            raise ValueError(f"shades must be uint8 palette indices, not {array.dtype}")
        count = _square("shades", array)
        _check_texts(texts, count)
        if similarity is not None and np.shape(similarity) != array.shape:
            raise ValueError(f"similarity {np.shape(similarity)} does not match {array.shape}")
        # Turned into an image when first painted: a heatmap on a hidden page costs nothing.
        self._image = None
        self._shades = np.ascontiguousarray(array)
        self._count = count
        self._texts = tuple(texts)
        self._similarity = None if similarity is None else np.asarray(similarity)
        self._range = (float(shade_range[0]), float(shade_range[1]))
        self.update()

    def image_rect(self) -> QRect:
        """Where the matrix is painted (empty when there is none or no room)."""
        if self._shades is None:
            return QRect()
        return self._geometry()[0]

    def cell_at(self, pos: QPoint) -> tuple[int, int] | None:
        """The (row, column) painted at ``pos``, or None outside the matrix."""
        area = self.image_rect()
        if area.isEmpty() or not area.contains(pos):
            return None
        side, count = area.width(), self._count
        row = _cells(pos.y() - area.top(), side, count)
        column = _cells(pos.x() - area.left(), side, count)
        return min(row, count - 1), min(column, count - 1)

    def cell_rect(self, row: int, column: int) -> QRectF:
        """The area cell (``row``, ``column``) covers on screen (empty without a matrix)."""
        area = self.image_rect()
        if area.isEmpty():
            return QRectF()
        cell = area.width() / self._count
        return QRectF(area.left() + column * cell, area.top() + row * cell, cell, cell)

    def tooltip_at(self, pos: QPoint) -> str:
        """The tooltip for ``pos``: the pair under it and their cosine, or "" off the matrix."""
        cell = self.cell_at(pos)
        if cell is None:
            return ""
        row, column = cell
        value = None if self._similarity is None else float(self._similarity[row, column])
        return _pair_tooltip(self._texts, row, column, value)

    # -- Qt ------------------------------------------------------------------------------------

    def sizeHint(self) -> QSize:
        return QSize(200, 200)

    def minimumSizeHint(self) -> QSize:
        return QSize(120, 120)

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent):
            text = self.tooltip_at(event.pos())
            if text:
                cell = self.cell_at(event.pos())
                assert cell is not None
                # Tied to the cell, so moving to the next cell asks again.
                area = self.cell_rect(*cell).toAlignedRect()
                QToolTip.showText(event.globalPos(), text, self, area)
            else:
                QToolTip.hideText()
                event.ignore()
            return True
        return super().event(event)

    def resizeEvent(self, event: QResizeEvent) -> None:
        self._pixmap = None
        super().resizeEvent(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._pressed = self.cell_at(event.position().toPoint())
        super().mousePressEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            cell = self.cell_at(event.position().toPoint())
            # A click is a press and release on the same cell, as in a table view.
            if cell is not None and cell == self._pressed:
                self.pair_chosen.emit(*cell)
            self._pressed = None
        super().mouseReleaseEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        if self._shades is None:
            _hint(painter, self, "No matrix yet")
            return
        area, bar = self._geometry()
        if area.isEmpty():
            return
        painter.drawPixmap(area.topLeft(), self._scaled(area.width()))
        painter.drawImage(QRectF(bar), _legend_image())
        self._paint_legend_text(painter, bar)

    # -- private -------------------------------------------------------------------------------

    def _geometry(self) -> tuple[QRect, QRect]:
        """The matrix square and the legend strip under it, centred together."""
        area = self.rect().adjusted(self._MARGIN, self._MARGIN, -self._MARGIN, -self._MARGIN)
        legend = self._GAP + self._BAR + 1 + self.fontMetrics().height()
        side = max(0, min(area.width(), area.height() - legend))
        left = area.left() + (area.width() - side) // 2
        top = area.top() + (area.height() - side - legend) // 2
        return (
            QRect(left, top, side, side),
            QRect(left, top + side + self._GAP, side, self._BAR),
        )

    def _scaled(self, side: int) -> QPixmap:
        """The matrix at ``side`` logical pixels, scaled once per size and kept."""
        assert self._shades is not None
        if self._image is None:
            count = self._count
            indexed = QImage(self._shades.data, count, count, count, _INDEXED)
            indexed.setColorTable(_COLOR_TABLE)
            # One conversion in C++ gives an image that owns its pixels.
            self._image = indexed.convertToFormat(QImage.Format.Format_RGB32)
        ratio = self.devicePixelRatioF()
        key = (side, ratio)
        if self._pixmap is None or self._pixmap_key != key:
            physical = max(1, round(side * ratio))
            if physical >= self._count:
                # Enlarged, cells stay crisp squares. Picking the rows and columns with numpy
                # (rather than Qt's FastTransformation, whose fixed-point rounding differs by a
                # pixel at some edges) makes every pixel show exactly the cell cell_at names.
                picks = _cells(np.arange(physical), physical, self._count)
                grid = np.ascontiguousarray(self._shades[np.ix_(picks, picks)])
                indexed = QImage(grid.data, physical, physical, physical, _INDEXED)
                indexed.setColorTable(_COLOR_TABLE)
                scaled = indexed.convertToFormat(QImage.Format.Format_RGB32)
            else:
                # Shrunk, neighbours are averaged rather than dropped, so a lone outlier still
                # tints its pixel.
                scaled = self._image.scaled(
                    physical,
                    physical,
                    Qt.AspectRatioMode.IgnoreAspectRatio,
                    Qt.TransformationMode.SmoothTransformation,
                )
            pixmap = QPixmap.fromImage(scaled)
            pixmap.setDevicePixelRatio(ratio)
            self._pixmap, self._pixmap_key = pixmap, key
        return self._pixmap

    def _paint_legend_text(self, painter: QPainter, bar: QRect) -> None:
        metrics = self.fontMetrics()
        low, high = (f"{value:.2f}" for value in self._range)
        if metrics.horizontalAdvance(f"{low}  {high}") > bar.width():
            return
        text = QRect(bar.left(), bar.bottom() + 2, bar.width(), metrics.height())
        painter.setPen(self.palette().color(QPalette.ColorRole.WindowText))
        top = Qt.AlignmentFlag.AlignTop
        painter.drawText(text, int(Qt.AlignmentFlag.AlignLeft | top), low)
        painter.drawText(text, int(Qt.AlignmentFlag.AlignRight | top), high)
        if metrics.horizontalAdvance(f"{low}  cosine  {high}") <= bar.width():
            painter.drawText(text, int(Qt.AlignmentFlag.AlignHCenter | top), "cosine")


class ScatterMap(QWidget):
    """The texts as dots on their first two principal components (``embeddingMap``).

    Signals:
        point_chosen(int): the user clicked the dot of this text.
    """

    point_chosen = Signal(int)

    # Teal from the middle of the palette: readable on light and dark backgrounds alike.
    DOT_COLOR = QColor(0x21, 0x91, 0x8C, 210)
    QUERY_COLOR = QColor(0xE4, 0x57, 0x2E)
    _MARGIN_LEFT = 22
    _MARGIN_BOTTOM = 20
    _MARGIN = 12
    _LABELLED = 30

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("embeddingMap")
        self._points: np.ndarray | None = None
        self._texts: tuple[str, ...] = ()
        self._query: tuple[float, float] | None = None
        self._highlight: int | None = None
        self._screen = np.empty((0, 2))
        self._polygon: QPolygonF | None = QPolygonF()
        self._query_screen: QPointF | None = None
        self._pressed: int | None = None

    # -- public --------------------------------------------------------------------------------

    def set_points(
        self,
        points: np.ndarray | None,
        texts: Sequence[str] = (),
        query: tuple[float, float] | None = None,
    ) -> None:
        """Show ``points`` (n, 2) for ``texts``, with ``query`` as its own marker; None clears.

        Clears :meth:`highlight`, whose index belonged to the old points.
        """
        self._highlight = None
        self._pressed = None
        if points is None:
            self._points, self._texts, self._query = None, (), None
        else:
            array = np.asarray(points, dtype=np.float64)
            if array.ndim != 2 or array.shape[1] != 2:
                raise ValueError(f"points must be an (n, 2) array, not {array.shape}")
            if not np.isfinite(array).all():
                raise ValueError("points must be finite")
            _check_texts(texts, len(array))
            self._points, self._texts = array, tuple(texts)
            self._query = None if query is None else (float(query[0]), float(query[1]))
        self._relayout()
        self.update()

    def highlight(self, index: int | None) -> None:
        """Ring the dot of text ``index``; None removes the ring."""
        count = 0 if self._points is None else len(self._points)
        if index is not None and not 0 <= index < count:
            raise IndexError(f"no point {index} among {count}")
        self._highlight = index
        self.update()

    def position_of(self, index: int) -> QPointF:
        """Where the dot of text ``index`` is painted."""
        x, y = self._screen[index]
        return QPointF(float(x), float(y))

    def point_at(self, pos: QPoint) -> int | None:
        """The text whose dot is nearest ``pos`` within 12 px, or None."""
        if not len(self._screen):
            return None
        offsets = self._screen - (pos.x(), pos.y())
        distances = np.einsum("ij,ij->i", offsets, offsets)
        nearest = int(np.argmin(distances))
        return nearest if distances[nearest] <= _NEAR_PX * _NEAR_PX else None

    def tooltip_at(self, pos: QPoint) -> str:
        """The tooltip for ``pos``: the nearest text ("#i  text"), "query", or ""."""
        index = self.point_at(pos)
        if self._query_screen is not None:
            to_query = QPointF(pos) - self._query_screen
            query_distance = QPointF.dotProduct(to_query, to_query)
            nearest = math.inf
            if index is not None:
                to_point = QPointF(pos) - self.position_of(index)
                nearest = QPointF.dotProduct(to_point, to_point)
            if query_distance <= _NEAR_PX * _NEAR_PX and query_distance < nearest:
                return "query"
        return "" if index is None else _numbered(self._texts, index)

    # -- Qt ------------------------------------------------------------------------------------

    def sizeHint(self) -> QSize:
        return QSize(200, 200)

    def minimumSizeHint(self) -> QSize:
        return QSize(120, 120)

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent):
            text = self.tooltip_at(event.pos())
            if text:
                QToolTip.showText(event.globalPos(), text, self)
            else:
                QToolTip.hideText()
                event.ignore()
            return True
        return super().event(event)

    def resizeEvent(self, event: QResizeEvent) -> None:
        self._relayout()
        super().resizeEvent(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._pressed = self.point_at(event.position().toPoint())
        super().mousePressEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            index = self.point_at(event.position().toPoint())
            if index is not None and index == self._pressed:
                self.point_chosen.emit(index)
            self._pressed = None
        super().mouseReleaseEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        if self._points is None:
            _hint(painter, self, "No map yet")
            return
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        self._paint_axes(painter)
        count = len(self._points)
        dot = 7 if count <= 200 else 5 if count <= 1000 else 4
        pen = QPen(self.DOT_COLOR, dot)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        painter.setPen(pen)
        if self._polygon is None:
            # Built when first painted: a map on a hidden page costs nothing.
            self._polygon = QPolygonF([QPointF(x, y) for x, y in self._screen.tolist()])
        painter.drawPoints(self._polygon)
        if count <= self._LABELLED:
            self._paint_labels(painter, dot)
        if self._query_screen is not None:
            self._paint_query(painter)
        if self._highlight is not None:
            ring = QPen(self.palette().color(QPalette.ColorRole.Highlight), 2)
            painter.setPen(ring)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawEllipse(self.position_of(self._highlight), dot + 2, dot + 2)

    # -- private -------------------------------------------------------------------------------

    def _plot_rect(self) -> QRectF:
        return QRectF(self.rect()).adjusted(
            self._MARGIN_LEFT, self._MARGIN, -self._MARGIN, -self._MARGIN_BOTTOM
        )

    def _relayout(self) -> None:
        """Map the points to screen coordinates once, so painting and hit tests only read."""
        self._query_screen = None
        if self._points is None or not len(self._points):
            self._screen = np.empty((0, 2))
            self._polygon = QPolygonF()
            return
        extent = self._points
        if self._query is not None:
            extent = np.vstack([extent, np.array(self._query)])
        low, high = extent.min(axis=0), extent.max(axis=0)
        span = high - low
        # A flat axis borrows the other's span (or 1), so one point or a line sits centred.
        fallback = span.max() if span.max() > 0 else 1.0
        span = np.where(span > 0, span, fallback)
        plot = self._plot_rect()
        # One scale for both axes: distances on the map mean the same either way.
        scale = max(0.0, min(plot.width() / span[0], plot.height() / span[1]))
        middle = (low + high) / 2
        centre = plot.center()
        offset = np.array([centre.x(), centre.y()])
        flip = np.array([scale, -scale])  # PC 2 grows upwards
        self._screen = offset + (self._points - middle) * flip
        self._polygon = None
        if self._query is not None:
            qx, qy = offset + (np.array(self._query) - middle) * flip
            self._query_screen = QPointF(float(qx), float(qy))

    def _paint_axes(self, painter: QPainter) -> None:
        faint = QColor(self.palette().color(QPalette.ColorRole.WindowText))
        faint.setAlpha(110)
        painter.setPen(faint)
        height = self.fontMetrics().height()
        bottom = QRectF(0, self.height() - height - 2, self.width(), height)
        painter.drawText(bottom, int(Qt.AlignmentFlag.AlignCenter), "PC 1")
        painter.save()
        painter.translate(2, self.height() / 2)
        painter.rotate(-90)
        painter.drawText(
            QRectF(-self.height() / 2, 0, self.height(), height),
            int(Qt.AlignmentFlag.AlignCenter),
            "PC 2",
        )
        painter.restore()

    def _paint_labels(self, painter: QPainter, dot: int) -> None:
        painter.setPen(self.palette().color(QPalette.ColorRole.WindowText))
        metrics = self.fontMetrics()
        taken: list[QRectF] = []
        for index, (x, y) in enumerate(self._screen.tolist()):
            number = str(index + 1)
            text = number
            if index < len(self._texts):
                text = f"{number} {_short(self._texts[index], _LABEL_CHARS)}"
            # A label that would cover another shrinks to its number (the tooltip has the text).
            for candidate in (text, number):
                width = metrics.horizontalAdvance(candidate)
                # Right of the dot unless that runs off the widget.
                left = x + dot if x + dot + width <= self.width() else x - dot - width
                area = QRectF(left, y - metrics.ascent() / 2 - 1, width, metrics.height())
                if candidate is number or not any(area.intersects(r) for r in taken):
                    break
            taken.append(area)
            painter.drawText(QPointF(left, y + metrics.ascent() / 2 - 1), candidate)

    def _paint_query(self, painter: QPainter) -> None:
        assert self._query_screen is not None
        centre, size = self._query_screen, 6.0
        diamond = QPolygonF(
            [
                centre + QPointF(0, -size),
                centre + QPointF(size, 0),
                centre + QPointF(0, size),
                centre + QPointF(-size, 0),
            ]
        )
        painter.setPen(QPen(self.palette().color(QPalette.ColorRole.WindowText), 1))
        painter.setBrush(self.QUERY_COLOR)
        painter.drawPolygon(diamond)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        metrics = self.fontMetrics()
        width = metrics.horizontalAdvance("query")
        x = centre.x() + size + 3
        if x + width > self.width():
            x = centre.x() - size - 3 - width
        painter.drawText(QPointF(x, centre.y() + metrics.ascent() / 2 - 1), "query")
