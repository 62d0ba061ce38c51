"""The Embeddings views driven with real clicks and checked by what they paint."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QRect, Qt
from PySide6.QtGui import QColor, QHelpEvent, QImage
from PySide6.QtWidgets import QApplication, QToolTip

from widgets.tabs.embedding_views import (
    PALETTE,
    Heatmap,
    ScatterMap,
    SimilarityModel,
    SimilarityTable,
    shade_of,
    shades_of,
)

TEXTS = ("the cat sat", "a dog ran", "stock prices fell", "x" * 200)
MATRIX = np.array(
    [
        [1.0, 0.873, 0.12, -0.4],
        [0.873, 1.0, 0.25, 0.0],
        [0.12, 0.25, 1.0, 0.5],
        [-0.4, 0.0, 0.5, 1.0],
    ]
)


def _rgb(color: QColor) -> tuple[int, int, int]:
    return color.red(), color.green(), color.blue()


def _luminance(color: QColor) -> float:
    channels = (color.redF(), color.greenF(), color.blueF())
    linear = [c / 12.92 if c <= 0.04 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _shown(qtbot: Any, widget: Any, width: int = 240, height: int = 240) -> Any:
    qtbot.addWidget(widget)
    widget.resize(width, height)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


# -- palette and shades ------------------------------------------------------------------------


def test_palette_runs_dark_blue_to_yellow() -> None:
    assert len(PALETTE) == 256
    low, high = PALETTE[0], PALETTE[255]
    assert low.lightness() < 60 and low.blue() > low.green()
    assert high.red() > 200 and high.green() > 200 and high.blue() < 80
    # Ordered: brighter means more similar (up to the rounding of 8-bit channels).
    luminance = [_luminance(color) for color in PALETTE]
    assert all(b > a - 1e-3 for a, b in itertools.pairwise(luminance))
    assert all(b > a for a, b in zip(luminance, luminance[16:], strict=False))


def test_shade_of_maps_the_range_linearly_and_clips() -> None:
    assert shade_of(-1.0) == 0
    assert shade_of(1.0) == 255
    assert shade_of(0.0) == 128
    assert shade_of(0.5, (0.0, 1.0)) == 128
    assert shade_of(5.0, (0.0, 1.0)) == 255
    assert shade_of(-5.0, (0.0, 1.0)) == 0
    assert shade_of(float("nan")) == 0
    assert shade_of(0.9, (0.9, 0.9)) == 255  # a one-value range still shades


def test_shades_of_agrees_with_shade_of() -> None:
    values = np.linspace(-1.2, 1.2, 997).reshape(1, -1)
    shades = shades_of(values, (-0.7, 0.95))
    assert shades.dtype == np.uint8 and shades.flags.c_contiguous
    assert shades[0].tolist() == [shade_of(v, (-0.7, 0.95)) for v in values[0].tolist()]


# -- model -------------------------------------------------------------------------------------


@pytest.fixture
def model(qtbot: Any) -> SimilarityModel:
    model = SimilarityModel()
    model.set_matrix(TEXTS, MATRIX, (-0.5, 1.0))
    return model


def test_model_roles(model: SimilarityModel) -> None:
    assert (model.rowCount(), model.columnCount()) == (4, 4)
    index = model.index(0, 1)
    assert model.data(index) == "0.87"
    assert model.data(model.index(3, 0)) == "-0.40"
    assert model.data(index, Qt.ItemDataRole.UserRole) == pytest.approx(0.873)
    for row in range(4):
        for column in range(4):
            cell = model.index(row, column)
            assert model.data(cell, Qt.ItemDataRole.UserRole) == float(MATRIX[row, column])
            background = model.data(cell, Qt.ItemDataRole.BackgroundRole)
            expected = PALETTE[shade_of(float(MATRIX[row, column]), (-0.5, 1.0))]
            assert _rgb(background) == _rgb(expected)
    assert model.data(index, Qt.ItemDataRole.TextAlignmentRole) == Qt.AlignmentFlag.AlignCenter
    tooltip = model.data(index, Qt.ItemDataRole.ToolTipRole)
    assert tooltip == "#1  the cat sat\n#2  a dog ran\ncosine 0.873"
    assert model.texts == TEXTS


def test_model_text_contrasts_with_its_shade(model: SimilarityModel) -> None:
    darkest = model.index(3, 0)  # -0.4, near the dark end
    brightest = model.index(0, 0)  # 1.0, yellow
    assert _rgb(model.data(darkest, Qt.ItemDataRole.ForegroundRole)) == (255, 255, 255)
    assert _rgb(model.data(brightest, Qt.ItemDataRole.ForegroundRole)) == (0, 0, 0)


def test_model_shortens_long_texts_in_tooltips(model: SimilarityModel) -> None:
    tooltip = model.data(model.index(3, 2), Qt.ItemDataRole.ToolTipRole)
    first = tooltip.splitlines()[0]
    assert first.startswith("#4  xxx") and first.endswith("…") and len(first) < 90


def test_model_headers_are_numbers_with_the_text_as_tooltip(model: SimilarityModel) -> None:
    for orientation in (Qt.Orientation.Horizontal, Qt.Orientation.Vertical):
        assert [model.headerData(s, orientation) for s in range(4)] == [1, 2, 3, 4]
    assert model.header_tooltip(2) == "stock prices fell"
    assert model.header_tooltip(4) == ""


def test_model_clears_and_rejects_mismatched_data(qtbot: Any, model: SimilarityModel) -> None:
    with qtbot.waitSignal(model.modelReset):
        model.set_matrix((), None)
    assert (model.rowCount(), model.columnCount()) == (0, 0)
    assert model.data(model.index(0, 0)) is None
    with pytest.raises(ValueError):
        model.set_matrix(TEXTS[:3], MATRIX)
    with pytest.raises(ValueError):
        model.set_matrix(TEXTS, MATRIX[:, :3])


# -- table -------------------------------------------------------------------------------------


def test_table_has_compact_fixed_sections(qtbot: Any) -> None:
    table = _shown(qtbot, SimilarityTable())
    table.set_matrix([f"text {i}" for i in range(2000)], np.eye(2000, dtype=np.float32))
    for header, size in ((table.horizontalHeader(), 44), (table.verticalHeader(), 22)):
        assert header.defaultSectionSize() == size
        assert header.sectionSize(1999) == size
        assert header.sectionResizeMode(0) == header.ResizeMode.Fixed
    assert table.similarity_model().rowCount() == 2000
    table.grab()


def test_table_click_chooses_the_pair(qtbot: Any) -> None:
    table = _shown(qtbot, SimilarityTable(), 400, 300)
    table.set_matrix(TEXTS, MATRIX)
    rect = table.visualRect(table.similarity_model().index(2, 3))
    assert rect.isValid()
    with qtbot.waitSignal(table.pair_chosen) as blocker:
        qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert blocker.args == [2, 3]


def test_table_show_pair_selects_and_scrolls(qtbot: Any) -> None:
    table = _shown(qtbot, SimilarityTable(), 300, 200)
    table.set_matrix([f"text {i}" for i in range(300)], np.zeros((300, 300)))
    model = table.similarity_model()
    table.show_pair(250, 120)
    index = model.index(250, 120)
    assert table.currentIndex() == index
    assert table.selectionModel().selectedIndexes() == [index]
    assert table.viewport().rect().intersects(table.visualRect(index))
    table.show_pair(3, 4)
    assert table.selectionModel().selectedIndexes() == [model.index(3, 4)]


# -- heatmap -----------------------------------------------------------------------------------


@pytest.fixture
def heatmap(qtbot: Any) -> Heatmap:
    heatmap = _shown(qtbot, Heatmap())
    heatmap.set_shades(shades_of(MATRIX, (-0.5, 1.0)), TEXTS, (-0.5, 1.0), MATRIX)
    return heatmap


def test_heatmap_paints_each_cell_in_its_shade(heatmap: Heatmap) -> None:
    shades = shades_of(MATRIX, (-0.5, 1.0))
    image = heatmap.grab().toImage()
    for row in range(4):
        for column in range(4):
            centre = heatmap.cell_rect(row, column).center().toPoint()
            painted = _rgb(image.pixelColor(centre))
            assert painted == _rgb(PALETTE[shades[row, column]]), (row, column)


def test_heatmap_cells_agree_with_the_pixels(heatmap: Heatmap) -> None:
    # Every pixel of the square shows the shade of the cell that cell_at names for it.
    shades = shades_of(MATRIX, (-0.5, 1.0))
    image = heatmap.grab().toImage()
    area = heatmap.image_rect()
    y = area.center().y()
    for x in range(area.left(), area.right() + 1):
        cell = heatmap.cell_at(QPoint(x, y))
        assert cell is not None
        assert _rgb(image.pixelColor(x, y)) == _rgb(PALETTE[shades[cell]]), x


@pytest.mark.parametrize(("count", "width"), [(7, 233), (5, 150), (3, 120)])
def test_heatmap_enlarged_cells_agree_with_the_pixels(qtbot: Any, count: int, width: int) -> None:
    heatmap = _shown(qtbot, Heatmap(), width, width + 30)
    shades = np.arange(count * count, dtype=np.uint8).reshape(count, count) * 5
    heatmap.set_shades(shades)
    image = heatmap.grab().toImage()
    area = heatmap.image_rect()
    for x in range(area.left(), area.right() + 1):
        for y in (area.top(), area.center().y(), area.bottom()):
            cell = heatmap.cell_at(QPoint(x, y))
            assert cell is not None
            assert _rgb(image.pixelColor(x, y)) == _rgb(PALETTE[shades[cell]]), (x, y)


def test_heatmap_square_fits_the_widget(heatmap: Heatmap) -> None:
    area = heatmap.image_rect()
    assert area.width() == area.height() > 100
    assert heatmap.rect().contains(area)
    assert abs(area.center().x() - heatmap.rect().center().x()) <= 1


def test_heatmap_cell_at_maps_corners(heatmap: Heatmap) -> None:
    area: QRect = heatmap.image_rect()
    assert heatmap.cell_at(area.topLeft()) == (0, 0)
    assert heatmap.cell_at(area.topRight()) == (0, 3)
    assert heatmap.cell_at(area.bottomLeft()) == (3, 0)
    assert heatmap.cell_at(area.bottomRight()) == (3, 3)
    assert heatmap.cell_at(area.topLeft() - QPoint(1, 1)) is None
    assert heatmap.cell_at(area.bottomRight() + QPoint(1, 1)) is None


def test_heatmap_click_chooses_the_pair(qtbot: Any, heatmap: Heatmap) -> None:
    centre = heatmap.cell_rect(1, 2).center().toPoint()
    with qtbot.waitSignal(heatmap.pair_chosen) as blocker:
        qtbot.mouseClick(heatmap, Qt.MouseButton.LeftButton, pos=centre)
    assert blocker.args == [1, 2]


def test_heatmap_click_off_the_matrix_chooses_nothing(qtbot: Any, heatmap: Heatmap) -> None:
    with qtbot.assertNotEmitted(heatmap.pair_chosen):
        qtbot.mouseClick(heatmap, Qt.MouseButton.LeftButton, pos=QPoint(1, 1))


def test_heatmap_tooltip_names_the_pair(qtbot: Any, heatmap: Heatmap) -> None:
    centre = heatmap.cell_rect(0, 1).center().toPoint()
    expected = "#1  the cat sat\n#2  a dog ran\ncosine 0.873"
    assert heatmap.tooltip_at(centre) == expected
    qtbot.mouseMove(heatmap, centre)
    help_event = QHelpEvent(QEvent.Type.ToolTip, centre, heatmap.mapToGlobal(centre))
    QApplication.sendEvent(heatmap, help_event)
    try:
        assert QToolTip.text() == expected
    finally:
        QToolTip.hideText()


def test_heatmap_without_values_names_the_pair_only(qtbot: Any) -> None:
    heatmap = _shown(qtbot, Heatmap())
    heatmap.set_shades(np.zeros((2, 2), dtype=np.uint8), ("a", "b"))
    assert heatmap.tooltip_at(heatmap.cell_rect(1, 0).center().toPoint()) == "#2  b\n#1  a"


def test_heatmap_paints_a_large_matrix(qtbot: Any) -> None:
    heatmap = _shown(qtbot, Heatmap(), 300, 320)
    rng = np.random.default_rng(7)
    shades = rng.integers(0, 256, size=(2000, 2000), dtype=np.uint8)
    similarity = rng.uniform(-1, 1, size=(2000, 2000)).astype(np.float32)
    heatmap.set_shades(shades, [f"text {i}" for i in range(2000)], (-1.0, 1.0), similarity)
    del shades  # the widget keeps its own pixels
    image = heatmap.grab().toImage()
    assert not image.isNull()
    area = heatmap.image_rect()
    assert heatmap.cell_at(area.topLeft()) == (0, 0)
    assert heatmap.cell_at(area.bottomRight()) == (1999, 1999)
    heatmap.resize(200, 200)
    assert not heatmap.grab().toImage().isNull()


def test_heatmap_shrinks_a_large_matrix_faithfully(qtbot: Any) -> None:
    heatmap = _shown(qtbot, Heatmap(), 200, 230)
    shades = np.full((1200, 1200), 40, dtype=np.uint8)
    shades[600:, 600:] = 220  # the bottom-right quarter
    heatmap.set_shades(shades)
    image = heatmap.grab().toImage()
    area = heatmap.image_rect()
    assert area.width() < 1200
    for point, shade in (
        (area.topLeft() + QPoint(10, 10), 40),
        (area.center() + QPoint(20, 20), 220),
    ):
        painted, expected = image.pixelColor(point), PALETTE[shade]
        assert all(abs(a - b) <= 1 for a, b in zip(_rgb(painted), _rgb(expected), strict=True))


def test_heatmap_clears_and_rejects_bad_shades(qtbot: Any, heatmap: Heatmap) -> None:
    heatmap.set_shades(None)
    assert heatmap.image_rect().isEmpty()
    assert heatmap.cell_at(heatmap.rect().center()) is None
    assert _has_ink(heatmap.grab().toImage())  # the hint
    heatmap.set_shades(np.zeros((0, 0), dtype=np.uint8))
    assert heatmap.cell_at(heatmap.rect().center()) is None
    with pytest.raises(ValueError):
        heatmap.set_shades(np.zeros((3, 3)))  # floats, not palette indices
    with pytest.raises(ValueError):
        heatmap.set_shades(np.zeros((3, 4), dtype=np.uint8))


def test_heatmap_sizes(qtbot: Any) -> None:
    heatmap = Heatmap()
    qtbot.addWidget(heatmap)
    assert heatmap.sizeHint().width() <= 240
    assert heatmap.minimumSizeHint().width() >= 100


# -- map ---------------------------------------------------------------------------------------

POINTS = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 1.0], [-1.0, -1.0]])


def _has_ink(image: QImage) -> bool:
    """Whether anything but the background colour was painted."""
    background = image.pixelColor(0, 0)
    return any(
        image.pixelColor(x, y) != background
        for x in range(0, image.width(), 2)
        for y in range(0, image.height(), 2)
    )


@pytest.fixture
def scatter(qtbot: Any) -> ScatterMap:
    scatter = _shown(qtbot, ScatterMap(), 260, 220)
    scatter.set_points(POINTS, TEXTS, query=(1.0, 0.5))
    return scatter


def test_map_keeps_axes_equal_and_pc2_upwards(scatter: ScatterMap) -> None:
    origin, right, up = (scatter.position_of(i) for i in range(3))
    assert right.x() > origin.x() and right.y() == pytest.approx(origin.y())
    assert up.y() < origin.y() and up.x() == pytest.approx(origin.x())
    assert right.x() - origin.x() == pytest.approx(2 * (origin.y() - up.y()))
    for index in range(4):
        assert scatter.rect().contains(scatter.position_of(index).toPoint())


def test_map_point_at_finds_the_painted_dot(scatter: ScatterMap) -> None:
    image = scatter.grab().toImage()
    for index in range(4):
        where = scatter.position_of(index).toPoint()
        painted = image.pixelColor(where)
        assert abs(painted.green() - ScatterMap.DOT_COLOR.green()) < 40, index
        assert scatter.point_at(where) == index
        assert scatter.point_at(where + QPoint(5, 3)) == index
    assert scatter.point_at(QPoint(scatter.width() - 1, 0)) is None


def test_map_click_chooses_the_point(qtbot: Any, scatter: ScatterMap) -> None:
    where = scatter.position_of(2).toPoint()
    with qtbot.waitSignal(scatter.point_chosen) as blocker:
        qtbot.mouseClick(scatter, Qt.MouseButton.LeftButton, pos=where)
    assert blocker.args == [2]


def test_map_click_on_nothing_chooses_nothing(qtbot: Any, scatter: ScatterMap) -> None:
    with qtbot.assertNotEmitted(scatter.point_chosen):
        qtbot.mouseClick(scatter, Qt.MouseButton.LeftButton, pos=QPoint(scatter.width() - 1, 0))


def test_map_tooltips(scatter: ScatterMap) -> None:
    assert scatter.tooltip_at(scatter.position_of(1).toPoint()) == "#2  a dog ran"
    # The query sits at (1, 0.5), halfway between points 1 and 2 on screen.
    right, up = scatter.position_of(1), scatter.position_of(2)
    query = (right + up) / 2
    assert scatter.tooltip_at(query.toPoint()) == "query"
    assert scatter.tooltip_at(QPoint(scatter.width() - 1, 0)) == ""


def test_map_tooltip_on_hover(qtbot: Any, scatter: ScatterMap) -> None:
    where = scatter.position_of(0).toPoint()
    qtbot.mouseMove(scatter, where)
    QApplication.sendEvent(
        scatter, QHelpEvent(QEvent.Type.ToolTip, where, scatter.mapToGlobal(where))
    )
    try:
        assert QToolTip.text() == "#1  the cat sat"
    finally:
        QToolTip.hideText()


def test_map_highlight(qtbot: Any, scatter: ScatterMap) -> None:
    before = scatter.grab().toImage()
    scatter.highlight(3)
    ringed = scatter.grab().toImage()
    assert ringed != before
    scatter.highlight(None)
    assert scatter.grab().toImage() == before
    with pytest.raises(IndexError):
        scatter.highlight(4)


def test_map_empty_state_paints_a_hint(qtbot: Any) -> None:
    scatter = _shown(qtbot, ScatterMap())
    assert _has_ink(scatter.grab().toImage())
    assert scatter.point_at(QPoint(10, 10)) is None
    assert scatter.tooltip_at(QPoint(10, 10)) == ""
    scatter.set_points(np.zeros((0, 2)))
    scatter.grab()
    assert scatter.point_at(QPoint(10, 10)) is None
    scatter.set_points(POINTS)
    scatter.set_points(None)
    assert scatter.point_at(QPoint(10, 10)) is None


def test_map_single_point_and_rejects_bad_points(qtbot: Any) -> None:
    scatter = _shown(qtbot, ScatterMap())
    scatter.set_points(np.array([[3.0, 3.0]]), ["alone"])
    assert scatter.point_at(scatter.position_of(0).toPoint()) == 0
    scatter.grab()
    with pytest.raises(ValueError):
        scatter.set_points(np.zeros((3, 3)))
    with pytest.raises(ValueError):
        scatter.set_points(np.array([[0.0, np.nan]]))


def test_map_paints_many_points(qtbot: Any) -> None:
    scatter = _shown(qtbot, ScatterMap(), 300, 300)
    rng = np.random.default_rng(3)
    points = rng.normal(size=(2000, 2))
    scatter.set_points(points, [f"text {i}" for i in range(2000)], query=(0.0, 0.0))
    scatter.highlight(1999)
    assert not scatter.grab().toImage().isNull()
    where = scatter.position_of(1234).toPoint()
    found = scatter.point_at(where)
    assert found is not None
    nearest = scatter.position_of(found) - scatter.position_of(1234)
    assert abs(nearest.x()) <= 1 and abs(nearest.y()) <= 1
    scatter.resize(200, 260)
    assert scatter.rect().contains(scatter.position_of(1234).toPoint())
