"""The workbench contract, once per registered tab: what every tab does the same way."""

from __future__ import annotations

import tempfile
import threading
import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPlainTextEdit, QPushButton, QToolButton, QWidget

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
