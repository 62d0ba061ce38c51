"""Sessions save and reopen the whole window; the history window finds, deletes and exports runs,
and a history that cannot be used leaves the app working."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QLineEdit, QMessageBox, QPushButton, QWidget

from tests.fake_server import FakeServer, Scripted
from tests.gui.chat_actions import send, wait_idle

pytestmark = pytest.mark.usefixtures("qloop")


@pytest.fixture
def window(make_app: Any, fake_server: FakeServer) -> Any:
    app = make_app("--provider", fake_server.url, "--model", "fake-chat")
    app.window.show()
    return app.window


@pytest.fixture
def answers(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Answer every question with Discard and collect every warning shown."""
    warnings: list[str] = []
    monkeypatch.setattr(
        QMessageBox, "question", staticmethod(lambda *a, **k: QMessageBox.StandardButton.Discard)
    )
    monkeypatch.setattr(
        QMessageBox, "warning", staticmethod(lambda _p, _t, text: warnings.append(text))
    )
    return warnings


def _chat(window: Any) -> Any:
    return window.findChild(QWidget, "tab-chat")


def _outputs(tab: Any) -> list[str]:
    return [pane.result_text() for pane in tab.presenter.panes]


def test_a_session_reopens_every_tab_as_it_was(
    qtbot: Any, window: Any, fake_server: FakeServer, tmp_path: Path, answers: list[str]
) -> None:
    chat = _chat(window)
    fake_server.script.append(Scripted(chunks=["The ", "demo ", "answer."]))
    send(qtbot, chat, "Prepare the demo")
    wait_idle(qtbot, chat)
    window.tabs.setCurrentWidget(window.findChild(QWidget, "tab-json"))
    json_tab = window.findChild(QWidget, "tab-json")
    fake_server.script.append(Scripted(chunks=['{"city": "Oslo", "temperature": 3}']))
    json_tab.findChild(QPushButton, "sendButton").click()
    qtbot.waitUntil(lambda: not json_tab.presenter.busy, timeout=10_000)
    before = {"chat": _outputs(chat), "json": _outputs(json_tab)}
    assert before["chat"] == ["The demo answer."]
    path = tmp_path / "demo.fireplay-session.json"
    assert window.save_session(path)
    chat.presenter.clear()
    json_tab.presenter.panes[0].set_model("another-model")
    assert window.open_session(path)
    assert {"chat": _outputs(chat), "json": _outputs(json_tab)} == before
    assert json_tab.presenter.panes[0].model == "fake-chat"
    assert "The demo answer." in chat.pane_views[0].result.text()
    assert answers == []


def test_a_session_from_a_newer_version_is_refused_and_changes_nothing(
    qtbot: Any, window: Any, fake_server: FakeServer, tmp_path: Path, answers: list[str]
) -> None:
    chat = _chat(window)
    send(qtbot, chat, "Keep me")
    wait_idle(qtbot, chat)
    kept = _outputs(chat)
    path = tmp_path / "future.fireplay-session.json"
    path.write_text(json.dumps({"format": "fireplay-session", "version": 99, "tabs": {}}))
    assert not window.open_session(path)
    assert len(answers) == 1 and "newer Fireplay" in answers[0]
    assert _outputs(chat) == kept


def test_the_history_window_searches_deletes_and_exports_runs(
    qtbot: Any, window: Any, fake_server: FakeServer, tmp_path: Path, answers: list[str]
) -> None:
    chat = _chat(window)
    for prompt, reply in (("Tell me about apples", "Apples are red."), ("And pears?", "Pears.")):
        fake_server.script.append(Scripted(chunks=[reply]))
        send(qtbot, chat, prompt)
        wait_idle(qtbot, chat)
    assert window.services.history.store.flush()
    dialog = window.open_history()
    runs = dialog.findChild(QWidget, "historyList").model()
    assert runs.rowCount() == 2
    assert "2 runs shown" in dialog.findChild(QLabel, "historySize").text()
    qtbot.keyClicks(dialog.findChild(QLineEdit, "historySearch"), "pears")
    qtbot.waitUntil(lambda: runs.rowCount() == 1, timeout=3000)
    assert "Pears." in runs.index(0, 6).data()
    detail = dialog.findChild(QWidget, "historyDetail").toPlainText()
    assert "And pears?" in detail and "Pears." in detail
    export = tmp_path / "batch.jsonl"
    assert dialog.export_to(export, batch=True).startswith("Wrote 1 runs")
    [line] = export.read_text().splitlines()
    batch = json.loads(line)
    assert set(batch) == {"custom_id", "method", "url", "body"}
    assert batch["url"] == "/v1/chat/completions" and "stream" not in batch["body"]
    assert batch["body"]["messages"][-1]["content"] == "And pears?"
    qtbot.mouseClick(
        dialog.findChild(QPushButton, "historyDeleteButton"), Qt.MouseButton.LeftButton
    )
    qtbot.waitUntil(lambda: runs.rowCount() == 0, timeout=3000)
    dialog.findChild(QLineEdit, "historySearch").clear()
    qtbot.waitUntil(lambda: runs.rowCount() == 1, timeout=3000)
    dialog.findChild(QPushButton, "historyDeleteAllButton").click()
    qtbot.waitUntil(lambda: runs.rowCount() == 0, timeout=3000)
    assert window.services.history.search() == []


def test_a_history_that_cannot_be_opened_is_off_and_the_app_keeps_working(
    qtbot: Any, make_app: Any, fake_server: FakeServer, config_dir: Path
) -> None:
    (config_dir / "history.sqlite3").mkdir()  # in the way of the database file
    app = make_app("--provider", fake_server.url, "--model", "fake-chat")
    history = app.services.history
    assert not history.store.available
    assert "History is off" in history.problem
    chat = _chat(app.window)
    send(qtbot, chat, "Still working?")
    wait_idle(qtbot, chat)
    assert chat.presenter.panes[0].has_output
    dialog = app.window.open_history()
    assert "History is off" in dialog.findChild(QLabel, "historyProblem").text()


def test_a_damaged_history_is_set_aside_and_a_new_one_started(
    qtbot: Any, make_app: Any, fake_server: FakeServer, config_dir: Path
) -> None:
    (config_dir / "history.sqlite3").write_bytes(b"this is not a database" * 100)
    app = make_app("--provider", fake_server.url, "--model", "fake-chat")
    history = app.services.history
    assert "set aside" in history.problem
    assert list(config_dir.glob("history.sqlite3.corrupt-*"))
    chat = _chat(app.window)
    send(qtbot, chat, "After the damage")
    wait_idle(qtbot, chat)
    assert history.store.flush()
    assert [run.prompt for run in history.search()] == ["After the damage"]
