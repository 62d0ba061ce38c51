"""The Tool calling tab's state: saved, changed, restored as the user saw it, and in the history."""

from __future__ import annotations

import json
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QTextBrowser,
    QWidget,
)

from app.domain.tools import TEMPLATES
from app.main import Built
from tests.fake_server import FakeServer, Scripted, openai_error
from tests.gui.chat_actions import add_pane, wait_idle

pytestmark = pytest.mark.usefixtures("qloop")


def _weather_call(call_id: str, city: str) -> Scripted:
    arguments = json.dumps({"city": city})
    deltas = [
        [{"index": 0, "id": call_id, "type": "function", "function": {"name": "get_weather"}}],
        [{"index": 0, "function": {"arguments": arguments[:5]}}],
        [{"index": 0, "function": {"arguments": arguments[5:]}}],
    ]
    return Scripted(tool_calls=deltas, finish_reason="tool_calls")


@pytest.fixture
def app(qtbot: Any, make_app: Any, fake_server: FakeServer) -> Built:
    """A real window on the fake server, showing the Tool calling tab."""
    built = make_app("--tab", "tools", "--provider", fake_server.url, "--model", "model-a")
    built.window.show()
    return built


@pytest.fixture
def tab(app: Built) -> Any:
    """The Tool calling tab."""
    return app.window.findChild(QWidget, "tab-tools")


def _send(qtbot: Any, tab: Any, prompt: str) -> None:
    tab.findChild(QPlainTextEdit, "promptInput").setPlainText(prompt)
    qtbot.mouseClick(tab.findChild(QPushButton, "sendButton"), Qt.MouseButton.LeftButton)
    wait_idle(qtbot, tab)


def _last_chat_body(server: FakeServer) -> Any:
    return next(r.json for r in reversed(server.requests) if r.path.endswith("/chat/completions"))


def _seen(tab: Any) -> dict[str, Any]:
    """What the user sees in the tab, and what Diff, Export and the marks read from its panes."""
    panes = []
    for view, pane in zip(tab.pane_views, tab.presenter.panes, strict=True):
        panes.append(
            {
                "model": view.findChild(QComboBox, "modelPicker").currentText(),
                "output": view.findChild(QTextBrowser, "output").toPlainText(),
                "metrics": view.findChild(QLabel, "metrics").text(),
                "note": view.findChild(QLabel, "loopNote").text(),
                "badges": view.findChild(QLabel, "paneBadges").text(),
                "cards": len(pane.pending),
                "has_output": pane.has_output,
                "result_text": pane.result_text(),
                "record": pane.record(),
                "last_metrics": pane.last_metrics,
            }
        )
    return {
        "panes": panes,
        "tools": tab.findChild(QPlainTextEdit, "toolsEditor").toPlainText(),
        "choice": tab.findChild(QComboBox, "toolChoice").currentText(),
        "auto_run": tab.findChild(QCheckBox, "autoRun").isChecked(),
        "max_steps": tab.findChild(QSpinBox, "maxSteps").value(),
        "prompt": tab.findChild(QPlainTextEdit, "promptInput").toPlainText(),
    }


def test_two_auto_run_panes_come_back_as_they_were_after_the_tab_changed(
    qtbot: Any, tab: Any, fake_server: FakeServer
) -> None:
    add_pane(qtbot, tab, "model-b")
    tab.findChild(QCheckBox, "autoRun").setChecked(True)
    tab.findChild(QComboBox, "toolChoice").setCurrentIndex(2)  # required
    fake_server.by_model["model-a"].extend(
        [_weather_call("call_a", "Paris"), Scripted(chunks=["It is 18 °C ", "in Paris."])]
    )
    fake_server.by_model["model-b"].extend(
        [_weather_call("call_b", "Paris"), Scripted(chunks=["Mild: 18 degrees."])]
    )
    _send(qtbot, tab, "Weather in Paris?")
    assert all(pane.has_output for pane in tab.presenter.panes)
    before = _seen(tab)
    assert "→ get_weather" in before["panes"][0]["output"]
    assert "get_weather result" in before["panes"][1]["output"]
    assert before["panes"][0]["metrics"] and "Step 2 of 5" in before["panes"][0]["note"]
    assert "fastest" in before["panes"][0]["badges"] + before["panes"][1]["badges"]

    state = tab.presenter.state()
    assert json.loads(json.dumps(state)) == state
    assert state["inputs"]["prompt"] == "Weather in Paris?"

    tab.findChild(QPlainTextEdit, "toolsEditor").setPlainText(
        json.dumps([TEMPLATES["calculator"]], indent=2)
    )
    tab.findChild(QComboBox, "toolChoice").setCurrentIndex(0)
    tab.findChild(QCheckBox, "autoRun").setChecked(False)
    tab.findChild(QSpinBox, "maxSteps").setValue(3)
    tab.findChild(QPlainTextEdit, "promptInput").setPlainText("Something else")
    tab.presenter.clear()
    assert tab.presenter.remove_target(1)
    assert _seen(tab) != before

    tab.presenter.restore(state)

    assert _seen(tab) == before
    assert tab.presenter.inputs_state() == state["inputs"]
    assert tab.presenter.can_diff


