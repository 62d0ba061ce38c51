"""Audio for the Audio tab: reading dropped files, uploads, transcripts, exports and error rates.

A dropped or opened audio or video file goes through these steps, all plain blocking functions
meant for a worker thread (PyAV releases the GIL while it demuxes, decodes and resamples):

- :func:`probe` checks the file (empty, not media, no audio track, damaged, silent) and returns
  an :class:`AudioInfo` for ``audioInfo``; the duration comes from the container and the file is
  decoded in full only when the container does not state one.
- :func:`waveform` gives the min/max peaks the waveform view draws; :func:`decode_samples`
  streams mono samples from any position, for a player.
- :func:`reencode_for_upload` makes a small 16 kHz mono file (Ogg/Opus) that every provider
  takes; :func:`upload_limit` and :func:`too_large` say when the original is too big to send.
- :func:`segments_of` and :func:`parse_subtitles` turn a transcription response (JSON, or SRT and
  WebVTT text) into :class:`Segment` rows for the segments table; :func:`to_text`,
  :func:`to_srt`, :func:`to_vtt` and :func:`to_json` are the exports.
- :func:`word_error_rate` compares a transcript with a reference; :func:`real_time_factor`,
  :func:`format_clock` and :func:`format_stamp` are for the panes' figures.

PyAV (which imports numpy) and numpy are imported on first use, not at import time: together
they cost ~120 ms, half the app's 250 ms start-up budget, and only the Audio tab's worker needs
them. jiwer is imported by :func:`word_error_rate` alone.

Example:
    >>> info = probe(Path("talk.mp3"))
    >>> info.name, format_clock(info.duration_s), info.channels
    ('talk.mp3', '12:34', 2)
    >>> upload = reencode_for_upload(Path("talk.mp3"))
    >>> upload.filename, upload.content_type
    ('talk.ogg', 'audio/ogg')
    >>> to_srt(segments_of({"text": "Hi.", "duration": 1.5}))
    '1\\n00:00:00,000 --> 00:00:01,500\\nHi.\\n'
"""

from __future__ import annotations

import bisect
import functools
import html
import io
import json
import math
import re
from collections.abc import Generator, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from app.client import FireplayError
from app.domain.connections import FIREWORKS_PROVIDER_ID, LOCAL_PROVIDER_ID

if TYPE_CHECKING:
    import numpy as np
    from av.audio.frame import AudioFrame
    from av.audio.stream import AudioStream
    from av.container import InputContainer

__all__ = [
    "OPENAI_PROVIDER_ID",
    "UPLOAD_RATE",
    "AudioError",
    "AudioInfo",
    "Segment",
    "Upload",
    "Word",
    "WordErrors",
    "decode_samples",
    "format_clock",
    "format_stamp",
    "parse_subtitles",
    "probe",
    "real_time_factor",
    "reencode_for_upload",
    "segments_of",
    "to_json",
    "to_srt",
    "to_text",
    "to_vtt",
    "too_large",
    "upload_limit",
    "waveform",
    "word_error_rate",
]

OPENAI_PROVIDER_ID = "openai"
"""The built-in OpenAI profile's id (``app.settings.default_providers``)."""

UPLOAD_RATE = 16_000
"""Sample rate of :func:`reencode_for_upload`'s output: what Whisper-family models listen at."""

_MIB = 1024 * 1024

# (bytes, the limit as its provider states it, who states it).
_OPENAI_LIMIT = (25 * _MIB, "25 MiB", "OpenAI")
_LIMITS = {
    OPENAI_PROVIDER_ID: _OPENAI_LIMIT,
    # Fireworks' audio API docs: files up to 1 GB (decimal).
    FIREWORKS_PROVIDER_ID: (1_000_000_000, "1 GB", "Fireworks"),
    # app/engine/_server.py MAX_AUDIO_BYTES.
    LOCAL_PROVIDER_ID: (25 * _MIB, "25 MiB", "The built-in engine"),
}
# Servers that state nothing (vLLM, Groq, LocalAI, ...) get OpenAI's limit, which most copy.
_COMPATIBLE_LIMIT = (25 * _MIB, "25 MiB", "OpenAI-compatible servers")

# Peaks are first taken over blocks this many times finer than a bucket (see _Peaks), so a
# block that straddles two buckets blurs at most 1/16 of one.
_BLOCKS_PER_BUCKET = 16
_CHUNK_S = 0.5  # decode_samples: short enough for a player to start and stop promptly
# FFmpeg's sample formats (planar ones end in "p") as native-endian numpy types, and the
# full scale of the integer ones.
_DTYPES = {"u8": "u1", "s16": "i2", "s32": "i4", "s64": "i8", "flt": "f4", "dbl": "f8"}
_FULL_SCALE = {"s16": 2.0**15, "s32": 2.0**31, "s64": 2.0**63}
# A packet that does not decode is skipped, as FFmpeg's own player does; the file is refused
# only when none of the first this many packets gives sound.
_FIRST_FRAME_PACKETS = 200

