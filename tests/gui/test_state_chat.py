"""The Chat tab's state: saved, restored into a changed tab, continued; and its runs' history."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QLabel, QPlainTextEdit, QPushButton, QWidget

from app.domain.history import RunRecord, strip_media
from tests.fake_server import FakeServer, Scripted
from tests.gui.chat_actions import add_pane, send, wait_idle

pytestmark = pytest.mark.usefixtures("qloop")


@pytest.fixture
def app(qtbot: Any, make_app: Any, fake_server: FakeServer) -> Any:
    """A real window whose provider is the fake server."""
    built = make_app("--provider", fake_server.url, "--model", "fake-model")
    built.window.show()
    return built


@pytest.fixture
def chat(app: Any) -> Any:
    """The window's Chat tab."""
    return app.window.findChild(QWidget, "tab-chat")


def chat_requests(server: FakeServer) -> list[Any]:
    """The JSON bodies of the chat requests the server received, in order."""
    return [r.json for r in server.requests if r.path.endswith("/chat/completions")]


def shown(tab: Any) -> dict[str, Any]:
    """What the user sees of every pane: model, conversation, metrics line and marks."""
    return {
        "models": [v.findChild(QComboBox, "modelPicker").currentText() for v in tab.pane_views],
        "outputs": [v.transcript.text() for v in tab.pane_views],
        "metrics": [v.findChild(QLabel, "metrics").text() for v in tab.pane_views],
        "marks": [v.findChild(QLabel, "paneBadges").text() for v in tab.pane_views],
    }


def round_trip(state: dict[str, Any]) -> None:
    """``state`` survives JSON unchanged and holds no image data."""
    assert json.loads(json.dumps(state)) == state
    assert "base64," not in json.dumps(state)


def only_run(app: Any, tab: str) -> RunRecord:
    """The one run ``tab`` recorded in the history, once it is written."""
    store = app.services.history.store
    assert store.flush()
    runs = store.search(tab=tab)
    assert len(runs) == 1
    record = store.get(runs[0].id)
    assert record is not None
    return record


def test_a_restored_chat_shows_the_same_and_continues(
    qtbot: Any, chat: Any, fake_server: FakeServer
) -> None:
    add_pane(qtbot, chat, "model-b")
    qtbot.keyClicks(chat.findChild(QPlainTextEdit, "systemPrompt"), "Be brief.")
    fake_server.by_model["fake-model"].append(Scripted(reasoning=["Hmm."], chunks=["Hi ", "A."]))
    fake_server.by_model["model-b"].append(Scripted(chunks=["Hello ", "from B."], delay=0.05))
    send(qtbot, chat, "hello")
    wait_idle(qtbot, chat)
    prompt = chat.findChild(QPlainTextEdit, "promptInput")
    qtbot.keyClicks(prompt, "a draft")
    presenter = chat.presenter
    before = shown(chat)
    assert before["outputs"] == ["hello\n\nHi A.", "hello\n\nHello from B."]
    assert all("TTFT" in text for text in before["metrics"])
    assert any("fastest" in m for m in before["marks"])  # restored panes are compared too

    state = presenter.state()
    round_trip(state)
    assert state["inputs"] == {"system_prompt": "Be brief.", "prompt": "a draft"}

    qtbot.mouseClick(chat.findChild(QPushButton, "clearButton"), Qt.MouseButton.LeftButton)
    presenter.remove_target(1)
    chat.findChild(QPlainTextEdit, "systemPrompt").setPlainText("Talk like a pirate.")
    prompt.clear()
    presenter.restore(state)

    assert len(chat.pane_views) == 2 and shown(chat) == before
    assert prompt.toPlainText() == "a draft"
    assert chat.findChild(QPlainTextEdit, "systemPrompt").toPlainText() == "Be brief."
    assert presenter.system_prompt == "Be brief."
    assert chat.pane_views[0].transcript.view(1).reasoning.toPlainText() == "Hmm."
    assert presenter.can_diff and presenter.panes[1].result_text() == "Hello from B."
    assert [p.result_state() for p in presenter.panes] == [p["result"] for p in state["panes"]]

    prompt.clear()
    fake_server.by_model["fake-model"].append(Scripted(chunks=["Again A."]))
    fake_server.by_model["model-b"].append(Scripted(chunks=["Again B."]))
    send(qtbot, chat, "and again")
    wait_idle(qtbot, chat)
    sent = sorted(chat_requests(fake_server)[-2:], key=lambda body: body["model"])
    assert [body["messages"] for body in sent] == [
        [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "hello"},
            {"role": "assistant", "content": reply},
            {"role": "user", "content": "and again"},
        ]
        for reply in ("Hi A.", "Hello from B.")
    ]


def test_a_restored_turn_whose_images_were_not_kept_lists_them_and_sends_without(
    qtbot: Any, chat: Any, fake_server: FakeServer
) -> None:
    presenter = chat.presenter
    state = presenter.state()
    image = {"name": "cat.png", "path": "/nowhere/cat.png", "detail": "auto"}
    state["panes"][0]["result"] = {
        "turns": [
            {"role": "user", "content": "What is this?", "status": "complete", "images": [image]},
            {"role": "assistant", "content": "A cat.", "status": "complete"},
        ]
    }
    presenter.restore(state)
    transcript = chat.pane_views[0].transcript
    label = transcript.view(0).findChild(QLabel, "messageImages")
    assert label.text() == "Images: cat.png (image not kept)"
    fake_server.script.append(Scripted(chunks=["Still a cat."]))
    send(qtbot, chat, "Sure?")
    wait_idle(qtbot, chat)
    assert chat_requests(fake_server)[-1]["messages"] == [
        {"role": "user", "content": "What is this?"},
        {"role": "assistant", "content": "A cat."},
        {"role": "user", "content": "Sure?"},
    ]


def test_a_run_is_recorded_in_the_history_as_sent_and_shown(
    qtbot: Any, app: Any, chat: Any, fake_server: FakeServer
) -> None:
    fake_server.script.append(Scripted(chunks=["Hi ", "there."]))
    send(qtbot, chat, "hello")
    wait_idle(qtbot, chat)
    pane = chat.presenter.panes[0]
    record = only_run(app, "chat")
    assert record.status == "complete" and record.output == pane.result_text() == "Hi there."
    assert record.request is not None
    assert record.request["body"] == strip_media(chat_requests(fake_server)[-1])
    assert record.result == pane.result_state()


def test_a_stopped_run_is_recorded_stopped_with_its_partial_reply(
    qtbot: Any, app: Any, chat: Any, fake_server: FakeServer, release: threading.Event
) -> None:
    fake_server.script.append(
        Scripted(chunks=["partial ", "answer", "more"], hold_after=3, wait_for=release)
    )
    pane = chat.presenter.panes[0]
    send(qtbot, chat, "tell me a long story")
    qtbot.waitUntil(lambda: "answer" in pane.turns[-1].content, timeout=5000)
    chat.presenter.stop()
    wait_idle(qtbot, chat)
    record = only_run(app, "chat")
    assert record.status == "stopped" and record.output.startswith("partial answer")
    assert record.result == pane.result_state()
    assert record.result is not None and record.result["turns"][-1]["status"] == "stopped"
