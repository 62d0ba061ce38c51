"""Sound for the Audio tab: playing the dropped file and recording from a microphone.

- :func:`playback_availability` and :func:`capture_availability` say once per process whether
  there is a sound output device or a microphone, and if not, why, in words the tab can show;
- :class:`Player` plays mono float32 PCM pulled from a source (the app's PyAV decoder), from any
  start time, and reports the position for the tab's marker;
- :class:`Recorder` records the default microphone and hands back WAV bytes.

Sound goes through miniaudio (the ``miniaudio`` package): a small self-contained wheel that bundles
the C library and does playback, capture and device enumeration. The alternatives cost more:
QtMultimedia comes with PySide6-Addons (hundreds of MB, and it must match the PySide6 version pin),
and sounddevice needs the system's PortAudio library, which slim Linux images lack.

Machines without a sound card are normal here (headless VMs, CI). miniaudio then falls back to its
"null" backend, and ALSA or PulseAudio offer placeholder devices that discard everything; both
would "play" in silence with a moving marker. So only real backends are asked, placeholders are
not counted, and the tab is told the reason instead. :class:`Player` and :class:`Recorder` raise
:class:`SoundError` (a :class:`~app.client.FireplayError`) when no device can be opened.

miniaudio and numpy are imported on first use, not at import time (the app's start-up budget is
250 ms); without miniaudio everything reports itself unavailable.

Example:
    >>> playback_availability()
    Availability(ok=False, reason='No sound output device found (miniaudio backends tried: ...)')
    >>> player = Player(decoder.chunks, rate=48_000, on_finished=finished.emit)
    >>> player.play(12.5)  # e.g. from a clicked transcript segment
    >>> player.position_s  # a moment later
    12.7
"""

from __future__ import annotations

import functools
import io
import logging
import threading
import wave
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass
from types import ModuleType, TracebackType
from typing import TYPE_CHECKING, Any, Literal

from app.client import FireplayError

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "Availability",
    "Player",
    "Recorder",
    "SoundError",
    "capture_availability",
    "playback_availability",
]

log = logging.getLogger(__name__)

_Kind = Literal["playback", "capture"]

_NOT_INSTALLED = "the miniaudio package is not installed"
_MISSING_DEVICE = {"playback": "No sound output device found", "capture": "No microphone found"}
_APP_NAME = "Fireplay"
# A backend that hangs while connecting (a wedged sound server) must not hang the tab.
_PROBE_TIMEOUT_S = 5.0
# Short enough that a clicked segment starts promptly and the marker is close to what is heard,
# long enough to ride out the GIL pauses the UI thread causes.
_BUFFER_MS = 100

# Devices listed although nothing is heard or recorded through them: ALSA's "null" PCM,
# miniaudio's null backend, and the sink PulseAudio/PipeWire create when there is no card.
_PLACEHOLDER_PREFIXES = (
    "discard all samples",
    "null playback device",
    "null capture device",
    "dummy output",
    "monitor of dummy output",
)
# PulseAudio and PipeWire offer each output's monitor as a capture source; it records what the
# speakers play, so it does not count as a microphone.
_MONITOR_PREFIX = "monitor of "

# Backends (miniaudio.Backend members) on which the last probe saw a real device, by kind; the
# devices are opened on these only, so miniaudio cannot fall back to its null backend.
_found_on: dict[str, tuple[Any, ...]] = {}


class SoundError(FireplayError):
    """Sound cannot be played or recorded; the message says why (no device, device refused)."""


@dataclass(frozen=True, slots=True)
class Availability:
    """Whether sound output (or a microphone) can be used, and if not, why.

    Attributes:
        ok: True when a real device was found.
        reason: "" when ok; otherwise a user-facing sentence naming what is missing.
    """

    ok: bool
    reason: str


# -- availability ----------------------------------------------------------------------------------