# Encodings for upload, best first. This PyAV 18.1 wheel's FFmpeg encodes libopus, libmp3lame,
# flac, aac and (native) vorbis, but not libvorbis; Ogg/Opus is the smallest at speech quality
# and OpenAI, Fireworks, Groq and the built-in engine (faster-whisper decodes with PyAV) all
# take .ogg. The others are for PyAV builds linked against an FFmpeg without libopus.
# Opus options: 60 ms frames pack speech a little tighter than the 20 ms default and mean a
# third of the encoder calls; complexity 5 of 10 encodes a 10-minute file in ~1.8 s instead
# of ~3.2 s here, for ~10 % more bytes and no audible difference in speech.
# (format, encoder, bit rate or None for lossless, encoder options, suffix, content type)
_ENCODINGS: tuple[tuple[str, str, int | None, dict[str, str], str, str], ...] = (
    (
        "ogg",
        "libopus",
        24_000,
        {"frame_duration": "60", "compression_level": "5"},
        ".ogg",
        "audio/ogg",
    ),
    ("mp3", "libmp3lame", 32_000, {}, ".mp3", "audio/mpeg"),
    ("flac", "flac", None, {}, ".flac", "audio/flac"),
)

_SENTENCE_END = (".", "?", "!", "…", "。", "？", "！")
_WORDS_SEGMENT_S = 10.0

_TIMING = re.compile(
    r"^\s*(?P<start>(?:\d+:)?\d{1,2}:\d{1,2}(?:[.,]\d+)?)\s*-->\s*"
    r"(?P<end>(?:\d+:)?\d{1,2}:\d{1,2}(?:[.,]\d+)?)"
)
_VOICE = re.compile(r"^<v(?:\.[^\s>]*)?\s+([^>]*)>")
# Closed tags only, so "a <3 b" survives; VTT timestamp tags (<00:01.000>) start with a digit.
_TAG = re.compile(r"</?(?:[A-Za-z][^<>]*|\d[\d:.]*)>")
_PUNCTUATION = re.compile(r"[^\w\s']|_")
_LOOSE_APOSTROPHE = re.compile(r"(?<!\w)'|'(?!\w)")


class AudioError(FireplayError, ValueError):
    """A file that cannot be used, with a message for the user that names the file.

    A :class:`~app.client.FireplayError`, so a presenter that catches only those shows it like
    any other failure, and a ``ValueError``: the file's content, not the program, is at fault.
    """


# -- reading ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AudioInfo:
    """What :func:`probe` found in a file.

    Attributes:
        name: File name.
        size_bytes: File size.
        duration_s: Length of the audio track in seconds.
        sample_rate: Rate the audio decodes at (Opus always decodes at 48 kHz, whatever rate it
            was recorded at).
        channels: Channel count.
        codec: FFmpeg's codec name: "mp3", "pcm_s16le", "aac", "opus", ...
        container: PyAV's format name: "wav", "mp3", "mov,mp4,m4a,3gp,3g2,mj2", ...
        has_video: Whether the file is a video whose audio track is used (cover art does not
            count).
    """

    name: str
    size_bytes: int
    duration_s: float
    sample_rate: int
    channels: int
    codec: str
    container: str
    has_video: bool


def probe(path: Path) -> AudioInfo:
    """Check an audio or video file and describe its audio track.

    Only the header and the first packets are read, unless the container states no duration:
    then the whole track is decoded to measure it.

    Args:
        path: The file.

    Returns:
        The description.

    Raises:
        AudioError: The file is missing or unreadable, empty, not an audio or video file, has
            no audio track, is damaged (its audio does not decode), or holds no sound.
    """
    with _opened(path) as (container, stream, name, size):
        duration = _stated_duration(container, stream)
        frames = _decoded(container, stream, name)
        first = next(frames)  # _decoded refuses a track without sound
        rate = first.sample_rate or stream.codec_context.sample_rate
        if duration is None:
            samples = first.samples + sum(frame.samples for frame in frames)
            duration = samples / rate
        if duration <= 0:
            raise AudioError(f"{name} holds no sound (0 s).")
        return AudioInfo(
            name=name,
            size_bytes=size,
            duration_s=duration,
            sample_rate=rate,
            channels=first.layout.nb_channels or stream.codec_context.channels,
            codec=stream.codec.canonical_name,
            container=container.format.name,
            has_video=_has_video(container),
        )


def waveform(path: Path, buckets: int = 1000) -> np.ndarray:
    """The peaks of a file, for drawing its waveform.

    Only the audio track is decoded (the demuxer discards a video's packets). The frames are
    mixed to mono and reduced to peaks with numpy a second at a time, at the file's own rate:
    FFmpeg's resampler costs ~30 µs a frame through PyAV's filter graph, more than decoding an
    MP3 frame, while gathering one-second batches for numpy costs ~3 µs a frame.

    Args:
        path: The file.
        buckets: How many equal slices of the file to describe.

    Returns:
        A ``(buckets, 2)`` float32 array: the minimum and maximum sample of each slice, in
        [-1, 1]. A file shorter than ``buckets`` samples has each sample repeated over the
        slices it spans.

    Raises:
        AudioError: As :func:`probe` does.
        ValueError: ``buckets`` is below 1.
    """
    if buckets < 1:
        raise ValueError("buckets must be at least 1.")
    with _opened(path) as (container, stream, name, _size):
        estimate = _stated_duration(container, stream)
        peaks = _Peaks(buckets, estimate)
        for mono, rate in _mono_batches(container, stream, name):
            peaks.add(mono, rate)
    result = peaks.result()
    if result is None:
        raise AudioError(f"{name} holds no sound (0 s).")
    return result


