"""The Image questions tab driven like a user would: real drops, pastes and files."""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QGuiApplication, QImage
from PySide6.QtWidgets import QApplication, QCheckBox, QLabel, QLineEdit, QPushButton, QWidget

from tests.fake_server import FakeServer, Scripted
from tests.gui.chat_actions import wait_idle

pytestmark = pytest.mark.usefixtures("qloop")


def _photo(path: Path, size: tuple[int, int], fmt: str, **save: Any) -> Path:
    image = Image.new("RGB", size, (200, 30, 30))
    image.paste((30, 30, 200), (0, 0, size[0] // 2, size[1]))  # left half blue: orientation
    image.save(path, fmt, **save)
    return path


def _rotated_jpeg(path: Path) -> Path:
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways; shown rotated 90° clockwise
    return _photo(path, (400, 200), "JPEG", exif=exif.tobytes())


@pytest.fixture
def tab(qtbot: Any, make_app: Any, fake_server: FakeServer) -> Any:
    """The Image questions tab of a real window on the fake server."""
    app = make_app("--tab", "vision", "--provider", fake_server.url, "--model", "model-a")
    app.window.show()
    return app.window.findChild(QWidget, "tab-vision")


def _drop(qtbot: Any, tab: Any, mime: QMimeData) -> None:
    target = tab.findChild(QWidget, "imageDrop")
    position = QPointF(target.rect().center())
    enter = QDragEnterEvent(
        position.toPoint(),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(target, enter)
    assert enter.isAccepted()
    drop = QDropEvent(
        position,
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(target, drop)


def _drop_files(qtbot: Any, tab: Any, *paths: Path) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path)) for path in paths])
    _drop(qtbot, tab, mime)


def _attachments(tab: Any) -> list[QWidget]:
    strip = tab.findChild(QWidget, "attachments")
    found = []
    while (child := strip.findChild(QWidget, f"attachment-{len(found)}")) is not None:
        found.append(child)
    return found


def _status(tab: Any) -> str:
    return tab.findChild(QLabel, "attachStatus").text()


def _ready(qtbot: Any, tab: Any, count: int) -> None:
    qtbot.waitUntil(lambda: len(_attachments(tab)) == count, timeout=10_000)
    qtbot.waitUntil(tab.findChild(QPushButton, "sendButton").isEnabled, timeout=10_000)


def _send(qtbot: Any, tab: Any) -> None:
    qtbot.mouseClick(tab.findChild(QPushButton, "sendButton"), Qt.MouseButton.LeftButton)
    wait_idle(qtbot, tab)


def _sent_images(server: FakeServer, message: int = 0) -> list[Image.Image]:
    body = [r.json for r in server.requests if r.path.endswith("/chat/completions")][-1]
    parts = body["messages"][message]["content"]
    images = []
    for part in parts:
        if part["type"] == "image_url":
            header, data = part["image_url"]["url"].split(",", 1)
            assert header in ("data:image/png;base64", "data:image/jpeg;base64"), header
            images.append(Image.open(io.BytesIO(base64.b64decode(data))))
    return images


def test_dropped_files_are_sent_converted_and_upright(
    qtbot: Any, tab: Any, fake_server: FakeServer, tmp_path: Path
) -> None:
    rotated = _rotated_jpeg(tmp_path / "phone.jpg")
    webp = _photo(tmp_path / "web.webp", (300, 150), "WEBP")
    _drop_files(qtbot, tab, rotated, webp)
    _ready(qtbot, tab, 2)
    assert _status(tab) == ""
    info = _attachments(tab)[0].findChild(QLabel, "attachmentInfo").text()
    assert "phone.jpg" in info and "200×400" in info

    fake_server.script.append(Scripted(chunks=["A red and blue picture."]))
    _send(qtbot, tab)

    upright, converted = _sent_images(fake_server)
    assert upright.size == (200, 400)  # EXIF orientation applied before sending
    assert upright.convert("RGB").getpixel((100, 10))[2] > 150  # blue on top after the turn
    assert converted.format in ("PNG", "JPEG") and converted.size == (300, 150)
    body = [r.json for r in fake_server.requests if r.path.endswith("/chat/completions")][-1]
    content = body["messages"][0]["content"]
    assert [p["type"] for p in content] == ["image_url", "image_url", "text"]  # images first
    pane = tab.presenter.panes[0]
    assert pane.last_metrics is not None and pane.last_metrics.image_count == 2
    assert _attachments(tab) == []  # the images now belong to the sent message


def test_a_follow_up_sends_the_images_again_and_says_so(
    qtbot: Any, tab: Any, fake_server: FakeServer, tmp_path: Path
) -> None:
    _drop_files(qtbot, tab, _photo(tmp_path / "a.png", (64, 64), "PNG"))
    _ready(qtbot, tab, 1)
    fake_server.script.extend([Scripted(chunks=["A square."]), Scripted(chunks=["Red."])])
    _send(qtbot, tab)
    tab.prompt.setPlainText("What colour is it?")
    _send(qtbot, tab)
    assert len(_sent_images(fake_server, message=0)) == 1
    body = [r.json for r in fake_server.requests if r.path.endswith("/chat/completions")][-1]
    assert body["messages"][-1] == {"role": "user", "content": "What colour is it?"}
    notes = tab.pane_views[0].findChild(QLabel, "paneNotes").text()
    assert "send the images again" in notes