@functools.cache
def playback_availability() -> Availability:
    """Says whether there is a sound output device, looking only the first time.

    Only real backends are enumerated (never miniaudio's "null" one) and placeholder devices are
    not counted. The first call can take tens of milliseconds (up to a few seconds if a sound
    server does not answer); ``playback_availability.cache_clear()`` forgets the answer.

    Returns:
        The answer; never raises.
    """
    return _probe("playback")


@functools.cache
def capture_availability() -> Availability:
    """Says whether there is a microphone, looking only the first time (see playback's twin).

    Returns:
        The answer; never raises.
    """
    return _probe("capture")


def _probe(kind: _Kind) -> Availability:
    answer: list[Availability] = []

    def look() -> None:
        try:
            answer.append(_look_for_devices(kind))
        except Exception as exc:  # a broken backend must not take the tab down
            log.exception("Looking for %s devices failed", kind)
            answer.append(Availability(False, f"{_MISSING_DEVICE[kind]} ({_describe(exc)})"))

    worker = threading.Thread(target=look, name=f"fireplay-sound-{kind}-probe", daemon=True)
    worker.start()
    worker.join(_PROBE_TIMEOUT_S)
    if not answer:
        return Availability(
            False,
            f"{_MISSING_DEVICE[kind]}: the sound system did not answer within "
            f"{_PROBE_TIMEOUT_S:g} s",
        )
    return answer[0]


def _look_for_devices(kind: _Kind) -> Availability:
    try:
        miniaudio = _load_miniaudio()
    except ImportError as exc:
        return Availability(False, _import_reason(exc))
    backends = _real_backends(miniaudio)
    if not backends:
        return Availability(
            False, f'{_MISSING_DEVICE[kind]} (this miniaudio build has only its "null" backend)'
        )
    found = []
    for backend in backends:
        try:
            devices = miniaudio.Devices([backend])
            infos = devices.get_playbacks() if kind == "playback" else devices.get_captures()
        except Exception as exc:  # its library or server is absent; the next one may work
            log.debug("miniaudio backend %s: %s", backend.name, _describe(exc))
            continue
        if any(_is_real_device(str(info.get("name", "")), kind) for info in infos):
            found.append(backend)
    _found_on[kind] = tuple(found)
    if found:
        return Availability(True, "")
    tried = ", ".join(backend.name.lower() for backend in backends)
    return Availability(False, f"{_MISSING_DEVICE[kind]} (miniaudio backends tried: {tried})")


def _is_real_device(name: str, kind: _Kind) -> bool:
    folded = name.casefold().strip()
    if folded.startswith(_PLACEHOLDER_PREFIXES):
        return False
    return not (kind == "capture" and folded.startswith(_MONITOR_PREFIX))


def _real_backends(miniaudio: ModuleType) -> list[Any]:
    enabled = miniaudio.get_enabled_backends()
    # The enum lists backends in miniaudio's own order of preference. CUSTOM is a hook for
    # application-written backends, so it never has a device of its own.
    excluded = {miniaudio.Backend.NULL, miniaudio.Backend.CUSTOM}
    return [
        backend for backend in miniaudio.Backend if backend in enabled and backend not in excluded
    ]


def _load_miniaudio() -> ModuleType:
    import miniaudio

    return miniaudio


def _import_reason(exc: ImportError) -> str:
    if isinstance(exc, ModuleNotFoundError) and exc.name == "miniaudio":
        return _NOT_INSTALLED
    return f"the miniaudio package could not be loaded ({exc})"


def _describe(exc: BaseException) -> str:
    # MiniaudioError carries (message, result code); its str() is a tuple repr.
    args = exc.args
    if len(args) >= 2 and isinstance(args[0], str) and isinstance(args[1], int):
        return f"{args[0]} (miniaudio error {args[1]})"
    return str(exc) or type(exc).__name__


