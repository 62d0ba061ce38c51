"""The transcript: messages appear in order, stream, and end rendered, however busy the UI is.

Views are built, and finished replies rendered, one per event-loop turn through a shared queue;
these tests check what the user ends up seeing, including when many panes send or finish at
once and when the conversation is cleared while that work is still queued.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
import shiboken6
from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import (
    QApplication,
    QLabel,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.domain.conversation import Role, Turn, TurnStatus
from app.domain.metrics import RunMetrics
from tests.fake_server import FakeServer, Scripted
from tests.gui.chat_actions import add_pane, send, wait_idle
from widgets.common.transcript import MessageView, Transcript, _one_per_turn

MARKDOWN = ["Here is ", "**bold**", " text.\n\n", "```python\n", "print('hi')\n", "```\n"]


def _rendered(view: MessageView) -> bool:
    shown = view.body.toPlainText()
    return "bold text." in shown and "**" not in shown and "```" not in shown


def run_deferred_view_work(qtbot: Any) -> None:
    """Let every message build and render queued for a later event-loop turn have its turn."""
    qtbot.waitUntil(lambda: _one_per_turn().idle, timeout=5000)


def add_panes(qtbot: Any, tab: Any, count: int) -> None:
    """Add panes on models model-1, model-2, ... up to ``count`` panes in all."""
    for number in range(1, count):
        add_pane(qtbot, tab, f"model-{number}")


# -- the real window ---------------------------------------------------------------------------


@pytest.fixture
def chat(qtbot: Any, make_app: Any, fake_server: FakeServer) -> Any:
    """The Chat tab of a real, shown window on the fake server."""
    app = make_app("--provider", fake_server.url, "--model", "model-0")
    app.window.show()
    return app.window.findChild(object, "tab-chat")


@pytest.mark.usefixtures("qloop")
def test_reasoning_toggle_appears_only_once_reasoning_arrives(
    qtbot: Any, chat: Any, fake_server: FakeServer, release: threading.Event
) -> None:
    fake_server.script.append(Scripted(chunks=["plain answer"]))
    send(qtbot, chat, "no thinking")
    wait_idle(qtbot, chat)
    plain = chat.pane_views[0].transcript.view(1)
    assert plain.findChild(QToolButton, "reasoningToggle") is None
    assert plain.reasoning_toggle is None and plain.reasoning is None

    fake_server.script.append(
        Scripted(
            reasoning=["Let me ", "think."],
            chunks=["slow ", "answer"],
            hold_after=4,
            wait_for=release,
        )
    )
    send(qtbot, chat, "think first")
    pane = chat.presenter.panes[0]
    qtbot.waitUntil(lambda: bool(pane.turns[-1].content), timeout=5000)
    view = chat.pane_views[0].transcript.view(3)
    # Mid-stream: the toggle is there, collapsed, and counts the reasoning received.
    toggle = view.findChild(QToolButton, "reasoningToggle")
    assert toggle is not None
    # Qt shows a widget added to a visible layout in the next event-loop turn.
    qtbot.waitUntil(lambda: toggle.isVisibleTo(view), timeout=5000)
    qtbot.waitUntil(lambda: toggle.text() == "Reasoning (13 characters)", timeout=5000)
    assert not view.reasoning.isVisibleTo(view) and pane.busy
    release.set()
    wait_idle(qtbot, chat)
    toggle.click()
    assert view.reasoning.isVisibleTo(view)
    assert view.reasoning.toPlainText() == "Let me think."
    toggle.click()
    assert not view.reasoning.isVisibleTo(view)
    # The earlier reply still has no reasoning toggle.
    assert chat.pane_views[0].transcript.view(1).reasoning_toggle is None


@pytest.mark.usefixtures("qloop")
def test_every_pane_shows_its_messages_and_markdown_when_panes_finish_together(
    qtbot: Any, chat: Any, fake_server: FakeServer
) -> None:
    add_panes(qtbot, chat, 4)
    for number in range(4):
        fake_server.by_model[f"model-{number}"].append(Scripted(chunks=MARKDOWN))
    send(qtbot, chat, "markdown please")
    wait_idle(qtbot, chat)
    transcripts = [view.transcript for view in chat.pane_views]
    qtbot.waitUntil(lambda: all(_rendered(t.view(1)) for t in transcripts), timeout=5000)
    for transcript in transcripts:
        user, reply = transcript.messages
        assert user.objectName() == "userMessage" and reply.objectName() == "assistantMessage"
        assert user.body.toPlainText() == "markdown please"
        assert reply.status_label.text() == ""
        assert reply.metrics_label.isVisibleTo(reply) and "tok" in reply.metrics_label.text()
        assert not reply.error_label.isVisibleTo(reply)
        reply.copy_button.click()
        assert QApplication.clipboard().text() == "".join(MARKDOWN)


@pytest.mark.usefixtures("qloop")
def test_new_chat_while_every_pane_streams(
    qtbot: Any, chat: Any, fake_server: FakeServer, release: threading.Event
) -> None:
    add_panes(qtbot, chat, 3)
    for number in range(3):
        fake_server.by_model[f"model-{number}"].append(
            Scripted(chunks=["partial ", "more"], hold_after=2, wait_for=release)
        )
    send(qtbot, chat, "long story")
    qtbot.waitUntil(
        lambda: all("partial" in p.turns[-1].content for p in chat.presenter.panes), timeout=5000
    )
    qtbot.mouseClick(chat.findChild(QPushButton, "clearButton"), Qt.MouseButton.LeftButton)
    wait_idle(qtbot, chat)
    run_deferred_view_work(qtbot)  # anything still queued for the removed messages
    for view in chat.pane_views:
        assert view.transcript.messages == []
        assert view.transcript.findChild(QLabel, "transcriptPlaceholder").isVisibleTo(view)
    # The panes are usable again.
    for number in range(3):
        fake_server.by_model[f"model-{number}"].append(Scripted(chunks=MARKDOWN))
    send(qtbot, chat, "again")
    wait_idle(qtbot, chat)
    for view in chat.pane_views:
        qtbot.waitUntil(lambda view=view: _rendered(view.transcript.view(1)), timeout=5000)
        assert len(view.transcript.messages) == 2


@pytest.mark.usefixtures("qloop")
def test_stopped_reply_keeps_its_text_and_is_rendered(
    qtbot: Any, chat: Any, fake_server: FakeServer, release: threading.Event
) -> None:
    fake_server.script.append(
        Scripted(chunks=["**kept** part", " more"], hold_after=2, wait_for=release)
    )
    send(qtbot, chat, "go")
    pane = chat.presenter.panes[0]
    qtbot.waitUntil(lambda: "part" in pane.turns[-1].content, timeout=5000)
    qtbot.mouseClick(chat.findChild(QPushButton, "stopButton"), Qt.MouseButton.LeftButton)
    wait_idle(qtbot, chat)
    view = chat.pane_views[0].transcript.view(1)
    assert view.status_label.text() == "stopped"
    qtbot.waitUntil(lambda: view.body.toPlainText().startswith("kept part"), timeout=5000)


# -- the transcript alone ----------------------------------------------------------------------


@pytest.fixture
def column(qtbot: Any) -> QWidget:
    """A shown window that transcripts are put in."""
    window = QWidget()
    QVBoxLayout(window)
    window.resize(900, 700)
    qtbot.addWidget(window)
    window.show()
    return window


def _transcripts(column: QWidget, count: int) -> list[Transcript]:
    made = [Transcript() for _ in range(count)]
    layout = column.layout()
    assert layout is not None
    for transcript in made:
        layout.addWidget(transcript)
    return made


def _exchange(transcript: Transcript, question: str) -> Turn:
    """Add a question and a streaming reply, as a Send does; return the reply's turn."""
    transcript.add(Turn(Role.USER, question), "model")
    reply = Turn(Role.ASSISTANT, status=TurnStatus.STREAMING)
    transcript.add(reply, "model")
    return reply


