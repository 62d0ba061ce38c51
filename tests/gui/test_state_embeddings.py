"""The Embeddings tab's state: saved, changed, restored, and recorded in the history."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTableView,
    QTableWidget,
    QWidget,
)

import app.presenters.embeddings as embeddings
from tests.fake_server import FakeServer, fake_vector

pytestmark = pytest.mark.usefixtures("qloop")

TEXTS = ["The cat sat on the mat.", "A kitten rests on a rug.", "Stocks fell sharply."]
QUERY = "Where is the cat?"


@pytest.fixture
def app(make_app: Any, fake_server: FakeServer) -> Any:
    """A real window on the fake server, showing the Embeddings tab."""
    built = make_app("--tab", "embeddings", "--provider", fake_server.url, "--model", "fake-embed")
    built.window.show()
    return built


@pytest.fixture
def tab(app: Any) -> Any:
    """The Embeddings tab of :func:`app`."""
    return app.window.findChild(QWidget, "tab-embeddings")


def _type(qtbot: Any, tab: Any, texts: list[str], query: str = "") -> None:
    tab.findChild(QPlainTextEdit, "textsInput").setPlainText("\n".join(texts))
    line = tab.findChild(QLineEdit, "queryInput")
    line.clear()
    if query:
        qtbot.keyClicks(line, query)


def _send(qtbot: Any, tab: Any) -> None:
    qtbot.mouseClick(tab.findChild(QPushButton, "sendButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not tab.presenter.busy, timeout=10_000)
    _wait_shown(qtbot, tab)


def _wait_shown(qtbot: Any, tab: Any) -> None:
    # The list view follows the matrix one turn of the event loop later.
    qtbot.waitUntil(
        lambda: all(
            view.findChild(QPlainTextEdit, "output").toPlainText() == view.pane.summary_text
            for view in tab.pane_views
        )
    )


def _cells(view: QWidget) -> list[list[float]]:
    table = view.findChild(QTableView, "similarity")
    assert table is not None
    model = table.model()
    return [
        [
            model.data(model.index(r, c), Qt.ItemDataRole.UserRole)
            for c in range(model.columnCount())
        ]
        for r in range(model.rowCount())
    ]


def _seen(tab: Any) -> dict[str, Any]:
    """What the user sees of the tab: its inputs and, per pane, target, matrix, list and lines."""
    return {
        "texts": tab.findChild(QPlainTextEdit, "textsInput").toPlainText(),
        "query": tab.findChild(QLineEdit, "queryInput").text(),
        "info": tab.findChild(QLabel, "textsInfo").text(),
        "panes": [
            {
                "model": view.findChild(QComboBox, "modelPicker").currentText(),
                "cells": _cells(view),
                "output": view.findChild(QPlainTextEdit, "output").toPlainText(),
                "metrics": view.findChild(QLabel, "metrics").text(),
                "status": view.findChild(QLabel, "statusLabel").text(),
                "badges": view.findChild(QLabel, "paneBadges").text(),
            }
            for view in tab.pane_views
        ],
    }


def _answers(tab: Any) -> list[Any]:
    """What the tab's panes answer Diff, Copy, the export and the marks."""
    return [
        (pane.has_output, pane.result_text(), pane.record(), pane.last_metrics)
        for pane in tab.presenter.panes
    ]


