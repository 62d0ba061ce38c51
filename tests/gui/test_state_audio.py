"""The Audio tab's state: saved and restored in a real window, recorded in the history."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QLabel, QPlainTextEdit, QPushButton, QTableView, QWidget

import app.presenters.audio as audio_presenter
from tests.fake_server import FakeServer
from tests.gui.test_audio_tab import loaded, tone

pytestmark = pytest.mark.usefixtures("qloop")

_REFERENCE = "Hallo vom Testserver"


@pytest.fixture
def tab(qtbot: Any, make_app: Any, fake_server: FakeServer) -> Any:
    """The Audio tab of a real window on the fake server."""
    app = make_app("--tab", "audio", "--provider", fake_server.url, "--model", "whisper-1")
    app.window.show()
    return app.window.findChild(QWidget, "tab-audio")


@pytest.fixture
def speech(tmp_path: Path, speech_wav: bytes) -> Path:
    """The spoken sentence as a file of its own (tests may delete it)."""
    path = tmp_path / "speech.wav"
    path.write_bytes(speech_wav)
    return path


def _send(qtbot: Any, tab: Any) -> None:
    send = tab.findChild(QPushButton, "sendButton")
    assert send.isEnabled(), send.toolTip()
    qtbot.mouseClick(send, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not tab.presenter.busy, timeout=10_000)


def _uploads(fake_server: FakeServer) -> list[Any]:
    return [r for r in fake_server.requests if r.path.startswith("/v1/audio/")]


def _two_panes_transcribed(qtbot: Any, tab: Any, path: Path) -> None:
    """Two targets, verbose_json with word timings, a reference to score against, one Send."""
    presenter = tab.presenter
    presenter.add_target()
    presenter.panes[1].set_model("whisper-large-v3")
    for pane in presenter.panes:
        pane.set_param("response_format", "verbose_json")
        pane.set_param("timestamp_granularities", "segment,word")
    loaded(qtbot, tab, path)
    tab.findChild(QPlainTextEdit, "referenceInput").setPlainText(_REFERENCE)
    _send(qtbot, tab)
    assert all(pane.has_output for pane in presenter.panes)


def _cells(table: QTableView) -> list[list[Any]]:
    model = table.model()
    return [
        [
            (
                model.data(model.index(row, column)),
                model.data(model.index(row, column), Qt.ItemDataRole.ToolTipRole),
            )
            for column in range(model.columnCount())
        ]
        for row in range(model.rowCount())
    ]


def _screen(tab: Any) -> dict[str, Any]:
    """What the user sees, and what Diff, Export and the marks read."""
    panes = []
    for view in tab.pane_views:
        pane = view.pane
        panes.append(
            {
                "model": view.findChild(QComboBox, "modelPicker").currentText(),
                "output": view.findChild(QPlainTextEdit, "output").toPlainText(),
                "segments": _cells(view.findChild(QTableView, "segments")),
                "metrics": view.findChild(QLabel, "metrics").text(),
                "score": view.findChild(QLabel, "paneScore").text(),
                "badges": view.findChild(QLabel, "paneBadges").text(),
                "status": view.findChild(QLabel, "statusLabel").text(),
                "result_text": pane.result_text(),
                "record": pane.record(),
                "last_metrics": pane.last_metrics,
                "has_output": pane.has_output,
                "exports": {kind: pane.export(kind) for kind in ("txt", "srt", "vtt", "json")},
            }
        )
    return {
        "panes": panes,
        "task": tab.findChild(QComboBox, "taskPicker").currentData(),
        "audio_info": tab.findChild(QLabel, "audioInfo").text(),
        "reference": tab.findChild(QPlainTextEdit, "referenceInput").toPlainText(),
        "can_diff": tab.presenter.can_diff,
    }


def test_a_restored_tab_shows_the_same_file_inputs_and_results(
    qtbot: Any, tab: Any, fake_server: FakeServer, speech: Path, tmp_path: Path
) -> None:
    presenter = tab.presenter
    _two_panes_transcribed(qtbot, tab, speech)
    before = _screen(tab)
    assert before["panes"][0]["segments"]
    assert any(pane["badges"] for pane in before["panes"])  # a fastest mark to restore

    state = presenter.state()
    assert json.loads(json.dumps(state)) == state
    text = json.dumps(state)
    data = speech.read_bytes()
    assert len(text) < len(data) // 4
    assert base64.b64encode(data[44:80]).decode() not in text
    assert state["inputs"] == {
        "task": "transcribe",
        "reference": _REFERENCE,
        "file": {
            "path": str(speech),
            "name": "speech.wav",
            "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
        },
    }
    first = state["panes"][0]["result"]
    assert first["response_format"] == "verbose_json" and first["language"] == "de"
    assert first["metrics"]["audio_s"] == pytest.approx(presenter.file.info.duration_s)
    assert first["segments"][0]["words"][0] == {"word": "Hallo", "start": 0.0, "end": 0.25}

    picker = tab.findChild(QComboBox, "taskPicker")
    picker.setCurrentIndex(picker.findData("translate"))
    tab.findChild(QPlainTextEdit, "referenceInput").setPlainText("something else")
    presenter.remove_target(1)
    loaded(qtbot, tab, tone(tmp_path / "other.wav"))

    presenter.restore(state)
    assert presenter.reading  # the file is read again off the UI thread, like a dropped one
    qtbot.waitUntil(lambda: not presenter.reading and presenter.file is not None, timeout=10_000)
    assert presenter.file.path == speech
    assert _screen(tab) == before
    assert presenter.state() == state
    assert tab.findChild(QLabel, "audioStatus").isHidden()
    for kind in ("srt", "json"):
        tab.pane_views[0].export_to(tmp_path / f"restored.{kind}")
        assert "Hallo vom Testserver." in (tmp_path / f"restored.{kind}").read_text("utf-8")


def test_a_state_whose_file_was_deleted_restores_its_results_and_names_the_file(
    qtbot: Any, tab: Any, fake_server: FakeServer, speech: Path
) -> None:
    presenter = tab.presenter
    _two_panes_transcribed(qtbot, tab, speech)
    before = _screen(tab)
    state = presenter.state()
    presenter.clear()
    speech.unlink()

    presenter.restore(state)
    status = tab.findChild(QLabel, "audioStatus")
    assert status.isVisible() and "speech.wav" in status.text()
    assert presenter.file is None and not presenter.reading
    after = _screen(tab)
    assert after["panes"] == before["panes"]
    assert after["audio_info"] == "No file yet"
    assert not tab.findChild(QPushButton, "sendButton").isEnabled()


def test_a_file_changed_since_its_results_is_said_so_when_restored(
    qtbot: Any, tab: Any, fake_server: FakeServer, speech: Path, tmp_path: Path
) -> None:
    presenter = tab.presenter
    loaded(qtbot, tab, speech)
    _send(qtbot, tab)
    state = presenter.state()
    loaded(qtbot, tab, tone(tmp_path / "other.wav"))
    tone(speech, seconds=1.0)

    presenter.restore(state)
    qtbot.waitUntil(lambda: not presenter.reading and presenter.file.path == speech, timeout=10_000)
    assert "has changed" in tab.findChild(QLabel, "audioStatus").text()
    assert presenter.panes[0].has_output


def test_every_run_is_in_the_history_with_its_form_file_and_result(
    qtbot: Any, tab: Any, fake_server: FakeServer, speech: Path
) -> None:
    presenter = tab.presenter
    loaded(qtbot, tab, speech)
    _send(qtbot, tab)
    pane = presenter.panes[0]
    store = presenter._services.history.store
    assert store.flush()

    (summary,) = store.search(tab="audio")
    assert summary.status == "complete"
    record = store.get(summary.id)
    assert record is not None
    (upload,) = _uploads(fake_server)
    form = {k: v if isinstance(v, list) else [v] for k, v in record.request["form"].items()}
    assert form == upload.form
    (file,) = record.request["files"]
    assert file["filename"] == "speech.wav" and file["size"] == speech.stat().st_size
    assert set(file) == {"field", "filename", "content_type", "size"}  # never the bytes
    assert record.result == pane.result_state()
    assert record.output == pane.text
    assert record.inputs["file"]["path"] == str(speech)


def test_view_code_uploads_the_file_the_newest_request_sent(
    qtbot: Any, tab: Any, fake_server: FakeServer, speech: Path
) -> None:
    loaded(qtbot, tab, speech)
    _send(qtbot, tab)
    request = tab.presenter.panes[0].code_request()
    assert request is not None
    assert request.path == "/audio/transcriptions"
    assert request.base_url == fake_server.url
    assert request.form == {
        "model": "whisper-1",
        "response_format": "verbose_json",
        "timestamp_granularities[]": ["segment"],
    }
    assert request.file_path == str(speech)


def test_view_code_uploads_the_re_encoded_copy_when_that_was_sent(
    qtbot: Any,
    tab: Any,
    fake_server: FakeServer,
    speech: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    size = speech.stat().st_size
    # The provider's limit made small: the WAV is over it, its 16 kHz mono copy is not.
    monkeypatch.setattr(
        audio_presenter, "too_large", lambda n, _provider: "over the limit" if n >= size else ""
    )
    presenter = tab.presenter
    loaded(qtbot, tab, speech)
    assert presenter.needs_reencoding()
    presenter.reencode()
    qtbot.waitUntil(lambda: presenter.reencoded is not None, timeout=30_000)
    _send(qtbot, tab)
    (upload,) = _uploads(fake_server)
    request = presenter.panes[0].code_request()
    assert request is not None and request.file_path is not None
    copy = Path(request.file_path)
    assert copy != speech and copy.name == upload.files["file"].filename
    assert copy.read_bytes() == upload.files["file"].content == presenter.reencoded.data