def test_a_restored_pane_waiting_for_results_sends_them_and_goes_on(
    qtbot: Any, tab: Any, fake_server: FakeServer
) -> None:
    fake_server.script.append(_weather_call("call_w", "Oslo"))
    _send(qtbot, tab, "Weather in Oslo?")
    pane = tab.presenter.panes[0]
    assert pane.outcome == "waiting" and len(pane.pending) == 1
    before = _seen(tab)
    state = tab.presenter.state()
    assert json.loads(json.dumps(state)) == state
    tab.presenter.clear()

    tab.presenter.restore(state)

    assert _seen(tab) == before
    card = tab.pane_views[0].findChild(QWidget, "toolCall-0")
    assert card.findChild(QLabel, "toolCheck").text() == "Valid"
    result = card.findChild(QPlainTextEdit, "toolResult").toPlainText()
    assert json.loads(result)["city"] == "Oslo"
    button = tab.pane_views[0].findChild(QPushButton, "sendResultsButton")
    qtbot.waitUntil(button.isVisible)  # once the grid has shown the new pane
    assert button.isEnabled(), button.toolTip()
    fake_server.script.append(Scripted(chunks=["Cold: -3 °C."]))
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    wait_idle(qtbot, tab)

    messages = _last_chat_body(fake_server)["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "tool"]
    assert messages[1]["tool_calls"][0]["id"] == "call_w"
    assert messages[2] == {"role": "tool", "tool_call_id": "call_w", "content": result}
    assert tab.presenter.panes[0].answer == "Cold: -3 °C."


def test_a_tool_loop_is_in_the_history_with_its_last_request_and_its_result(
    qtbot: Any, app: Built, tab: Any, fake_server: FakeServer
) -> None:
    tab.findChild(QCheckBox, "autoRun").setChecked(True)
    fake_server.script.extend(
        [_weather_call("call_h", "Lima"), Scripted(chunks=["Lima: ", "20 °C."])]
    )
    _send(qtbot, tab, "Weather in Lima?")
    pane = tab.presenter.panes[0]
    assert pane.has_output
    store = app.services.history.store
    assert store.flush()

    runs = store.search(tab="tools")
    assert [run.status for run in runs] == ["complete"]
    record = store.get(runs[0].id)
    assert record is not None
    assert record.request is not None and record.request["body"] == _last_chat_body(fake_server)
    assert record.result == pane.result_state()
    assert record.output == pane.result_text()
    assert record.inputs["prompt"] == "Weather in Lima?"
    assert record.inputs["tools"] == tab.findChild(QPlainTextEdit, "toolsEditor").toPlainText()


def test_a_rejected_run_is_recorded_failed_with_the_servers_message_and_restores_so(
    qtbot: Any, app: Built, tab: Any, fake_server: FakeServer
) -> None:
    fake_server.script.append(Scripted(status=401, body=openai_error("Invalid API key given")))
    _send(qtbot, tab, "Weather?")
    pane = tab.presenter.panes[0]
    assert pane.outcome == "failed"
    store = app.services.history.store
    assert store.flush()
    runs = store.search(tab="tools")
    assert [run.status for run in runs] == ["failed"]
    record = store.get(runs[0].id)
    assert record is not None and "Invalid API key given" in record.error
    assert record.result == pane.result_state()

    view = tab.pane_views[0]
    before = _seen(tab), view.findChild(QLabel, "statusLabel").text()
    assert "Invalid API key given" in before[1]
    # Reopened from the history: the run's result, on the pane's target.
    reopened = {
        "inputs": record.inputs,
        "panes": [{"target": pane.target.model_dump(mode="json"), "result": record.result}],
    }
    tab.presenter.clear()
    tab.presenter.restore(reopened)

    view = tab.pane_views[0]
    assert (_seen(tab), view.findChild(QLabel, "statusLabel").text()) == before
    retry = view.findChild(QPushButton, "retryButton")
    qtbot.waitUntil(retry.isVisible)
