"""The Audio tab driven like a user would: real drops of real files, the fake server's answers."""

from __future__ import annotations

import io
import threading
import wave
from pathlib import Path
from typing import Any, ClassVar

import jiwer
import numpy as np
import pytest
import srt
import webvtt
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QTableView,
    QWidget,
)

import app.presenters.audio as audio_presenter
from app.domain.sound import Availability
from tests.fake_server import FakeServer, Scripted

pytestmark = pytest.mark.usefixtures("qloop")


def tone(path: Path, seconds: float = 2.0, rate: int = 16_000, amplitude: float = 0.5) -> Path:
    """A mono 16-bit WAV of a 440 Hz tone."""
    t = np.arange(int(seconds * rate)) / rate
    samples = (amplitude * 32767 * np.sin(2 * np.pi * 440 * t)).astype("<i2")
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(samples.tobytes())
    return path


@pytest.fixture
def tab(qtbot: Any, make_app: Any, fake_server: FakeServer) -> Any:
    """The Audio tab of a real window on the fake server."""
    app = make_app("--tab", "audio", "--provider", fake_server.url, "--model", "whisper-1")
    app.window.show()
    return app.window.findChild(QWidget, "tab-audio")


def drop(tab: Any, *paths: Path) -> None:
    """Drop files on ``audioDrop`` as a file manager would."""
    target = tab.findChild(QWidget, "audioDrop")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path)) for path in paths])
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
    event = QDropEvent(
        position,
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(target, event)


def _info(tab: Any) -> str:
    return tab.findChild(QLabel, "audioInfo").text()


def _status(tab: Any) -> str:
    return tab.findChild(QLabel, "audioStatus").text()


def loaded(qtbot: Any, tab: Any, path: Path) -> None:
    """Drop ``path`` and wait until the tab has read it."""
    drop(tab, path)
    qtbot.waitUntil(lambda: path.name in _info(tab) and not tab.presenter.reading, timeout=10_000)


def _send(qtbot: Any, tab: Any) -> None:
    send = tab.findChild(QPushButton, "sendButton")
    assert send.isEnabled(), send.toolTip()
    qtbot.mouseClick(send, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not tab.presenter.busy, timeout=10_000)


def _uploads(fake_server: FakeServer) -> list[Any]:
    return [r for r in fake_server.requests if r.path.startswith("/v1/audio/")]


def test_a_dropped_file_shows_its_name_duration_and_waveform(
    qtbot: Any, tab: Any, tmp_path: Path
) -> None:
    loaded(qtbot, tab, tone(tmp_path / "tone.wav", seconds=2.0))
    assert _info(tab) == "tone.wav · 0:02"
    qtbot.waitUntil(lambda: tab.presenter.file.peaks is not None, timeout=10_000)
    assert tab.findChild(QLabel, "audioStatus").isHidden()
    assert tab.findChild(QPushButton, "sendButton").isEnabled()


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("notes.wav", b"these are my meeting notes, not audio\n" * 20, "is not an audio"),
        ("empty.mp3", b"", "is empty"),
    ],
)
def test_a_file_that_is_not_audio_is_refused_by_name_and_nothing_is_sent(
    qtbot: Any,
    tab: Any,
    fake_server: FakeServer,
    tmp_path: Path,
    name: str,
    content: bytes,
    reason: str,
) -> None:
    loaded(qtbot, tab, tone(tmp_path / "good.wav"))
    bad = tmp_path / name
    bad.write_bytes(content)
    drop(tab, bad)
    qtbot.waitUntil(lambda: reason in _status(tab), timeout=10_000)
    assert name in _status(tab)
    assert tab.findChild(QLabel, "audioStatus").isVisible()
    assert "good.wav" in _info(tab)  # the file already accepted stays
    assert not _uploads(fake_server)


