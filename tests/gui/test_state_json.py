"""The Structured output tab's state: saved, changed, restored, and recorded in the history."""

from __future__ import annotations

import json
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QLabel, QPlainTextEdit, QPushButton, QSpinBox

from tests.fake_server import FakeServer, Scripted
from tests.gui.chat_actions import add_pane, wait_idle

pytestmark = pytest.mark.usefixtures("qloop")

WEATHER = {"location": "Paris", "temperature": 18.5, "condition": "cloudy", "humidity": 71}
# Lacks a required property: JSON, but invalid against the weather schema.
NO_HUMIDITY = {"location": "Paris", "temperature": 18.5, "condition": "cloudy"}


def _chunks(text: str, size: int = 7) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


@pytest.fixture
def app(make_app: Any, fake_server: FakeServer) -> Any:
    """A real window on the fake server, showing the Structured output tab."""
    built = make_app("--tab", "json", "--provider", fake_server.url, "--model", "model-a")
    built.window.show()
    return built


@pytest.fixture
def tab(app: Any) -> Any:
    """The Structured output tab of :func:`app`."""
    return app.window.findChild(object, "tab-json")


def _send(qtbot: Any, tab: Any) -> None:
    qtbot.mouseClick(tab.findChild(QPushButton, "sendButton"), Qt.MouseButton.LeftButton)
    wait_idle(qtbot, tab)


def _seen(tab: Any) -> dict[str, Any]:
    """What the user sees of the tab: its inputs and, per pane, target, reply and figures."""
    panes = []
    for view in tab.pane_views:
        output = view.findChild(QPlainTextEdit, "output")
        panes.append(
            {
                "model": view.findChild(QComboBox, "modelPicker").currentText(),
                "output": output.toPlainText(),
                "marked": [s.cursor.selectedText() for s in output.extraSelections()],
                "validation": view.findChild(QLabel, "validation").text(),
                "repeat": view.findChild(QLabel, "repeatStats").text(),
                "metrics": view.findChild(QLabel, "metrics").text(),
                "status": view.findChild(QLabel, "statusLabel").text(),
                "badges": view.findChild(QLabel, "paneBadges").text(),
            }
        )
    return {
        "panes": panes,
        "schema": tab.findChild(QPlainTextEdit, "schemaEditor").toPlainText(),
        "prompt": tab.findChild(QPlainTextEdit, "promptInput").toPlainText(),
        "describe": tab.findChild(QCheckBox, "describeSchemaCheck").isChecked(),
        "repeat": tab.findChild(QSpinBox, "repeatCount").value(),
    }


def _answers(tab: Any) -> list[Any]:
    """What Diff, Export, Agreement and the marks read from the panes."""
    return [
        (pane.has_output, pane.result_text(), pane.record(), pane.last_metrics)
        for pane in tab.presenter.panes
    ]


def test_a_restored_state_shows_the_same_replies_validations_and_inputs(
    qtbot: Any, tab: Any, fake_server: FakeServer
) -> None:
    add_pane(qtbot, tab, "model-b")
    fake_server.by_model["model-a"].append(Scripted(chunks=_chunks(json.dumps(WEATHER))))
    fake_server.by_model["model-b"].append(Scripted(chunks=_chunks(json.dumps(NO_HUMIDITY))))
    _send(qtbot, tab)
    prompt = tab.findChild(QPlainTextEdit, "promptInput")
    prompt.setPlainText("Typed after the Send, never sent")
    presenter = tab.presenter
    assert presenter.inputs_state()["prompt"] == "Typed after the Send, never sent"
    seen, answers, agreement = _seen(tab), _answers(tab), presenter.agreement()
    assert [p["validation"] for p in seen["panes"]] == [
        "Valid",
        "Invalid: /: 'humidity' is a required property",
    ]
    assert "valid JSON at" in seen["panes"][0]["metrics"] and seen["panes"][1]["marked"]
    assert any("fastest" in pane["badges"] for pane in seen["panes"])

    state = presenter.state()
    assert json.loads(json.dumps(state)) == state

    tab.findChild(QPlainTextEdit, "schemaEditor").setPlainText('{"type": "object"}')
    prompt.setPlainText("Something else")
    tab.findChild(QSpinBox, "repeatCount").setValue(5)
    tab.findChild(QCheckBox, "describeSchemaCheck").setChecked(False)
    tab.pane_views[1].remove_action.trigger()
    presenter.panes[0].clear()
    assert _seen(tab) != seen

    presenter.restore(state)
    assert len(tab.pane_views) == 2
    assert _seen(tab) == seen
    assert _answers(tab) == answers
    assert presenter.agreement() == agreement
    assert presenter.inputs_state() == state["inputs"]
    for name in ("diffButton", "agreementButton", "clearButton"):
        assert tab.findChild(QPushButton, name).isEnabled()


