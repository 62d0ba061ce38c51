"""The Chat tab driven like a user would: type, click, watch, stop, against a loopback server."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDoubleSpinBox, QPlainTextEdit, QPushButton

from app.domain.conversation import TurnStatus
from tests.fake_server import FakeServer, Scripted, openai_error
from tests.gui.chat_actions import send

pytestmark = pytest.mark.usefixtures("qloop")


@pytest.fixture
def chat(qtbot: Any, make_app: Any, fake_server: FakeServer) -> Any:
    """The Chat tab of a real window whose provider is the fake server."""
    app = make_app("--provider", fake_server.url, "--model", "fake-model")
    with qtbot.waitActive(app.window):
        app.window.show()
        app.window.activateWindow()
    return app.window.findChild(object, "tab-chat")


def _chat_requests(server: FakeServer) -> list[Any]:
    return [r for r in server.requests if r.path.endswith("/chat/completions")]


def test_reply_streams_in_and_metrics_appear(
    qtbot: Any, chat: Any, fake_server: FakeServer, release: threading.Event
) -> None:
    fake_server.script.append(
        Scripted(chunks=["Hel", "lo ", "world"], hold_after=2, wait_for=release)
    )
    presenter = chat.presenter.panes[0]
    with qtbot.waitSignal(presenter.text_received, timeout=5000):
        send(qtbot, chat, "hi there")
    # Mid-stream: the reply is visible while it is still arriving, and Stop is available.
    assert chat.findChild(QPushButton, "stopButton").isEnabled()
    assert not chat.findChild(QPushButton, "sendButton").isEnabled()
    with qtbot.waitSignal(presenter.reply_finished, timeout=5000) as finished:
        release.set()
    assert finished.args == ["Hello world"]
    assert chat.pane_views[0].transcript.text() == "hi there\n\nHello world"
    assert chat.findChild(QPlainTextEdit, "promptInput").toPlainText() == ""
    metrics = chat.findChild(object, "metrics").text()
    assert "TTFT" in metrics and "tok/s" in metrics and "stop" in metrics
    qtbot.waitUntil(chat.findChild(QPushButton, "sendButton").isEnabled)
    body = _chat_requests(fake_server)[-1].json
    assert body["stream"] is True and body["model"] == "fake-model"
    assert body["messages"] == [{"role": "user", "content": "hi there"}]


def test_stop_keeps_the_partial_reply(
    qtbot: Any, chat: Any, fake_server: FakeServer, release: threading.Event
) -> None:
    fake_server.script.append(
        Scripted(chunks=["partial ", "answer", "more"], hold_after=3, wait_for=release)
    )
    presenter = chat.presenter.panes[0]
    send(qtbot, chat, "tell me a long story")
    qtbot.waitUntil(lambda: "answer" in presenter.turns[-1].content, timeout=5000)
    with qtbot.waitSignal(presenter.busy_changed, timeout=5000):
        qtbot.keyClick(chat.findChild(QPlainTextEdit, "promptInput"), Qt.Key.Key_Escape)
    turn = presenter.turns[-1]
    assert turn.status is TurnStatus.STOPPED
    assert turn.content.startswith("partial answer")
    view = chat.pane_views[0].transcript.view(1)
    assert view.body.toPlainText().startswith("partial answer")
    assert view.status_label.text() == "stopped"
    # The app is usable again and the next request carries the partial reply the user saw.
    fake_server.script.append(Scripted(chunks=["ok"]))
    with qtbot.waitSignal(presenter.reply_finished, timeout=5000):
        send(qtbot, chat, "go on")
    sent = _chat_requests(fake_server)[-1].json["messages"]
    assert sent[1]["role"] == "assistant" and sent[1]["content"].startswith("partial answer")


def test_wrong_key_shows_the_server_message_inline(
    qtbot: Any, chat: Any, fake_server: FakeServer
) -> None:
    error = {
        "error": {
            "message": "Invalid API key provided",
            "type": "invalid_request_error",
            "param": None,
            "code": "invalid_api_key",
        }
    }
    fake_server.script.append(Scripted(status=401, body=error))
    presenter = chat.presenter.panes[0]
    with qtbot.waitSignal(presenter.failed, timeout=5000) as failed:
        send(qtbot, chat, "hello?")
    assert "Invalid API key provided" in failed.args[0] and "401" in failed.args[0]
    view = chat.pane_views[0].transcript.view(1)
    assert view.error_label.isVisible() or not chat.isVisible()
    assert "Invalid API key provided" in view.error_label.text()
    assert "Traceback" not in view.error_label.text()
    assert chat.pane_views[0].transcript.view(0).body.toPlainText() == "hello?"
    qtbot.waitUntil(chat.findChild(QPushButton, "sendButton").isEnabled)


def test_a_failed_turn_stays_on_screen_but_is_not_sent_again(
    qtbot: Any, chat: Any, fake_server: FakeServer
) -> None:
    too_long = openai_error("prompt is 12861 tokens; the model's context holds 8192", "invalid")
    fake_server.script.append(Scripted(status=400, body=too_long))
    fake_server.script.append(Scripted(chunks=["hello"]))
    pane = chat.presenter.panes[0]
    with qtbot.waitSignal(pane.failed, timeout=5000):
        send(qtbot, chat, "x" * 2000)
    qtbot.waitUntil(chat.findChild(QPushButton, "sendButton").isEnabled)
    with qtbot.waitSignal(pane.reply_finished, timeout=5000):
        send(qtbot, chat, "hi")
    assert _chat_requests(fake_server)[-1].json["messages"] == [{"role": "user", "content": "hi"}]
    transcript = chat.pane_views[0].transcript
    assert transcript.view(0).body.toPlainText() == "x" * 2000
    assert "12861 tokens" in transcript.view(1).error_label.text()
    assert [t.status for t in pane.turns][1::2] == [TurnStatus.FAILED, TurnStatus.COMPLETE]


def test_rate_limit_is_retried_then_succeeds(
    qtbot: Any, chat: Any, fake_server: FakeServer, no_retry_wait: None
) -> None:
    limited = openai_error("Rate limit exceeded", "rate_limit")
    fake_server.script.append(Scripted(status=429, body=limited, headers={"retry-after": "0"}))
    fake_server.script.append(Scripted(chunks=["after ", "retry"]))
    with qtbot.waitSignal(chat.presenter.panes[0].reply_finished, timeout=5000) as finished:
        send(qtbot, chat, "busy?")
    assert finished.args == ["after retry"]
    assert len(_chat_requests(fake_server)) == 2


def test_rate_limit_exhausted_says_so(
    qtbot: Any, chat: Any, fake_server: FakeServer, no_retry_wait: None
) -> None:
    limited = openai_error("Rate limit exceeded", "rate_limit")
    fake_server.script.extend(Scripted(status=429, body=limited) for _ in range(3))
    with qtbot.waitSignal(chat.presenter.panes[0].failed, timeout=5000) as failed:
        send(qtbot, chat, "busy?")
    assert "429" in failed.args[0] and "Rate limit exceeded" in failed.args[0]


def test_parameters_are_sent_only_when_set(qtbot: Any, chat: Any, fake_server: FakeServer) -> None:
    temperature = chat.findChild(QDoubleSpinBox, "param-temperature")
    assert temperature.text() == "default"
    temperature.setValue(0.3)
    system = chat.findChild(QPlainTextEdit, "systemPrompt")
    qtbot.keyClicks(system, "Answer in French.")
    fake_server.script.append(Scripted(chunks=["Bonjour"]))
    with qtbot.waitSignal(chat.presenter.panes[0].reply_finished, timeout=5000):
        send(qtbot, chat, "hello")
    body = _chat_requests(fake_server)[-1].json
    assert body["temperature"] == 0.3
    assert not {"top_p", "top_k", "max_tokens", "seed", "stop"} & body.keys()
    assert body["messages"][0] == {"role": "system", "content": "Answer in French."}
    # Back to default: the field is no longer sent.
    temperature.setValue(temperature.minimum())
    fake_server.script.append(Scripted(chunks=["Salut"]))
    with qtbot.waitSignal(chat.presenter.panes[0].reply_finished, timeout=5000):
        send(qtbot, chat, "again")
    assert "temperature" not in _chat_requests(fake_server)[-1].json


def test_regenerate_edit_and_clear(qtbot: Any, chat: Any, fake_server: FakeServer) -> None:
    presenter = chat.presenter.panes[0]
    fake_server.script.append(Scripted(chunks=["first"]))
    with qtbot.waitSignal(presenter.reply_finished, timeout=5000):
        send(qtbot, chat, "question")
    fake_server.script.append(Scripted(chunks=["second"]))
    with qtbot.waitSignal(presenter.reply_finished, timeout=5000):
        qtbot.mouseClick(chat.findChild(QPushButton, "regenerateButton"), Qt.MouseButton.LeftButton)
    assert [t.content for t in presenter.turns] == ["question", "second"]
    assert len(chat.pane_views[0].transcript.messages) == 2
    qtbot.waitUntil(chat.findChild(QPushButton, "editLastButton").isEnabled)
    qtbot.mouseClick(chat.findChild(QPushButton, "editLastButton"), Qt.MouseButton.LeftButton)
    prompt = chat.findChild(QPlainTextEdit, "promptInput")
    assert prompt.toPlainText() == "question" and presenter.turns == []
    qtbot.keyClicks(prompt, " (edited)")
    fake_server.script.append(Scripted(chunks=["third"]))
    with qtbot.waitSignal(presenter.reply_finished, timeout=5000):
        qtbot.mouseClick(chat.findChild(QPushButton, "sendButton"), Qt.MouseButton.LeftButton)
    assert _chat_requests(fake_server)[-1].json["messages"][-1]["content"] == "question (edited)"
    qtbot.mouseClick(chat.findChild(QPushButton, "clearButton"), Qt.MouseButton.LeftButton)
    assert presenter.turns == [] and chat.pane_views[0].transcript.messages == []


def test_reasoning_is_collapsed_and_markdown_renders(
    qtbot: Any, chat: Any, fake_server: FakeServer
) -> None:
    answer = ["Here:\n\n", "```python\n", "print('hi')\n", "```\n\n", "**done**"]
    fake_server.script.append(Scripted(reasoning=["Let me ", "think."], chunks=answer))
    with qtbot.waitSignal(chat.presenter.panes[0].reply_finished, timeout=5000):
        send(qtbot, chat, "code please")
    view = chat.pane_views[0].transcript.view(1)
    assert view.reasoning_toggle.text().startswith("Reasoning")
    assert not view.reasoning.isVisibleTo(view)
    view.reasoning_toggle.click()
    assert view.reasoning.isVisibleTo(view)
    assert view.reasoning.toPlainText() == "Let me think."
    shown = view.body.toPlainText()
    assert "print('hi')" in shown and "```" not in shown and "**" not in shown
    assert view.turn.content == "".join(answer)


def test_single_line_breaks_survive_the_markdown_render(
    qtbot: Any, chat: Any, fake_server: FakeServer
) -> None:
    answer = ["Red\nGreen\n", "Blue\n\n", "```\nx = 1\ny = 2\n```\n\n", "- one\n- two\n\n"]
    answer += ["| a | b |\n|---|---|\n| 1 | 2 |\n"]
    fake_server.script.append(Scripted(chunks=answer))
    pane_view = chat.pane_views[0]
    prompt = chat.findChild(QPlainTextEdit, "promptInput")
    prompt.setFocus()
    qtbot.keyClicks(prompt, "first line")
    qtbot.keyClick(prompt, Qt.Key.Key_Return)
    with qtbot.waitSignal(chat.presenter.panes[0].reply_finished, timeout=5000):
        send(qtbot, chat, "second line")
    reply = pane_view.transcript.view(1)
    qtbot.waitUntil(lambda: "|" not in reply.body.toPlainText())  # the Markdown is rendered
    lines = reply.body.toPlainText().split("\n")
    assert lines[:3] == ["Red", "Green", "Blue"]
    assert "x = 1" in lines and "y = 2" in lines and "one" in lines and "two" in lines
    assert reply.body.document().rootFrame().childFrames(), "the table is still a table"
    assert reply.turn.content == "".join(answer)
    mine = pane_view.transcript.view(0)
    qtbot.waitUntil(lambda: mine.body.toPlainText() == "first line\nsecond line")


def test_copy_puts_the_markdown_source_on_the_clipboard(
    qtbot: Any, chat: Any, fake_server: FakeServer
) -> None:
    from PySide6.QtGui import QGuiApplication

    fake_server.script.append(Scripted(chunks=["**bold** text"]))
    with qtbot.waitSignal(chat.presenter.panes[0].reply_finished, timeout=5000):
        send(qtbot, chat, "x")
    chat.pane_views[0].transcript.view(1).copy_button.click()
    assert QGuiApplication.clipboard().text() == "**bold** text"


def test_unreachable_server_is_a_clear_error(qtbot: Any, make_app: Any) -> None:
    app = make_app("--provider", "http://127.0.0.1:9/v1", "--model", "m")
    tab = app.window.findChild(object, "tab-chat")
    with qtbot.waitSignal(tab.presenter.panes[0].failed, timeout=15000) as failed:
        send(qtbot, tab, "anyone?")
    assert "connect" in failed.args[0].lower()
    qtbot.waitUntil(tab.findChild(QPushButton, "sendButton").isEnabled)


def test_settings_persist_target_params_and_system_prompt(
    qtbot: Any, make_app: Any, fake_server: FakeServer, config_dir: Any
) -> None:
    app = make_app("--provider", fake_server.url, "--model", "fake-model")
    tab = app.window.findChild(object, "tab-chat")
    tab.findChild(QDoubleSpinBox, "param-top_p").setValue(0.5)
    qtbot.keyClicks(tab.findChild(QPlainTextEdit, "systemPrompt"), "Be terse.")
    saved = json.loads((config_dir / "settings.json").read_text())
    assert saved["workbenches"]["chat"]["targets"][0]["params"] == {"top_p": 0.5}
    again = make_app()
    tab2 = again.window.findChild(object, "tab-chat")
    assert tab2.presenter.panes[0].model == "fake-model"
    assert tab2.presenter.panes[0].params == {"top_p": 0.5}
    assert tab2.findChild(QPlainTextEdit, "systemPrompt").toPlainText() == "Be terse."
    assert tab2.findChild(QDoubleSpinBox, "param-top_p").value() == 0.5