def test_segments_fill_from_verbose_json_and_the_transcript_is_the_output(
    qtbot: Any, tab: Any, fake_server: FakeServer, tmp_path: Path
) -> None:
    path = tone(tmp_path / "tone.wav")
    loaded(qtbot, tab, path)
    _send(qtbot, tab)
    (upload,) = _uploads(fake_server)
    assert upload.path == "/v1/audio/transcriptions"
    assert upload.form["response_format"] == ["verbose_json"]
    assert upload.form["timestamp_granularities[]"] == ["segment"]
    assert upload.files["file"].content == path.read_bytes()
    assert upload.files["file"].filename == "tone.wav"
    pane = tab.pane_views[0]
    table = pane.findChild(QTableView, "segments")
    model = table.model()
    assert model.rowCount() == 1
    cells = [model.data(model.index(0, c)) for c in range(3)]
    assert cells[0] == "0:00.0" and cells[1] == "0:01.5"
    assert cells[2].startswith("Hallo vom Testserver.")
    output = pane.findChild(QPlainTextEdit, "output").toPlainText()
    assert output.startswith("Hallo vom Testserver.")
    metrics = pane.findChild(QLabel, "metrics").text()
    assert "2.0 s audio" in metrics
    assert "real-time factor" in pane.findChild(QLabel, "paneScore").text()


def test_translate_goes_to_the_translations_endpoint(
    qtbot: Any, tab: Any, fake_server: FakeServer, tmp_path: Path
) -> None:
    loaded(qtbot, tab, tone(tmp_path / "tone.wav"))
    picker = tab.findChild(QComboBox, "taskPicker")
    picker.setCurrentIndex(picker.findData("translate"))
    tab.presenter.panes[0].set_param("language", "de")
    _send(qtbot, tab)
    (upload,) = _uploads(fake_server)
    assert upload.path == "/v1/audio/translations"
    assert "language" not in upload.form
    assert tab.presenter.panes[0].text.startswith("Hello from the fake server.")


@pytest.mark.parametrize("response_format", ["srt", "vtt"])
def test_subtitle_answers_fill_the_segments_too(
    qtbot: Any, tab: Any, fake_server: FakeServer, tmp_path: Path, response_format: str
) -> None:
    loaded(qtbot, tab, tone(tmp_path / "tone.wav"))
    tab.presenter.panes[0].set_param("response_format", response_format)
    _send(qtbot, tab)
    assert _uploads(fake_server)[0].form["response_format"] == [response_format]
    segments = tab.presenter.panes[0].segments
    assert len(segments) == 1 and segments[0].end == pytest.approx(1.5)
    assert segments[0].text.startswith("Hallo vom Testserver.")


def test_exports_parse_as_srt_vtt_and_json(
    qtbot: Any, tab: Any, fake_server: FakeServer, tmp_path: Path
) -> None:
    loaded(qtbot, tab, tone(tmp_path / "tone.wav"))
    _send(qtbot, tab)
    view = tab.pane_views[0]
    for kind in ("srt", "vtt", "txt", "json"):
        view.export_to(tmp_path / f"out.{kind}")
    (cue,) = list(srt.parse((tmp_path / "out.srt").read_text(encoding="utf-8")))
    assert cue.start.total_seconds() == 0 and cue.end.total_seconds() == pytest.approx(1.5)
    assert "Hallo vom Testserver." in cue.content
    (caption,) = webvtt.read(str(tmp_path / "out.vtt"))
    assert caption.end == "00:00:01.500" and "Hallo vom Testserver." in caption.text
    assert "Hallo vom Testserver." in (tmp_path / "out.txt").read_text(encoding="utf-8")
    assert '"segments"' in (tmp_path / "out.json").read_text(encoding="utf-8")


def test_word_error_rate_against_a_reference_and_against_another_pane(
    qtbot: Any, tab: Any, fake_server: FakeServer, tmp_path: Path
) -> None:
    qtbot.mouseClick(tab.findChild(QPushButton, "addTargetButton"), Qt.MouseButton.LeftButton)
    loaded(qtbot, tab, tone(tmp_path / "tone.wav"))
    _send(qtbot, tab)
    reference = "Hallo vom Testserver"
    tab.findChild(QPlainTextEdit, "referenceInput").setPlainText(reference)
    first = tab.presenter.panes[0]
    # "Hallo vom Testserver. (N bytes)": the three words right, two more added.
    assert jiwer.wer("hallo vom testserver", "hallo vom testserver 12 bytes") == pytest.approx(
        2 / 3
    )
    assert first.score is not None and first.score.rate == pytest.approx(2 / 3)
    assert (first.score.insertions, first.score.reference_words) == (2, 3)
    assert "WER" in tab.pane_views[0].findChild(QLabel, "paneScore").text()
    against = tab.findChild(QComboBox, "scoreAgainst")
    against.setCurrentIndex(against.findData(0))
    assert all(pane.score.rate == 0 for pane in tab.presenter.panes)  # same answer twice


