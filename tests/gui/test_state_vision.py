"""The Image questions tab's state: images kept by file path, restored, re-read and continued."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QCheckBox, QComboBox, QLabel, QPlainTextEdit, QPushButton, QWidget

from app.domain.history import strip_media
from tests.fake_server import FakeServer, Scripted
from tests.gui.chat_actions import add_pane, wait_idle
from tests.gui.test_state_chat import chat_requests, only_run, round_trip, shown
from tests.gui.test_vision_tab import _attachments, _drop_files, _photo, _ready, _send, _status

pytestmark = pytest.mark.usefixtures("qloop")


@pytest.fixture
def app(qtbot: Any, make_app: Any, fake_server: FakeServer) -> Any:
    """A real window on the fake server, showing the Image questions tab."""
    built = make_app("--tab", "vision", "--provider", fake_server.url, "--model", "model-a")
    built.window.show()
    return built


@pytest.fixture
def tab(app: Any) -> Any:
    """The window's Image questions tab."""
    return app.window.findChild(QWidget, "tab-vision")


def _attach(qtbot: Any, tab: Any, *paths: Path) -> None:
    """Drop ``paths`` one at a time (so they are attached in that order) and wait for them."""
    count = len(tab.presenter.attachments)
    for path in paths:
        _drop_files(qtbot, tab, path)
        count += 1
        qtbot.waitUntil(lambda n=count: len(tab.presenter.attachments) == n, timeout=10_000)
    _ready(qtbot, tab, count)


def _inputs(tab: Any) -> dict[str, Any]:
    """What the user sees of the tab's inputs."""
    infos: list[Any] = [a.findChild(QLabel, "attachmentInfo") for a in _attachments(tab)]
    return {
        "prompt": tab.findChild(QPlainTextEdit, "promptInput").toPlainText(),
        "detail": tab.findChild(QComboBox, "detailPicker").currentText(),
        "images_first": tab.findChild(QCheckBox, "imagesFirst").isChecked(),
        "attachments": [info.text().split("\n")[0] for info in infos],
    }


def test_a_restored_tab_reads_its_images_again_and_continues(
    qtbot: Any, tab: Any, fake_server: FakeServer, tmp_path: Path
) -> None:
    add_pane(qtbot, tab, "model-b")
    first, second, later, gone = (
        _photo(tmp_path / f"{name}.png", (64, 32), "PNG") for name in ("a", "b", "c", "gone")
    )
    tab.findChild(QComboBox, "detailPicker").setCurrentIndex(2)  # high
    tab.findChild(QCheckBox, "imagesFirst").setChecked(False)
    tab.prompt.setPlainText("What is this?")
    _attach(qtbot, tab, first, second)
    fake_server.by_model["model-a"].append(Scripted(chunks=["Two ", "squares."]))
    fake_server.by_model["model-b"].append(Scripted(chunks=["Red ", "and blue."]))
    _send(qtbot, tab)
    presenter = tab.presenter
    for pane in presenter.panes:
        assert pane.code_request().media_paths == (str(first), str(second))
    asked = sorted(chat_requests(fake_server), key=lambda body: body["model"])
    tab.prompt.setPlainText("And these?")
    _attach(qtbot, tab, later, gone)
    before, inputs = shown(tab), _inputs(tab)
    assert before["outputs"] == ["What is this?\n\nTwo squares.", "What is this?\n\nRed and blue."]

    state = presenter.state()
    round_trip(state)
    assert state["inputs"]["images"] == [str(later), str(gone)]

    tab.findChild(QPushButton, "clearButton").click()
    presenter.remove_target(1)
    tab.findChild(QComboBox, "detailPicker").setCurrentIndex(1)
    tab.findChild(QCheckBox, "imagesFirst").setChecked(True)
    tab.prompt.setPlainText("Something else")
    presenter.remove(0)
    gone.unlink()
    presenter.restore(state)

    qtbot.waitUntil(lambda: "gone.png" in _status(tab), timeout=10_000)
    _ready(qtbot, tab, 1)
    assert len(tab.pane_views) == 2 and shown(tab) == before
    assert _inputs(tab) == {**inputs, "attachments": ["c.png"]}
    for view in tab.pane_views:
        label = view.transcript.view(0).findChild(QLabel, "messageImages")
        assert label.text() == "Images: a.png, b.png"  # read again: nothing says "not kept"

    fake_server.by_model["model-a"].append(Scripted(chunks=["A third."]))
    fake_server.by_model["model-b"].append(Scripted(chunks=["Green."]))
    _send(qtbot, tab)
    sent = sorted(chat_requests(fake_server)[-2:], key=lambda body: body["model"])
    for body, old, reply in zip(sent, asked, ("Two squares.", "Red and blue."), strict=True):
        first_turn, answer, follow_up = body["messages"]
        assert first_turn == old["messages"][0]  # the same images, prepared the same way
        assert answer == {"role": "assistant", "content": reply}
        assert [p["type"] for p in follow_up["content"]] == ["text", "image_url"]
        assert follow_up["content"][1]["image_url"]["detail"] == "high"
    for pane in presenter.panes:
        assert pane.code_request().media_paths == (str(first), str(second), str(later))


def test_a_pasted_image_gets_a_placeholder_in_view_code(
    qtbot: Any, tab: Any, fake_server: FakeServer, tmp_path: Path
) -> None:
    photo = _photo(tmp_path / "a.png", (16, 16), "PNG")
    _attach(qtbot, tab, photo)
    tab.presenter.add_data(photo.read_bytes(), "pasted image.png")
    _ready(qtbot, tab, 2)
    fake_server.script.append(Scripted(chunks=["Twins."]))
    _send(qtbot, tab)
    assert tab.presenter.panes[0].code_request().media_paths == (str(photo),)


def test_a_run_is_recorded_in_the_history_without_its_image_data(
    qtbot: Any, app: Any, tab: Any, fake_server: FakeServer, tmp_path: Path
) -> None:
    _attach(qtbot, tab, _photo(tmp_path / "a.png", (64, 64), "PNG"))
    fake_server.script.append(Scripted(chunks=["A ", "square."]))
    _send(qtbot, tab)
    pane = tab.presenter.panes[0]
    record = only_run(app, "vision")
    assert record.status == "complete" and record.output == pane.result_text() == "A square."
    assert record.request is not None
    assert record.request["body"] == strip_media(chat_requests(fake_server)[-1])
    assert record.result == pane.result_state()


def test_a_stopped_run_is_recorded_stopped_with_its_partial_reply(
    qtbot: Any,
    app: Any,
    tab: Any,
    fake_server: FakeServer,
    release: threading.Event,
    tmp_path: Path,
) -> None:
    _attach(qtbot, tab, _photo(tmp_path / "a.png", (64, 64), "PNG"))
    fake_server.script.append(
        Scripted(chunks=["partial ", "answer", "more"], hold_after=3, wait_for=release)
    )
    pane = tab.presenter.panes[0]
    tab.findChild(QPushButton, "sendButton").click()
    qtbot.waitUntil(lambda: "answer" in pane.turns[-1].content, timeout=5000)
    tab.presenter.stop()
    wait_idle(qtbot, tab)
    record = only_run(app, "vision")
    assert record.status == "stopped" and record.output.startswith("partial answer")
    assert record.result == pane.result_state()
