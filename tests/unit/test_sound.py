"""Sound: device availability, the player's block protocol and the recorder's WAV output.

No sound card is needed: the player and recorder get fake devices that keep the generator
miniaudio would drive, and the tests drive it themselves, one request at a time.
"""

from __future__ import annotations

import enum
import inspect
import io
import itertools
import subprocess
import sys
import threading
import types
import wave
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from app.client import FireplayError
from app.domain.sound import (
    Availability,
    Player,
    Recorder,
    SoundError,
    capture_availability,
    playback_availability,
)

RATE = 1_000  # small, so frame counts read as milliseconds
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def fresh_availability() -> Iterator[None]:
    """Each test looks for devices afresh, and leaves no fake answer behind."""
    playback_availability.cache_clear()
    capture_availability.cache_clear()
    yield
    playback_availability.cache_clear()
    capture_availability.cache_clear()


class FakeDevice:
    """Stands in for miniaudio's PlaybackDevice/CaptureDevice: keeps the generator it is given."""

    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs
        self.generator: Any = None
        self.closes = 0
        self.closed = threading.Event()

    def start(self, generator: Any) -> None:
        self.generator = generator

    def stop(self) -> None:
        pass

    def close(self) -> None:
        self.closes += 1
        self.closed.set()


class Devices:
    """Records every device a factory makes."""

    def __init__(self) -> None:
        self.made: list[FakeDevice] = []

    def __call__(self, **kwargs: Any) -> FakeDevice:
        device = FakeDevice(**kwargs)
        self.made.append(device)
        return device

    @property
    def last(self) -> FakeDevice:
        return self.made[-1]


def pull(device: FakeDevice, frames: int) -> np.ndarray:
    """Asks for ``frames`` frames the way miniaudio's audio thread does."""
    data = device.generator.send(frames)
    return np.frombuffer(data, dtype=np.float32)


def sine(seconds: float, rate: int = RATE) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return (0.5 * np.sin(2 * np.pi * 50 * t)).astype(np.float32)


class Source:
    """A source factory that remembers the start times asked for and serves fixed chunks."""

    def __init__(self, chunks: list[np.ndarray]) -> None:
        self.chunks = chunks
        self.starts: list[float] = []
        self.served: list[Generator[np.ndarray, None, None]] = []
        self.closed = 0

    def __call__(self, start_s: float) -> Iterator[np.ndarray]:
        self.starts.append(start_s)
        self.served.append(self._serve())
        return self.served[-1]

    def _serve(self) -> Generator[np.ndarray, None, None]:
        try:
            yield from self.chunks
        finally:
            self.closed += 1


def player_with(
    chunks: list[np.ndarray], on_finished: Any = None
) -> tuple[Player, Source, Devices]:
    source, devices = Source(chunks), Devices()
    return Player(source, RATE, on_finished, device_factory=devices), source, devices


# -- availability ----------------------------------------------------------------------------------


@pytest.mark.parametrize("check", [playback_availability, capture_availability])
def test_availability_on_this_machine_is_an_answer_not_an_exception(check: Any) -> None:
    answer = check()

    assert isinstance(answer, Availability)
    assert isinstance(answer.ok, bool)
    assert answer.reason == "" if answer.ok else answer.reason.strip()
    assert check() is answer  # asked once per process


def test_without_miniaudio_everything_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "miniaudio", None)  # makes `import miniaudio` fail

    for answer in (playback_availability(), capture_availability()):
        assert answer == Availability(False, "the miniaudio package is not installed")
    with pytest.raises(SoundError, match="miniaudio package is not installed"):
        Player(Source([]), RATE).play()
    with pytest.raises(SoundError, match="miniaudio package is not installed"):
        Recorder().start()


