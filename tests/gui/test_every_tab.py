"""The workbench contract, once per registered tab: what every tab does the same way."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QPlainTextEdit,
    QPushButton,
    QToolButton,
    QWidget,
)

from tests.fake_server import FakeServer, Scripted, openai_error
from widgets.tabs.registry import TABS

pytestmark = pytest.mark.usefixtures("qloop")

TAB_IDS = [spec.id for spec in TABS]
# A reply every chat-based tab takes as a complete result (the json tab validates it; that is its
# own test).
REPLY = '{"answer": "yes"}'


@dataclass(frozen=True)
class Driver:
    """How the contract drives one kind of tab: its input, its endpoint, its scripted answers."""

    input_name: str
    endpoint: str
    answer: Callable[[], Scripted]
    held: Callable[[threading.Event], Scripted]
    result_ok: Callable[[Any], bool]
    fill: Callable[[Any, Any], None]  # (qtbot, tab): give the tab its input


def _prompt(_qtbot: Any, tab: Any) -> None:
    tab.findChild(QPlainTextEdit, "promptInput").setPlainText("Answer in JSON: yes or no?")


def _texts(_qtbot: Any, tab: Any) -> None:
    tab.findChild(QPlainTextEdit, "textsInput").setPlainText("yes\nno")


def _audio_file(qtbot: Any, tab: Any) -> None:
    if tab.presenter.file is None:
        path = Path(tempfile.gettempdir()) / "fireplay-contract-tone.wav"
        with wave.open(str(path), "wb") as writer:
            writer.setnchannels(1)
            writer.setsampwidth(2)
            writer.setframerate(8000)
            writer.writeframes(b"\x00\x10" * 8000)
        tab.presenter.add_files([path])
        qtbot.waitUntil(lambda: tab.presenter.file is not None and not tab.presenter.reading)


_CHAT = Driver(
    input_name="promptInput",
    endpoint="/chat/completions",
    answer=lambda: Scripted(chunks=[REPLY]),
    held=lambda event: Scripted(chunks=['{"a": ', '"b"', "}"], hold_after=2, wait_for=event),
    result_ok=lambda pane: (
        pane.result_text().replace(" ", "").replace("\n", "") == REPLY.replace(" ", "")
    ),
    fill=_prompt,
)
_EMBEDDINGS = Driver(
    input_name="textsInput",
    endpoint="/embeddings",
    answer=Scripted,
    held=lambda event: Scripted(wait_for=event),
    result_ok=lambda pane: pane.texts == ("yes", "no") and "yes" in pane.result_text(),
    fill=_texts,
)
_AUDIO = Driver(
    input_name="audioDrop",
    endpoint="/audio/transcriptions",
    answer=Scripted,
    held=lambda event: Scripted(wait_for=event),
    result_ok=lambda pane: (
        pane.result_text().startswith("Hallo vom Testserver.") and bool(pane.segments)
    ),
    fill=_audio_file,
)
DRIVERS = {
    tab_id: {"embeddings": _EMBEDDINGS, "audio": _AUDIO}.get(tab_id, _CHAT) for tab_id in TAB_IDS
}


def _tab(make_app: Any, fake_server: FakeServer, tab_id: str) -> Any:
    app = make_app("--tab", tab_id, "--provider", fake_server.url, "--model", "model-0")
    app.window.show()
    tab = app.window.findChild(QWidget, f"tab-{tab_id}")
    assert tab is not None and app.window.findChild(QWidget, "mainTabs").currentWidget() is tab
    return tab


def _add(qtbot: Any, tab: Any, count: int) -> None:
    add = tab.findChild(QPushButton, "addTargetButton")
    for _ in range(count):
        qtbot.mouseClick(add, Qt.MouseButton.LeftButton)
    for number, pane in enumerate(tab.presenter.panes):
        pane.set_model(f"model-{number}")


def _send(qtbot: Any, tab: Any, tab_id: str) -> None:
    DRIVERS[tab_id].fill(qtbot, tab)
    qtbot.mouseClick(tab.findChild(QPushButton, "sendButton"), Qt.MouseButton.LeftButton)


def _wait_idle(qtbot: Any, tab: Any) -> None:
    qtbot.waitUntil(lambda: not tab.presenter.busy, timeout=10_000)


@pytest.mark.parametrize("tab_id", TAB_IDS)
def test_one_to_eight_panes_carry_the_stable_names(
    qtbot: Any, make_app: Any, fake_server: FakeServer, tab_id: str
) -> None:
    tab = _tab(make_app, fake_server, tab_id)
    for name in ("sendButton", "stopButton", "addTargetButton", DRIVERS[tab_id].input_name):
        assert tab.findChild(QWidget, name) is not None, name
    _add(qtbot, tab, 7)
    assert not tab.findChild(QPushButton, "addTargetButton").isEnabled()
    for number in range(8):
        pane = tab.findChild(QWidget, f"pane-{number}")
        assert pane is tab.pane_views[number]
        for name in ("modelPicker", "output", "metrics"):
            assert pane.findChild(QWidget, name) is not None, (number, name)
    while len(tab.pane_views) > 1:
        tab.pane_views[0].remove_action.trigger()
    assert tab.findChild(QWidget, "pane-0") is tab.pane_views[0]
    assert not tab.pane_views[0].remove_action.isEnabled()


@pytest.mark.parametrize("tab_id", TAB_IDS)
def test_a_failing_pane_says_why_while_the_others_finish(
    qtbot: Any, make_app: Any, fake_server: FakeServer, no_retry_wait: None, tab_id: str
) -> None:
    tab = _tab(make_app, fake_server, tab_id)
    _add(qtbot, tab, 2)
    boom = openai_error("upstream exploded", "server_error")
    driver = DRIVERS[tab_id]
    fake_server.by_model["model-0"].append(driver.answer())
    fake_server.by_model["model-1"].extend(Scripted(status=500, body=boom) for _ in range(3))
    fake_server.by_model["model-2"].append(driver.answer())
    _send(qtbot, tab, tab_id)
    _wait_idle(qtbot, tab)
    first, failing, last = tab.presenter.panes
    assert first.has_output and last.has_output and not failing.has_output
    assert driver.result_ok(first)
    assert "upstream exploded" in tab.pane_views[1].status_label.text()
    assert tab.findChild(QPushButton, "sendButton").isEnabled()


@pytest.mark.parametrize("tab_id", TAB_IDS)
def test_stop_stops_every_pane_and_one_pane_stops_alone(
    qtbot: Any,
    make_app: Any,
    fake_server: FakeServer,
    release: threading.Event,
    tab_id: str,
) -> None:
    tab = _tab(make_app, fake_server, tab_id)
    _add(qtbot, tab, 1)
    for model in ("model-0", "model-1"):
        fake_server.by_model[model].append(DRIVERS[tab_id].held(release))
    _send(qtbot, tab, tab_id)
    qtbot.waitUntil(lambda: all(p.busy for p in tab.presenter.panes), timeout=5000)
    assert tab.findChild(QPushButton, "stopButton").isEnabled()
    qtbot.mouseClick(
        tab.pane_views[0].findChild(QToolButton, "paneStopButton"), Qt.MouseButton.LeftButton
    )
    qtbot.waitUntil(lambda: not tab.presenter.panes[0].busy, timeout=5000)
    assert tab.presenter.panes[1].busy
    qtbot.mouseClick(tab.findChild(QPushButton, "stopButton"), Qt.MouseButton.LeftButton)
    _wait_idle(qtbot, tab)
    assert not any(p.has_output for p in tab.presenter.panes)


@pytest.mark.parametrize("tab_id", TAB_IDS)
def test_layout_and_targets_are_kept_across_a_restart(
    qtbot: Any, make_app: Any, fake_server: FakeServer, tab_id: str
) -> None:
    tab = _tab(make_app, fake_server, tab_id)
    _add(qtbot, tab, 2)
    tab.presenter.panes[2].set_param("seed", 9)
    tab.findChild(QToolButton, "layoutButton").click()
    again = make_app("--tab", tab_id).window.findChild(QWidget, f"tab-{tab_id}")
    assert [p.model for p in again.presenter.panes] == ["model-0", "model-1", "model-2"]
    assert again.presenter.panes[2].params == {"seed": 9}
    assert again.presenter.layout == "grid" and again.grid.arrangement == "grid"


@pytest.mark.parametrize("tab_id", TAB_IDS)
def test_stop_right_after_send_leaves_the_tab_ready_again(
    qtbot: Any, make_app: Any, fake_server: FakeServer, tab_id: str
) -> None:
    tab = _tab(make_app, fake_server, tab_id)
    driver = DRIVERS[tab_id]
    _send(qtbot, tab, tab_id)  # the pane's run is scheduled, not started, when Stop is clicked
    qtbot.mouseClick(tab.findChild(QPushButton, "stopButton"), Qt.MouseButton.LeftButton)
    _wait_idle(qtbot, tab)
    assert tab.findChild(QPushButton, "sendButton").isEnabled()
    assert not tab.presenter.panes[0].has_output
    assert not [r for r in fake_server.requests if r.path.endswith(driver.endpoint)]
    fake_server.script.append(driver.answer())
    _send(qtbot, tab, tab_id)
    _wait_idle(qtbot, tab)
    assert tab.presenter.panes[0].has_output


# -- View code, the request inspector, history and presets: built once in the base ----------------

KEY = "sk-contract-0123456789abcdef"


def _requests(fake_server: FakeServer, tab_id: str) -> list[Any]:
    return [r for r in fake_server.requests if r.path.endswith(DRIVERS[tab_id].endpoint)]


def _same_request(made: Any, sent: Any) -> None:
    assert made.path == sent.path
    assert made.headers["authorization"] == f"Bearer {KEY}"
    if sent.json is not None:
        assert made.json == sent.json
    else:
        assert made.form == sent.form
        assert made.files["file"].content == sent.files["file"].content


@pytest.mark.parametrize("language", ["curl", "python-httpx"])
@pytest.mark.parametrize("tab_id", TAB_IDS)
def test_view_code_makes_the_same_request_as_the_pane(
    qtbot: Any,
    make_app: Any,
    fake_server: FakeServer,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    tab_id: str,
    language: str,
) -> None:
    monkeypatch.setenv("FIREPLAY_API_KEY", KEY)
    tab = _tab(make_app, fake_server, tab_id)
    view = tab.pane_views[0]
    assert not view.findChild(QToolButton, "viewCodeButton").isEnabled()  # nothing sent yet
    tab.presenter.panes[0].set_param("temperature", 0.25)
    fake_server.script.append(DRIVERS[tab_id].answer())
    _send(qtbot, tab, tab_id)
    _wait_idle(qtbot, tab)
    button = view.findChild(QToolButton, "viewCodeButton")
    assert button.isEnabled()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    dialog = view.findChild(QWidget, "codeDialog")
    assert dialog is not None and dialog.isVisible()
    picker = dialog.findChild(QComboBox, "codeLanguage")
    assert [picker.itemText(i) for i in range(picker.count())] == [
        "curl",
        "python-openai",
        "python-httpx",
        "javascript",
    ]
    picker.setCurrentIndex(picker.findText(language))
    code = dialog.findChild(QPlainTextEdit, "codeText").toPlainText()
    assert "FIREPLAY_API_KEY" in code and KEY not in code
    script = tmp_path / ("request.sh" if language == "curl" else "request.py")
    assert dialog.save_to(script)
    [sent] = _requests(fake_server, tab_id)
    fake_server.script.append(DRIVERS[tab_id].answer())
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env.update(FIREPLAY_API_KEY=KEY, NO_PROXY="127.0.0.1,localhost")
    command = ["bash", str(script)] if language == "curl" else [sys.executable, str(script)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    made = _requests(fake_server, tab_id)[-1]
    _same_request(made, sent)


@pytest.mark.parametrize("tab_id", TAB_IDS)
def test_the_inspector_shows_the_request_as_sent_and_its_retries(
    qtbot: Any,
    make_app: Any,
    fake_server: FakeServer,
    monkeypatch: pytest.MonkeyPatch,
    no_retry_wait: None,
    tab_id: str,
) -> None:
    monkeypatch.setenv("FIREPLAY_API_KEY", KEY)
    tab = _tab(make_app, fake_server, tab_id)
    fake_server.script += [
        Scripted(status=429, headers={"retry-after": "1"}),
        DRIVERS[tab_id].answer(),
    ]
    _send(qtbot, tab, tab_id)
    _wait_idle(qtbot, tab)
    view = tab.pane_views[0]
    assert view.inspect_action.isEnabled()
    view.inspect_action.trigger()
    inspector = view.findChild(QWidget, "requestInspector")
    request = inspector.findChild(QPlainTextEdit, "inspectorRequest").toPlainText()
    assert DRIVERS[tab_id].endpoint in request and "Bearer ***" in request and KEY not in request
    attempts = inspector.findChild(QPlainTextEdit, "inspectorAttempts").toPlainText().splitlines()
    assert len(attempts) == 2 and "429" in attempts[0] and "retried" in attempts[0]
    assert "200" in attempts[1]
    inspector.findChild(QPushButton, "inspectorCopyButton").click()
    copied = json.loads(QApplication.clipboard().text())
    assert copied[-1]["status"] == 200 and KEY not in QApplication.clipboard().text()


@pytest.mark.parametrize("tab_id", TAB_IDS)
def test_every_run_is_in_the_history_and_reopens_into_its_tab(
    qtbot: Any,
    make_app: Any,
    fake_server: FakeServer,
    monkeypatch: pytest.MonkeyPatch,
    config_dir: Path,
    tab_id: str,
) -> None:
    monkeypatch.setenv("FIREPLAY_API_KEY", KEY)
    app = make_app("--tab", tab_id, "--provider", fake_server.url, "--model", "model-0")
    app.window.show()
    tab = app.window.findChild(QWidget, f"tab-{tab_id}")
    fake_server.script.append(DRIVERS[tab_id].answer())
    _send(qtbot, tab, tab_id)
    _wait_idle(qtbot, tab)
    expected = tab.presenter.panes[0].result_text()
    history = app.services.history
    assert history.store.flush()
    [run] = history.search(tab=tab_id)
    record = history.get(run.id)
    assert record is not None and record.status == "complete" and record.model == "model-0"
    assert record.output == expected
    stored = b"".join(p.read_bytes() for p in config_dir.glob("history.sqlite3*"))
    assert KEY.encode() not in stored and b"Bearer ***" in stored
    [sent] = _requests(fake_server, tab_id)
    if sent.json is not None:
        assert record.request is not None and record.request["body"]["model"] == "model-0"
    dialog = app.window.open_history()
    assert dialog.findChild(QWidget, "historyList").model().rowCount() == 1
    _add(qtbot, tab, 1)  # the tab changes; reopening puts the run's single pane back
    dialog.findChild(QPushButton, "historyReopenButton").click()
    assert len(tab.presenter.panes) == 1 and tab.presenter.panes[0].model == "model-0"
    assert DRIVERS[tab_id].result_ok(tab.presenter.panes[0])


@pytest.mark.parametrize("tab_id", TAB_IDS)
def test_a_preset_brings_back_targets_and_parameters(
    qtbot: Any, make_app: Any, fake_server: FakeServer, tab_id: str
) -> None:
    tab = _tab(make_app, fake_server, tab_id)
    _add(qtbot, tab, 1)
    tab.presenter.panes[1].set_param("seed", 4)
    presets = tab.findChild(QToolButton, "presetsButton")
    assert presets.save_as("two models")
    tab.pane_views[1].remove_action.trigger()
    tab.presenter.panes[0].set_model("other")
    assert presets.apply("two models")
    assert [p.model for p in tab.presenter.panes] == ["model-0", "model-1"]
    assert tab.presenter.panes[1].params == {"seed": 4}
    again = make_app("--tab", tab_id).window.findChild(QWidget, f"tab-{tab_id}")
    assert again.presenter.presets.names(tab_id) == ["two models"]
