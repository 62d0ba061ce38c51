"""The Structured output tab driven like a user would, against a loopback server."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QToolButton,
)

from tests.fake_server import FakeServer, Scripted
from tests.gui.chat_actions import add_pane, wait_idle

pytestmark = pytest.mark.usefixtures("qloop")

WEATHER = {"location": "Paris", "temperature": 18.5, "condition": "cloudy", "humidity": 71}


def _chunks(text: str, size: int = 7) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


@pytest.fixture
def tab(qtbot: Any, make_app: Any, fake_server: FakeServer) -> Any:
    """The Structured output tab of a real window on the fake server, with the weather schema."""
    app = make_app("--tab", "json", "--provider", fake_server.url, "--model", "model-a")
    app.window.show()
    return app.window.findChild(object, "tab-json")


def _send(qtbot: Any, tab: Any) -> None:
    qtbot.mouseClick(tab.findChild(QPushButton, "sendButton"), Qt.MouseButton.LeftButton)


def _json_requests(server: FakeServer) -> list[Any]:
    return [r for r in server.requests if r.path.endswith("/chat/completions")]


def _validation(tab: Any, pane: int = 0) -> str:
    return tab.pane_views[pane].findChild(QLabel, "validation").text()


def _output(tab: Any, pane: int = 0) -> str:
    return tab.pane_views[pane].findChild(QPlainTextEdit, "output").toPlainText()


def test_valid_json_streams_pretty_and_is_validated(
    qtbot: Any, tab: Any, fake_server: FakeServer
) -> None:
    fake_server.script.append(Scripted(chunks=_chunks(json.dumps(WEATHER))))
    _send(qtbot, tab)
    wait_idle(qtbot, tab)
    assert _validation(tab) == "Valid"
    assert _output(tab) == json.dumps(WEATHER, indent=2)
    body = _json_requests(fake_server)[-1].json
    schema = json.loads(tab.findChild(QPlainTextEdit, "schemaEditor").toPlainText())
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "WeatherInfo", "schema": schema, "strict": True},
    }
    assert (
        body["messages"][0]["role"] == "system" and '"humidity"' in body["messages"][0]["content"]
    )
    assert body["messages"][-1] == {"role": "user", "content": tab.prompt.toPlainText()}
    metrics = tab.pane_views[0].findChild(QLabel, "metrics").text()
    assert "valid JSON at" in metrics and "TTFT" in metrics


@pytest.mark.parametrize(
    ("reply", "finish", "label"),
    [
        (
            {k: v for k, v in WEATHER.items() if k != "humidity"},
            "stop",
            "Invalid: /: 'humidity' is a required property",
        ),
        (
            {**WEATHER, "humidity": 140},
            "stop",
            "Invalid: /humidity: 140 is greater than the maximum of 100",
        ),
        ("It is sunny in Paris.", "stop", "Not JSON"),
        ('{"location": "Paris", "tempera', "length", "Not JSON (truncated at max_tokens)"),
    ],
)
def test_replies_that_do_not_fit_say_why(
    qtbot: Any, tab: Any, fake_server: FakeServer, reply: Any, finish: str, label: str
) -> None:
    text = reply if isinstance(reply, str) else json.dumps(reply)
    fake_server.script.append(Scripted(chunks=_chunks(text), finish_reason=finish))
    _send(qtbot, tab)
    wait_idle(qtbot, tab)
    assert _validation(tab) == label
    output = tab.pane_views[0].findChild(QPlainTextEdit, "output")
    if label.startswith("Invalid"):
        marked = output.extraSelections()
        assert marked and marked[0].cursor.selectedText().strip()
    else:
        assert output.toPlainText() == text  # what arrived is kept as it came


def test_two_panes_with_different_modes_send_their_own_response_format(
    qtbot: Any, tab: Any, fake_server: FakeServer
) -> None:
    add_pane(qtbot, tab, "model-b")
    picker = tab.findChild(QComboBox, "modePicker")
    picker.setCurrentIndex(picker.findData("json_object"))
    for model in ("model-a", "model-b"):
        fake_server.by_model[model].append(Scripted(chunks=_chunks(json.dumps(WEATHER))))
    _send(qtbot, tab)
    wait_idle(qtbot, tab)
    sent = {r.json["model"]: r.json["response_format"] for r in _json_requests(fake_server)}
    assert sent["model-a"]["type"] == "json_schema"
    assert sent["model-b"] == {"type": "json_object"}
    assert [_validation(tab, 0), _validation(tab, 1)] == ["Valid", "Valid"]
    # The mode is the pane's own, and it is kept across a restart.
    assert tab.presenter.panes[1].target.options == {"mode": "json_object"}


def test_an_invalid_schema_disables_send_and_says_why(
    qtbot: Any, tab: Any, fake_server: FakeServer
) -> None:
    editor = tab.findChild(QPlainTextEdit, "schemaEditor")
    status = tab.findChild(QLabel, "schemaStatus")
    send = tab.findChild(QPushButton, "sendButton")
    assert status.text() == "" and send.isEnabled()
    editor.setPlainText('{"type": "object", "properties": {"a": {"type": "strin"}}}')
    assert status.text().startswith("/properties/a/type")
    assert not send.isEnabled() and "Fix the schema first" in send.toolTip()
    _send(qtbot, tab)
    assert _json_requests(fake_server) == []
    editor.setPlainText('{"type": "object", "properties": {"a": ')
    assert "Line 1" in status.text()
    editor.setPlainText('{"type": "object", "properties": {"a": {"type": "string"}}}')
    assert status.text() == "" and send.isEnabled()


def test_a_pydantic_class_becomes_the_schema_and_code_in_it_never_runs(
    qtbot: Any, tab: Any, tmp_path: Path
) -> None:
    qtbot.mouseClick(tab.findChild(QToolButton, "schemaFromPydantic"), Qt.MouseButton.LeftButton)
    dialog = tab.findChild(QDialog, "pydanticDialog")
    marker = tmp_path / "ran"
    dialog.editor.setPlainText(
        f"import os\nclass Evil(BaseModel):\n    x: int = os.system('touch {marker}')\n"
    )
    dialog.convert_button.click()
    assert dialog.isVisible() and "line" in dialog.error.text().lower()
    assert not marker.exists()
    dialog.editor.setPlainText(
        "class City(BaseModel):\n"
        "    name: str\n"
        "    population: int = Field(ge=0, description='People living there')\n"
    )
    dialog.convert_button.click()
    assert not dialog.isVisible()
    schema = json.loads(tab.findChild(QPlainTextEdit, "schemaEditor").toPlainText())
    assert schema["title"] == "City" and schema["required"] == ["name", "population"]
    assert schema["properties"]["population"]["minimum"] == 0
    assert tab.findChild(QLabel, "schemaStatus").text() == ""


def test_repeat_reports_how_often_each_target_is_valid(
    qtbot: Any, tab: Any, fake_server: FakeServer
) -> None:
    for reply in (WEATHER, {**WEATHER, "temperature": 20}, {"location": "Paris"}):
        fake_server.script.append(Scripted(chunks=_chunks(json.dumps(reply))))
    tab.findChild(QSpinBox, "repeatCount").setValue(3)
    _send(qtbot, tab)
    wait_idle(qtbot, tab)
    assert len(_json_requests(fake_server)) == 3
    stats = tab.pane_views[0].findChild(QLabel, "repeatStats")
    assert stats.isVisibleTo(tab.pane_views[0])
    assert stats.text().splitlines()[0] == "Repeat: 2/3 valid (67%)"
    assert "/temperature: 18.5 – 20" in stats.text()


def test_agreement_shows_which_fields_the_panes_disagree_on(
    qtbot: Any, tab: Any, fake_server: FakeServer
) -> None:
    add_pane(qtbot, tab, "model-b")
    fake_server.by_model["model-a"].append(Scripted(chunks=_chunks(json.dumps(WEATHER))))
    other = {**WEATHER, "condition": "rain"}
    fake_server.by_model["model-b"].append(Scripted(chunks=_chunks(json.dumps(other))))
    _send(qtbot, tab)
    wait_idle(qtbot, tab)
    qtbot.mouseClick(tab.findChild(QPushButton, "agreementButton"), Qt.MouseButton.LeftButton)
    dialog = tab.findChild(QDialog, "agreementDialog")
    table = dialog.findChild(QTableWidget, "agreementTable")
    rows = {table.verticalHeaderItem(r).text(): r for r in range(table.rowCount())}
    assert set(rows) == {"/location", "/temperature", "/condition", "/humidity"}
    row = rows["/condition"]
    assert [table.item(row, c).text() for c in range(2)] == ['"cloudy"', '"rain"']
    assert dialog.findChild(QLabel, "agreementSummary").text().startswith("3 of 4 fields")


def test_stop_keeps_the_partial_json(
    qtbot: Any, tab: Any, fake_server: FakeServer, release: threading.Event
) -> None:
    fake_server.script.append(
        Scripted(chunks=_chunks(json.dumps(WEATHER), 5), hold_after=4, wait_for=release)
    )
    pane = tab.presenter.panes[0]
    _send(qtbot, tab)
    qtbot.waitUntil(lambda: '"location"' in _output(tab), timeout=5000)
    qtbot.mouseClick(tab.findChild(QPushButton, "stopButton"), Qt.MouseButton.LeftButton)
    wait_idle(qtbot, tab)
    assert pane.outcome == "stopped" and pane.text and _output(tab).startswith("{")
    assert _validation(tab).startswith("Stopped")


def test_provider_limits_are_flagged_on_the_pane(qtbot: Any, tab: Any) -> None:
    pane = tab.presenter.panes[0]
    tab.findChild(QPlainTextEdit, "schemaEditor").setPlainText(
        '{"type": "object", "properties": {"code": {"type": "string", "pattern": "^[A-Z]+$"}}}'
    )
    problems = tab.pane_views[0].findChild(QLabel, "paneProblems")
    assert problems.text() == ""
    pane.set_provider("fireworks")
    assert "/properties/code/pattern: Fireworks does not support 'pattern'" in problems.text()


def test_schema_prompt_and_modes_are_kept_across_a_restart(
    qtbot: Any, tab: Any, make_app: Any
) -> None:
    tab.findChild(QPlainTextEdit, "schemaEditor").setPlainText('{"type": "object"}')
    picker = tab.findChild(QComboBox, "modePicker")
    picker.setCurrentIndex(picker.findData("json_object_schema"))
    tab.findChild(QSpinBox, "repeatCount").setValue(4)
    again = make_app("--tab", "json").window.findChild(object, "tab-json")
    assert again.findChild(QPlainTextEdit, "schemaEditor").toPlainText() == '{"type": "object"}'
    assert again.presenter.panes[0].mode == "json_object_schema"
    assert again.findChild(QComboBox, "modePicker").currentData() == "json_object_schema"
    assert again.findChild(QSpinBox, "repeatCount").value() == 4