class _Peaks:
    """Min/max of short equal blocks of a signal, merged into buckets at the end.

    The blocks are ~16 times finer than a bucket, from the stated duration; the true length is
    known only at the end, and a wrong estimate (an MP3 without a Xing header) or none at all
    only makes blocks pair up (halving their count) whenever they pass 64 per bucket.
    """

    def __init__(self, buckets: int, estimate_s: float | None) -> None:
        import numpy as np

        self.buckets = buckets
        self.estimate_s = estimate_s or 1.0
        self.lows: list[np.ndarray] = []
        self.highs: list[np.ndarray] = []
        self.count = 0
        self.carry = np.empty(0, np.float32)
        self.rate = 0
        self.block = 0  # samples at self.rate

    def add(self, mono: np.ndarray, rate: int) -> None:
        import numpy as np

        if rate != self.rate:
            self._flush_carry()
            # Blocks keep their length in time; counting it in samples keeps halving exact.
            seconds = (
                self.block / self.rate
                if self.rate
                else self.estimate_s / (self.buckets * _BLOCKS_PER_BUCKET)
            )
            self.rate, self.block = rate, max(1, round(seconds * rate))
        block = self.block
        data = np.concatenate((self.carry, mono)) if self.carry.size else mono
        whole = data.size - data.size % block
        if whole:
            blocks = data[:whole].reshape(-1, block)
            self._append(blocks.min(axis=1), blocks.max(axis=1))
        self.carry = data[whole:]
        while self.count > self.buckets * _BLOCKS_PER_BUCKET * 4:
            self._halve()

    def result(self) -> np.ndarray | None:
        import numpy as np

        self._flush_carry()
        if not self.lows:
            return None
        low, high = np.concatenate(self.lows), np.concatenate(self.highs)
        count, buckets = low.size, self.buckets
        if count >= buckets:
            edges = np.arange(buckets, dtype=np.int64) * count // buckets
            low, high = np.minimum.reduceat(low, edges), np.maximum.reduceat(high, edges)
        else:
            spans = np.arange(buckets, dtype=np.int64) * count // buckets
            low, high = low[spans], high[spans]
        # Decoders of lossy formats overshoot full scale a little; the view's range is [-1, 1].
        return np.clip(np.stack((low, high), axis=1), -1.0, 1.0).astype(np.float32, copy=False)

    def _append(self, low: np.ndarray, high: np.ndarray) -> None:
        self.lows.append(low)
        self.highs.append(high)
        self.count += low.size

    def _flush_carry(self) -> None:
        if self.carry.size:
            self._append(self.carry.min(keepdims=True), self.carry.max(keepdims=True))
            self.carry = self.carry[:0]

    def _halve(self) -> None:
        import numpy as np

        low, high = np.concatenate(self.lows), np.concatenate(self.highs)
        even = low.size - low.size % 2
        # An odd last block stays as it is: one block of the old size among thousands.
        self.lows = [low[:even].reshape(-1, 2).min(axis=1), low[even:]]
        self.highs = [high[:even].reshape(-1, 2).max(axis=1), high[even:]]
        self.count = self.lows[0].size + self.lows[1].size
        self.block *= 2


def decode_samples(
    path: Path, rate: int = 16_000, start_s: float = 0.0
) -> Generator[np.ndarray, None, None]:
    """Stream a file's audio as mono samples, as a player or an encoder reads it.

    The file is opened on the first ``next()`` and closed when the iterator ends or is closed.
    A start offset seeks (to the key frame before it) rather than decoding from the start.

    Args:
        path: The file.
        rate: Sample rate of the output.
        start_s: Where to start, in seconds from the start of the audio track.

    Yields:
        float32 arrays of at most half a second each. The iterator is a generator, so a player
        that stops early can ``close()`` it and release the file at once.

    Raises:
        AudioError: As :func:`probe` does.
    """
    import av

    with _opened(path) as (container, stream, name, _size):
        time_base = stream.time_base or Fraction(1, stream.codec_context.sample_rate or 1)
        origin = float(stream.start_time * time_base) if stream.start_time is not None else 0.0
        target = origin + max(0.0, start_s)
        seeked = start_s > 0
        if seeked:
            # A format that cannot seek is decoded from the start and trimmed below.
            with suppress(av.FFmpegError):
                container.seek(int(target / time_base), stream=stream)
        chunk = max(1, int(rate * _CHUNK_S))
        position: float | None = None
        for frame in _mono(container, stream, name, rate, chunk, seeked=seeked):
            data = frame.to_ndarray()[0]
            time = frame.time
            # pts may be missing after a seek in raw streams; then count from the last frame.
            if time is not None:
                position = float(time)
            elif position is None:
                position = origin
            skip = round((target - position) * rate)
            position += data.size / rate
            if skip >= data.size:
                continue
            yield data[skip:] if skip > 0 else data


