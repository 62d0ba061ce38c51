"""The Embeddings tab driven like a user would, against the fake server's deterministic vectors."""

from __future__ import annotations

import csv
import io
import json
import threading
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
    QProgressBar,
    QPushButton,
    QTableView,
    QTableWidget,
    QWidget,
)

from tests.fake_server import FakeServer, Scripted, fake_vector, openai_error

pytestmark = pytest.mark.usefixtures("qloop")

TEXTS = ["The cat sat on the mat.", "A kitten rests on a rug.", "Stocks fell sharply."]


@pytest.fixture
def tab(qtbot: Any, make_app: Any, fake_server: FakeServer) -> Any:
    """The Embeddings tab of a real window on the fake server."""
    app = make_app("--tab", "embeddings", "--provider", fake_server.url, "--model", "fake-embed")
    app.window.show()
    return app.window.findChild(QWidget, "tab-embeddings")


def _cosines(texts: list[str], dimensions: int = 8) -> np.ndarray:
    vectors = np.array([fake_vector(t, dimensions) for t in texts], dtype=np.float64)
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    return unit @ unit.T


def _type_texts(qtbot: Any, tab: Any, texts: list[str]) -> None:
    editor = tab.findChild(QPlainTextEdit, "textsInput")
    editor.clear()
    qtbot.keyClicks(editor, texts[0])
    editor.appendPlainText("\n".join(texts[1:]))