def test_the_module_imports_without_miniaudio_and_without_loading_it() -> None:
    code = (
        "import sys\n"
        "sys.modules['miniaudio'] = None\n"
        "from app.domain import sound\n"
        "loaded = {name for name, module in sys.modules.items() if module is not None}\n"
        "assert not {'miniaudio', 'numpy', 'PySide6'} & loaded, sorted(loaded)\n"
        "print(sound.playback_availability().reason)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "the miniaudio package is not installed"


def fake_miniaudio(
    playbacks: dict[str, list[str]], captures: dict[str, list[str]] | None = None
) -> types.ModuleType:
    """A miniaudio whose backends list the given device names; absent backends fail to start."""
    capture_names = captures or {}

    class Backend(enum.Enum):
        PULSEAUDIO = 7
        ALSA = 8
        JACK = 9
        CUSTOM = 13
        NULL = 14

    class SampleFormat(enum.Enum):
        SIGNED16 = 2
        FLOAT32 = 5

    class MiniaudioError(Exception):
        pass

    class FakeDevices:
        def __init__(self, backends: list[Backend]) -> None:
            (self.backend,) = backends
            if self.backend.name not in playbacks and self.backend.name not in capture_names:
                raise MiniaudioError("cannot init context", -203)

        def get_playbacks(self) -> list[dict[str, Any]]:
            return [{"name": name} for name in playbacks.get(self.backend.name, [])]

        def get_captures(self) -> list[dict[str, Any]]:
            return [{"name": name} for name in capture_names.get(self.backend.name, [])]

    module = types.ModuleType("miniaudio")
    module.Backend = Backend  # type: ignore[attr-defined]
    module.SampleFormat = SampleFormat  # type: ignore[attr-defined]
    module.MiniaudioError = MiniaudioError  # type: ignore[attr-defined]
    module.Devices = FakeDevices  # type: ignore[attr-defined]
    module.get_enabled_backends = lambda: set(Backend)  # type: ignore[attr-defined]
    module.PlaybackDevice = Devices()  # type: ignore[attr-defined]
    module.CaptureDevice = Devices()  # type: ignore[attr-defined]
    return module


NULL_PCM = "Discard all samples (playback) or generate zero samples (capture)"


def test_placeholder_devices_do_not_count(monkeypatch: pytest.MonkeyPatch) -> None:
    # What a headless VM offers: no sound server, and ALSA's "null" PCM only.
    monkeypatch.setitem(sys.modules, "miniaudio", fake_miniaudio({"ALSA": [NULL_PCM]}))

    answer = playback_availability()

    assert answer == Availability(
        False, "No sound output device found (miniaudio backends tried: pulseaudio, alsa, jack)"
    )


def test_a_monitor_source_is_not_a_microphone(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = fake_miniaudio(
        {"PULSEAUDIO": ["Built-in Audio Analog Stereo"]},
        {"PULSEAUDIO": ["Monitor of Built-in Audio Analog Stereo"]},
    )
    monkeypatch.setitem(sys.modules, "miniaudio", fake)

    assert playback_availability() == Availability(True, "")
    assert not capture_availability().ok
    assert capture_availability().reason.startswith("No microphone found")


def test_devices_open_only_on_backends_with_a_real_device(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = fake_miniaudio({"ALSA": [NULL_PCM], "JACK": ["system"]}, {"JACK": ["system"]})
    monkeypatch.setitem(sys.modules, "miniaudio", fake)

    player = Player(Source([sine(0.1)]), RATE)
    player.play()
    player.stop()
    recorder = Recorder()
    recorder.start()
    recorder.stop()

    for device in (fake.PlaybackDevice.last, fake.CaptureDevice.last):
        assert device.kwargs["backends"] == [fake.Backend.JACK]  # never NULL, never ALSA's null


def test_play_without_a_device_raises_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = fake_miniaudio({"ALSA": [NULL_PCM]})
    monkeypatch.setitem(sys.modules, "miniaudio", fake)
    source = Source([sine(0.1)])

    with pytest.raises(SoundError, match="No sound output device found") as raised:
        Player(source, RATE).play()

    assert isinstance(raised.value, FireplayError)  # presenters catch only these
    assert source.starts == []  # the decoder is not even opened
    assert fake.PlaybackDevice.made == []


def test_a_device_that_refuses_to_open_is_a_sound_error() -> None:
    import miniaudio

    def refuse(**kwargs: Any) -> None:
        raise miniaudio.MiniaudioError("failed to init device", -401)

    source = Source([sine(0.1)])
    player = Player(source, RATE, device_factory=refuse)

    with pytest.raises(SoundError, match=r"failed to init device \(miniaudio error -401\)"):
        player.play()
    assert inspect.getgeneratorstate(source.served[0]) == inspect.GEN_CLOSED
    assert not player.playing


# -- player ----------------------------------------------------------------------------------------


def test_play_opens_a_mono_float32_device_and_starts_the_source_where_asked() -> None:
    import miniaudio

    player, source, devices = player_with([sine(2.0)])

    player.play(1.0)

    assert source.starts == [1.0]
    kwargs = devices.last.kwargs
    assert kwargs["output_format"] is miniaudio.SampleFormat.FLOAT32
    assert (kwargs["nchannels"], kwargs["sample_rate"]) == (1, RATE)
    assert player.playing
    assert player.position_s == 1.0


def test_pulling_frames_advances_the_position() -> None:
    player, _, devices = player_with([sine(2.0)])
    player.play(1.0)

    pull(devices.last, 250)
    assert player.position_s == pytest.approx(1.25)
    pull(devices.last, 100)
    assert player.position_s == pytest.approx(1.35)


def test_chunks_of_odd_sizes_are_reblocked_exactly() -> None:
    signal = sine(1.0)
    cuts = [0, 7, 7, 300, 301, 650, 1000]  # includes an empty chunk
    chunks = [signal[a:b] for a, b in itertools.pairwise(cuts)]
    player, _, devices = player_with(chunks)
    player.play()

    blocks = [pull(devices.last, frames) for frames in (128, 5, 333, 250, 284)]

    assert [len(block) for block in blocks] == [128, 5, 333, 250, 284]
    np.testing.assert_array_equal(np.concatenate(blocks), signal)


def test_pyav_shaped_chunks_are_accepted() -> None:
    signal = sine(0.2)
    player, _, devices = player_with([signal[:100].reshape(1, -1), signal[100:].reshape(-1, 1)])
    player.play()

    np.testing.assert_array_equal(pull(devices.last, 200), signal)


def test_the_end_is_padded_with_silence_then_on_finished_runs_once() -> None:
    finished: list[None] = []
    signal = sine(0.3)
    player, _, devices = player_with([signal], on_finished=lambda: finished.append(None))
    player.play()
    device = devices.last

    pull(device, 200)
    tail = pull(device, 200)

    assert len(tail) == 200
    np.testing.assert_array_equal(tail[:100], signal[200:])
    assert not tail[100:].any()
    assert finished == []  # the padded block is still to be played
    with pytest.raises(StopIteration):
        device.generator.send(200)
    assert finished == [None]
    assert not player.playing
    assert player.position_s == pytest.approx(0.3)  # padding is not part of the file


def test_a_source_ending_on_a_block_boundary_finishes_without_a_silent_block() -> None:
    finished: list[None] = []
    player, _, devices = player_with([sine(0.2)], on_finished=lambda: finished.append(None))
    player.play()

    pull(devices.last, 200)
    with pytest.raises(StopIteration):
        devices.last.generator.send(200)
    assert finished == [None]


def test_a_failing_source_ends_playback_instead_of_raising_in_the_audio_thread(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(start_s: float) -> Iterator[np.ndarray]:
        yield sine(0.1)
        raise OSError("the file went away")

    finished: list[None] = []
    player = Player(broken, RATE, lambda: finished.append(None), device_factory=Devices())
    player.play()
    device = player._session.device  # type: ignore[union-attr]

    pull(device, 100)
    with pytest.raises(StopIteration):
        device.generator.send(100)
    assert finished == [None]
    assert "the file went away" in caplog.text


def test_pause_sends_silence_and_stops_the_position() -> None:
    signal = sine(1.0)
    player, _, devices = player_with([signal])
    player.play()
    pull(devices.last, 100)

    player.pause()
    assert (player.playing, player.paused) == (False, True)
    assert not pull(devices.last, 300).any()
    assert player.position_s == pytest.approx(0.1)

    player.resume()
    assert (player.playing, player.paused) == (True, False)
    np.testing.assert_array_equal(pull(devices.last, 50), signal[100:150])  # nothing skipped
    assert player.position_s == pytest.approx(0.15)


def test_stop_is_idempotent_and_closes_device_and_source() -> None:
    player, source, devices = player_with([sine(1.0)])
    player.play(0.5)
    pull(devices.last, 100)

    player.stop()
    player.stop()

    assert devices.last.closes == 1
    assert source.closed == 1
    assert not player.playing
    assert player.position_s == pytest.approx(0.6)  # the marker stays where it stopped


def test_play_again_replaces_the_device_and_restarts_the_position() -> None:
    player, source, devices = player_with([sine(3.0)])
    player.play(0.0)
    pull(devices.last, 500)

    player.play(2.0)

    assert source.starts == [0.0, 2.0]
    assert devices.made[0].closes == 1
    assert devices.last.closes == 0
    assert player.position_s == 2.0


def test_stop_from_on_finished_does_not_wait_for_its_own_callback() -> None:
    holder: list[Player] = []
    player, _, devices = player_with([sine(0.1)], on_finished=lambda: holder[0].stop())
    holder.append(player)
    player.play()
    device = devices.last

    pull(device, 100)
    with pytest.raises(StopIteration):
        device.generator.send(100)

    assert device.closed.wait(5)  # closed by a helper thread once the callback returned
    assert not player.playing


def test_the_player_is_a_context_manager() -> None:
    player, _, devices = player_with([sine(1.0)])

    with player:
        player.play()

    assert devices.last.closes == 1


def test_a_rate_must_be_positive() -> None:
    with pytest.raises(ValueError, match="rate"):
        Player(Source([]), 0)
    with pytest.raises(ValueError, match="rate"):
        Recorder(-1)


# -- recorder --------------------------------------------------------------------------------------


def test_the_recorder_returns_a_wav_of_what_the_microphone_sent() -> None:
    import miniaudio

    devices = Devices()
    recorder = Recorder(16_000, device_factory=devices)
    first = np.arange(-800, 800, dtype=np.int16)
    second = (np.arange(2_400, dtype=np.int16) * 13).astype(np.int16)

    recorder.start()
    device = devices.last
    was_recording = recorder.recording
    assert device.kwargs["input_format"] is miniaudio.SampleFormat.SIGNED16
    assert (device.kwargs["nchannels"], device.kwargs["sample_rate"]) == (1, 16_000)
    device.generator.send(bytearray(first.tobytes()))  # miniaudio sends bytearrays
    device.generator.send(bytearray(second.tobytes()))
    assert recorder.seconds == pytest.approx(4_000 / 16_000)
    data = recorder.stop()

    assert (was_recording, recorder.recording) == (True, False)
    assert device.closes == 1
    with wave.open(io.BytesIO(data)) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 16_000)
        samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    np.testing.assert_array_equal(samples, np.concatenate([first, second]))
    assert recorder.seconds == pytest.approx(0.25)


def test_stopping_with_nothing_recorded_gives_empty_bytes() -> None:
    devices = Devices()
    recorder = Recorder(device_factory=devices)

    assert recorder.stop() == b""  # never started
    recorder.start()
    assert recorder.stop() == b""
    assert devices.last.closes == 1
    assert recorder.stop() == b""


def test_starting_again_forgets_the_last_recording() -> None:
    devices = Devices()
    recorder = Recorder(8_000, device_factory=devices)
    recorder.start()
    devices.last.generator.send(bytes(1_600))
    recorder.stop()

    recorder.start()
    assert recorder.seconds == 0.0
    devices.last.generator.send(bytes(800))
    assert recorder.seconds == pytest.approx(0.05)
    recorder.stop()


def test_a_microphone_that_refuses_to_open_is_a_sound_error() -> None:
    def refuse(**kwargs: Any) -> None:
        raise RuntimeError("device busy")

    recorder = Recorder(device_factory=refuse)

    with pytest.raises(SoundError, match="device busy"):
        recorder.start()
    assert not recorder.recording