@dataclass(frozen=True, slots=True, repr=False)
class Upload:
    """A file ready to send to a transcription API.

    Attributes:
        data: The file's bytes.
        filename: Name for the multipart field; providers pick the decoder by its suffix.
        content_type: MIME type for the multipart field.
    """

    data: bytes
    filename: str
    content_type: str

    def __repr__(self) -> str:
        return f"Upload({self.filename!r}, {self.content_type}, {len(self.data):,} bytes)"


def reencode_for_upload(path: Path) -> Upload:
    """Re-encode a file's audio to a small 16 kHz mono file that every provider takes.

    Ogg/Opus at 24 kbit/s: ~10.5 MiB per hour, so up to 2.4 hours fit in 25 MiB, and speech
    sounds the same to Whisper as the original. MP3 or FLAC are used only when this PyAV's
    FFmpeg has no Opus encoder (see ``_ENCODINGS``).

    Args:
        path: The file.

    Returns:
        The encoded file, named after the original's stem ("talk.ogg").

    Raises:
        AudioError: As :func:`probe` does.
    """
    import av

    fmt, encoder, bit_rate, options, suffix, content_type = _encoding()
    out = io.BytesIO()
    with _opened(path) as (container, stream, name, _size):
        frames = _mono(container, stream, name, UPLOAD_RATE, UPLOAD_RATE)
        # bitexact: the Ogg muxer would otherwise pick a random stream serial number, and the
        # same file would upload as different bytes each time.
        with av.open(out, "w", format=fmt, container_options={"fflags": "+bitexact"}) as sink:
            target = cast(
                "AudioStream",
                sink.add_stream(encoder, rate=UPLOAD_RATE, options=dict(options), layout="mono"),
            )
            if bit_rate:
                target.bit_rate = bit_rate
            time_base = Fraction(1, UPLOAD_RATE)
            written = 0
            for frame in frames:
                # Timestamps from zero: a source that starts late (MP3 encoder delay, a video's
                # audio offset) must not leave a gap at the start of the upload.
                frame.pts, frame.time_base = written, time_base
                written += frame.samples
                sink.mux(target.encode(frame))
            if not written:
                raise AudioError(f"{name} holds no sound (0 s).")
            sink.mux(target.encode(None))
    return Upload(out.getvalue(), f"{path.stem}{suffix}", content_type)


@functools.cache
def _encoding() -> tuple[str, str, int | None, dict[str, str], str, str]:
    import av

    for encoding in _ENCODINGS:
        try:
            av.Codec(encoding[1], "w")
        except av.FFmpegError:
            continue
        return encoding
    return _ENCODINGS[-1]  # FFmpeg's own FLAC encoder is in every build


@contextmanager
def _opened(path: Path) -> Iterator[tuple[InputContainer, AudioStream, str, int]]:
    """The open container, its audio track, the file name and size; refuses what cannot be used."""
    import av

    name = path.name
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise AudioError(f"{name} cannot be read: {exc.strerror or exc}.") from exc
    if size == 0:
        raise AudioError(f"{name} is empty.")
    try:
        container = av.open(str(path), metadata_errors="replace")
    except OSError as exc:
        raise AudioError(f"{name} cannot be read: {exc.strerror or exc}.") from exc
    except av.FFmpegError as exc:
        raise AudioError(_describe_unopenable(path, name, exc)) from exc
    try:
        streams = container.streams
        if not streams.audio:
            # FFmpeg reads .txt files as ANSI art ("tty"), a video without any audio.
            if container.format.name == "tty" or not streams.video:
                raise AudioError(f"{name} is not an audio or video file.")
            raise AudioError(f"{name} has no audio track.")
        stream = _main_audio(streams.audio)
        if stream.codec_context is None:
            raise AudioError(f"{name} is damaged: its audio is in a codec FFmpeg cannot decode.")
        for other in streams:
            if other.index != stream.index:
                # The demuxer then skips the video's packets instead of handing them to us.
                other.discard = av.stream.Discard.all
        yield container, stream, name, size
    finally:
        container.close()


def _main_audio(streams: Sequence[AudioStream]) -> AudioStream:
    import av

    for stream in streams:
        if stream.disposition & av.stream.Disposition.default:
            return stream
    return streams[0]


def _has_video(container: InputContainer) -> bool:
    import av

    # An MP3's or M4A's cover art is a one-picture "video" stream.
    still = av.stream.Disposition.attached_pic | av.stream.Disposition.still_image
    return any(not stream.disposition & still for stream in container.streams.video)


def _stated_duration(container: InputContainer, stream: AudioStream) -> float | None:
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return container.duration / 1_000_000  # AV_TIME_BASE
    return None


def _decoded(
    container: InputContainer, stream: AudioStream, name: str, *, seeked: bool = False
) -> Iterator[AudioFrame]:
    """The track's decoded frames; damaged packets are skipped, a track of nothing else refused.

    After a seek (``seeked``) nothing at all is no fault: the seek may have gone past the end.
    """
    import av

    decoded = False
    failure: av.FFmpegError | None = None
    for count, packet in enumerate(container.demux(stream), start=1):
        try:
            frames = packet.decode()
        except av.FFmpegError as exc:
            failure = exc
            frames = []
        if frames:
            decoded = True
            yield from frames
        elif not decoded and count >= _FIRST_FRAME_PACKETS:
            break
    if decoded or seeked:
        return
    if failure is not None:
        raise AudioError(f"{name} is damaged: {_reason(failure)}.")
    if _stated_duration(container, stream):
        raise AudioError(f"{name} is damaged: none of its audio can be decoded.")
    raise AudioError(f"{name} holds no sound (0 s).")


