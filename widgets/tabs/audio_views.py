"""Passive views of the Audio tab: the drop target, the waveform and the transcript's segments.

The data arrive computed off the UI thread: a waveform comes as about a thousand min/max peaks
however long the file, and a transcript as a list of segments. The waveform turns its peaks into
pixels with numpy once per size and keeps them, so moving the play position only repaints two
thin strips; the segments table asks only for visible cells and finds the playing segment by
binary search.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import (
    QAbstractTableModel,
    QEvent,
    QMimeData,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRect,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import (
    QColor,
    QDragEnterEvent,
    QDragLeaveEvent,
    QDropEvent,
    QFont,
    QFontMetrics,
    QGuiApplication,
    QHelpEvent,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QPen,
    QPixmap,
    QResizeEvent,
    qRgba,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSizePolicy,
    QTableView,
    QToolTip,
    QWidget,
)

__all__ = ["AudioDrop", "SegmentsModel", "SegmentsTable", "WaveformView"]

_HINT = "Drop an audio or video file here"


def _clock(seconds: float, decimals: int = 1) -> str:
    """``seconds`` as m:ss.s (h:mm:ss.s from an hour); ``decimals=0`` gives m:ss or h:mm:ss.

    Rounded to the nearest tenth (or second), ties to even: 7.25 s is "0:07.2". The rounding
    happens before the split into minutes and seconds, so 59.96 s is "1:00.0", never "0:60.0".
    Negative times read as 0; a time that is not finite as dashes.
    """
    if not math.isfinite(seconds):
        return "–:––"
    scale = 10**decimals
    units = round(max(0.0, seconds) * scale)
    whole, fraction = divmod(units, scale)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
    return f"{text}.{fraction:0{decimals}d}" if decimals else text


def _local_files(mime: QMimeData) -> list[Path]:
    if not mime.hasUrls():
        return []
    return [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()]


class AudioDrop(QFrame):
    """Takes dropped audio and video files (the caller names it, e.g. ``audioDrop``).

    Any local file is taken: the presenter decides what it can play and says why not. The tab
    connects :attr:`open_button` (``openAudioButton``) to its file dialog.

    Signals:
        files_dropped(list): the local files, as :class:`pathlib.Path`.
    """

    files_dropped = Signal(list)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAcceptDrops(True)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setProperty("class", "dropZone")
        self.setProperty("dragHover", False)
        self.setToolTip("Drop an audio or video file here, or open one")
        self.hint = QLabel(_HINT)
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hint.setStyleSheet("color: #57606a;")
        self.open_button = QPushButton("Open…")
        self.open_button.setObjectName("openAudioButton")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.addWidget(self.hint, 1)
        layout.addWidget(self.open_button)

    def is_hovered(self) -> bool:
        """Whether a drag of files hovers over the target (it is highlighted)."""
        return bool(self.property("dragHover"))

    def take(self, mime: QMimeData) -> bool:
        """Hand the local files in ``mime`` on (:attr:`files_dropped`); False if it has none."""
        files = _local_files(mime)
        if files:
            self.files_dropped.emit(files)
        return bool(files)

    # -- Qt ------------------------------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        # Refused here, a drag of text or web addresses shows the "no" cursor from the start.
        if _local_files(event.mimeData()):
            event.acceptProposedAction()
            self._set_hovered(True)
        else:
            event.ignore()

    def dragLeaveEvent(self, event: QDragLeaveEvent) -> None:
        self._set_hovered(False)
        super().dragLeaveEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:
        self._set_hovered(False)
        if self.take(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if not self.is_hovered():
            return
        # Drawn here as well as exposed to the style sheet (``dragHover``), so the target lights
        # up under any theme, including one without a rule for it.
        painter = QPainter(self)
        highlight = self.palette().color(QPalette.ColorRole.Highlight)
        wash = QColor(highlight)
        wash.setAlpha(40)
        painter.fillRect(self.rect(), wash)
        painter.setPen(QPen(highlight, 2))
        painter.drawRect(self.rect().adjusted(1, 1, -1, -1))

    # -- private -------------------------------------------------------------------------------

    def _set_hovered(self, hovered: bool) -> None:
        if self.is_hovered() == hovered:
            return
        self.setProperty("dragHover", hovered)
        self.style().unpolish(self)
        self.style().polish(self)
        self.update()


class WaveformView(QWidget):
    """A file's waveform with the play position and the transcript's segments as bands.

    Time runs linearly over the whole width: x = 0 is the start, the last pixel column the end.
    The caller names it (``waveform``).

    Signals:
        seek_requested(float): the user clicked the time (seconds) under the cursor.
    """

    seek_requested = Signal(float)

    # Teal from the embeddings palette and an orange marker: both readable on light and dark.
    WAVE_COLOR = QColor(0x21, 0x91, 0x8C)
    MARKER_COLOR = QColor(0xE4, 0x57, 0x2E)
    _PAD = 2
    _MARKER_WIDTH = 2

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self._peaks: np.ndarray | None = None
        self._duration = 0.0
        self._position: float | None = None
        self._regions = np.empty((0, 2))
        self._active: int | None = None
        self._pixmap: QPixmap | None = None
        self._pixmap_key: tuple[int, int, float] = (0, 0, 0.0)

    # -- public --------------------------------------------------------------------------------

    def set_peaks(self, peaks: np.ndarray | None, duration_s: float = 0.0) -> None:
        """Show ``peaks``, an (n, 2) array of min/max in [-1, 1] over ``duration_s`` seconds.

        None (or no peaks) clears the view, which then shows a hint. Values are clipped to
        [-1, 1] and NaN is read as silence. The play position and the regions are kept: they
        are in seconds, not in peaks.

        Raises:
            ValueError: ``peaks`` is not an (n, 2) array.
        """
        self._pixmap = None
        if peaks is None or np.size(peaks) == 0:
            self._peaks, self._duration = None, 0.0
            self.update()
            return
        array = np.asarray(peaks, dtype=np.float32)
        if array.ndim != 2 or array.shape[1] != 2:
            raise ValueError(f"peaks must be an (n, 2) array, not {array.shape}")
        array = np.clip(np.nan_to_num(array, nan=0.0), -1.0, 1.0)
        # Ordered per row, so a swapped pair still draws its span.
        self._peaks = np.ascontiguousarray(np.sort(array, axis=1))
        self._duration = max(0.0, float(duration_s)) if math.isfinite(duration_s) else 0.0
        self.update()

    @property
    def duration(self) -> float:
        """The length of the shown audio in seconds (0 without audio)."""
        return self._duration

    def set_position(self, seconds: float | None) -> None:
        """Mark the play position at ``seconds``; None hides the marker."""
        old = self._marker_x()
        self._position = None if seconds is None else float(seconds)
        new = self._marker_x()
        if old == new:
            return
        # Only the two strips: the envelope under them comes from the cached pixmap.
        for x in (old, new):
            if x is not None:
                self.update(self._marker_strip(x))

    @property
    def position(self) -> float | None:
        """The marked play position in seconds (None when hidden)."""
        return self._position

    def set_regions(self, regions: Sequence[tuple[float, float]]) -> None:
        """Shade the spans (start, end) in seconds, e.g. the transcript's segments.

        Clears :meth:`set_active_region`, whose index belonged to the old regions.
        """
        array = np.asarray(regions, dtype=np.float64).reshape(-1, 2)
        self._regions = np.sort(array, axis=1)
        self._active = None
        self.update()

    def set_active_region(self, index: int | None) -> None:
        """Highlight region ``index`` (e.g. the playing segment); None highlights none.

        Raises:
            IndexError: there is no region ``index``.
        """
        if index is not None and not 0 <= index < len(self._regions):
            raise IndexError(f"no region {index} among {len(self._regions)}")
        if index == self._active:
            return
        for old_or_new in (self._active, index):
            if old_or_new is not None:
                self.update(self._region_rect(old_or_new).adjusted(-1, 0, 1, 0))
        self._active = index

    @property
    def active_region(self) -> int | None:
        """The highlighted region (None when none is)."""
        return self._active

    def time_at(self, x: float) -> float:
        """The time in seconds that pixel column ``x`` shows (clamped to the audio)."""
        last = self.width() - 1
        if self._duration <= 0 or last <= 0:
            return 0.0
        return min(max(x, 0), last) / last * self._duration

    def x_of(self, seconds: float) -> int:
        """The pixel column that shows ``seconds`` (clamped to the widget)."""
        last = self.width() - 1
        if self._duration <= 0 or last <= 0:
            return 0
        return round(min(max(seconds / self._duration, 0.0), 1.0) * last)

    def tooltip_at(self, x: float) -> str:
        """The tooltip at column ``x``: the time there as m:ss.s ("" without audio)."""
        if self._peaks is None or self._duration <= 0:
            return ""
        return _clock(self.time_at(x))

    def wave_rect(self) -> QRect:
        """Where the envelope is painted: the widget above the strip of time labels."""
        bottom = self.height() - self._label_metrics().height() - self._PAD
        return QRect(0, self._PAD, self.width(), max(0, bottom - self._PAD))

    # -- Qt ------------------------------------------------------------------------------------

    def sizeHint(self) -> QSize:
        return QSize(400, 70)

    def minimumSizeHint(self) -> QSize:
        return QSize(100, 50)

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent):
            x = event.pos().x()
            text = self.tooltip_at(x)
            if text:
                # Tied to the column, so moving along the waveform asks again.
                QToolTip.showText(event.globalPos(), text, self, QRect(x, 0, 1, self.height()))
            else:
                QToolTip.hideText()
                event.ignore()
            return True
        return super().event(event)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.FontChange):
            self._pixmap = None
        super().changeEvent(event)

    def resizeEvent(self, event: QResizeEvent) -> None:
        self._pixmap = None
        super().resizeEvent(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if (
            event.button() == Qt.MouseButton.LeftButton
            and self._peaks is not None
            and self._duration > 0
        ):
            self.seek_requested.emit(self.time_at(math.floor(event.position().x())))
            event.accept()
            return
        super().mousePressEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        palette = self.palette()
        painter.fillRect(event.rect(), palette.color(QPalette.ColorRole.Base))
        if self._peaks is None:
            painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(self.rect(), int(Qt.AlignmentFlag.AlignCenter), "No audio yet")
            return
        wave = self.wave_rect()
        if wave.isEmpty():
            return
        self._paint_regions(painter, event.rect(), wave)
        painter.drawPixmap(wave.topLeft(), self._envelope(wave.size()))
        if (x := self._marker_x()) is not None:
            painter.fillRect(self._marker_rect(x, wave), self.MARKER_COLOR)
        self._paint_labels(painter)

    # -- private -------------------------------------------------------------------------------

    def _label_font(self) -> QFont:
        font = QFont(self.font())
        if font.pointSizeF() > 0:
            font.setPointSizeF(max(6.0, font.pointSizeF() * 0.85))
        else:
            font.setPixelSize(max(8, round(font.pixelSize() * 0.85)))
        return font

    def _label_metrics(self) -> QFontMetrics:
        return QFontMetrics(self._label_font())

    def _marker_x(self) -> int | None:
        if self._position is None or self._peaks is None or self._duration <= 0:
            return None
        return self.x_of(self._position)

    def _marker_rect(self, x: int, wave: QRect) -> QRect:
        # Kept whole at the right edge, so the end of playback still shows a full marker.
        left = max(0, min(x, self.width() - self._MARKER_WIDTH))
        return QRect(left, wave.top(), self._MARKER_WIDTH, wave.height())

    def _marker_strip(self, x: int) -> QRect:
        return QRect(x - 2, 0, self._MARKER_WIDTH + 4, self.height())

    def _region_xs(self, regions: np.ndarray) -> np.ndarray:
        """The (k, 2) first and past-the-end pixel columns of ``regions``, at least 1 px wide."""
        last = self.width() - 1
        if self._duration <= 0 or last <= 0:
            return np.zeros((len(regions), 2), dtype=np.int64)
        xs = np.rint(np.clip(regions / self._duration, 0.0, 1.0) * last).astype(np.int64)
        xs[:, 1] = np.maximum(xs[:, 1], xs[:, 0] + 1)
        return xs

    def _region_rect(self, index: int) -> QRect:
        left, end = self._region_xs(self._regions[index : index + 1])[0].tolist()
        return QRect(left, 0, end - left, self.height())

    def _paint_regions(self, painter: QPainter, exposed: QRect, wave: QRect) -> None:
        if not len(self._regions) or self._duration <= 0:
            return
        xs = self._region_xs(self._regions)
        # An hour of speech has hundreds of segments; a marker strip meets one or two of them.
        visible = np.nonzero((xs[:, 1] > exposed.left()) & (xs[:, 0] <= exposed.right()))[0]
        faint = QColor(self.palette().color(QPalette.ColorRole.WindowText))
        even, odd = QColor(faint), QColor(faint)
        # Alternating shades keep neighbouring segments apart where they touch.
        even.setAlpha(18)
        odd.setAlpha(32)
        active = QColor(self.palette().color(QPalette.ColorRole.Highlight))
        active.setAlpha(80)
        for index in visible.tolist():
            left, end = xs[index].tolist()
            color = active if index == self._active else odd if index % 2 else even
            painter.fillRect(QRect(left, wave.top(), end - left, wave.height()), color)

    def _envelope(self, size: QSize) -> QPixmap:
        """The envelope at ``size`` (logical pixels) on a transparent ground, made once per size."""
        ratio = self.devicePixelRatioF()
        key = (size.width(), size.height(), ratio)
        if self._pixmap is None or self._pixmap_key != key:
            width = max(1, round(size.width() * ratio))
            height = max(1, round(size.height() * ratio))
            assert self._peaks is not None
            pixmap = QPixmap.fromImage(self._render(self._peaks, width, height))
            pixmap.setDevicePixelRatio(ratio)
            self._pixmap, self._pixmap_key = pixmap, key
        return self._pixmap

    def _render(self, peaks: np.ndarray, width: int, height: int) -> QImage:
        """``peaks`` as a ``width`` × ``height`` image: one vertical span of ink per column."""
        count = len(peaks)
        if count >= width:
            # Reduced: each column covers its share of peaks and spans their extremes, so a
            # single loud peak still reaches its column.
            starts = np.arange(width) * count // width
            low = np.minimum.reduceat(peaks[:, 0], starts)
            high = np.maximum.reduceat(peaks[:, 1], starts)
        else:
            # Stretched: each column shows the peak under its centre.
            picks = (2 * np.arange(width) + 1) * count // (2 * width)
            low, high = peaks[picks, 0], peaks[picks, 1]
        half = (height - 1) / 2
        top = np.rint(half * (1.0 - high))
        bottom = np.rint(half * (1.0 - low))
        rows = np.arange(height)[:, None]
        # Silence still draws its centre row, so the file's extent stays visible.
        ink = ((rows >= top) & (rows <= bottom)).astype(np.uint8)
        image = QImage(ink.data, width, height, width, QImage.Format.Format_Indexed8)
        image.setColorTable([qRgba(0, 0, 0, 0), self.WAVE_COLOR.rgba()])
        # The conversion copies, so the image outlives ``ink``.
        return image.convertToFormat(QImage.Format.Format_ARGB32_Premultiplied)

    def _paint_labels(self, painter: QPainter) -> None:
        font = self._label_font()
        metrics = QFontMetrics(font)
        strip = QRect(2, self.height() - metrics.height(), self.width() - 4, metrics.height())
        start, end = "0:00", _clock(self._duration, 0)
        if metrics.horizontalAdvance(f"{start}  {end}") > strip.width():
            return
        painter.setFont(font)
        faint = QColor(self.palette().color(QPalette.ColorRole.WindowText))
        faint.setAlpha(150)
        painter.setPen(faint)
        middle = Qt.AlignmentFlag.AlignVCenter
        painter.drawText(strip, int(Qt.AlignmentFlag.AlignLeft | middle), start)
        painter.drawText(strip, int(Qt.AlignmentFlag.AlignRight | middle), end)


def _segment(raw: Any) -> tuple[float, float, str, str | None]:
    """(start, end, text, speaker) of a segment given as an object or a tuple."""
    if hasattr(raw, "start"):
        start, end, text = raw.start, raw.end, raw.text
        speaker = getattr(raw, "speaker", None)
    else:
        start, end, text, *rest = raw
        speaker = rest[0] if rest else None
    start, end = float(start), float(end)
    return start, max(start, end), str(text), None if speaker in (None, "") else str(speaker)


_HEADERS = ("Start", "End", "Text", "Speaker")
_TEXT = 2
_ROLES = frozenset(
    {
        Qt.ItemDataRole.DisplayRole,
        Qt.ItemDataRole.UserRole,
        Qt.ItemDataRole.ToolTipRole,
        Qt.ItemDataRole.TextAlignmentRole,
        Qt.ItemDataRole.BackgroundRole,
        Qt.ItemDataRole.FontRole,
    }
)


def _timed_words(raw: Any) -> str:
    """A segment's words with their start times ("" when it has none)."""
    words = getattr(raw, "words", ()) or ()
    return "  ".join(f"{_clock(float(w.start))} {w.word.strip()}" for w in words)