def _stream(transcript: Transcript, index: int, turn: Turn, chunks: list[str]) -> None:
    """Deliver text as ChatPane does: added to the turn first, then handed to the view."""
    for chunk in chunks:
        turn.content += chunk
        transcript.append_text(index, chunk)


def test_finishing_together_shows_each_outcome_at_once_and_renders_every_reply(
    qtbot: Any, column: QWidget
) -> None:
    transcripts = _transcripts(column, 4)
    replies = [_exchange(t, f"question {n}") for n, t in enumerate(transcripts)]
    for transcript, reply in zip(transcripts, replies, strict=True):
        _stream(transcript, 1, reply, MARKDOWN)
    renders: list[int] = []
    for number, transcript in enumerate(transcripts):
        transcript.message_rendered.connect(lambda number=number: renders.append(number))
    outcomes = [TurnStatus.COMPLETE, TurnStatus.STOPPED, TurnStatus.FAILED, TurnStatus.COMPLETE]
    for reply, status in zip(replies, outcomes, strict=True):
        reply.status = status
        reply.error = "boom (500)" if status is TurnStatus.FAILED else None
        reply.metrics = RunMetrics(ttft_s=0.2, completion_tokens=9, finish_reason="stop")
    # All in one event-loop turn, as when every pane's last chunk arrives in one network read.
    for transcript in transcripts:
        transcript.finish(1)
    # How each reply ended shows at once; the renders are spread over the following turns.
    views = [t.view(1) for t in transcripts]
    assert [v.status_label.text() for v in views] == ["", "stopped", "failed", ""]
    assert [v.error_label.isVisibleTo(v) for v in views] == [False, False, True, False]
    assert "boom (500)" in views[2].error_label.text() and "kept" in views[2].error_label.text()
    assert all("TTFT" in v.metrics_label.text() for v in views)
    assert len(renders) <= 1
    # Until its render, a reply shows its streamed text as it was (the last deltas may still
    # be on their way to the screen).
    for view, reply in zip(views, replies, strict=True):
        assert _rendered(view) or reply.content.startswith(view.body.toPlainText())
    qtbot.waitUntil(lambda: len(renders) == 4, timeout=3000)
    assert sorted(renders) == [0, 1, 2, 3] and renders == sorted(renders)
    assert all(_rendered(v) for v in views)
    assert [t.view(0).body.toPlainText() for t in transcripts] == [
        f"question {n}" for n in range(4)
    ]