def _mono(
    container: InputContainer,
    stream: AudioStream,
    name: str,
    rate: int,
    frame_size: int,
    *,
    seeked: bool = False,
) -> Iterator[AudioFrame]:
    """The track as packed float mono frames of ``frame_size`` samples (the last one shorter)."""
    import av

    def resampler() -> av.AudioResampler:
        return av.AudioResampler(format="flt", layout="mono", rate=rate, frame_size=frame_size)

    current = resampler()
    for frame in _decoded(container, stream, name, seeked=seeked):
        try:
            yield from current.resample(frame)
        except ValueError:
            # The track changed its rate or channels mid-stream (broadcast recordings do); a
            # resampler is set up for one input, so the old one is drained and a new one made.
            yield from current.resample(None)
            current = resampler()
            yield from current.resample(frame)
    yield from current.resample(None)


def _mono_batches(
    container: InputContainer, stream: AudioStream, name: str
) -> Iterator[tuple[np.ndarray, int]]:
    """The track mixed to mono at its own rate, as float32 batches of about a second, and the rate.

    The mix is the plain mean of the channels, which is what peaks need; a player or an encoder
    goes through FFmpeg's resampler instead (:func:`_mono`), whose downmix favours a film's
    centre (dialogue) channel.
    """
    import numpy as np

    layout: tuple[str, int, int] | None = None
    parts: list[list[np.ndarray]] = []
    count = 0

    def mixed() -> np.ndarray:
        fmt, channels, _rate = layout or ("flt", 1, 0)
        if len(parts) == 1 and channels > 1:  # packed: samples interleaved in one plane
            matrix = np.concatenate(parts[0]).reshape(-1, channels).T
        else:
            # Beyond 8 channels FFmpeg may expose fewer planes than channels; those are skipped.
            matrix = np.stack([np.concatenate(plane) for plane in parts if plane])
        mono = matrix.mean(axis=0, dtype=np.float32) if matrix.shape[0] > 1 else matrix[0]
        base = fmt.rstrip("p")
        if base == "u8":
            return (mono.astype(np.float32) - 128) / 128
        scale = _FULL_SCALE.get(base)
        return mono.astype(np.float32) / scale if scale else mono.astype(np.float32, copy=False)

    for frame in _decoded(container, stream, name):
        samples = frame.samples
        if not samples:
            continue
        fmt = frame.format
        channels = frame.layout.nb_channels or 1
        current = (fmt.name, channels, frame.sample_rate)
        if current != layout:
            if count and layout:
                yield mixed(), layout[2]
            layout, count = current, 0
            parts = [[] for _ in range(channels if fmt.is_planar else 1)]
        dtype = _DTYPES[fmt.name.rstrip("p")]
        planes = frame.planes
        if fmt.is_planar:
            for plane, into in zip(planes, parts, strict=False):
                into.append(np.frombuffer(memoryview(plane), dtype, count=samples))
        else:
            parts[0].append(np.frombuffer(memoryview(planes[0]), dtype, count=samples * channels))
        count += samples
        if count >= frame.sample_rate:
            yield mixed(), frame.sample_rate
            count = 0
            parts = [[] for _ in parts]
    if count and layout:
        yield mixed(), layout[2]


def _describe_unopenable(path: Path, name: str, exc: Exception) -> str:
    try:
        with path.open("rb") as file:
            head = file.read(64)
    except OSError:
        head = b""
    kind = _media_kind(head)
    if kind is None:
        return f"{name} is not an audio or video file."
    return f"{name} is damaged: it starts like {kind} file but cannot be read ({_reason(exc)})."


def _media_kind(head: bytes) -> str | None:
    """What the first bytes announce ("a WAV"), for files FFmpeg then fails to open."""
    riff = head[:4] in (b"RIFF", b"RF64")
    if riff and head[8:12] == b"WAVE":
        return "a WAV"
    if riff and head[8:11] == b"AVI":
        return "an AVI"
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return "an AIFF"
    signatures = {
        b"fLaC": "a FLAC",
        b"OggS": "an Ogg",
        b"\x1aE\xdf\xa3": "a Matroska/WebM",
        b"caff": "a CAF",
        b"#!AM": "an AMR",
        b"0&\xb2u": "a WMA/WMV",
    }
    if head[:4] in signatures:
        return signatures[head[:4]]
    if head[4:8] == b"ftyp":
        return "an MP4"
    if head[:3] == b"ID3":
        return "an MP3"
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        return "an AAC" if head[1] & 0xF6 == 0xF0 else "an MP3"
    return None


def _reason(exc: Exception) -> str:
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return text[:1].lower() + text[1:].rstrip(".")


# -- provider limits -------------------------------------------------------------------------------


