"""The Audio views driven with real events and checked by what they paint and report."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QMimeData, QPoint, QPointF, QRect, Qt, QUrl
from PySide6.QtGui import QColor, QDragEnterEvent, QDragLeaveEvent, QDropEvent, QHelpEvent, QImage
from PySide6.QtWidgets import QApplication, QHeaderView, QToolTip

from widgets.tabs.audio_views import (
    AudioDrop,
    SegmentsModel,
    SegmentsTable,
    WaveformView,
    _clock,
)


def _shown(qtbot: Any, widget: Any, width: int = 400, height: int = 80) -> Any:
    qtbot.addWidget(widget)
    widget.resize(width, height)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def _pixels(image: QImage) -> np.ndarray:
    """``image`` as an (h, w) array of 0xAARRGGBB values."""
    image = image.convertToFormat(QImage.Format.Format_ARGB32)
    rows = np.frombuffer(image.constBits(), dtype=np.uint32).reshape(
        image.height(), image.bytesPerLine() // 4
    )
    return rows[:, : image.width()].copy()


def _is(pixels: np.ndarray, color: QColor) -> np.ndarray:
    return (pixels & 0xFFFFFF) == (color.rgb() & 0xFFFFFF)


# -- drop target -------------------------------------------------------------------------------


def _enter(target: AudioDrop, mime: QMimeData) -> QDragEnterEvent:
    event = QDragEnterEvent(
        target.rect().center(),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(target, event)
    return event


def _drop(target: AudioDrop, mime: QMimeData) -> QDropEvent:
    event = QDropEvent(
        QPointF(target.rect().center()),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(target, event)
    return event


@pytest.fixture
def drop(qtbot: Any) -> AudioDrop:
    target = AudioDrop()
    target.setObjectName("audioDrop")
    return _shown(qtbot, target, 360, 60)


def test_drop_takes_local_files(qtbot: Any, drop: AudioDrop, tmp_path: Path) -> None:
    files = [tmp_path / "talk.mp3", tmp_path / "clip.mp4"]
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path)) for path in files])
    enter = _enter(drop, mime)
    assert enter.isAccepted()
    assert drop.is_hovered()
    with qtbot.waitSignal(drop.files_dropped) as blocker:
        dropped = _drop(drop, mime)
    assert dropped.isAccepted()
    assert blocker.args == [files]
    assert all(isinstance(path, Path) for path in blocker.args[0])
    assert not drop.is_hovered()


def test_drop_refuses_text_and_web_addresses(qtbot: Any, drop: AudioDrop) -> None:
    dropped: list[Any] = []
    drop.files_dropped.connect(dropped.append)
    text = QMimeData()
    text.setText("/home/someone/talk.mp3")
    web = QMimeData()
    web.setUrls([QUrl("https://example.com/talk.mp3")])
    for mime in (text, web):
        assert not _enter(drop, mime).isAccepted()
        assert not drop.is_hovered()
        assert not _drop(drop, mime).isAccepted()
        assert not drop.take(mime)
    assert dropped == []


def test_drop_highlight_ends_when_the_drag_leaves(drop: AudioDrop, tmp_path: Path) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(tmp_path / "a.wav"))])
    plain = drop.grab().toImage()
    _enter(drop, mime)
    assert drop.property("dragHover") is True
    assert drop.grab().toImage() != plain
    QApplication.sendEvent(drop, QDragLeaveEvent())
    assert drop.property("dragHover") is False
    assert drop.grab().toImage() == plain


def test_drop_take_serves_paste(qtbot: Any, drop: AudioDrop, tmp_path: Path) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(tmp_path / "a.wav")), QUrl("https://example.com/b")])
    with qtbot.waitSignal(drop.files_dropped) as blocker:
        assert drop.take(mime)
    assert blocker.args == [[tmp_path / "a.wav"]]


def test_drop_shows_hint_and_open_button(drop: AudioDrop) -> None:
    assert drop.hint.text() == "Drop an audio or video file here"
    assert drop.open_button.objectName() == "openAudioButton"
    assert drop.open_button.text() == "Open…"
    assert drop.acceptDrops()


# -- waveform ----------------------------------------------------------------------------------


def _quiet_then_loud(count: int = 1000) -> np.ndarray:
    peaks = np.empty((count, 2), dtype=np.float32)
    half = count // 2
    peaks[:half] = (-0.05, 0.05)
    peaks[half:] = (-0.9, 0.9)
    return peaks


@pytest.fixture
def wave(qtbot: Any) -> WaveformView:
    view = WaveformView()
    view.setObjectName("waveform")
    return _shown(qtbot, view)


def test_waveform_paints_the_envelope(wave: WaveformView) -> None:
    wave.set_peaks(_quiet_then_loud(), 600.0)
    ink = _is(_pixels(wave.grab().toImage()), WaveformView.WAVE_COLOR)
    heights = ink.sum(axis=0)
    width = wave.width()
    left, right = heights[10 : width // 2 - 10], heights[width // 2 + 10 : width - 10]
    assert left.min() >= 1  # quiet still draws its centre line
    assert right.min() > 4 * left.max()
    # Loud ink spans most of the area, centred on its middle.
    area = wave.wave_rect()
    assert right.max() >= 0.8 * area.height()
    rows = np.nonzero(ink[:, width * 3 // 4])[0]
    assert abs((rows.min() + rows.max()) / 2 - area.center().y()) <= 1.5


def test_waveform_shrinks_and_stretches(wave: WaveformView) -> None:
    # More peaks than columns: a lone loud peak still shows in its column.
    peaks = np.zeros((5000, 2), dtype=np.float32)
    peaks[2500] = (-1.0, 1.0)
    wave.set_peaks(peaks, 100.0)
    heights = _is(_pixels(wave.grab().toImage()), WaveformView.WAVE_COLOR).sum(axis=0)
    assert heights.max() >= wave.wave_rect().height() - 1
    assert abs(int(np.argmax(heights)) - wave.x_of(50.0)) <= 1
    # Fewer peaks than columns: two peaks fill the two halves.
    wave.set_peaks(np.array([[0.0, 0.0], [-1.0, 1.0]], dtype=np.float32), 2.0)
    heights = _is(_pixels(wave.grab().toImage()), WaveformView.WAVE_COLOR).sum(axis=0)
    width = wave.width()
    assert heights[: width // 2 - 1].max() <= 1
    assert heights[width // 2 + 1 :].min() >= wave.wave_rect().height() - 1


def test_waveform_maps_time_and_columns(wave: WaveformView) -> None:
    wave.set_peaks(_quiet_then_loud(), 90.0)
    last = wave.width() - 1
    assert wave.time_at(0) == 0.0
    assert wave.time_at(last) == pytest.approx(90.0)
    assert wave.x_of(0.0) == 0 and wave.x_of(90.0) == last
    for x in range(wave.width()):
        assert wave.x_of(wave.time_at(x)) == x
    for seconds in (0.0, 1.5, 33.3, 45.0, 89.99):
        assert abs(wave.time_at(wave.x_of(seconds)) - seconds) <= 90.0 / last / 2 + 1e-9
    assert wave.x_of(-5.0) == 0 and wave.x_of(500.0) == last
    assert wave.time_at(-3) == 0.0 and wave.time_at(last + 50) == pytest.approx(90.0)


def test_waveform_click_requests_a_seek(qtbot: Any, wave: WaveformView) -> None:
    wave.set_peaks(_quiet_then_loud(), 120.0)
    x = 137
    with qtbot.waitSignal(wave.seek_requested) as blocker:
        qtbot.mouseClick(wave, Qt.MouseButton.LeftButton, pos=QPoint(x, wave.height() // 2))
    assert blocker.args == [pytest.approx(wave.time_at(x))]


def test_waveform_without_audio_ignores_clicks(qtbot: Any, wave: WaveformView) -> None:
    seeks: list[float] = []
    wave.seek_requested.connect(seeks.append)
    qtbot.mouseClick(wave, Qt.MouseButton.LeftButton, pos=QPoint(50, 30))
    assert seeks == []


def _marker_columns(wave: WaveformView) -> list[int]:
    marker = _is(_pixels(wave.grab().toImage()), WaveformView.MARKER_COLOR)
    return np.nonzero(marker.any(axis=0))[0].tolist()


def test_waveform_marks_the_position(wave: WaveformView) -> None:
    wave.set_peaks(_quiet_then_loud(), 100.0)
    assert _marker_columns(wave) == []
    wave.set_position(25.0)
    x = wave.x_of(25.0)
    columns = _marker_columns(wave)
    assert x in columns and max(columns) - min(columns) <= 2
    wave.set_position(80.0)
    columns = _marker_columns(wave)
    assert wave.x_of(80.0) in columns and x not in columns
    wave.set_position(100.0)  # the very end stays inside the widget
    assert wave.width() - 1 in _marker_columns(wave)
    wave.set_position(None)
    assert _marker_columns(wave) == []
    assert wave.position is None


def test_waveform_position_repaints_only_two_strips(
    wave: WaveformView, monkeypatch: pytest.MonkeyPatch
) -> None:
    wave.set_peaks(_quiet_then_loud(), 100.0)
    wave.set_position(10.0)
    wave.grab()
    updates: list[Any] = []
    monkeypatch.setattr(wave, "update", lambda *args: updates.append(args))
    renders: list[int] = []
    render = wave._render

    def counted(*args: Any) -> QImage:
        renders.append(1)
        return render(*args)

    monkeypatch.setattr(wave, "_render", counted)
    wave.set_position(60.0)
    assert len(updates) == 2
    rects = [args[0] for args in updates]
    assert all(isinstance(rect, QRect) and rect.width() <= 8 for rect in rects)
    assert rects[0].contains(wave.x_of(10.0), 5)
    assert rects[1].contains(wave.x_of(60.0), 5)
    wave.grab()
    assert renders == []  # the envelope came from the cache
    wave.resize(300, 80)
    wave.grab()
    assert renders == [1]  # a new size draws it again, once


def test_waveform_paints_regions(wave: WaveformView) -> None:
    peaks = np.zeros((1000, 2), dtype=np.float32)
    wave.set_peaks(peaks, 100.0)
    plain = _pixels(wave.grab().toImage())
    wave.set_regions([(10.0, 20.0), (50.0, 60.0)])
    banded = _pixels(wave.grab().toImage())
    row = wave.wave_rect().top() + 2  # above the silent centre line
    inside, outside = wave.x_of(15.0), wave.x_of(35.0)
    assert banded[row, inside] != plain[row, inside]
    assert banded[row, outside] == plain[row, outside]
    wave.set_active_region(1)
    assert wave.active_region == 1
    active = _pixels(wave.grab().toImage())
    second = wave.x_of(55.0)
    assert active[row, second] != banded[row, second]
    assert active[row, inside] == banded[row, inside]
    wave.set_active_region(None)
    assert (_pixels(wave.grab().toImage()) == banded).all()
    with pytest.raises(IndexError):
        wave.set_active_region(2)
    wave.set_regions([])
    assert (_pixels(wave.grab().toImage()) == plain).all()


def test_waveform_clears_to_a_hint(wave: WaveformView) -> None:
    empty = _pixels(wave.grab().toImage())
    assert (empty != empty[0, 0]).any()  # "No audio yet"
    wave.set_peaks(_quiet_then_loud(), 10.0)
    wave.set_position(5.0)
    assert (_pixels(wave.grab().toImage()) != empty).any()
    wave.set_peaks(None)
    assert wave.duration == 0.0
    assert (_pixels(wave.grab().toImage()) == empty).all()
    assert wave.tooltip_at(100) == ""
    with pytest.raises(ValueError):
        wave.set_peaks(np.zeros((10, 3), dtype=np.float32), 1.0)


@pytest.mark.parametrize("count", [1000, 2, 1])
def test_waveform_paints_any_number_of_peaks(wave: WaveformView, count: int) -> None:
    rng = np.random.default_rng(3)
    high = rng.uniform(0, 1, count).astype(np.float32)
    wave.set_peaks(np.stack([-high, high], axis=1), 3600.0)
    image = wave.grab().toImage()
    assert _is(_pixels(image), WaveformView.WAVE_COLOR).any(axis=0).all()
    wave.resize(30, 50)
    assert not wave.grab().toImage().isNull()


def test_waveform_tolerates_odd_values(wave: WaveformView) -> None:
    peaks = np.array([[0.5, -0.5], [np.nan, 2.0], [-3.0, np.nan]], dtype=np.float32)
    wave.set_peaks(peaks, 3.0)
    assert _is(_pixels(wave.grab().toImage()), WaveformView.WAVE_COLOR).any(axis=0).all()


def test_waveform_tooltip_tells_the_time(qtbot: Any, wave: WaveformView) -> None:
    wave.set_peaks(_quiet_then_loud(), 3725.0)
    where = QPoint(wave.x_of(62.5), 20)
    expected = _clock(wave.time_at(where.x()))
    assert wave.tooltip_at(where.x()) == expected
    qtbot.mouseMove(wave, where)
    QApplication.sendEvent(wave, QHelpEvent(QEvent.Type.ToolTip, where, wave.mapToGlobal(where)))
    try:
        assert QToolTip.text() == expected
    finally:
        QToolTip.hideText()


def test_waveform_labels_its_ends(wave: WaveformView) -> None:
    wave.set_peaks(_quiet_then_loud(), 125.0)
    pixels = _pixels(wave.grab().toImage())
    labels = pixels[wave.wave_rect().bottom() + 1 :]
    background = labels[-1, wave.width() // 2]
    ink = (labels != background).any(axis=0)
    width = wave.width()
    assert ink[: width // 4].any() and ink[-width // 4 :].any()
    assert not ink[width // 3 : 2 * width // 3].any()


def test_waveform_sizes(qtbot: Any) -> None:
    view = WaveformView()
    qtbot.addWidget(view)
    assert view.sizeHint().width() == 400 and 60 <= view.sizeHint().height() <= 80
    assert view.minimumSizeHint().height() >= 50


# -- time format -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "decimals", "text"),
    [
        (0.0, 1, "0:00.0"),
        (7.25, 1, "0:07.2"),  # ties to even
        (7.35, 1, "0:07.4"),
        (7.26, 1, "0:07.3"),
        (59.96, 1, "1:00.0"),  # never "0:60.0"
        (59.94, 1, "0:59.9"),
        (754.0, 1, "12:34.0"),
        (3599.96, 1, "1:00:00.0"),
        (3723.4, 1, "1:02:03.4"),
        (-2.0, 1, "0:00.0"),
        (0.0, 0, "0:00"),
        (59.6, 0, "1:00"),
        (125.0, 0, "2:05"),
        (3725.0, 0, "1:02:05"),
        (float("nan"), 1, "–:––"),
    ],
)
def test_clock(seconds: float, decimals: int, text: str) -> None:
    assert _clock(seconds, decimals) == text


# -- segments model ----------------------------------------------------------------------------


@dataclass
class Said:
    start: float
    end: float
    text: str
    speaker: str | None = None


@dataclass
class Plain:
    start: float
    end: float
    text: str


SEGMENTS = [
    Plain(0.0, 7.25, " Hello there."),
    Plain(8.0, 12.0, "A second thought, " + "rather long " * 20),
    Plain(12.0, 3723.4, "And then an hour."),
]


def test_model_columns_without_speakers(qtbot: Any) -> None:
    model = SegmentsModel()
    model.set_segments(SEGMENTS)
    assert (model.rowCount(), model.columnCount()) == (3, 3)
    headers = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(3)]
    assert headers == ["Start", "End", "Text"]
    model.set_segments([(0.0, 1.0, "tuple"), Said(1.0, 2.0, "object", None)])
    assert model.columnCount() == 3


def test_model_columns_with_speakers(qtbot: Any) -> None:
    model = SegmentsModel()
    model.set_segments([Said(0.0, 1.0, "hi", "A"), Said(1.0, 2.0, "ho"), (2.0, 3.0, "hu", "B")])
    assert model.columnCount() == 4
    assert model.headerData(3, Qt.Orientation.Horizontal) == "Speaker"
    assert [model.data(model.index(row, 3)) for row in range(3)] == ["A", None, "B"]


def test_model_display_user_and_tooltip_roles(qtbot: Any) -> None:
    model = SegmentsModel()
    model.set_segments(SEGMENTS)
    shown = [[model.data(model.index(row, column)) for column in range(3)] for row in range(3)]
    assert shown[0] == ["0:00.0", "0:07.2", " Hello there."]
    assert shown[2][:2] == ["0:12.0", "1:02:03.4"]
    user = Qt.ItemDataRole.UserRole
    assert model.data(model.index(0, 1), user) == 7.25
    assert model.data(model.index(2, 1), user) == 3723.4
    assert isinstance(model.data(model.index(1, 0), user), float)
    assert model.data(model.index(1, 2), user) is None
    tooltip = model.data(model.index(1, 2), Qt.ItemDataRole.ToolTipRole)
    assert tooltip == SEGMENTS[1].text
    assert model.data(model.index(1, 0), Qt.ItemDataRole.ToolTipRole) is None


def test_model_row_at_time(qtbot: Any) -> None:
    model = SegmentsModel()
    assert model.row_at_time(1.0) is None
    model.set_segments(SEGMENTS)
    assert model.row_at_time(0.0) == 0
    assert model.row_at_time(7.2) == 0
    assert model.row_at_time(7.5) is None  # between segments
    assert model.row_at_time(8.0) == 1
    assert model.row_at_time(12.0) == 2  # the end belongs to the next
    assert model.row_at_time(3000.0) == 2
    assert model.row_at_time(3723.4) is None  # after the last
    assert model.row_at_time(-1.0) is None
    # Given out of order, rows keep their positions and are still found.
    model.set_segments([(10.0, 20.0, "late"), (0.0, 5.0, "early")])
    assert model.row_at_time(3.0) == 1 and model.row_at_time(15.0) == 0


def test_model_highlights_the_active_row_only(qtbot: Any) -> None:
    model = SegmentsModel()
    model.set_segments(SEGMENTS)
    background, font = Qt.ItemDataRole.BackgroundRole, Qt.ItemDataRole.FontRole
    changed: list[tuple[int, int]] = []
    model.dataChanged.connect(lambda top, bottom, _roles: changed.append((top.row(), bottom.row())))
    model.set_active(1)
    assert model.active == 1
    assert changed == [(1, 1)]
    for column in range(3):
        assert isinstance(model.data(model.index(1, column), background), QColor)
        assert model.data(model.index(1, column), font).bold()
        for row in (0, 2):
            assert model.data(model.index(row, column), background) is None
            assert model.data(model.index(row, column), font) is None
    changed.clear()
    model.set_active(2)
    assert changed == [(1, 1), (2, 2)]
    assert model.data(model.index(1, 0), background) is None
    changed.clear()
    model.set_active(2)
    assert changed == []
    model.set_active(None)
    assert changed == [(2, 2)]
    with pytest.raises(IndexError):
        model.set_active(3)
    model.set_active(0)
    model.set_segments(SEGMENTS)
    assert model.active is None


# -- segments table ----------------------------------------------------------------------------


def _many(count: int = 200) -> list[tuple[float, float, str]]:
    return [(5.0 * i, 5.0 * i + 4.0, f"segment number {i}") for i in range(count)]


def _active(table: SegmentsTable) -> int | None:
    # A call, so mypy does not narrow the property across follow().
    return table.segments_model().active


@pytest.fixture
def table(qtbot: Any) -> SegmentsTable:
    view = SegmentsTable()
    view.setObjectName("segments")
    return _shown(qtbot, view, 420, 240)


def test_table_layout(table: SegmentsTable) -> None:
    table.set_segments(_many())
    header = table.horizontalHeader()
    assert header.sectionSize(0) == header.sectionSize(1) == 64
    assert header.sectionResizeMode(0) == QHeaderView.ResizeMode.Fixed
    assert header.sectionResizeMode(2) == QHeaderView.ResizeMode.Stretch
    assert table.rowHeight(150) == 22
    assert not table.verticalHeader().isVisible()
    assert not table.wordWrap()
    assert table.editTriggers() == table.EditTrigger.NoEditTriggers
    assert table.selectionMode() == table.SelectionMode.SingleSelection
    table.set_segments([Said(0.0, 1.0, "hi", "Ann")])
    assert table.segments_model().columnCount() == 4
    assert header.sectionSize(0) == 64
    assert header.sectionResizeMode(2) == QHeaderView.ResizeMode.Stretch
    table.grab()


def test_table_click_chooses_a_segment(qtbot: Any, table: SegmentsTable) -> None:
    table.set_segments(_many(20))
    where = table.visualRect(table.segments_model().index(3, 2)).center()
    with qtbot.waitSignal(table.segment_chosen) as blocker:
        qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=where)
    assert blocker.args == [3]
    with qtbot.waitSignal(table.segment_chosen) as blocker:
        qtbot.keyClick(table, Qt.Key.Key_Down)
        qtbot.keyClick(table, Qt.Key.Key_Return)
    assert blocker.args == [4]


def test_table_follows_playback(qtbot: Any, table: SegmentsTable) -> None:
    table.set_segments(_many())
    model = table.segments_model()
    first = model.index(0, 0)
    table.selectRow(0)
    table.follow(752.0)  # segment 150
    assert model.active == 150
    shown = table.visualRect(model.index(150, 0))
    assert table.viewport().rect().contains(shown)
    assert [index.row() for index in table.selectionModel().selectedRows()] == [0]
    assert table.currentIndex().row() == 0
    # Between segments nothing plays; going back scrolls back.
    table.follow(754.5)
    assert _active(table) is None
    table.follow(2.0)
    assert _active(table) == 0
    assert table.viewport().rect().contains(table.visualRect(first))
    table.follow(None)
    assert _active(table) is None