def test_every_repeat_is_kept_and_restored(qtbot: Any, tab: Any, fake_server: FakeServer) -> None:
    for reply in (WEATHER, {**WEATHER, "temperature": 20}, NO_HUMIDITY):
        fake_server.script.append(Scripted(chunks=_chunks(json.dumps(reply))))
    tab.findChild(QSpinBox, "repeatCount").setValue(3)
    _send(qtbot, tab)
    seen, answers = _seen(tab), _answers(tab)
    assert seen["panes"][0]["repeat"].startswith("Repeat: 2/3 valid")
    state = tab.presenter.state()
    assert len(state["panes"][0]["result"]["repeats"]) == 3

    tab.findChild(QPushButton, "clearButton").click()
    tab.findChild(QSpinBox, "repeatCount").setValue(1)
    tab.presenter.restore(json.loads(json.dumps(state)))
    assert _seen(tab) == seen
    assert _answers(tab) == answers


def test_runs_are_recorded_with_the_request_sent_and_the_result_shown(
    qtbot: Any, app: Any, tab: Any, fake_server: FakeServer
) -> None:
    add_pane(qtbot, tab, "model-b")
    fake_server.by_model["model-a"].append(Scripted(chunks=_chunks(json.dumps(WEATHER))))
    fake_server.by_model["model-b"].append(Scripted(chunks=["It is sunny."]))
    _send(qtbot, tab)
    store = app.services.history.store
    assert store.flush()
    runs = store.search(tab="json")
    assert sorted(run.model for run in runs) == ["model-a", "model-b"]
    assert {run.status for run in runs} == {"complete"}
    received = {r.json["model"]: r.json for r in fake_server.requests if r.json}
    panes = {pane.model: pane for pane in tab.presenter.panes}
    for run in runs:
        record = store.get(run.id)
        assert record is not None
        assert record.request is not None
        assert record.request["body"] == received[run.model]
        assert "response_format" in record.request["body"]
        assert record.result == panes[run.model].result_state()
        assert record.inputs == tab.presenter.inputs_state()


def test_a_dropped_stream_is_recorded_failed_with_its_partial_reply(
    qtbot: Any, app: Any, tab: Any, fake_server: FakeServer
) -> None:
    fake_server.script.append(Scripted(chunks=_chunks(json.dumps(WEATHER), 5), drop_after=6))
    _send(qtbot, tab)
    pane = tab.presenter.panes[0]
    assert pane.outcome == "failed" and pane.text and not pane.has_output
    store = app.services.history.store
    assert store.flush()
    (run,) = store.search(tab="json")
    record = store.get(run.id)
    assert record is not None
    assert record.status == "failed" and record.error
    assert record.output == pane.text
    assert record.result == pane.result_state()
    assert record.result is not None and record.result["text"] == pane.text

    # Reopened from the history, the pane shows the partial reply and the failure again.
    seen, answers = _seen(tab), _answers(tab)
    assert seen["panes"][0]["output"].startswith("{") and seen["panes"][0]["status"]
    tab.findChild(QPushButton, "sendButton").click()
    wait_idle(qtbot, tab)
    assert _seen(tab) != seen
    tab.presenter.restore(
        {
            "inputs": record.inputs,
            "panes": [{"target": pane.target.model_dump(mode="json"), "result": record.result}],
        }
    )
    assert _seen(tab) == seen
    assert _answers(tab) == answers