def upload_limit(provider_id: str) -> int | None:
    """The largest file a provider takes, in bytes.

    Args:
        provider_id: ``"openai"``, ``"fireworks"``, ``"local"`` (the built-in engine), or any
            other profile id (an OpenAI-compatible server: OpenAI's limit).

    Returns:
        The limit; None would mean no limit, which no known provider has today.
    """
    return _LIMITS.get(provider_id, _COMPATIBLE_LIMIT)[0]


def too_large(size_bytes: int, provider_id: str) -> str:
    """Why a file is too large for a provider.

    Args:
        size_bytes: The file's size.
        provider_id: As for :func:`upload_limit`.

    Returns:
        "" when the file fits, else a sentence for the user, with the limit in the unit its
        provider states it in.
    """
    limit, stated, who = _LIMITS.get(provider_id, _COMPATIBLE_LIMIT)
    if size_bytes <= limit:
        return ""
    takes = "take" if who.endswith("servers") else "takes"
    return (
        f"The file is {_size(size_bytes)}; {who} {takes} at most {stated}. "
        "Re-encode it to 16 kHz mono to send it."
    )


def _size(size_bytes: int) -> str:
    if size_bytes >= 1_000_000_000:
        return f"{size_bytes / 1e9:.1f} GB"
    return f"{size_bytes / 1e6:.1f} MB"


# -- transcripts -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Word:
    """A word with its timing, as ``timestamp_granularities=["word"]`` returns it.

    Attributes:
        word: The word, stripped.
        start: Start in seconds.
        end: End in seconds.
    """

    word: str
    start: float
    end: float


@dataclass(frozen=True, slots=True)
class Segment:
    """A row of the segments table and a cue of the subtitle exports.

    Attributes:
        start: Start in seconds.
        end: End in seconds.
        text: The text, stripped.
        speaker: Speaker label when the transcript is diarized ("A", "SPEAKER_1").
        words: The words that fall in the segment, when word timings were returned.
    """

    start: float
    end: float
    text: str
    speaker: str | None = None
    words: tuple[Word, ...] = ()


def segments_of(response: Mapping[str, Any]) -> list[Segment]:
    """The segments of a ``verbose_json`` or ``diarized_json`` transcription body.

    Speakers: a string ``speaker`` ("A" from OpenAI's diarizing model) is kept as it is; an
    integer ``speaker`` or ``speaker_id`` (Fireworks) becomes ``"SPEAKER_<id>"``, keeping the
    provider's own number because whether it counts from 0 or 1 is not stated. A segment without
    a speaker takes the one most of its words have.

    Words: a segment's own ``words`` list is used when present; otherwise each top-level word
    goes to the segment its midpoint falls in (or the one before the gap it falls in).

    Without segments, words are grouped into one segment per sentence, cut at a change of
    speaker and after 10 seconds. With text alone, one segment spans 0 to ``duration`` (0 when
    unknown).

    Args:
        response: The decoded JSON body.

    Returns:
        The segments, by start time; segments without text are left out.
    """
    raw_words = [w for w in _items(response.get("words")) if _text(w.get("word"))]
    raw_segments = _items(response.get("segments"))
    if raw_segments:
        return _from_segments(raw_segments, raw_words)
    if raw_words:
        return _from_words(raw_words)
    text = _text(response.get("text"))
    if not text:
        return []
    return [Segment(0.0, max(0.0, _seconds(response.get("duration"))), text)]


def _from_segments(
    raw_segments: list[Mapping[str, Any]], raw_words: list[Mapping[str, Any]]
) -> list[Segment]:
    rows = sorted(
        (
            (_seconds(s.get("start")), _seconds(s.get("end")), _text(s.get("text")), s)
            for s in raw_segments
        ),
        key=lambda row: row[0],
    )
    starts = [row[0] for row in rows]
    loose: list[list[Mapping[str, Any]]] = [[] for _ in rows]
    for word in raw_words:
        middle = (_seconds(word.get("start")) + _seconds(word.get("end"))) / 2
        loose[max(0, bisect.bisect_right(starts, middle) - 1)].append(word)
    segments = []
    for (start, end, text, raw), words_here in zip(rows, loose, strict=True):
        if not text:
            continue
        own = [w for w in _items(raw.get("words")) if _text(w.get("word"))]
        raw_here = own or words_here
        speaker = _speaker(raw) or _majority_speaker(raw_here)
        segments.append(
            Segment(start, max(start, end), text, speaker, tuple(_word(w) for w in raw_here))
        )
    return segments


def _from_words(raw_words: list[Mapping[str, Any]]) -> list[Segment]:
    segments: list[Segment] = []
    group: list[Mapping[str, Any]] = []

    def close() -> None:
        if group:
            words = tuple(_word(w) for w in group)
            text = " ".join(w.word for w in words)
            speaker = _speaker(group[0])
            start, end = words[0].start, max(words[0].start, words[-1].end)
            segments.append(Segment(start, end, text, speaker, words))
            group.clear()

    for raw in sorted(raw_words, key=lambda w: _seconds(w.get("start"))):
        if group and (
            _speaker(raw) != _speaker(group[0])
            or _seconds(raw.get("end")) - _seconds(group[0].get("start")) > _WORDS_SEGMENT_S
        ):
            close()
        group.append(raw)
        if _text(raw.get("word")).endswith(_SENTENCE_END):
            close()
    close()
    return segments


