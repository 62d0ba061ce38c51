"""The Tool calling tab driven like a user would, against a loopback server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTextBrowser,
    QToolButton,
    QWidget,
)

from app.domain.tools import TEMPLATES
from tests.fake_server import FakeServer, Scripted, openai_error
from tests.gui.chat_actions import add_pane, wait_idle

pytestmark = pytest.mark.usefixtures("qloop")

WEATHER_CALL = [
    [{"index": 0, "id": "call_w", "type": "function", "function": {"name": "get_weather"}}],
    [{"index": 0, "function": {"arguments": '{"city": '}}],
    [{"index": 0, "function": {"arguments": '"Paris"}'}}],
]


def _tools_text(*names: str) -> str:
    return json.dumps([TEMPLATES[name] for name in names], indent=2)


@pytest.fixture
def tab(qtbot: Any, make_app: Any, fake_server: FakeServer) -> Any:
    """The Tool calling tab of a real window on the fake server, with the get_weather tool."""
    app = make_app("--tab", "tools", "--provider", fake_server.url, "--model", "model-a")
    app.window.show()
    return app.window.findChild(QWidget, "tab-tools")


def _send(qtbot: Any, tab: Any, prompt: str | None = None) -> None:
    if prompt is not None:
        tab.findChild(QPlainTextEdit, "promptInput").setPlainText(prompt)
    qtbot.mouseClick(tab.findChild(QPushButton, "sendButton"), Qt.MouseButton.LeftButton)


def _chat_bodies(server: FakeServer) -> list[dict[str, Any]]:
    return [r.json for r in server.requests if r.path.endswith("/chat/completions")]


def _card(tab: Any, index: int, pane: int = 0) -> QWidget:
    card = tab.pane_views[pane].findChild(QWidget, f"toolCall-{index}")
    assert card is not None, f"no toolCall-{index}"
    return card


def _transcript(tab: Any, pane: int = 0) -> str:
    return tab.pane_views[pane].findChild(QTextBrowser, "output").toPlainText()


def _send_results(qtbot: Any, tab: Any, pane: int = 0) -> None:
    button = tab.pane_views[pane].findChild(QPushButton, "sendResultsButton")
    assert button.isVisible() and button.isEnabled(), button.toolTip()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def test_a_call_split_across_deltas_is_answered_from_its_mock_and_the_loop_goes_on(
    qtbot: Any, tab: Any, fake_server: FakeServer
) -> None:
    fake_server.script.append(Scripted(tool_calls=WEATHER_CALL, finish_reason="tool_calls"))
    fake_server.script.append(Scripted(chunks=["It is 18 °C ", "in Paris."]))
    _send(qtbot, tab, "Weather in Paris?")
    wait_idle(qtbot, tab)

    card = _card(tab, 0)
    assert card.findChild(QLabel, "toolName").text() == "get_weather"
    assert json.loads(card.findChild(QPlainTextEdit, "toolArguments").toPlainText()) == {
        "city": "Paris"
    }
    assert card.findChild(QLabel, "toolCheck").text() == "Valid"
    result = json.loads(card.findChild(QPlainTextEdit, "toolResult").toPlainText())
    assert result["city"] == "Paris"  # the mock's {{city}} placeholder was filled
    assert "→ get_weather" in _transcript(tab)

    _send_results(qtbot, tab)
    wait_idle(qtbot, tab)

    first, second = _chat_bodies(fake_server)
    assert first["tools"] == [TEMPLATES["get_weather"]] and first["tool_choice"] == "auto"
    assert [m["role"] for m in second["messages"]] == ["user", "assistant", "tool"]
    assistant, tool = second["messages"][1:]
    assert assistant["tool_calls"] == [
        {
            "id": "call_w",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
        }
    ]
    assert tool["tool_call_id"] == "call_w" and json.loads(tool["content"]) == result
    pane = tab.presenter.panes[0]
    assert pane.has_output and pane.answer == "It is 18 °C in Paris."
    assert tab.pane_views[0].findChild(QWidget, "toolCall-0") is None
    assert _transcript(tab).rstrip().endswith("It is 18 °C in Paris.")
    assert "Step 2 of 5" in tab.pane_views[0].findChild(QLabel, "loopNote").text()
    metrics = pane.last_metrics
    assert metrics is not None and metrics.prompt_tokens == sum(
        m.prompt_tokens for m in pane._step_metrics
    )


def test_two_interleaved_parallel_calls_get_the_users_results_in_call_order(
    qtbot: Any, tab: Any, fake_server: FakeServer
) -> None:
    tab.findChild(QPlainTextEdit, "toolsEditor").setPlainText(
        _tools_text("get_weather", "lookup_order")
    )
    tab.presenter.set_mock("get_weather", "")  # the user answers both calls
    tab.presenter.set_mock("lookup_order", "")
    deltas = [
        [{"index": 0, "id": "call_a", "function": {"name": "get_weather", "arguments": ""}}],
        [{"index": 1, "id": "call_b", "function": {"name": "lookup_order", "arguments": ""}}],
        [{"index": 0, "function": {"arguments": '{"city"'}}],
        [{"index": 1, "function": {"arguments": '{"order_id": "A-42"'}}],
        [{"index": 0, "function": {"arguments": ': "Oslo"}'}}],
        [{"index": 1, "function": {"arguments": "}"}}],
    ]
    fake_server.script.append(Scripted(tool_calls=deltas, finish_reason="tool_calls"))
    fake_server.script.append(Scripted(chunks=["Done."]))
    _send(qtbot, tab, "Weather in Oslo, and where is order 42?")
    wait_idle(qtbot, tab)

    button = tab.pane_views[0].findChild(QPushButton, "sendResultsButton")
    assert not button.isEnabled() and "has no result" in button.toolTip()
    for index, text in ((0, '{"temperature": -3}'), (1, "shipped yesterday")):
        card = _card(tab, index)
        assert card.findChild(QLabel, "toolCheck").text() == "Valid"
        qtbot.keyClicks(card.findChild(QPlainTextEdit, "toolResult"), text)
    _send_results(qtbot, tab)
    wait_idle(qtbot, tab)

    messages = _chat_bodies(fake_server)[1]["messages"]
    assert [c["id"] for c in messages[1]["tool_calls"]] == ["call_a", "call_b"]
    assert [(m["tool_call_id"], m["content"]) for m in messages[2:]] == [
        ("call_a", '{"temperature": -3}'),
        ("call_b", "shipped yesterday"),
    ]


def test_a_call_written_as_json_in_the_content_is_shown_as_a_call_parsed_from_content(
    qtbot: Any, tab: Any, fake_server: FakeServer
) -> None:
    text = '{"name": "get_weather", "arguments": {"city": "Lima"}}'
    fake_server.script.append(Scripted(chunks=[text[:20], text[20:]]))
    _send(qtbot, tab)
    wait_idle(qtbot, tab)

    card = _card(tab, 0)
    assert "parsed from content" in card.findChild(QLabel, "toolName").text()
    assert card.findChild(QLabel, "toolCheck").text() == "Valid"
    assert tab.presenter.panes[0].pending[0].id  # made up, so the tool message can answer it
    fake_server.script.append(Scripted(chunks=["Sunny."]))
    _send_results(qtbot, tab)
    wait_idle(qtbot, tab)
    sent = _chat_bodies(fake_server)[1]["messages"]
    assert sent[1]["content"] == "" and sent[1]["tool_calls"][0]["function"]["name"] == (
        "get_weather"
    )
    assert sent[2]["tool_call_id"] == sent[1]["tool_calls"][0]["id"]


def test_auto_run_answers_built_in_calls_until_the_step_limit(
    qtbot: Any, tab: Any, fake_server: FakeServer
) -> None:
    tab.findChild(QPlainTextEdit, "toolsEditor").setPlainText(_tools_text("calculator"))
    tab.findChild(QCheckBox, "autoRun").setChecked(True)
    tab.findChild(QSpinBox, "maxSteps").setValue(2)

    def calculator_call(call_id: str, expression: str) -> Scripted:
        arguments = json.dumps({"expression": expression})
        delta = {"index": 0, "id": call_id, "function": {"name": "calculator"}}
        return Scripted(
            tool_calls=[[delta], [{"index": 0, "function": {"arguments": arguments}}]],
            finish_reason="tool_calls",
        )

    fake_server.script.extend([calculator_call("c1", "6 * 7"), calculator_call("c2", "2 ** 10")])
    _send(qtbot, tab, "Compute things")
    wait_idle(qtbot, tab)

    bodies = _chat_bodies(fake_server)
    assert len(bodies) == 2  # the limit, not the model, ended the loop
    assert json.loads(bodies[1]["messages"][2]["content"])["result"] == 42
    note = tab.pane_views[0].findChild(QLabel, "loopNote").text()
    assert "Step 2 of 2" in note and "Reached 2 steps" in note
    card = _card(tab, 0)
    assert json.loads(card.findChild(QPlainTextEdit, "toolResult").toPlainText())["result"] == 1024
    assert "built-in" in card.findChild(QLabel, "toolResultSource").text()

    fake_server.script.append(Scripted(chunks=["42 and 1024."]))
    _send_results(qtbot, tab)
    wait_idle(qtbot, tab)
    assert tab.presenter.panes[0].answer == "42 and 1024."


def test_broken_arguments_and_unknown_tools_are_shown_and_can_be_fixed(
    qtbot: Any, tab: Any, fake_server: FakeServer
) -> None:
    deltas = [
        [{"index": 0, "id": "c0", "function": {"name": "get_weather", "arguments": '{"city": '}}],
        [{"index": 1, "id": "c1", "function": {"name": "launch_rocket", "arguments": "{}"}}],
    ]
    fake_server.script.append(Scripted(tool_calls=deltas, finish_reason="tool_calls"))
    _send(qtbot, tab)
    wait_idle(qtbot, tab)

    broken, unknown = _card(tab, 0), _card(tab, 1)
    check = broken.findChild(QLabel, "toolCheck").text()
    assert check.startswith("Not JSON") and 'Raw: {"city": ' in check
    assert "arguments are not usable" in broken.findChild(QLabel, "toolResultSource").text()
    assert unknown.findChild(QLabel, "toolCheck").text() == "Tool not defined: 'launch_rocket'"

    arguments = broken.findChild(QPlainTextEdit, "toolArguments")
    arguments.setPlainText('{"city": "Rome"}')
    assert broken.findChild(QLabel, "toolCheck").text() == "Valid"
    result = broken.findChild(QPlainTextEdit, "toolResult").toPlainText()
    assert json.loads(result)["city"] == "Rome"  # the mock ran on the fixed arguments
    qtbot.keyClicks(unknown.findChild(QPlainTextEdit, "toolResult"), '{"error": "no such tool"}')
    fake_server.script.append(Scripted(chunks=["Sorry."]))
    _send_results(qtbot, tab)
    wait_idle(qtbot, tab)
    calls = _chat_bodies(fake_server)[1]["messages"][1]["tool_calls"]
    assert calls[0]["function"]["arguments"] == '{"city": "Rome"}'  # as the user fixed them


def test_a_mock_that_does_not_render_stops_the_automatic_loop_for_the_user(
    qtbot: Any, tab: Any, fake_server: FakeServer
) -> None:
    tab.presenter.set_mock("get_weather", '{"where": "{{town}}"}')
    tab.findChild(QCheckBox, "autoRun").setChecked(True)
    fake_server.script.append(Scripted(tool_calls=WEATHER_CALL, finish_reason="tool_calls"))
    _send(qtbot, tab)
    wait_idle(qtbot, tab)

    assert len(_chat_bodies(fake_server)) == 1
    source = _card(tab, 0).findChild(QLabel, "toolResultSource").text()
    assert "mock did not render" in source and "town" in source
    assert "needs a result" in tab.pane_views[0].findChild(QLabel, "loopNote").text()


def test_invalid_tools_disable_send_with_the_reason(qtbot: Any, tab: Any) -> None:
    editor = tab.findChild(QPlainTextEdit, "toolsEditor")
    status = tab.findChild(QLabel, "toolsStatus")
    send = tab.findChild(QPushButton, "sendButton")
    bad_name = TEMPLATES["get_weather"] | {
        "function": TEMPLATES["get_weather"]["function"] | {"name": "get weather"}
    }
    for text, expected in (
        ('[{"type": "function",', "Line 1"),
        (json.dumps([bad_name]), "/0/function/name"),
        (json.dumps([TEMPLATES["get_weather"]] * 2), "uplicate"),
    ):
        editor.setPlainText(text)
        assert expected in status.text(), status.text()
        assert status.isVisible() and not send.isEnabled()
        assert "Fix the tools first" in send.toolTip()
    editor.setPlainText(_tools_text("get_weather"))
    assert status.text() == "" and send.isEnabled()


def test_tool_choice_offers_every_tool_and_sends_the_named_form(
    qtbot: Any, tab: Any, fake_server: FakeServer
) -> None:
    tab.findChild(QPlainTextEdit, "toolsEditor").setPlainText(
        _tools_text("get_weather", "calculator")
    )
    choice = tab.findChild(QComboBox, "toolChoice")
    items = [choice.itemText(i) for i in range(choice.count())]
    assert items == ["auto", "none", "required", "get_weather", "calculator"]
    choice.setCurrentIndex(items.index("calculator"))
    tab.findChild(QComboBox, "parallelCalls").setCurrentIndex(2)
    fake_server.script.append(Scripted(chunks=["no call"]))
    _send(qtbot, tab)
    wait_idle(qtbot, tab)
    body = _chat_bodies(fake_server)[-1]
    assert body["tool_choice"] == {"type": "function", "function": {"name": "calculator"}}
    assert body["parallel_tool_calls"] is False
    request = tab.presenter.panes[0].last_request
    assert request["tool_choice"] == body["tool_choice"] and "Authorization" not in json.dumps(
        request
    )


def test_a_server_error_mid_loop_keeps_the_steps_and_retry_continues(
    qtbot: Any, tab: Any, fake_server: FakeServer, no_retry_wait: None
) -> None:
    fake_server.script.append(Scripted(tool_calls=WEATHER_CALL, finish_reason="tool_calls"))
    _send(qtbot, tab)
    wait_idle(qtbot, tab)
    boom = openai_error("upstream exploded", "server_error")
    fake_server.script.extend(Scripted(status=500, body=boom) for _ in range(3))
    _send_results(qtbot, tab)
    wait_idle(qtbot, tab)

    view = tab.pane_views[0]
    note = view.findChild(QLabel, "loopNote").text()
    assert "Stopped at step 2" in note and "upstream exploded" in note
    assert "→ get_weather" in _transcript(tab) and "failed" in _transcript(tab)
    retry = view.findChild(QPushButton, "retryButton")
    assert retry.isVisible()
    fake_server.script.append(Scripted(chunks=["Fine now."]))
    qtbot.mouseClick(retry, Qt.MouseButton.LeftButton)
    wait_idle(qtbot, tab)
    last = _chat_bodies(fake_server)[-1]["messages"]
    assert [m["role"] for m in last] == ["user", "assistant", "tool"]
    assert tab.presenter.panes[0].answer == "Fine now." and not retry.isVisible()


def test_a_follow_up_after_the_answer_carries_the_whole_conversation(
    qtbot: Any, tab: Any, fake_server: FakeServer
) -> None:
    fake_server.script.append(Scripted(tool_calls=WEATHER_CALL, finish_reason="tool_calls"))
    fake_server.script.append(Scripted(chunks=["18 degrees."]))
    _send(qtbot, tab, "Paris?")
    wait_idle(qtbot, tab)
    _send_results(qtbot, tab)
    wait_idle(qtbot, tab)
    fake_server.script.append(Scripted(chunks=["Yes, a jacket."]))
    _send(qtbot, tab, "Do I need a jacket?")
    wait_idle(qtbot, tab)
    messages = _chat_bodies(fake_server)[-1]["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "tool", "assistant", "user"]
    assert messages[3] == {"role": "assistant", "content": "18 degrees."}


def test_an_unanswered_message_is_not_sent_again_with_the_next_one(
    qtbot: Any, tab: Any, fake_server: FakeServer
) -> None:
    fake_server.script.append(Scripted(tool_calls=WEATHER_CALL, finish_reason="tool_calls"))
    _send(qtbot, tab, "Paris?")
    wait_idle(qtbot, tab)  # the call waits; the user asks something else instead
    fake_server.script.append(Scripted(chunks=["Hello."]))
    _send(qtbot, tab, "Never mind, hi.")
    wait_idle(qtbot, tab)
    messages = _chat_bodies(fake_server)[-1]["messages"]
    assert messages == [{"role": "user", "content": "Never mind, hi."}]
    assert "Paris?" in _transcript(tab)  # still shown


def test_calls_stream_into_cards_as_they_form(
    qtbot: Any, tab: Any, fake_server: FakeServer
) -> None:
    import threading

    release = threading.Event()
    fake_server.script.append(
        Scripted(
            tool_calls=WEATHER_CALL,
            finish_reason="tool_calls",
            wait_for=release,
            hold_after=2,
        )
    )
    _send(qtbot, tab)
    qtbot.waitUntil(lambda: tab.pane_views[0].findChild(QWidget, "toolCall-0") is not None)
    card = _card(tab, 0)
    qtbot.waitUntil(lambda: "(forming)" in card.findChild(QLabel, "toolName").text())
    assert card.findChild(QPlainTextEdit, "toolArguments").isReadOnly()
    release.set()
    wait_idle(qtbot, tab)
    card = _card(tab, 0)
    assert card.findChild(QLabel, "toolName").text() == "get_weather"
    assert not card.findChild(QPlainTextEdit, "toolArguments").isReadOnly()


def test_a_tool_from_a_python_function_is_added_without_running_it(
    qtbot: Any, tab: Any, tmp_path: Path
) -> None:
    marker = tmp_path / "ran"
    tab.findChild(QToolButton, "toolFromPython").click()
    dialog = tab.findChild(QDialog, "pythonToolDialog")
    editor = dialog.findChild(QPlainTextEdit, "sourceEditor")
    editor.setPlainText(f'import os\nos.system("touch {marker}")\n')
    dialog.convert_button.click()
    assert dialog.findChild(QLabel, "sourceError").text() and dialog.isVisible()
    editor.setPlainText(
        "def get_time(zone: str = 'UTC') -> str:\n"
        '    """The time in a zone.\n\n    Args:\n        zone: An IANA zone.\n    """\n'
    )
    dialog.convert_button.click()
    assert not dialog.isVisible() and not marker.exists()
    tools = json.loads(tab.findChild(QPlainTextEdit, "toolsEditor").toPlainText())
    assert [t["function"]["name"] for t in tools] == ["get_weather", "get_time"]
    assert (
        tools[1]["function"]["parameters"]["properties"]["zone"]["description"] == "An IANA zone."
    )


def test_tools_and_their_mocks_round_trip_through_a_file(
    qtbot: Any, tab: Any, tmp_path: Path
) -> None:
    path = tmp_path / "tools.json"
    tab.export_tools_to(path)
    saved = json.loads(path.read_text())
    assert saved["tools"] == [TEMPLATES["get_weather"]] and "get_weather" in saved["mocks"]
    tab.findChild(QPlainTextEdit, "toolsEditor").setPlainText("[]")
    tab.presenter.set_mock("get_weather", "")
    tab.import_tools_from(path)
    assert json.loads(tab.findChild(QPlainTextEdit, "toolsEditor").toPlainText()) == [
        TEMPLATES["get_weather"]
    ]
    assert tab.presenter.mocks["get_weather"] == saved["mocks"]["get_weather"]
    broken = tmp_path / "broken.json"
    broken.write_text("{nope")
    tab.import_tools_from(broken)
    assert "Could not import broken.json" in tab.findChild(QLabel, "toolsStatus").text()
    assert tab.presenter.check.names == ("get_weather",)  # nothing lost


def test_the_form_edits_one_tool_and_its_mock(qtbot: Any, tab: Any) -> None:
    tab.findChild(QWidget, "toolFormButton").click()
    form = tab.findChild(QWidget, "toolForm")
    assert form.isVisible()
    form.findChild(QWidget, "toolFormDescription").setPlainText("Weather now, anywhere")
    form.findChild(QWidget, "applyToolButton").click()
    tools = json.loads(tab.findChild(QPlainTextEdit, "toolsEditor").toPlainText())
    assert tools[0]["function"]["description"] == "Weather now, anywhere"
    form.findChild(QWidget, "toolMock").setPlainText('{"t": 1}')
    assert tab.presenter.mocks["get_weather"] == '{"t": 1}'


def test_the_summary_compares_what_each_model_called(
    qtbot: Any, tab: Any, fake_server: FakeServer
) -> None:
    add_pane(qtbot, tab, "model-b")
    fake_server.by_model["model-a"].append(
        Scripted(tool_calls=WEATHER_CALL, finish_reason="tool_calls")
    )
    fake_server.by_model["model-b"].append(Scripted(chunks=["I cannot check the weather."]))
    _send(qtbot, tab)
    wait_idle(qtbot, tab)
    dialog = tab.open_summary()
    table = dialog.findChild(QTableWidget, "toolsSummaryTable")
    assert table.rowCount() == 2
    assert table.item(0, 1).text() == 'get_weather({"city": "Paris"})'
    assert table.item(0, 2).text() == "1/1" and table.item(0, 4).text() == "waiting"
    assert table.item(1, 1).text() == "(no calls)" and table.item(1, 4).text() == "answered"


def test_a_model_the_catalog_says_calls_no_tools_gets_a_warning_not_a_block(
    qtbot: Any, tab: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FIREWORKS_API_KEY", raising=False)  # the model list stays offline
    warning = tab.pane_views[0].findChild(QLabel, "paneWarning")
    pane = tab.presenter.panes[0]
    pane.set_provider("fireworks")
    pane.set_model("accounts/fireworks/models/llama-v3p1-8b-instruct")
    assert "does not call tools" in warning.text() and not warning.isHidden()
    assert tab.findChild(QPushButton, "sendButton").isEnabled()
    pane.set_model("accounts/fireworks/models/llama-v3p1-405b-instruct")
    assert warning.isHidden()


def test_a_stream_that_drops_mid_loop_keeps_what_arrived_and_says_where(
    qtbot: Any, tab: Any, fake_server: FakeServer, no_retry_wait: None
) -> None:
    fake_server.script.append(Scripted(tool_calls=WEATHER_CALL, finish_reason="tool_calls"))
    _send(qtbot, tab)
    wait_idle(qtbot, tab)
    fake_server.script.append(Scripted(chunks=["It is ", "18 degrees ", "and"], drop_after=2))
    _send_results(qtbot, tab)
    wait_idle(qtbot, tab)
    pane = tab.presenter.panes[0]
    assert pane.outcome == "failed" and "Stopped at step 2" in pane.note
    assert "It is" in _transcript(tab)  # the partial answer stays on screen
    assert pane.can_retry