def _send(qtbot: Any, tab: Any) -> None:
    qtbot.mouseClick(tab.findChild(QPushButton, "sendButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not tab.presenter.busy, timeout=10_000)


def _matrix(view: QTableView) -> np.ndarray:
    model = view.model()
    rows, columns = model.rowCount(), model.columnCount()
    return np.array(
        [
            [model.data(model.index(r, c), Qt.ItemDataRole.UserRole) for c in range(columns)]
            for r in range(rows)
        ]
    )


def _inputs(fake_server: FakeServer) -> list[list[str]]:
    return [r.json["input"] for r in fake_server.requests if r.path.endswith("/embeddings")]


def test_the_matrix_holds_the_cosines_of_the_servers_vectors(
    qtbot: Any, tab: Any, fake_server: FakeServer
) -> None:
    _type_texts(qtbot, tab, TEXTS)
    assert tab.findChild(QLabel, "textsInfo").text() == "3 texts"
    _send(qtbot, tab)
    pane = tab.pane_views[0]
    table = pane.findChild(QTableView, "similarity")
    np.testing.assert_allclose(_matrix(table), _cosines(TEXTS), atol=1e-5)
    model = table.model()
    shown = model.data(model.index(0, 1), Qt.ItemDataRole.DisplayRole)
    assert shown == f"{_cosines(TEXTS)[0, 1]:.2f}"
    assert _inputs(fake_server) == [TEXTS]
    assert fake_server.requests[-1].json["encoding_format"] == "float"
    # Nearest neighbours in the summary: the most similar other text comes first for text 1.
    output = pane.findChild(QPlainTextEdit, "output").toPlainText()
    nearest = int(np.argsort(-_cosines(TEXTS)[0])[1])
    assert TEXTS[0][:20] in output and TEXTS[nearest][:20] in output
    metrics = pane.findChild(QLabel, "metrics").text()
    assert "8 dims" in metrics and "tok in" in metrics
    assert not pane.findChild(QProgressBar, "embedProgress").isVisible()


def test_clicking_a_cell_names_the_pair_and_the_heatmap_finds_it(
    qtbot: Any, tab: Any, fake_server: FakeServer
) -> None:
    _type_texts(qtbot, tab, TEXTS)
    _send(qtbot, tab)
    pane = tab.pane_views[0]
    table = pane.findChild(QTableView, "similarity")
    cell = table.visualRect(table.model().index(2, 0)).center()
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=cell)
    pair = pane.findChild(QLabel, "pairLabel")
    assert pair.isVisible()
    assert TEXTS[2] in pair.text() and TEXTS[0] in pair.text()
    assert f"{_cosines(TEXTS)[2, 0]:.3f}" in pair.text()
    pane.heatmap.pair_chosen.emit(1, 2)
    assert table.currentIndex().row() == 1 and table.currentIndex().column() == 2
    assert TEXTS[1] in pair.text()


def test_a_query_ranks_the_texts_and_travels_first(
    qtbot: Any, tab: Any, fake_server: FakeServer
) -> None:
    _type_texts(qtbot, tab, TEXTS)
    query = "Where is the cat?"
    qtbot.keyClicks(tab.findChild(QLineEdit, "queryInput"), query)
    _send(qtbot, tab)
    assert _inputs(fake_server) == [[query, *TEXTS]]
    scores = _cosines([query, *TEXTS])[0, 1:]
    output = tab.pane_views[0].findChild(QPlainTextEdit, "output").toPlainText()
    assert output.startswith("Ranked by similarity to the query")
    order = [output.index(TEXTS[i][:20]) for i in np.argsort(-scores)]
    assert order == sorted(order)


def test_many_texts_go_in_batches_each_text_once_with_progress(
    qtbot: Any, tab: Any, fake_server: FakeServer
) -> None:
    texts = [f"text number {n}" for n in range(300)]
    tab.findChild(QPlainTextEdit, "textsInput").setPlainText("\n".join(texts))
    progress: list[tuple[int, int]] = []
    tab.presenter.panes[0].progress.connect(lambda done, total: progress.append((done, total)))
    _send(qtbot, tab)
    batches = _inputs(fake_server)
    assert len(batches) == 3 and all(len(b) <= 128 for b in batches)
    assert [t for batch in batches for t in batch] == texts
    assert progress[:4] == [(0, 300), (128, 300), (256, 300), (300, 300)]
    assert progress[-1] == (0, 0)
    assert tab.presenter.panes[0].analysis.count == 300
    assert tab.pane_views[0].findChild(QTableView, "similarity").model().rowCount() == 300


def test_dimensions_and_base64_are_sent_and_decoded(
    qtbot: Any, tab: Any, fake_server: FakeServer
) -> None:
    pane = tab.presenter.panes[0]
    pane.set_param("dimensions", 4)
    pane.set_param("encoding_format", "base64")
    _type_texts(qtbot, tab, TEXTS)
    _send(qtbot, tab)
    body = fake_server.requests[-1].json
    assert body["dimensions"] == 4 and body["encoding_format"] == "base64"
    table = tab.pane_views[0].findChild(QTableView, "similarity")
    np.testing.assert_allclose(_matrix(table), _cosines(TEXTS, 4), atol=1e-5)
    assert pane.last_metrics.dimensions == 4


def test_a_failed_batch_keeps_the_batches_before_it_and_says_which_failed(
    qtbot: Any, tab: Any, fake_server: FakeServer, no_retry_wait: None
) -> None:
    texts = [f"line {n}" for n in range(200)]
    tab.findChild(QPlainTextEdit, "textsInput").setPlainText("\n".join(texts))
    boom = openai_error("the embedder fell over", "server_error")
    fake_server.script.append(Scripted())
    fake_server.script.extend(Scripted(status=500, body=boom) for _ in range(3))
    _send(qtbot, tab)
    pane, view = tab.presenter.panes[0], tab.pane_views[0]
    assert not pane.has_output
    status = view.status_label.text()
    assert "texts 129–200 failed" in status and "the embedder fell over" in status
    assert "128 texts before them are shown" in status
    assert view.findChild(QTableView, "similarity").model().rowCount() == 128
    assert tab.findChild(QPushButton, "sendButton").isEnabled()


def test_a_refused_large_batch_is_retried_in_small_ones(
    qtbot: Any, tab: Any, fake_server: FakeServer
) -> None:
    texts = [f"sentence {n}" for n in range(20)]
    tab.findChild(QPlainTextEdit, "textsInput").setPlainText("\n".join(texts))
    refusal = openai_error("too many inputs in one request", "invalid_request_error")
    fake_server.script.append(Scripted(status=400, body=refusal))
    _send(qtbot, tab)
    sizes = [len(batch) for batch in _inputs(fake_server)]
    assert sizes == [20, 8, 8, 4]
    assert tab.presenter.panes[0].has_output
    assert [t for batch in _inputs(fake_server)[1:] for t in batch] == texts


def test_blank_lines_are_skipped_and_duplicates_noted(
    qtbot: Any, tab: Any, fake_server: FakeServer
) -> None:
    tab.findChild(QPlainTextEdit, "textsInput").setPlainText("alpha\n\n  \nbeta\nalpha\n")
    info = tab.findChild(QLabel, "textsInfo").text()
    assert "3 texts" in info and "2 blank lines skipped" in info and "1 duplicate" in info
    _send(qtbot, tab)
    assert _inputs(fake_server) == [["alpha", "beta", "alpha"]]


def test_texts_import_from_jsonl_and_a_bad_file_says_why(
    qtbot: Any, tab: Any, tmp_path: Path
) -> None:
    good = tmp_path / "docs.jsonl"
    good.write_text('{"text": "first doc"}\n{"text": "second\\ndoc"}\n', encoding="utf-8")
    tab.import_file(good)
    editor = tab.findChild(QPlainTextEdit, "textsInput")
    assert editor.toPlainText().splitlines() == ["first doc", "second doc"]
    assert tab.presenter.texts.items == ("first doc", "second doc")
    bad = tmp_path / "broken.jsonl"
    bad.write_text('{"text": "ok"}\nnot json\n', encoding="utf-8")
    tab.import_file(bad)
    status = tab.findChild(QLabel, "importStatus")
    assert status.isVisible() and "broken.jsonl line 2 is not JSON" in status.text()
    assert editor.toPlainText().splitlines() == ["first doc", "second doc"]
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    tab.import_file(empty)
    assert "empty" in status.text()


def test_nomic_models_get_task_prefixes_and_others_get_the_texts_as_typed(
    qtbot: Any, tab: Any, fake_server: FakeServer
) -> None:
    picker = tab.findChild(QComboBox, "taskPrefix")
    assert not picker.isEnabled()
    pane = tab.presenter.panes[0]
    pane.set_model("nomic-ai/nomic-embed-text-v1.5")
    assert picker.isEnabled()
    _type_texts(qtbot, tab, TEXTS[:2])
    qtbot.keyClicks(tab.findChild(QLineEdit, "queryInput"), "cats")
    _send(qtbot, tab)
    assert _inputs(fake_server)[-1] == [
        "search_query: cats",
        *(f"search_document: {t}" for t in TEXTS[:2]),
    ]
    picker.setCurrentIndex(picker.findData("classification"))
    assert pane.task == "classification"
    _send(qtbot, tab)
    assert all(t.startswith("classification: ") for t in _inputs(fake_server)[-1])
    assert pane.texts == tuple(TEXTS[:2])  # the analysis names the texts as typed


def test_a_chat_model_is_warned_about_but_still_asked(
    qtbot: Any, tab: Any, fake_server: FakeServer
) -> None:
    tab.presenter.panes[0].set_model("model-a")
    _type_texts(qtbot, tab, TEXTS)
    statuses: list[str] = []
    tab.presenter.panes[0].status_changed.connect(statuses.append)
    _send(qtbot, tab)
    assert any("not listed as an embedding model" in s for s in statuses)
    assert _inputs(fake_server) == [TEXTS]


def test_too_many_texts_disable_send_with_the_reason(qtbot: Any, tab: Any) -> None:
    tab.findChild(QPlainTextEdit, "textsInput").setPlainText("\n".join(map(str, range(2001))))
    send = tab.findChild(QPushButton, "sendButton")
    assert not send.isEnabled() and "2,000" in send.toolTip()
    tab.findChild(QPlainTextEdit, "textsInput").setPlainText("")
    assert not send.isEnabled() and "one per line" in send.toolTip()


def test_compare_reports_rank_agreement_between_models(
    qtbot: Any, tab: Any, fake_server: FakeServer
) -> None:
    qtbot.mouseClick(tab.findChild(QPushButton, "addTargetButton"), Qt.MouseButton.LeftButton)
    qtbot.mouseClick(tab.findChild(QPushButton, "addTargetButton"), Qt.MouseButton.LeftButton)
    tab.presenter.panes[2].set_param("dimensions", 3)  # other vectors: another "model"
    texts = [f"sentence about topic {n}" for n in range(8)]
    tab.findChild(QPlainTextEdit, "textsInput").setPlainText("\n".join(texts))
    _send(qtbot, tab)
    compare = tab.findChild(QPushButton, "compareButton")
    assert compare.isEnabled()
    qtbot.mouseClick(compare, Qt.MouseButton.LeftButton)
    dialog = tab.findChild(QWidget, "agreementDialog")
    table = dialog.findChild(QTableWidget, "agreementTable")
    qtbot.waitUntil(lambda: table.rowCount() == 3, timeout=5000)
    # Panes 1 and 2 got the same vectors; pane 3 other ones.
    assert table.item(0, 2).text() == "1.000" and table.item(0, 4).text().startswith(
        "similarities of 28 pairs"
    )
    assert table.item(1, 2).text() != "1.000"
    table.selectRow(1)
    assert "disagree most" in dialog.findChild(QPlainTextEdit, "disagreements").toPlainText()


def test_the_matrix_and_vectors_export_as_csv_jsonl_and_npy(
    qtbot: Any, tab: Any, fake_server: FakeServer, tmp_path: Path
) -> None:
    _type_texts(qtbot, tab, TEXTS)
    _send(qtbot, tab)
    pane = tab.presenter.panes[0]
    for name in ("m.csv", "v.jsonl", "v.npy"):
        pane.export_to(tmp_path / name)
    qtbot.waitUntil(lambda: all((tmp_path / n).exists() for n in ("m.csv", "v.jsonl", "v.npy")))
    qtbot.waitUntil(lambda: "Saved" in tab.pane_views[0].status_label.text())
    rows = list(csv.reader(io.StringIO((tmp_path / "m.csv").read_text(encoding="utf-8"))))
    assert rows[0][1:] == TEXTS
    np.testing.assert_allclose(
        np.array([[float(v) for v in row[1:]] for row in rows[1:]]), _cosines(TEXTS), atol=1e-5
    )
    lines = [json.loads(line) for line in (tmp_path / "v.jsonl").read_text().splitlines()]
    assert [line["text"] for line in lines] == TEXTS
    assert lines[0]["embedding"] == pytest.approx(fake_vector(TEXTS[0], 8))
    np.testing.assert_allclose(
        np.load(tmp_path / "v.npy"), [fake_vector(t, 8) for t in TEXTS], atol=1e-6
    )


def test_a_new_embeddings_tab_on_the_built_in_engine_starts_with_its_embedding_model(
    make_app: Any,
) -> None:
    window = make_app("--tab", "embeddings").window
    tab = window.findChild(QWidget, "tab-embeddings")
    assert tab.presenter.panes[0].model == "multilingual-e5-small"


def test_stop_mid_batch_keeps_the_texts_embedded_so_far(
    qtbot: Any, tab: Any, fake_server: FakeServer, release: threading.Event
) -> None:
    texts = [f"row {n}" for n in range(200)]
    tab.findChild(QPlainTextEdit, "textsInput").setPlainText("\n".join(texts))
    fake_server.script.extend([Scripted(), Scripted(wait_for=release)])
    qtbot.mouseClick(tab.findChild(QPushButton, "sendButton"), Qt.MouseButton.LeftButton)
    pane, view = tab.presenter.panes[0], tab.pane_views[0]
    progress = view.findChild(QProgressBar, "embedProgress")
    qtbot.waitUntil(lambda: progress.value() == 128 and len(fake_server.requests) == 2)
    assert progress.isVisible() and progress.maximum() == 200
    qtbot.mouseClick(tab.findChild(QPushButton, "stopButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not tab.presenter.busy, timeout=5000)
    assert pane.outcome == "stopped" and not pane.has_output
    assert view.findChild(QTableView, "similarity").model().rowCount() == 128
    assert "Stopped after 128 of 200 texts" in view.status_label.text()
    assert "stopped" in view.findChild(QLabel, "metrics").text()
    assert not progress.isVisible()


def test_texts_longer_than_the_models_limit_are_warned_about(tab: Any) -> None:
    pane = tab.presenter.panes[0]
    pane.set_provider("fireworks")
    pane.set_model("nomic-ai/nomic-embed-text-v1.5")
    warnings = pane.warnings(["short", "word " * 9000])
    assert warnings == ["text 2 may exceed the model's 8,192-token limit"]