def _items(value: object) -> list[Mapping[str, Any]]:
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, Mapping)]


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _seconds(value: object) -> float:
    if isinstance(value, bool):
        return 0.0
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0.0
    return seconds if math.isfinite(seconds) and seconds > 0 else 0.0


def _word(raw: Mapping[str, Any]) -> Word:
    start = _seconds(raw.get("start"))
    return Word(_text(raw.get("word")), start, max(start, _seconds(raw.get("end"))))


def _speaker(raw: Mapping[str, Any]) -> str | None:
    for key in ("speaker", "speaker_id"):
        value = raw.get(key)
        if isinstance(value, bool):
            continue
        if isinstance(value, int):
            return f"SPEAKER_{value}"
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _majority_speaker(raw_words: Sequence[Mapping[str, Any]]) -> str | None:
    counts: dict[str, int] = {}
    for raw in raw_words:
        speaker = _speaker(raw)
        if speaker is not None:
            counts[speaker] = counts.get(speaker, 0) + 1
    # max() keeps the first of equal counts: the speaker who spoke first in the segment.
    return max(counts, key=counts.__getitem__) if counts else None


def parse_subtitles(text: str) -> list[Segment]:
    """The cues of an SRT or WebVTT body (``response_format`` ``srt`` or ``vtt``).

    Cue numbers and identifiers, the WEBVTT header, NOTE, STYLE and REGION blocks and cue
    settings are skipped; a cue's lines are joined with a space; tags are removed, a WebVTT
    voice tag (``<v Speaker>``) becoming the speaker. SRT text is kept as it is otherwise: a
    leading "[Music]" is whisper's annotation, not a speaker.

    Args:
        text: The subtitle file's text.

    Returns:
        The segments, in file order; cues without text are left out.
    """
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    is_vtt = text.lstrip().startswith("WEBVTT")
    segments = []
    for block in re.split(r"\n[ \t]*\n", text):
        lines = [line.strip() for line in block.strip().split("\n")]
        if not lines or lines[0].startswith(("WEBVTT", "NOTE", "STYLE", "REGION")):
            continue
        timing = next((i for i, line in enumerate(lines) if _TIMING.match(line)), None)
        if timing is None:
            continue
        match = _TIMING.match(lines[timing])
        assert match is not None  # found just above
        cue = " ".join(line for line in lines[timing + 1 :] if line)
        speaker = None
        voice = _VOICE.match(cue)
        if is_vtt and voice:
            speaker = html.unescape(voice.group(1).strip()) or None
        cue = " ".join(_TAG.sub("", cue).split())
        if is_vtt:
            cue = html.unescape(cue)
        if cue:
            start = _parse_stamp(match.group("start"))
            end = _parse_stamp(match.group("end"))
            segments.append(Segment(start, max(start, end), cue, speaker))
    return segments


def _parse_stamp(stamp: str) -> float:
    whole, _, fraction = stamp.replace(",", ".").partition(".")
    seconds = 0
    for part in whole.split(":"):
        seconds = seconds * 60 + int(part)
    return seconds + (int(fraction) / 10 ** len(fraction) if fraction else 0.0)


# -- exports ---------------------------------------------------------------------------------------


def to_srt(segments: Sequence[Segment]) -> str:
    """SubRip subtitles: numbered cues, with "[speaker] " in front of a diarized cue's text.

    Args:
        segments: The segments; those without text are left out (an empty cue ends the file
            for many players).

    Returns:
        The file's text, "" for no cues.
    """
    cues: list[str] = []
    for segment in _cued(segments):
        text = _one_line(segment.text)
        if segment.speaker:
            text = f"[{_one_line(segment.speaker)}] {text}"
        start, end = (
            _srt_stamp(segment.start, ","),
            _srt_stamp(max(segment.start, segment.end), ","),
        )
        cues.append(f"{len(cues) + 1}\n{start} --> {end}\n{text}\n")
    return "\n".join(cues)


def to_vtt(segments: Sequence[Segment]) -> str:
    """WebVTT subtitles, with a ``<v Speaker>`` voice tag on diarized cues.

    Args:
        segments: The segments; those without text are left out.

    Returns:
        The file's text, starting with the "WEBVTT" header.
    """
    cues: list[str] = []
    for segment in _cued(segments):
        text = html.escape(_one_line(segment.text), quote=False)
        if segment.speaker:
            text = f"<v {html.escape(_one_line(segment.speaker), quote=False)}>{text}"
        start, end = (
            _srt_stamp(segment.start, "."),
            _srt_stamp(max(segment.start, segment.end), "."),
        )
        cues.append(f"{start} --> {end}\n{text}\n")
    return "\n".join(["WEBVTT\n", *cues])


def to_text(segments: Sequence[Segment]) -> str:
    """Plain text: one line per segment, "Speaker: text" on diarized ones.

    Args:
        segments: The segments.

    Returns:
        The lines, each ending with a newline; "" for no segments.
    """
    lines = [
        f"{_one_line(s.speaker)}: {_one_line(s.text)}" if s.speaker else _one_line(s.text)
        for s in _cued(segments)
    ]
    return "".join(f"{line}\n" for line in lines)