def test_two_panes_restore_their_matrices_lists_and_metrics(
    qtbot: Any, tab: Any, fake_server: FakeServer, tmp_path: Path
) -> None:
    presenter = tab.presenter
    qtbot.mouseClick(tab.findChild(QPushButton, "addTargetButton"), Qt.MouseButton.LeftButton)
    presenter.panes[1].set_param("dimensions", 4)  # other vectors: another "model"
    _type(qtbot, tab, TEXTS, QUERY)
    _send(qtbot, tab)
    seen, answers = _seen(tab), _answers(tab)
    assert seen["panes"][0]["cells"] != seen["panes"][1]["cells"]
    assert all(pane["output"].startswith("Ranked by similarity") for pane in seen["panes"])
    assert all("dims" in pane["metrics"] for pane in seen["panes"])
    assert "fastest" in "".join(pane["badges"] for pane in seen["panes"])
    points = [pane.analysis.points.copy() for pane in presenter.panes]
    state = presenter.state()
    assert json.loads(json.dumps(state)) == state
    assert state["inputs"] == {"texts": "\n".join(TEXTS), "query": QUERY}

    _type(qtbot, tab, ["something else", "and more"], "other query")
    _send(qtbot, tab)
    presenter.remove_target(1)
    assert _seen(tab) != seen

    presenter.restore(json.loads(json.dumps(state)))
    _wait_shown(qtbot, tab)
    assert len(tab.pane_views) == 2
    assert _seen(tab) == seen
    assert _answers(tab) == answers
    for pane, before in zip(presenter.panes, points, strict=True):
        np.testing.assert_array_equal(pane.analysis.points, before)
    assert presenter.query == QUERY and presenter.texts.items == tuple(TEXTS)

    # The restored panes export and compare as the run's did.
    pane = presenter.panes[1]
    pane.export_to(tmp_path / "v.npy")
    pane.export_to(tmp_path / "m.csv")
    qtbot.waitUntil(lambda: (tmp_path / "v.npy").exists() and (tmp_path / "m.csv").exists())
    np.testing.assert_array_equal(np.load(tmp_path / "v.npy"), [fake_vector(t, 4) for t in TEXTS])
    qtbot.mouseClick(tab.findChild(QPushButton, "compareButton"), Qt.MouseButton.LeftButton)
    table = tab.findChild(QWidget, "agreementDialog").findChild(QTableWidget, "agreementTable")
    qtbot.waitUntil(lambda: table.rowCount() == 1, timeout=5000)
    assert table.item(0, 4).text() == "query ranking of 3 texts"


def test_a_stopped_or_failed_pane_restores_its_outcome(
    qtbot: Any, tab: Any, fake_server: FakeServer
) -> None:
    presenter = tab.presenter
    presenter.panes[0].set_model("")  # fails before sending: no model
    _type(qtbot, tab, TEXTS)
    _send(qtbot, tab)
    seen, answers = _seen(tab), _answers(tab)
    assert seen["panes"][0]["status"] and "failed" in seen["panes"][0]["metrics"]
    state = presenter.state()
    presenter.panes[0].set_model("fake-embed")
    _send(qtbot, tab)
    assert _seen(tab) != seen
    presenter.restore(json.loads(json.dumps(state)))
    assert _seen(tab) == seen
    assert _answers(tab) == answers


def test_large_results_are_kept_in_half_precision(
    qtbot: Any, tab: Any, fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(embeddings, "_EXACT_STATE_VALUES", 10)  # 3 texts x 8 dims are more
    _type(qtbot, tab, TEXTS)
    _send(qtbot, tab)
    before = _cells(tab.pane_views[0])
    state = tab.presenter.state()
    result = state["panes"][0]["result"]
    assert result["vectors"]["dtype"] == "<f2" and result["vectors"]["shape"] == [3, 8]
    tab.presenter.restore(state)
    _wait_shown(qtbot, tab)
    view = tab.pane_views[0]
    np.testing.assert_allclose(_cells(view), before, atol=2e-3)
    assert "half-precision" in view.findChild(QLabel, "statusLabel").text()
    # Kept again, the vectors are the same half-precision values.
    assert tab.presenter.state()["panes"][0]["result"]["vectors"] == result["vectors"]


def test_runs_are_recorded_with_the_last_batch_and_reopen_from_the_history(
    qtbot: Any, app: Any, tab: Any, fake_server: FakeServer
) -> None:
    texts = [f"text number {n}" for n in range(300)]  # three batches
    _type(qtbot, tab, texts)
    _send(qtbot, tab)
    pane = tab.presenter.panes[0]
    seen, answers = _seen(tab), _answers(tab)
    store = app.services.history.store
    assert store.flush()
    (run,) = store.search(tab="embeddings")
    assert run.status == "complete"
    record = store.get(run.id)
    assert record is not None and record.request is not None
    batches = [r.json for r in fake_server.requests if r.path.endswith("/embeddings")]
    assert len(batches) == 3
    assert record.request["body"] == batches[-1]
    assert record.result == pane.result_state()
    assert record.inputs == tab.presenter.inputs_state()
    assert record.output == pane.result_text()

    _type(qtbot, tab, TEXTS)
    _send(qtbot, tab)
    assert _seen(tab) != seen
    tab.presenter.restore(app.services.history.tab_state(record))
    _wait_shown(qtbot, tab)
    assert _seen(tab) == seen
    assert _answers(tab) == answers