def test_a_file_over_the_providers_limit_is_re_encoded_before_it_is_sent(
    qtbot: Any, tab: Any, fake_server: FakeServer, tmp_path: Path
) -> None:
    big = tone(tmp_path / "long.wav", seconds=14 * 60, rate=16_000, amplitude=0.2)  # ~27 MB
    loaded(qtbot, tab, big)
    send = tab.findChild(QPushButton, "sendButton")
    assert not send.isEnabled() and "25 MiB" in send.toolTip()
    reencode = tab.findChild(QPushButton, "reencodeButton")
    assert reencode.isVisible()
    qtbot.mouseClick(reencode, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tab.presenter.reencoded is not None, timeout=120_000)
    qtbot.waitUntil(send.isEnabled, timeout=5000)
    _send(qtbot, tab)
    (upload,) = _uploads(fake_server)
    assert len(upload.files["file"].content) < 25 * 1024 * 1024
    assert upload.files["file"].filename.startswith("long.")


def test_the_upload_shows_progress_and_stop_cancels_it(
    qtbot: Any, tab: Any, fake_server: FakeServer, tmp_path: Path, release: threading.Event
) -> None:
    loaded(qtbot, tab, tone(tmp_path / "tone.wav", seconds=80))  # 2.6 MB: several pieces
    fake_server.script.append(Scripted(wait_for=release))
    sent: list[tuple[int, int]] = []
    pane = tab.presenter.panes[0]
    pane.upload_progress.connect(lambda done, total: sent.append((done, total)))
    qtbot.mouseClick(tab.findChild(QPushButton, "sendButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(_uploads(fake_server)) == 1, timeout=5000)
    size = (tmp_path / "tone.wav").stat().st_size
    assert (size, size) in sent and sent[0][0] < size
    qtbot.mouseClick(tab.findChild(QPushButton, "stopButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not tab.presenter.busy, timeout=5000)
    assert pane.outcome == "stopped"
    assert "stopped" in tab.pane_views[0].findChild(QLabel, "metrics").text()
    assert tab.findChild(QPushButton, "sendButton").isEnabled()


def test_without_a_sound_device_play_and_record_are_off_and_say_why(
    qtbot: Any, make_app: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    none = Availability(False, "No sound output device found")
    monkeypatch.setattr(audio_presenter, "playback_availability", lambda: none)
    monkeypatch.setattr(
        audio_presenter, "capture_availability", lambda: Availability(False, "No microphone")
    )
    tab = make_app("--tab", "audio").window.findChild(QWidget, "tab-audio")
    loaded(qtbot, tab, tone(tmp_path / "tone.wav"))
    play = tab.findChild(QPushButton, "playButton")
    record = tab.findChild(QPushButton, "recordButton")
    assert not play.isEnabled() and "No sound output device found" in play.toolTip()
    assert not record.isEnabled() and "No microphone" in record.toolTip()


class _FakePlayer:
    started: ClassVar[list[float]] = []

    def __init__(self, source: Any, rate: int, on_finished: Any = None) -> None:
        self.playing = False
        self.position_s = 0.0

    def play(self, start_s: float = 0.0) -> None:
        _FakePlayer.started.append(start_s)
        self.playing = True
        self.position_s = start_s

    def pause(self) -> None:
        self.playing = False

    def resume(self) -> None:
        self.playing = True

    def stop(self) -> None:
        self.playing = False


def test_clicking_a_segment_plays_from_its_start_and_highlights_it(
    qtbot: Any, tab: Any, fake_server: FakeServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audio_presenter, "playback_availability", lambda: Availability(True, ""))
    monkeypatch.setattr(audio_presenter, "Player", _FakePlayer)
    _FakePlayer.started = []
    body = {
        "text": "one two",
        "duration": 2.0,
        "segments": [
            {"id": 0, "start": 0.0, "end": 0.9, "text": " one"},
            {"id": 1, "start": 1.1, "end": 2.0, "text": " two"},
        ],
    }
    fake_server.script.append(Scripted(body=body))
    loaded(qtbot, tab, tone(tmp_path / "tone.wav"))
    _send(qtbot, tab)
    table = tab.pane_views[0].findChild(QTableView, "segments")
    second = table.visualRect(table.model().index(1, 2)).center()
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=second)
    assert _FakePlayer.started == [pytest.approx(1.1)]
    qtbot.waitUntil(
        lambda: table.model().data(table.model().index(1, 2), Qt.ItemDataRole.FontRole) is not None
    )


def test_send_to_chat_puts_the_transcript_in_the_chat_input(
    qtbot: Any, tab: Any, fake_server: FakeServer, tmp_path: Path
) -> None:
    loaded(qtbot, tab, tone(tmp_path / "tone.wav"))
    _send(qtbot, tab)
    tab.pane_views[0].send_to_chat_action.trigger()
    window = tab.window()
    chat = window.findChild(QWidget, "tab-chat")
    assert window.findChild(QWidget, "mainTabs").currentWidget() is chat
    prompt = chat.findChild(QPlainTextEdit, "promptInput").toPlainText()
    assert prompt.startswith("Hallo vom Testserver.")


def test_a_wav_round_trip_helper_makes_real_audio(tmp_path: Path) -> None:
    with wave.open(io.BytesIO(tone(tmp_path / "t.wav").read_bytes())) as reader:
        assert reader.getnframes() == 32_000


def test_fireworks_panes_send_the_vad_and_diarization_the_user_chose(
    qtbot: Any, tab: Any, fake_server: FakeServer, tmp_path: Path
) -> None:
    services = tab.presenter._services
    services.settings.update_provider("fireworks", base_url=fake_server.url)
    services.settings.set_api_key("fireworks", "fw-test-key")
    pane = tab.presenter.panes[0]
    pane.set_provider("fireworks")
    pane.set_model("whisper-on-the-fake-server")  # Whisper ids have their own audio hosts
    vad = tab.findChild(QComboBox, "vadModel")
    assert vad.isEnabled()
    vad.setCurrentIndex(vad.findData("silero"))
    tab.diarize_check.setChecked(True)
    tab.speakers_spin.setValue(2)
    loaded(qtbot, tab, tone(tmp_path / "tone.wav"))
    _send(qtbot, tab)
    assert pane.has_output, pane.error
    form = _uploads(fake_server)[0].form
    assert form["vad_model"] == ["silero"] and form["diarize"] == ["true"]
    assert form["min_speakers"] == ["2"] and form["max_speakers"] == ["2"]
    assert pane.segments[0].speaker == "SPEAKER_00"  # the fake server's diarized segment
    assert tab.pane_views[0].segments.model().columnCount() == 4


def test_word_timestamps_on_request_show_with_their_segment(
    qtbot: Any, tab: Any, fake_server: FakeServer, tmp_path: Path
) -> None:
    tab.presenter.panes[0].set_param("timestamp_granularities", "segment,word")
    loaded(qtbot, tab, tone(tmp_path / "tone.wav"))
    _send(qtbot, tab)
    assert _uploads(fake_server)[0].form["timestamp_granularities[]"] == ["segment", "word"]
    model = tab.pane_views[0].findChild(QTableView, "segments").model()
    tooltip = model.data(model.index(0, 2), Qt.ItemDataRole.ToolTipRole)
    # The fake server times its words 0.3 s apart: "Hallo" at 0.0, "vom" at 0.3, ...
    assert "0:00.0 Hallo" in tooltip and "0:00.3 vom" in tooltip