def _device_args(
    kind: _Kind, device_factory: Callable[..., Any] | None
) -> tuple[Any, Any, dict[str, Any]]:
    """The miniaudio module, the device class (or the test's stand-in) and its backend list."""
    try:
        miniaudio = _load_miniaudio()
    except ImportError as exc:
        raise SoundError(_import_reason(exc)) from exc
    if device_factory is not None:
        return miniaudio, device_factory, {}
    availability = playback_availability() if kind == "playback" else capture_availability()
    if not availability.ok:
        raise SoundError(availability.reason)
    backends = list(_found_on.get(kind) or _real_backends(miniaudio))
    factory = miniaudio.PlaybackDevice if kind == "playback" else miniaudio.CaptureDevice
    return miniaudio, factory, {"backends": backends}


def _close_quietly(thing: object) -> None:
    close = getattr(thing, "close", None)
    if close is None:
        return
    try:
        close()
    except ValueError:
        pass  # a generator still running in the audio thread; it ends with its device
    except Exception:
        log.exception("Closing %r failed", thing)


# -- playback --------------------------------------------------------------------------------------


class _Reblocker:
    """Cuts the source's chunks into blocks of exactly the frames the device asks for."""

    def __init__(self, chunks: Iterator[np.ndarray]) -> None:
        import numpy as np

        self._np = np
        self._chunks = chunks
        self._pending = np.empty(0, dtype=np.float32)
        self.exhausted = False

    def take(self, frames: int) -> tuple[np.ndarray, int]:
        """Returns ``frames`` samples (silence after the source's end) and how many are real."""
        np = self._np
        block = np.zeros(frames, dtype=np.float32)
        filled = 0
        while filled < frames:
            if not len(self._pending):
                if self.exhausted:
                    break
                try:
                    chunk = next(self._chunks)
                except StopIteration:
                    self.exhausted = True
                    break
                self._pending = _mono_float32(np, chunk)
                continue
            count = min(frames - filled, len(self._pending))
            block[filled : filled + count] = self._pending[:count]
            self._pending = self._pending[count:]
            filled += count
        return block, filled


def _mono_float32(np: ModuleType, chunk: object) -> np.ndarray:
    samples = np.asarray(chunk, dtype=np.float32)
    # PyAV's to_ndarray() gives mono as (1, n) planar or (n, 1) packed.
    if samples.ndim == 2 and 1 in samples.shape:
        samples = samples.reshape(-1)
    if samples.ndim != 1:
        raise ValueError(f"expected mono samples, got an array of shape {samples.shape}")
    return samples


@dataclass(slots=True, eq=False)
class _Session:
    """One play() until stop(): its device, its position and whether it ended."""

    start_s: float
    source: Iterator[np.ndarray]
    frames: int = 0
    device: Any = None
    pump: Generator[bytes, int, None] | None = None
    cancelled: bool = False
    finished: bool = False
    # The audio thread's id while it runs on_finished, so stop() called from there does not
    # wait for the very callback it is part of.
    callback_thread: int | None = None


