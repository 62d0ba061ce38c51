"""The Chat workbench: one input, several targets, panes side by side with their own metrics."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QTextBrowser,
    QToolButton,
    QWidget,
)

from app.domain.compare import comparison_from_json
from app.domain.conversation import TurnStatus
from tests.fake_server import FakeServer, Scripted, openai_error
from tests.gui.chat_actions import add_pane, send, wait_idle
from widgets.common.pane_view import PANE_MIN_WIDTH
from widgets.common.workbench_view import WorkbenchView

pytestmark = pytest.mark.usefixtures("qloop")


@pytest.fixture
def bench(qtbot: Any, make_app: Any, fake_server: FakeServer) -> Any:
    """A Chat tab on the fake server with three panes on models a, b and c."""
    app = make_app("--provider", fake_server.url, "--model", "model-a")
    app.window.show()
    tab = app.window.findChild(object, "tab-chat")
    for model in ("model-b", "model-c"):
        add_pane(qtbot, tab, model)
    return tab


def test_one_send_streams_into_every_pane_with_its_own_metrics(
    qtbot: Any, bench: Any, fake_server: FakeServer
) -> None:
    for model, words in (
        ("model-a", ["alpha ", "one"]),
        ("model-b", ["beta"]),
        ("model-c", ["gamma"]),
    ):
        fake_server.by_model[model].append(Scripted(chunks=words, delay=0.02))
    assert [bench.findChild(object, f"pane-{i}") for i in range(3)] == bench.pane_views
    send(qtbot, bench, "hello all")
    wait_idle(qtbot, bench)
    replies = [pane.last_reply() for pane in bench.presenter.panes]
    assert replies == ["alpha one", "beta", "gamma"]
    models = sorted(
        r.json["model"] for r in fake_server.requests if r.path.endswith("/completions")
    )
    assert models == ["model-a", "model-b", "model-c"]
    for view in bench.pane_views:
        assert "TTFT" in view.findChild(object, "metrics").text()
        assert view.transcript.view(0).body.toPlainText() == "hello all"


def test_a_failing_pane_shows_its_error_while_the_others_finish(
    qtbot: Any, bench: Any, fake_server: FakeServer, no_retry_wait: None
) -> None:
    boom = openai_error("upstream exploded", "server_error")
    fake_server.by_model["model-a"].append(Scripted(chunks=["fine"], delay=0.05))
    fake_server.by_model["model-b"].extend(Scripted(status=500, body=boom) for _ in range(3))
    fake_server.by_model["model-c"].append(Scripted(chunks=["also ", "fine"], delay=0.05))
    send(qtbot, bench, "go")
    wait_idle(qtbot, bench)
    a, b, c = bench.presenter.panes
    assert a.turns[-1].status is TurnStatus.COMPLETE and a.last_reply() == "fine"
    assert c.turns[-1].status is TurnStatus.COMPLETE and c.last_reply() == "also fine"
    assert b.turns[-1].status is TurnStatus.FAILED
    error_label = bench.pane_views[1].transcript.view(1).error_label
    assert "500" in error_label.text() and "upstream exploded" in error_label.text()


def test_per_pane_stop_leaves_the_others_running(
    qtbot: Any, bench: Any, fake_server: FakeServer, release: threading.Event
) -> None:
    fake_server.by_model["model-a"].append(
        Scripted(chunks=["slow "] * 3, hold_after=2, wait_for=release)
    )
    fake_server.by_model["model-b"].append(Scripted(chunks=["b"], delay=0.05))
    fake_server.by_model["model-c"].append(Scripted(chunks=["c1 ", "c2"], delay=0.05))
    send(qtbot, bench, "race")
    first = bench.presenter.panes[0]
    qtbot.waitUntil(lambda: "slow" in first.turns[-1].content, timeout=5000)
    qtbot.mouseClick(
        bench.pane_views[0].findChild(QToolButton, "paneStopButton"), Qt.MouseButton.LeftButton
    )
    wait_idle(qtbot, bench)
    assert first.turns[-1].status is TurnStatus.STOPPED
    assert first.turns[-1].content.startswith("slow")
    assert bench.presenter.panes[2].last_reply() == "c1 c2"


def test_global_stop_stops_every_pane(
    qtbot: Any, bench: Any, fake_server: FakeServer, release: threading.Event
) -> None:
    for model in ("model-a", "model-b", "model-c"):
        fake_server.by_model[model].append(
            Scripted(chunks=["tick "] * 3, hold_after=2, wait_for=release)
        )
    send(qtbot, bench, "long")
    qtbot.waitUntil(lambda: all(p.turns[-1].content for p in bench.presenter.panes), timeout=5000)
    qtbot.mouseClick(bench.findChild(QPushButton, "stopButton"), Qt.MouseButton.LeftButton)
    wait_idle(qtbot, bench)
    assert all(p.turns[-1].status is TurnStatus.STOPPED for p in bench.presenter.panes)


def test_each_pane_keeps_its_own_conversation(
    qtbot: Any, bench: Any, fake_server: FakeServer
) -> None:
    for model in ("model-a", "model-b", "model-c"):
        fake_server.by_model[model].append(Scripted(chunks=[f"{model} says hi"]))
        fake_server.by_model[model].append(Scripted(chunks=["second"]))
    send(qtbot, bench, "first")
    wait_idle(qtbot, bench)
    send(qtbot, bench, "second question")
    wait_idle(qtbot, bench)
    sent = {
        r.json["model"]: r.json["messages"]
        for r in fake_server.requests
        if r.path.endswith("/completions")
    }
    assert sent["model-b"][1] == {"role": "assistant", "content": "model-b says hi"}
    assert sent["model-c"][1] == {"role": "assistant", "content": "model-c says hi"}


def test_per_pane_parameters_follow_the_selected_pane(
    qtbot: Any, bench: Any, fake_server: FakeServer
) -> None:
    qtbot.mouseClick(bench.pane_views[1].transcript.viewport(), Qt.MouseButton.LeftButton)
    assert bench.params_box.title() == "Parameters — pane 2"
    bench.params.editor("temperature").setValue(0.9)
    qtbot.mouseClick(bench.pane_views[2].transcript.viewport(), Qt.MouseButton.LeftButton)
    assert bench.params.editor("temperature").text() == "default"
    assert not bench.own_prompt.isVisible()
    qtbot.mouseClick(bench.own_prompt_check, Qt.MouseButton.LeftButton)
    assert bench.own_prompt.isVisible()
    bench.own_prompt.setPlainText("Only in pane 3.")
    qtbot.mouseClick(bench.pane_views[0].transcript.viewport(), Qt.MouseButton.LeftButton)
    assert not bench.own_prompt.isVisible()
    qtbot.mouseClick(bench.pane_views[2].transcript.viewport(), Qt.MouseButton.LeftButton)
    assert bench.own_prompt.toPlainText() == "Only in pane 3." and bench.own_prompt.isVisible()
    send(qtbot, bench, "x")
    wait_idle(qtbot, bench)
    sent = {
        r.json["model"]: r.json for r in fake_server.requests if r.path.endswith("/completions")
    }
    assert sent["model-b"]["temperature"] == 0.9
    assert "temperature" not in sent["model-a"] and "temperature" not in sent["model-c"]
    assert sent["model-c"]["messages"][0] == {"role": "system", "content": "Only in pane 3."}
    assert sent["model-a"]["messages"][0]["role"] == "user"


def test_same_model_times_n_varies_the_seed(
    qtbot: Any, bench: Any, fake_server: FakeServer
) -> None:
    bench.presenter.vary(1, 4, "seed")
    assert [p.model for p in bench.presenter.panes] == ["model-b"] * 4
    assert [p.params["seed"] for p in bench.presenter.panes] == [1, 2, 3, 4]
    assert len(bench.pane_views) == 4
    bench.presenter.vary(0, 3, "temperature")
    assert [p.params["temperature"] for p in bench.presenter.panes] == [0.0, 0.7, 1.4]


def test_continue_with_a_pane_copies_its_conversation(
    qtbot: Any, bench: Any, fake_server: FakeServer
) -> None:
    for model, text in (("model-a", "A!"), ("model-b", "B!"), ("model-c", "C!")):
        fake_server.by_model[model].append(Scripted(chunks=[text]))
    send(qtbot, bench, "pick one")
    wait_idle(qtbot, bench)
    bench.pane_views[1].continue_action.trigger()
    assert [p.last_reply() for p in bench.presenter.panes] == ["B!", "B!", "B!"]
    assert bench.pane_views[0].transcript.view(1).body.toPlainText() == "B!"


def test_diff_between_two_panes(qtbot: Any, bench: Any, fake_server: FakeServer) -> None:
    fake_server.by_model["model-a"].append(Scripted(chunks=["Here are three: red, green"]))
    fake_server.by_model["model-b"].append(Scripted(chunks=["1. Blue: three: red, blue"]))
    fake_server.by_model["model-c"].append(Scripted(chunks=["other"]))
    send(qtbot, bench, "describe")
    wait_idle(qtbot, bench)
    qtbot.mouseClick(bench.findChild(QPushButton, "diffButton"), Qt.MouseButton.LeftButton)
    dialog = bench.open_diff()
    assert dialog.summary.text() == "3 words removed, 3 words added"
    # Removed and added words never run together.
    assert dialog.view.toPlainText() == "Here are 1. Blue: three: red, green blue"
    dialog.findChild(QCheckBox, "diffSideBySide").setChecked(True)
    assert dialog.findChild(QTextBrowser, "diffOutput").isHidden()
    left = dialog.findChild(QTextBrowser, "diffLeftOutput")
    right = dialog.findChild(QTextBrowser, "diffRightOutput")
    assert left.toPlainText() == "Here are three: red, green"
    assert right.toPlainText() == "1. Blue: three: red, blue"
    assert "line-through" in left.toHtml() or "#ffd7d5" in left.toHtml()
    dialog.right_picker.setCurrentIndex(2)
    assert right.toPlainText() == "other"
    assert "other" in dialog.view.toPlainText()


def test_export_round_trip_and_markdown(
    qtbot: Any, bench: Any, fake_server: FakeServer, tmp_path: Path
) -> None:
    for model in ("model-a", "model-b", "model-c"):
        fake_server.by_model[model].append(Scripted(chunks=[f"answer from {model}"]))
    send(qtbot, bench, "compare me")
    wait_idle(qtbot, bench)
    bench.export_to(tmp_path / "run.json")
    bench.export_to(tmp_path / "run.md")
    record = comparison_from_json((tmp_path / "run.json").read_text())
    assert record.inputs == ["compare me"]
    assert [p.model for p in record.panes] == ["model-a", "model-b", "model-c"]
    assert record.panes[1].messages[-1]["content"] == "answer from model-b"
    assert record.panes[1].metrics[0]["completion_tokens"]
    markdown = (tmp_path / "run.md").read_text()
    assert "## Pane 3: model-c" in markdown and "answer from model-c" in markdown
    assert json.loads((tmp_path / "run.json").read_text())["format"] == "fireplay.comparison/1"


def test_fastest_pane_is_marked(qtbot: Any, bench: Any, fake_server: FakeServer) -> None:
    # Panes a and c answer only after b has finished, so b's run is the shortest on any machine.
    b_done = threading.Event()
    fake_server.by_model["model-a"].append(Scripted(chunks=["a"] * 4, wait_for=b_done))
    fake_server.by_model["model-b"].append(Scripted(chunks=["b"]))
    fake_server.by_model["model-c"].append(Scripted(chunks=["c"] * 4, wait_for=b_done))
    bench.presenter.panes[1].turn_finished.connect(lambda _index: b_done.set())
    send(qtbot, bench, "go")
    wait_idle(qtbot, bench)
    badges = [v.findChild(object, "paneBadges").text() for v in bench.pane_views]
    assert "fastest" in badges[1] and "fastest" not in badges[0] + badges[2]


def test_layout_and_targets_persist_across_a_restart(qtbot: Any, bench: Any, make_app: Any) -> None:
    bench.findChild(QToolButton, "layoutButton").click()
    assert bench.grid.arrangement == "grid"
    bench.presenter.panes[2].set_param("top_k", 40)
    again = make_app().window.findChild(object, "tab-chat")
    assert [p.model for p in again.presenter.panes] == ["model-a", "model-b", "model-c"]
    assert again.presenter.panes[2].params == {"top_k": 40}
    assert again.presenter.layout == "grid" and again.grid.arrangement == "grid"


def test_panes_can_be_removed_down_to_one_and_added_up_to_eight(qtbot: Any, bench: Any) -> None:
    add = bench.findChild(QPushButton, "addTargetButton")
    while add.isEnabled():
        qtbot.mouseClick(add, Qt.MouseButton.LeftButton)
    assert len(bench.pane_views) == 8
    assert bench.findChild(object, "pane-7") is bench.pane_views[7]
    while len(bench.pane_views) > 1:
        bench.pane_views[-1].remove_action.trigger()
    assert not bench.pane_views[0].remove_action.isEnabled()
    assert bench.findChild(object, "pane-0") is bench.pane_views[0]


def test_an_openai_model_name_on_fireworks_gets_the_equivalent_suggested(
    qtbot: Any, make_app: Any
) -> None:
    tab = make_app("--provider", "fireworks").window.findChild(object, "tab-chat")
    pane = tab.presenter.panes[0]
    with qtbot.waitSignal(pane.status_changed) as status:
        pane.set_model("gpt-4o-mini")
    assert "accounts/fireworks/models/llama-v3p1-8b-instruct" in status.args[0]
    assert "gpt-4o-mini" in tab.pane_views[0].status_label.text()


def test_new_chat_mid_stream_sends_nothing_more_for_the_dropped_reply(
    qtbot: Any, bench: Any, fake_server: FakeServer, release: threading.Event
) -> None:
    fake_server.by_model["model-a"].append(
        Scripted(chunks=["partial ", "more "], hold_after=2, wait_for=release)
    )
    pane = bench.presenter.panes[0]
    send(qtbot, bench, "long story")
    qtbot.waitUntil(lambda: "partial" in pane.turns[-1].content, timeout=5000)
    late: list[tuple[str, int]] = []
    bench.findChild(QPushButton, "clearButton").click()
    pane.text_received.connect(lambda index, _text: late.append(("text", index)))
    pane.turn_finished.connect(lambda index: late.append(("finished", index)))
    wait_idle(qtbot, bench)
    assert late == [] and pane.turns == []


def test_the_model_pickers_tooltip_names_the_whole_model_id(qtbot: Any, bench: Any) -> None:
    long_id = "accounts/fireworks/models/llama-v3p3-70b-instruct"
    picker = bench.pane_views[1].model_picker
    picker.lineEdit().clear()
    qtbot.keyClicks(picker.lineEdit(), long_id)
    qtbot.keyClick(picker.lineEdit(), Qt.Key.Key_Return)
    assert picker.toolTip().splitlines()[0] == long_id


def test_a_long_model_id_is_elided_in_the_middle_in_a_narrow_picker(qtbot: Any, bench: Any) -> None:
    long_id = "accounts/fireworks/models/llama-v3p3-70b-instruct"
    picker = bench.pane_views[1].model_picker
    picker.lineEdit().clear()
    qtbot.keyClicks(picker.lineEdit(), long_id)
    qtbot.keyClick(picker.lineEdit(), Qt.Key.Key_Return)
    picker.setFixedWidth(picker.fontMetrics().horizontalAdvance(long_id) // 2)
    bench.findChild(QPlainTextEdit, "promptInput").setFocus()
    qtbot.waitUntil(lambda: not picker.lineEdit().hasFocus())

    shown = picker.lineEdit().shown_text()

    assert "…" in shown and len(shown) < len(long_id)
    assert shown.startswith("accounts/") and shown.endswith("instruct")
    picker.lineEdit().setFocus()
    qtbot.waitUntil(lambda: picker.lineEdit().hasFocus())
    assert picker.lineEdit().shown_text() == long_id


_REAL_CONFIRM = WorkbenchView.confirm_discard


@pytest.mark.parametrize(("answer", "kept"), [("Cancel", True), ("Discard", False)])
def test_new_chat_asks_before_it_throws_conversations_away(
    qtbot: Any,
    bench: Any,
    fake_server: FakeServer,
    monkeypatch: pytest.MonkeyPatch,
    answer: str,
    kept: bool,
) -> None:
    monkeypatch.setattr(WorkbenchView, "confirm_discard", _REAL_CONFIRM)
    for model in ("model-a", "model-b", "model-c"):
        fake_server.by_model[model].append(Scripted(chunks=["kept?"]))
    send(qtbot, bench, "remember me")
    wait_idle(qtbot, bench)
    asked: list[str] = []

    def answer_the_question() -> None:
        box = QApplication.activeModalWidget()
        assert isinstance(box, QMessageBox)
        asked.append(box.text())
        button = next(b for b in box.buttons() if b.text().replace("&", "") == answer)
        button.click()

    QTimer.singleShot(0, answer_the_question)
    qtbot.mouseClick(bench.findChild(QPushButton, "clearButton"), Qt.MouseButton.LeftButton)
    assert asked and "New chat clears the conversation in every pane." in asked[0]
    assert all(bool(pane.turns) is kept for pane in bench.presenter.panes)
    assert bool(bench.pane_views[0].transcript.messages) is kept


def test_new_chat_with_nothing_to_lose_does_not_ask(
    qtbot: Any, bench: Any, discard_answer: list[str]
) -> None:
    qtbot.mouseClick(bench.findChild(QPushButton, "clearButton"), Qt.MouseButton.LeftButton)
    assert discard_answer == []


def test_the_window_keeps_its_size_with_eight_panes_in_either_layout(
    qtbot: Any, bench: Any
) -> None:
    window = bench.window()
    window.resize(1600, 1000)
    add = bench.findChild(QPushButton, "addTargetButton")
    while add.isEnabled():
        qtbot.mouseClick(add, Qt.MouseButton.LeftButton)
    for layout in ("columns", "grid"):
        bench.presenter.set_layout(layout)
        # Done when the grid has laid every pane out (posted layout requests have run).
        qtbot.waitUntil(lambda: all(v.width() >= PANE_MIN_WIDTH for v in bench.pane_views))
        assert bench.grid.arrangement == layout
        assert (window.width(), window.height()) == (1600, 1000), layout
        hint = window.minimumSizeHint()
        assert hint.width() <= 1600 and hint.height() <= 1000, (layout, hint)
        for name in ("sendButton", "stopButton", "diffButton", "addTargetButton"):
            button = bench.findChild(QWidget, name)
            right = button.mapTo(window, button.rect().bottomRight())
            assert 0 < right.x() <= window.width() and 0 < right.y() <= window.height(), name


def test_a_pane_that_failed_or_only_copied_a_reply_is_never_marked_fastest(
    qtbot: Any, bench: Any, fake_server: FakeServer
) -> None:
    b_done = threading.Event()
    bad = openai_error("context too long", "invalid_request_error")
    fake_server.by_model["model-a"].append(Scripted(status=400, body=bad))
    fake_server.by_model["model-b"].append(Scripted(chunks=["b"]))
    fake_server.by_model["model-c"].append(Scripted(chunks=["c"] * 4, wait_for=b_done))
    bench.presenter.panes[1].turn_finished.connect(lambda _index: b_done.set())
    send(qtbot, bench, "go")
    wait_idle(qtbot, bench)

    def badges() -> list[str]:
        return [v.findChild(QLabel, "paneBadges").text() for v in bench.pane_views]

    assert "fastest" in badges()[1] and "fastest" not in badges()[0] + badges()[2]
    bench.pane_views[2].continue_action.trigger()
    assert badges() == ["", "", ""]


def test_metrics_show_while_a_reply_streams_and_stay_when_it_is_stopped(
    qtbot: Any, bench: Any, fake_server: FakeServer, release: threading.Event
) -> None:
    fake_server.by_model["model-a"].append(
        Scripted(chunks=["tick "] * 6, hold_after=5, wait_for=release)
    )
    pane, label = bench.presenter.panes[0], bench.pane_views[0].findChild(QLabel, "metrics")
    send(qtbot, bench, "count")

    def shown_ticks() -> int:
        return pane.turns[-1].content.count("tick") if pane.turns else 0

    # The stream is held after its fifth event: the figures catch up with what arrived.
    qtbot.waitUntil(lambda: shown_ticks() >= 3 and f"~{shown_ticks()} tok" in label.text())
    assert "TTFT" in label.text() and "streaming" in label.text()
    qtbot.mouseClick(
        bench.pane_views[0].findChild(QToolButton, "paneStopButton"), Qt.MouseButton.LeftButton
    )
    qtbot.waitUntil(lambda: not pane.busy, timeout=5000)
    shown = label.text()
    assert "TTFT" in shown and f"~{shown_ticks()} tok" in shown and "stopped" in shown
    assert "streaming" not in shown
    assert pane.turns[-1].metrics is not None and pane.turns[-1].metrics.ttft_s is not None


def test_opening_the_model_picker_loads_the_providers_list(
    qtbot: Any, bench: Any, fake_server: FakeServer
) -> None:
    picker = bench.pane_views[0].findChild(QComboBox, "modelPicker")
    listed = [r for r in fake_server.requests if r.path.endswith("/models")]
    qtbot.mouseClick(picker, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: picker.count() > 0, timeout=5000)
    assert len([r for r in fake_server.requests if r.path.endswith("/models")]) == len(listed) + 1


def test_tab_shortcuts_work_while_a_parameter_field_has_focus(
    qtbot: Any, bench: Any, fake_server: FakeServer
) -> None:
    for model in ("model-a", "model-b", "model-c"):
        fake_server.by_model[model].append(Scripted(chunks=["ok"]))
    send(qtbot, bench, "take me back")
    wait_idle(qtbot, bench)
    field = bench.params.editor("temperature")
    field.setFocus()
    qtbot.keyClick(field, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    assert bench.findChild(QPlainTextEdit, "promptInput").toPlainText() == "take me back"
    assert all(pane.turns == [] for pane in bench.presenter.panes)


def test_what_cannot_act_is_disabled_and_says_why(
    qtbot: Any, bench: Any, fake_server: FakeServer
) -> None:
    regenerate = bench.findChild(QPushButton, "regenerateButton")
    edit = bench.findChild(QPushButton, "editLastButton")
    diff = bench.findChild(QPushButton, "diffButton")
    for model in ("model-a", "model-b", "model-c"):
        fake_server.by_model[model].append(Scripted(chunks=[f"{model} answer"]))
    send(qtbot, bench, "q")
    wait_idle(qtbot, bench)
    assert regenerate.isEnabled() and edit.isEnabled() and diff.isEnabled()
    qtbot.mouseClick(bench.findChild(QPushButton, "clearButton"), Qt.MouseButton.LeftButton)
    for button in (regenerate, edit, diff):
        assert not button.isEnabled()
    assert "send a message first" in regenerate.toolTip()
    assert "send a message first" in edit.toolTip()
    assert "two panes with results" in diff.toolTip()
    while len(bench.pane_views) > 1:
        bench.pane_views[-1].remove_action.trigger()
    fake_server.by_model["model-a"].append(Scripted(chunks=["alone"]))
    send(qtbot, bench, "solo")
    wait_idle(qtbot, bench)
    assert not diff.isEnabled() and bench.open_diff() is None


def test_same_model_times_n_panes_say_what_sets_them_apart(qtbot: Any, bench: Any) -> None:
    bench.vary(3, "temperature")
    labels = [v.findChild(QLabel, "paneVariation") for v in bench.pane_views]
    assert [label.text() for label in labels] == ["temp 0", "temp 0.7", "temp 1.4"]
    assert all(label.isVisibleTo(label.parentWidget()) for label in labels)
    bench.vary(2, "seed")
    assert [v.findChild(QLabel, "paneVariation").text() for v in bench.pane_views] == [
        "seed 1 · temp 0",
        "seed 2 · temp 0",
    ]


def test_the_pane_says_where_it_connects_until_the_server_answers(
    qtbot: Any, bench: Any, fake_server: FakeServer
) -> None:
    release = threading.Event()
    fake_server.by_model["model-a"].append(Scripted(chunks=["hello"], wait_for=release))
    fake_server.by_model["model-b"].append(Scripted(chunks=["b"]))
    fake_server.by_model["model-c"].append(Scripted(chunks=["c"]))
    status = bench.pane_views[0].findChild(QLabel, "statusLabel")
    send(qtbot, bench, "hi")
    qtbot.waitUntil(
        lambda: any(r.json and r.json.get("model") == "model-a" for r in fake_server.requests)
    )
    # Said once connecting takes a moment (the held request makes sure it does).
    qtbot.waitUntil(lambda: status.text().startswith("Connecting to http://127.0.0.1:"))
    assert fake_server.url.rstrip("/") in status.text()
    release.set()
    wait_idle(qtbot, bench)
    assert status.text() == ""


def test_an_unreachable_provider_is_named_in_the_error(
    qtbot: Any, make_app: Any, no_retry_wait: None
) -> None:
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    app = make_app("--provider", url, "--model", "m")
    tab = app.window.findChild(object, "tab-chat")
    send(qtbot, tab, "hi")
    wait_idle(qtbot, tab)
    turn = tab.presenter.panes[0].turns[-1]
    assert turn.error is not None and f"127.0.0.1:{port}" in turn.error
    shown = tab.pane_views[0].findChild(QLabel, "statusLabel").text()
    assert "Connecting" not in shown and f"127.0.0.1:{port}" in shown