def test_bad_files_are_refused_by_name_and_nothing_attached_is_lost(
    qtbot: Any, tab: Any, tmp_path: Path
) -> None:
    _drop_files(qtbot, tab, _photo(tmp_path / "good.png", (32, 32), "PNG"))
    _ready(qtbot, tab, 1)
    fake = tmp_path / "notes.png"
    fake.write_text("just some text")
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    pdf = tmp_path / "scan.png"
    pdf.write_bytes(b"%PDF-1.7\n1 0 obj\n")
    buffer = io.BytesIO()
    Image.new("RGB", (200, 200), (1, 2, 3)).save(buffer, "PNG")
    truncated = tmp_path / "cut.png"
    truncated.write_bytes(buffer.getvalue()[:-60])
    for path in (fake, empty, pdf, truncated):
        _drop_files(qtbot, tab, path)
        qtbot.waitUntil(lambda p=path: p.name in _status(tab), timeout=10_000)
    assert len(_attachments(tab)) == 1
    assert tab.findChild(QPushButton, "sendButton").isEnabled()


def test_pasted_image_data_and_a_typed_url_are_attached(
    qtbot: Any, tab: Any, fake_server: FakeServer
) -> None:
    image = QImage(40, 20, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.green)
    QGuiApplication.clipboard().setImage(image)
    tab.paste()
    _ready(qtbot, tab, 1)
    url = tab.findChild(QLineEdit, "imageUrlInput")
    qtbot.keyClicks(url, "not a url")
    qtbot.keyClick(url, Qt.Key.Key_Return)
    assert "not an http(s) URL" in _status(tab)
    url.clear()
    qtbot.keyClicks(url, "https://example.com/cat.jpg")
    qtbot.keyClick(url, Qt.Key.Key_Return)
    _ready(qtbot, tab, 2)
    tab.findChild(QCheckBox, "imagesFirst").setChecked(False)
    fake_server.script.append(Scripted(chunks=["Green."]))
    _send(qtbot, tab)
    body = [r.json for r in fake_server.requests if r.path.endswith("/chat/completions")][-1]
    text, pasted, linked = body["messages"][0]["content"]
    assert text["type"] == "text"
    assert pasted["image_url"]["url"].startswith("data:image/png;base64,")
    assert linked["image_url"]["url"] == "https://example.com/cat.jpg"


def test_images_can_be_reordered_and_removed(qtbot: Any, tab: Any, tmp_path: Path) -> None:
    paths = [_photo(tmp_path / f"{n}.png", (20, 20), "PNG") for n in ("one", "two", "three")]
    for path in paths:  # one at a time, so their order is the drop order
        _drop_files(qtbot, tab, path)
        qtbot.waitUntil(lambda p=path: any(a.name == p.name for a in tab.presenter.attachments))
    _attachments(tab)[2].left_button.click()
    assert [a.name for a in tab.presenter.attachments] == ["one.png", "three.png", "two.png"]
    _attachments(tab)[0].remove_button.click()
    assert [a.name for a in tab.presenter.attachments] == ["three.png", "two.png"]
    assert len(_attachments(tab)) == 2


def test_more_images_than_the_provider_takes_block_send_with_the_reason(
    qtbot: Any, tab: Any, tmp_path: Path
) -> None:
    from app.domain.media import limits_for

    most = limits_for(tab.presenter.panes[0].provider_id).max_images
    paths = [_photo(tmp_path / f"{n}.png", (8, 8), "PNG") for n in range(most + 1)]
    _drop_files(qtbot, tab, *paths)
    qtbot.waitUntil(lambda: len(_attachments(tab)) == most + 1, timeout=20_000)
    send = tab.findChild(QPushButton, "sendButton")
    qtbot.waitUntil(lambda: "at most" in send.toolTip(), timeout=10_000)
    assert not send.isEnabled() and "at most" in _status(tab)
    _attachments(tab)[0].remove_button.click()
    qtbot.waitUntil(send.isEnabled, timeout=10_000)
    assert _status(tab) == ""  # valid again: the status says nothing


def test_changing_a_parameter_does_not_prepare_the_images_again(
    qtbot: Any, tab: Any, tmp_path: Path
) -> None:
    _drop_files(qtbot, tab, _photo(tmp_path / "a.png", (64, 64), "PNG"))
    _ready(qtbot, tab, 1)
    prepared = tab.presenter.prepared_for(0)
    tab.presenter.panes[0].set_param("temperature", 0.3)
    assert tab.presenter.prepared_for(0) is prepared


def test_a_model_the_catalog_says_takes_no_images_is_warned_about(
    qtbot: Any, tab: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FIREWORKS_API_KEY", raising=False)  # the model list stays offline
    notes = tab.pane_views[0].findChild(QLabel, "paneNotes")
    pane = tab.presenter.panes[0]
    pane.set_provider("fireworks")
    pane.set_model("accounts/fireworks/models/llama-v3p1-8b-instruct")
    assert "takes no images" in notes.text() and notes.isVisible()
    pane.set_model("accounts/fireworks/models/llama-v3p2-11b-vision-instruct")
    assert "takes no images" not in notes.text()