class Player:
    """Plays mono float32 PCM pulled from a source in miniaudio's own thread.

    The device asks for blocks of frames; the source's chunks are cut and joined to fit them
    exactly, and the block after the source's end is padded with silence. The audio thread does
    nothing slow besides the source's own ``next()``. The position is what has been handed to the
    device, so it runs ahead of what is heard by about the device's buffer (~0.1 s).

    Args:
        source_factory: Given a start time in seconds, yields mono float32 chunks at ``rate``
            (the app passes a PyAV decoder; tests pass a generator of a sine). Called in the
            thread that calls :meth:`play`; its ``next()`` runs in the audio thread.
        rate: Sample rate of the chunks (e.g. 22_050 or 48_000); miniaudio resamples it to the
            device's rate.
        on_finished: Called (from the audio thread) when the source runs out, once per
            :meth:`play`. The device stays open, silent, until :meth:`stop`, which may be called
            from this callback.
        device_factory: For tests: replaces ``miniaudio.PlaybackDevice`` (called with the same
            keyword arguments), so the logic runs without a sound card.

    Raises:
        ValueError: If ``rate`` is not positive.
    """

    def __init__(
        self,
        source_factory: Callable[[float], Iterable[np.ndarray]],
        rate: int,
        on_finished: Callable[[], None] | None = None,
        *,
        device_factory: Callable[..., Any] | None = None,
    ) -> None:
        if rate <= 0:
            raise ValueError(f"rate must be positive, not {rate}")
        self._source_factory = source_factory
        self._rate = rate
        self._on_finished = on_finished
        self._device_factory = device_factory
        self._lock = threading.Lock()
        self._session: _Session | None = None
        # Kept after stop() so the marker stays where playback stopped.
        self._last: _Session | None = None
        self._paused = False

    def play(self, start_s: float = 0.0) -> None:
        """Stops what plays and starts playing from ``start_s``.

        Call it from any thread but the audio thread (not from ``on_finished``).

        Args:
            start_s: Where to start, in seconds from the beginning of the source.

        Raises:
            SoundError: If there is no sound output device or it cannot be opened.
        """
        self.stop()
        start_s = max(0.0, float(start_s))
        miniaudio, factory, extra = _device_args("playback", self._device_factory)
        source = iter(self._source_factory(start_s))
        session = _Session(start_s=start_s, source=source)
        pump = self._pump(session, _Reblocker(source))
        next(pump)  # miniaudio wants a primed generator: its first send() is a frame count
        session.pump = pump
        try:
            session.device = factory(
                output_format=miniaudio.SampleFormat.FLOAT32,
                nchannels=1,
                sample_rate=self._rate,
                buffersize_msec=_BUFFER_MS,
                app_name=_APP_NAME,
                **extra,
            )
        except Exception as exc:
            _close_quietly(source)
            raise SoundError(f"The sound output device cannot be opened: {_describe(exc)}") from exc
        with self._lock:
            self._paused = False
            self._session = session
            self._last = session
        try:
            session.device.start(pump)
        except Exception as exc:
            self.stop()
            raise SoundError(f"The sound output device cannot start: {_describe(exc)}") from exc

    def pause(self) -> None:
        """Pauses: the device gets silence and the position stops (no-op when not playing)."""
        with self._lock:
            if self._session is not None:
                self._paused = True

    def resume(self) -> None:
        """Resumes after :meth:`pause` (no-op otherwise)."""
        with self._lock:
            self._paused = False

    def stop(self) -> None:
        """Stops playing and closes the device; does nothing when already stopped."""
        with self._lock:
            session, self._session = self._session, None
            self._paused = False
        if session is None:
            return
        session.cancelled = True
        if session.callback_thread == threading.get_ident():
            # Closing a miniaudio device waits for its callback to return, and this is that
            # callback: let another thread close it once this one has returned.
            threading.Thread(
                target=_shut_down, args=(session,), name="fireplay-sound-stop", daemon=True
            ).start()
        else:
            _shut_down(session)

    def close(self) -> None:
        """Same as :meth:`stop`, for ``with``."""
        self.stop()

    def __enter__(self) -> Player:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def position_s(self) -> float:
        """Seconds from the source's start: start time plus the frames handed to the device."""
        with self._lock:
            session = self._last
            if session is None:
                return 0.0
            return session.start_s + session.frames / self._rate

    @property
    def playing(self) -> bool:
        """True from :meth:`play` until the source ends or :meth:`stop`, except while paused."""
        with self._lock:
            session = self._session
            return session is not None and not session.finished and not self._paused

    @property
    def paused(self) -> bool:
        """True between :meth:`pause` and :meth:`resume` (or :meth:`stop`)."""
        with self._lock:
            session = self._session
            return session is not None and not session.finished and self._paused

    def _pump(self, session: _Session, blocks: _Reblocker) -> Generator[bytes, int, None]:
        # miniaudio's protocol: it send()s the number of frames wanted and takes what is yielded
        # as the samples (raw bytes here: one float32 per frame, mono).
        frames = yield b""
        while not session.cancelled:
            if self._paused:
                frames = yield bytes(4 * frames)
                continue
            try:
                block, real = blocks.take(frames)
            except Exception:
                log.exception("The sound source failed; playback ends here")
                break
            if real == 0:
                break  # the source ran out at the end of the previous block
            with self._lock:
                session.frames += real
            frames = yield block.tobytes()
        if session.cancelled:
            return
        session.finished = True
        if self._on_finished is None:
            return
        session.callback_thread = threading.get_ident()
        try:
            self._on_finished()
        except Exception:  # an exception here would only be printed by cffi, mid-callback
            log.exception("on_finished failed")
        finally:
            session.callback_thread = None