def test_flush_renders_a_queued_reply_at_once(qtbot: Any, column: QWidget) -> None:
    first, second = _transcripts(column, 2)
    replies = [_exchange(first, "a"), _exchange(second, "b")]
    for transcript, reply in zip((first, second), replies, strict=True):
        _stream(transcript, 1, reply, MARKDOWN)
        reply.status = TurnStatus.COMPLETE
        transcript.finish(1)
    # At most the first one rendered in this turn; the text the tests read is the final one.
    assert "**" not in second.text() and _rendered(second.view(1))
    assert "**" not in first.text() and _rendered(first.view(1))


def test_text_that_arrives_before_its_view_is_built_shows_once_in_order(
    qtbot: Any, column: QWidget
) -> None:
    transcripts = _transcripts(column, 3)
    replies = [_exchange(t, f"q{n}") for n, t in enumerate(transcripts)]
    # The last transcript's views are still queued behind the others' when its text arrives.
    last, reply = transcripts[-1], replies[-1]
    _stream(last, 1, reply, ["Hel", "lo"])
    reasoning = "hmm"
    reply.reasoning += reasoning
    last.append_reasoning(1, reasoning)
    _stream(last, 1, reply, [" world"])
    user, answer = last.messages
    assert user.turn.role is Role.USER and answer.turn is reply
    answer.flush()
    assert answer.body.toPlainText() == "Hello world"
    assert answer.reasoning is not None and answer.reasoning.toPlainText() == "hmm"
    qtbot.waitUntil(lambda: all(len(t.messages) == 2 for t in transcripts), timeout=3000)
    for number, transcript in enumerate(transcripts):
        assert [v.turn.role for v in transcript.messages] == [Role.USER, Role.ASSISTANT]
        assert transcript.view(0).body.toPlainText() == f"q{number}"


def test_clear_drops_queued_builds_and_renders(qtbot: Any, column: QWidget) -> None:
    transcripts = _transcripts(column, 4)
    replies = [_exchange(t, "question") for t in transcripts]
    for transcript, reply in zip(transcripts, replies, strict=True):
        _stream(transcript, 1, reply, MARKDOWN)
        reply.status = TurnStatus.COMPLETE
    renders: list[Transcript] = []
    for transcript in transcripts:
        transcript.message_rendered.connect(lambda t=transcript: renders.append(t))
        transcript.finish(1)
    # A new chat before the renders' turns: they must not run on the removed messages.
    for transcript in transcripts:
        transcript.clear()
        _exchange(transcript, "next")
    done = list(renders)
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)
    run_deferred_view_work(qtbot)
    assert renders == done
    for transcript in transcripts:
        assert [v.body.toPlainText() for v in transcript.messages] == ["next", ""]
        assert transcript.view(1).status_label.text() == "streaming…"


def test_a_deleted_transcript_skips_its_queued_work(qtbot: Any, column: QWidget) -> None:
    kept, doomed = _transcripts(column, 2)
    _exchange(kept, "stays")
    reply = _exchange(doomed, "goes")
    _stream(doomed, 1, reply, ["text"])
    reply.status = TurnStatus.COMPLETE
    doomed.finish(1)
    _exchange(doomed, "queued")
    doomed.deleteLater()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)
    assert not shiboken6.isValid(doomed)
    run_deferred_view_work(qtbot)
    assert [v.body.toPlainText() for v in kept.messages] == ["stays", ""]


def test_a_finished_turn_added_later_is_shown_final(qtbot: Any, column: QWidget) -> None:
    (transcript,) = _transcripts(column, 1)
    history = [
        Turn(Role.USER, "old question"),
        Turn(
            Role.ASSISTANT,
            "".join(MARKDOWN),
            reasoning="thought",
            metrics=RunMetrics(ttft_s=0.1, finish_reason="stop"),
        ),
        Turn(Role.ASSISTANT, "half", status=TurnStatus.FAILED, error="lost connection"),
    ]
    for turn in history:
        transcript.add(turn, "accounts/fireworks/models/some-model")
    user, answer, failed = transcript.messages
    assert user.role_label.text() == "You"
    assert answer.role_label.text() == "some-model"
    assert answer.role_label.toolTip() == "accounts/fireworks/models/some-model"
    assert _rendered(answer) and answer.reasoning_toggle is not None
    code = answer.body.document().findBlock(answer.body.toPlainText().index("print('hi')"))
    assert code.blockFormat().background().style() != Qt.BrushStyle.NoBrush  # code on a tint
    assert answer.reasoning_toggle.text() == "Reasoning (7 characters)"
    assert "TTFT" in answer.metrics_label.text()
    assert failed.status_label.text() == "failed" and "lost connection" in failed.error_label.text()
    assert failed.body.toPlainText() == "half"