def to_json(text: str, segments: Sequence[Segment], **meta: Any) -> str:
    """The transcript as JSON: ``{"text", "segments", **meta}``.

    Each segment has ``start``, ``end`` and ``text``, plus ``speaker`` and ``words`` when known;
    times are rounded to milliseconds.

    Args:
        text: The whole transcript.
        segments: Its segments.
        **meta: More top-level fields (model, provider, duration, ...), JSON-serialisable.

    Returns:
        The JSON text, indented by 2, non-ASCII characters kept as they are.

    """
    rows = []
    for segment in segments:
        row: dict[str, Any] = {
            "start": round(segment.start, 3),
            "end": round(segment.end, 3),
            "text": segment.text,
        }
        if segment.speaker is not None:
            row["speaker"] = segment.speaker
        if segment.words:
            row["words"] = [
                {"word": w.word, "start": round(w.start, 3), "end": round(w.end, 3)}
                for w in segment.words
            ]
        rows.append(row)
    return json.dumps({"text": text, "segments": rows, **meta}, indent=2, ensure_ascii=False)


def _cued(segments: Sequence[Segment]) -> list[Segment]:
    return [segment for segment in segments if segment.text.strip()]


def _one_line(text: str) -> str:
    # A blank line ends a cue, and "-->" inside a cue starts a new one in lenient parsers.
    return " ".join(text.split()).replace("-->", "->")


def _srt_stamp(seconds: float, separator: str) -> str:
    ms = max(0, round(seconds * 1000)) if math.isfinite(seconds) else 0
    hours, ms = divmod(ms, 3_600_000)
    minutes, ms = divmod(ms, 60_000)
    secs, ms = divmod(ms, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{ms:03d}"


# -- figures ---------------------------------------------------------------------------------------


def format_clock(seconds: float) -> str:
    """A duration for ``audioInfo``: "0:07", "12:34", "1:02:03" from an hour on.

    Rounded to the nearest second first (half up), so 59.6 s is "1:00", never "0:60".
    Negative and non-finite values read as 0.
    """
    return _clock(_rounded(seconds, 1), 1)


def format_stamp(seconds: float) -> str:
    """A time for the segments table: "0:07.3", "12:34.5", "1:02:03.4" from an hour on.

    Rounded to the nearest tenth first (half up), so 59.96 s is "1:00.0", never "0:60.0".
    Negative and non-finite values read as 0.
    """
    return _clock(_rounded(seconds, 10), 10)


def _rounded(seconds: float, per_second: int) -> int:
    if not math.isfinite(seconds) or seconds <= 0:
        return 0
    # round(…, 6) first: 1.15 * 10 is 11.499999999999998, which must still round up.
    return math.floor(round(seconds * per_second, 6) + 0.5)


def _clock(units: int, per_second: int) -> str:
    whole, fraction = divmod(units, per_second)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    tail = f".{fraction}" if per_second == 10 else ""
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}{tail}"
    return f"{minutes}:{secs:02d}{tail}"


@dataclass(frozen=True, slots=True)
class WordErrors:
    """How a transcript differs from its reference, word by word.

    Attributes:
        rate: Word error rate: (substitutions + deletions + insertions) / reference words;
            0 is identical, and it can exceed 1 when the transcript adds many words.
        substitutions: Reference words replaced by another word.
        deletions: Reference words missing from the transcript.
        insertions: Transcript words not in the reference.
        reference_words: Words in the normalised reference.
    """

    rate: float
    substitutions: int
    deletions: int
    insertions: int
    reference_words: int


def word_error_rate(reference: str, hypothesis: str) -> WordErrors:
    """Compare a transcript with a reference, after normalising both.

    Both are lower-cased, punctuation becomes a space (so "state-of-the-art" is four words),
    apostrophes inside words stay ("don't"), curly ones count as straight, and whitespace is
    collapsed. jiwer does the alignment.

    Args:
        reference: The correct text.
        hypothesis: The transcript.

    Returns:
        The error counts and rate.

    Raises:
        ValueError: The reference has no words after normalising.
    """
    import jiwer

    truth, guess = _normalised(reference), _normalised(hypothesis)
    if not truth:
        raise ValueError("The reference has no words.")
    # jiwer's defaults only split on whitespace, which _normalised has already collapsed.
    result = jiwer.process_words(truth, guess)
    return WordErrors(
        rate=float(result.wer),
        substitutions=result.substitutions,
        deletions=result.deletions,
        insertions=result.insertions,
        reference_words=result.hits + result.substitutions + result.deletions,
    )


def _normalised(text: str) -> str:
    text = text.lower().replace("\u2019", "'").replace("\u2018", "'")
    text = _LOOSE_APOSTROPHE.sub(" ", text)
    return " ".join(_PUNCTUATION.sub(" ", text).split())


def real_time_factor(processing_s: float, audio_s: float) -> float | None:
    """Processing time over audio length: 0.1 means ten times faster than real time.

    Args:
        processing_s: Seconds the transcription took.
        audio_s: Seconds of audio.

    Returns:
        The factor, or None when the audio length is not positive (or not finite).
    """
    if not math.isfinite(audio_s) or audio_s <= 0:
        return None
    return processing_s / audio_s