def _shut_down(session: _Session) -> None:
    if session.device is not None:
        _close_quietly(session.device)
    if session.pump is not None:
        _close_quietly(session.pump)
    _close_quietly(session.source)


# -- recording -------------------------------------------------------------------------------------


class Recorder:
    """Records mono 16-bit PCM from the default microphone and returns it as WAV bytes.

    Args:
        rate: Sample rate to record at (16 kHz is what speech recognition wants); miniaudio
            resamples from the microphone's own rate.
        device_factory: For tests: replaces ``miniaudio.CaptureDevice`` (called with the same
            keyword arguments), so the logic runs without a microphone.

    Raises:
        ValueError: If ``rate`` is not positive.
    """

    def __init__(
        self, rate: int = 16_000, *, device_factory: Callable[..., Any] | None = None
    ) -> None:
        if rate <= 0:
            raise ValueError(f"rate must be positive, not {rate}")
        self._rate = rate
        self._device_factory = device_factory
        self._lock = threading.Lock()
        self._device: Any = None
        self._collector: Generator[None, bytes, None] | None = None
        self._blocks: list[bytes] = []
        self._frames = 0

    def start(self) -> None:
        """Starts recording, forgetting any previous recording (no-op while recording).

        Raises:
            SoundError: If there is no microphone or it cannot be opened.
        """
        if self._device is not None:
            return
        miniaudio, factory, extra = _device_args("capture", self._device_factory)
        with self._lock:
            self._blocks = []
            self._frames = 0
        collector = self._collect()
        next(collector)  # primed: miniaudio's first send() is already recorded data
        try:
            device = factory(
                input_format=miniaudio.SampleFormat.SIGNED16,
                nchannels=1,
                sample_rate=self._rate,
                buffersize_msec=_BUFFER_MS,
                app_name=_APP_NAME,
                **extra,
            )
        except Exception as exc:
            raise SoundError(f"The microphone cannot be opened: {_describe(exc)}") from exc
        try:
            device.start(collector)
        except Exception as exc:
            _close_quietly(device)
            raise SoundError(f"The microphone cannot start: {_describe(exc)}") from exc
        self._device, self._collector = device, collector

    def stop(self) -> bytes:
        """Stops recording and closes the microphone.

        Returns:
            A WAV file (mono, 16-bit, ``rate``) of what was recorded; b"" if nothing was, or if
            not recording.
        """
        device, collector = self._device, self._collector
        self._device = self._collector = None
        if device is None:
            return b""
        # Closing waits for the running callback, so no block arrives after this.
        _close_quietly(device)
        if collector is not None:
            _close_quietly(collector)
        with self._lock:
            pcm = b"".join(self._blocks)
            frames = self._frames
        if not frames:
            return b""
        out = io.BytesIO()
        with wave.open(out, "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(self._rate)
            wav.writeframes(pcm[: 2 * frames])
        return out.getvalue()

    @property
    def seconds(self) -> float:
        """Seconds recorded so far (or by the last recording, after :meth:`stop`)."""
        with self._lock:
            return self._frames / self._rate

    @property
    def recording(self) -> bool:
        """True between :meth:`start` and :meth:`stop`."""
        return self._device is not None

    def _collect(self) -> Generator[None, bytes, None]:
        while True:
            data = yield
            with self._lock:
                self._blocks.append(bytes(data))
                self._frames += len(data) // 2