class SegmentsModel(QAbstractTableModel):
    """A transcript's segments as a read-only table: Start, End, Text and, if any, Speaker.

    A segment is an object with ``start``, ``end`` (seconds), ``text`` and optionally
    ``speaker``, or a tuple (start, end, text[, speaker]).

    Roles: DisplayRole the times as m:ss.s and the text as given, UserRole the times as float
    seconds, ToolTipRole the whole text (and each word's time, when the segment has ``words``,
    as timestamp granularity "word" brings them), and for the playing row (:meth:`set_active`)
    a soft highlight as BackgroundRole and bold as FontRole.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[tuple[float, float, str, str | None]] = []
        self._words: list[str] = []
        self._columns = 3
        self._starts: list[float] = []
        self._order: list[int] = []
        self._active: int | None = None
        self._bold: QFont | None = None

    # -- public --------------------------------------------------------------------------------

    def set_segments(self, segments: Sequence[Any]) -> None:
        """Show ``segments`` in the order given; clears :meth:`set_active`."""
        self.beginResetModel()
        try:
            self._rows = [_segment(raw) for raw in segments]
            self._words = [_timed_words(raw) for raw in segments]
            has_speaker = any(row[3] is not None for row in self._rows)
            self._columns = 4 if has_speaker else 3
            # Searched by start; sorted stably so rows given out of order are still found.
            self._order = sorted(range(len(self._rows)), key=lambda row: self._rows[row][0])
            self._starts = [self._rows[row][0] for row in self._order]
            self._active = None
        finally:
            self.endResetModel()

    def set_active(self, row: int | None) -> None:
        """Highlight ``row`` as the playing segment; None highlights none.

        Raises:
            IndexError: there is no row ``row``.
        """
        if row is not None and not 0 <= row < len(self._rows):
            raise IndexError(f"no segment {row} among {len(self._rows)}")
        if row == self._active:
            return
        old, self._active = self._active, row
        for changed in (old, row):
            if changed is not None:
                self.dataChanged.emit(
                    self.index(changed, 0),
                    self.index(changed, self._columns - 1),
                    [Qt.ItemDataRole.BackgroundRole, Qt.ItemDataRole.FontRole],
                )

    @property
    def active(self) -> int | None:
        """The highlighted row (None when none is)."""
        return self._active

    def row_at_time(self, seconds: float) -> int | None:
        """The row whose segment contains ``seconds`` (start ≤ t < end), or None between them.

        Where segments overlap, the one that started last wins.
        """
        at = bisect.bisect_right(self._starts, seconds) - 1
        if at < 0:
            return None
        row = self._order[at]
        start, end = self._rows[row][:2]
        return row if start <= seconds < end else None

    # -- Qt ------------------------------------------------------------------------------------

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex | None = None) -> int:
        if parent is not None and parent.isValid():
            return 0
        return len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex | None = None) -> int:
        if parent is not None and parent.isValid():
            return 0
        return self._columns

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if not index.isValid() or role not in _ROLES:
            return None
        row, column = index.row(), index.column()
        if not (0 <= row < len(self._rows) and 0 <= column < self._columns):
            return None
        segment = self._rows[row]
        if role == Qt.ItemDataRole.DisplayRole:
            value = segment[column]
            return _clock(value) if isinstance(value, float) else value
        if role == Qt.ItemDataRole.UserRole:
            return segment[column] if column < _TEXT else None
        if role == Qt.ItemDataRole.ToolTipRole:
            if column != _TEXT:
                return None
            words = self._words[index.row()]
            return f"{segment[_TEXT]}\n\n{words}" if words else segment[_TEXT]
        if role == Qt.ItemDataRole.TextAlignmentRole:
            if column < _TEXT:
                return Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
            return None
        if row != self._active:
            return None
        if role == Qt.ItemDataRole.BackgroundRole:
            # The application's palette, read each time, follows a change of theme.
            color = QColor(QGuiApplication.palette().color(QPalette.ColorRole.Highlight))
            color.setAlpha(60)
            return color
        if self._bold is None:
            # Only bold is set, so the view keeps its own family and size.
            self._bold = QFont()
            self._bold.setBold(True)
        return self._bold

    def headerData(
        self,
        section: int,
        orientation: Qt.Orientation,
        role: int = Qt.ItemDataRole.DisplayRole,
    ) -> Any:
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal:
            return _HEADERS[section] if 0 <= section < self._columns else None
        return str(section + 1)

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable


class SegmentsTable(QTableView):
    """A transcript's segments, one compact row each; the playing one highlighted.

    The caller names it (``segments``).

    Signals:
        segment_chosen(int): the user clicked a row, or pressed Enter on it.
    """

    segment_chosen = Signal(int)

    TIME_WIDTH = 64
    SPEAKER_WIDTH = 96
    ROW_HEIGHT = 22

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._model = SegmentsModel(self)
        self.setModel(self._model)
        rows = self.verticalHeader()
        # The style's minimum can exceed 22 px and would silently win over the default.
        rows.setMinimumSectionSize(min(self.ROW_HEIGHT, 16))
        rows.setDefaultSectionSize(self.ROW_HEIGHT)
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        rows.hide()
        columns = self.horizontalHeader()
        columns.setStretchLastSection(False)
        columns.setHighlightSections(False)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setWordWrap(False)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.clicked.connect(self._clicked)
        # A reset can add or drop the Speaker column, and the header forgets its modes.
        self._model.modelReset.connect(self._fit_columns)
        self._fit_columns()

    def segments_model(self) -> SegmentsModel:
        """The model this table shows."""
        return self._model

    def set_segments(self, segments: Sequence[Any]) -> None:
        """See :meth:`SegmentsModel.set_segments`."""
        self._model.set_segments(segments)

    def follow(self, seconds: float | None) -> None:
        """Highlight the segment playing at ``seconds`` (None: none) and keep it in view.

        Scrolls only when the playing segment changes and is not fully visible, so a user who
        scrolled away to read is not pulled back on every tick; the selection is left alone.
        """
        row = None if seconds is None else self._model.row_at_time(seconds)
        if row == self._model.active:
            return
        self._model.set_active(row)
        if row is None:
            return
        index = self._model.index(row, 0)
        shown = self.visualRect(index)
        if not self.viewport().rect().contains(shown):
            # Centred, the next few segments are in view too.
            self.scrollTo(index, QAbstractItemView.ScrollHint.PositionAtCenter)

    # -- Qt ------------------------------------------------------------------------------------

    def keyPressEvent(self, event: QKeyEvent) -> None:
        # Handled here rather than through ``activated``, which some platforms also emit on a
        # single click and would then choose the segment twice.
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            current = self.currentIndex()
            if current.isValid():
                self.segment_chosen.emit(current.row())
                event.accept()
                return
        super().keyPressEvent(event)

    # -- private -------------------------------------------------------------------------------

    def _clicked(self, index: QModelIndex) -> None:
        if index.isValid():
            self.segment_chosen.emit(index.row())

    def _fit_columns(self) -> None:
        header = self.horizontalHeader()
        for column in range(self._model.columnCount()):
            if column == _TEXT:
                header.setSectionResizeMode(column, QHeaderView.ResizeMode.Stretch)
                continue
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Fixed)
            width = self.TIME_WIDTH if column < _TEXT else self.SPEAKER_WIDTH
            header.resizeSection(column, width)
