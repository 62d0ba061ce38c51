"""Audio tab domain: probing files, waveforms, decoding, uploads, transcripts, exports and WER.

Every file is generated here, with the stdlib ``wave`` module or PyAV; nothing touches the
network.
"""

from __future__ import annotations

import html
import json
import math
import struct
import subprocess
import sys
import wave
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import srt
import webvtt

from app.client import FireplayError
from app.domain import audio
from app.domain.audio import (
    AudioError,
    AudioInfo,
    Segment,
    Upload,
    Word,
    WordErrors,
    decode_samples,
    format_clock,
    format_stamp,
    parse_subtitles,
    probe,
    real_time_factor,
    reencode_for_upload,
    segments_of,
    to_json,
    to_srt,
    to_text,
    to_vtt,
    too_large,
    upload_limit,
    waveform,
    word_error_rate,
)

RATE = 44_100
SECONDS = 2.0
MIB = 1024 * 1024

# -- file makers -----------------------------------------------------------------------------------


def tone(seconds: float = SECONDS, rate: int = RATE, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * 440 * t)).astype(np.float32)


def write_wav(path: Path, channels: np.ndarray, rate: int = RATE) -> Path:
    """16-bit PCM; ``channels`` is (samples,) or (channels, samples) in [-1, 1]."""
    matrix = np.atleast_2d(channels)
    pcm = np.round(matrix.T * 32767).astype("<i2")
    with wave.open(str(path), "wb") as file:
        file.setnchannels(matrix.shape[0])
        file.setsampwidth(2)
        file.setframerate(rate)
        file.writeframes(pcm.tobytes())
    return path


def encodable(codec: str) -> bool:
    try:
        av.Codec(codec, "w")
    except av.FFmpegError:
        return False
    return True


def write_encoded(
    path: Path,
    fmt: str,
    codec: str | None,
    rate: int = RATE,
    video: str | None = None,
    samples: np.ndarray | None = None,
) -> Path:
    """A mono file in ``fmt``; with ``video``, a tiny 64x48 picture stream as well."""
    if codec is not None and not encodable(codec):
        pytest.skip(f"this PyAV's FFmpeg cannot encode {codec}")
    data = tone(rate=rate) if samples is None else samples
    with av.open(str(path), "w", format=fmt) as sink:
        # Every stream before the first packet: the header, written then, fixes their time bases.
        picture = sink.add_stream(video, rate=10) if video is not None else None
        sound = sink.add_stream(codec, rate=rate, layout="mono") if codec is not None else None
        assert picture is None or isinstance(picture, av.VideoStream)
        assert sound is None or isinstance(sound, av.AudioStream)
        if picture is not None:
            picture.width, picture.height, picture.pix_fmt = 64, 48, "yuv420p"
            for index in range(round(SECONDS * 10)):
                pixels = np.full((48, 64, 3), index * 10, np.uint8)
                frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
                frame.pts, frame.time_base = index, Fraction(1, 10)
                sink.mux(picture.encode(frame))
            sink.mux(picture.encode(None))
        if sound is not None:
            for start in range(0, data.size, 1024):
                chunk = data[start : start + 1024]
                sample = av.AudioFrame.from_ndarray(chunk[None, :], format="flt", layout="mono")
                sample.sample_rate, sample.pts, sample.time_base = rate, start, Fraction(1, rate)
                sink.mux(sound.encode(sample))
            sink.mux(sound.encode(None))
    return path


def video_codec() -> str:
    for codec in ("mpeg4", "libx264"):
        if encodable(codec):
            return codec
    pytest.skip("this PyAV's FFmpeg encodes neither mpeg4 nor libx264")


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("audio")


@pytest.fixture(scope="module")
def mono_wav(files: Path) -> Path:
    return write_wav(files / "tone.wav", tone())


@pytest.fixture(scope="module")
def stereo_wav(files: Path) -> Path:
    left = tone()
    return write_wav(files / "stereo.wav", np.stack((left, left / 2)))


@pytest.fixture(scope="module")
def quiet_then_loud(files: Path) -> Path:
    half = round(RATE * SECONDS / 2)
    signal = tone()
    signal[:half] *= 0.1 / 0.5
    signal[half:] *= 0.8 / 0.5
    return write_wav(files / "quiet-then-loud.wav", signal)


@pytest.fixture(scope="module")
def video_with_sound(files: Path) -> Path:
    return write_encoded(files / "clip.mp4", "mp4", "aac", video=video_codec())


# -- import cost -----------------------------------------------------------------------------------


def test_importing_the_module_loads_no_media_libraries_and_no_qt() -> None:
    code = (
        "import sys, app.domain.audio\n"
        "print(sorted(m for m in ('av', 'numpy', 'jiwer', 'PySide6', 'qasync', 'widgets',"
        " 'app.presenters') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert result.stdout.strip() == "[]"


def test_audio_error_is_a_value_error_that_presenters_catch() -> None:
    assert issubclass(AudioError, ValueError)
    assert issubclass(AudioError, FireplayError)


# -- probe -----------------------------------------------------------------------------------------


def test_probe_describes_a_mono_wav(mono_wav: Path) -> None:
    info = probe(mono_wav)
    assert info == AudioInfo(
        name="tone.wav",
        size_bytes=mono_wav.stat().st_size,
        duration_s=pytest.approx(SECONDS, abs=0.05),  # type: ignore[arg-type]
        sample_rate=RATE,
        channels=1,
        codec="pcm_s16le",
        container="wav",
        has_video=False,
    )


def test_probe_counts_the_channels_of_a_stereo_file(stereo_wav: Path) -> None:
    info = probe(stereo_wav)
    assert (info.channels, info.sample_rate) == (2, RATE)
    assert info.duration_s == pytest.approx(SECONDS, abs=0.05)


@pytest.mark.parametrize(
    ("fmt", "codec", "suffix", "rate", "expected_codec", "expected_rate"),
    [
        ("flac", "flac", ".flac", RATE, "flac", RATE),
        ("mp3", "libmp3lame", ".mp3", RATE, "mp3", RATE),
        # Opus always decodes at 48 kHz.
        ("ogg", "libopus", ".ogg", 48_000, "opus", 48_000),
    ],
)
def test_probe_reads_compressed_formats(
    tmp_path: Path,
    fmt: str,
    codec: str,
    suffix: str,
    rate: int,
    expected_codec: str,
    expected_rate: int,
) -> None:
    path = write_encoded(tmp_path / f"tone{suffix}", fmt, codec, rate=rate)
    info = probe(path)
    assert info.codec == expected_codec
    assert info.container == fmt
    assert (info.sample_rate, info.channels, info.has_video) == (expected_rate, 1, False)
    assert info.duration_s == pytest.approx(SECONDS, abs=0.05)


def test_probe_accepts_a_silent_file(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "silence.wav", np.zeros(round(RATE * SECONDS), np.float32))
    assert probe(path).duration_s == pytest.approx(SECONDS, abs=0.05)
    assert not waveform(path, 50).any()


def test_probe_uses_a_videos_audio_track(video_with_sound: Path) -> None:
    info = probe(video_with_sound)
    assert info.has_video
    assert info.codec == "aac"
    assert info.container == "mov,mp4,m4a,3gp,3g2,mj2"
    assert info.duration_s == pytest.approx(SECONDS, abs=0.05)


def test_probe_measures_the_duration_when_the_container_states_none(
    mono_wav: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audio, "_stated_duration", lambda container, stream: None)
    assert probe(mono_wav).duration_s == pytest.approx(SECONDS, abs=1e-6)


def truncated_wav(path: Path, mono_wav: Path) -> Path:
    path.write_bytes(mono_wav.read_bytes()[:30])
    return path


def corrupt_flac(path: Path, _mono_wav: Path) -> Path:
    write_encoded(path, "flac", "flac")
    data = path.read_bytes()
    noise = np.random.default_rng(0).integers(0, 256, len(data) - 200, dtype=np.uint8)
    path.write_bytes(data[:200] + noise.tobytes())
    return path


def header_only_wav(path: Path, mono_wav: Path) -> Path:
    path.write_bytes(mono_wav.read_bytes()[:44])
    return path


def video_without_sound(path: Path, _mono_wav: Path) -> Path:
    return write_encoded(path, "mp4", None, video=video_codec())


def png_image(path: Path, _mono_wav: Path) -> Path:
    with av.open(str(path), "w", format="image2") as sink:
        picture = sink.add_stream("png", rate=1)
        assert isinstance(picture, av.VideoStream)
        picture.width, picture.height, picture.pix_fmt = 8, 8, "rgb24"
        frame = av.VideoFrame.from_ndarray(np.zeros((8, 8, 3), np.uint8), format="rgb24")
        sink.mux(picture.encode(frame))
        sink.mux(picture.encode(None))
    return path


def text_file(path: Path, _mono_wav: Path) -> Path:
    path.write_text("These are my meeting notes, not a recording.\n" * 20)
    return path


def empty_file(path: Path, _mono_wav: Path) -> Path:
    path.write_bytes(b"")
    return path


REFUSALS: list[tuple[str, Callable[[Path, Path], Path], str]] = [
    ("empty.wav", empty_file, "empty.wav is empty."),
    ("notes.wav", text_file, "notes.wav is not an audio or video file."),
    ("notes.txt", text_file, "notes.txt is not an audio or video file."),
    ("silent.mp4", video_without_sound, "silent.mp4 has no audio track."),
    ("picture.png", png_image, "picture.png has no audio track."),
    (
        "cut.wav",
        truncated_wav,
        "cut.wav is damaged: it starts like a WAV file but cannot be read "
        "(invalid data found when processing input).",
    ),
    ("noise.flac", corrupt_flac, "noise.flac is damaged: none of its audio can be decoded."),
    ("header.wav", header_only_wav, "header.wav holds no sound (0 s)."),
]


@pytest.mark.parametrize(("name", "make", "message"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_probe_refuses_unusable_files_naming_them(
    tmp_path: Path,
    mono_wav: Path,
    name: str,
    make: Callable[[Path, Path], Path],
    message: str,
) -> None:
    path = make(tmp_path / name, mono_wav)
    with pytest.raises(AudioError) as caught:
        probe(path)
    assert str(caught.value) == message


@pytest.mark.parametrize(("name", "make", "message"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_waveform_decode_and_reencode_refuse_the_same_files(
    tmp_path: Path,
    mono_wav: Path,
    name: str,
    make: Callable[[Path, Path], Path],
    message: str,
) -> None:
    path = make(tmp_path / name, mono_wav)
    with pytest.raises(AudioError, match=r"^" + name.replace(".", r"\.")):
        waveform(path)
    with pytest.raises(AudioError, match=r"^" + name.replace(".", r"\.")):
        list(decode_samples(path))
    with pytest.raises(AudioError, match=r"^" + name.replace(".", r"\.")):
        reencode_for_upload(path)


def test_probe_refuses_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(AudioError, match=r"^gone\.wav cannot be read: "):
        probe(tmp_path / "gone.wav")


# -- waveform --------------------------------------------------------------------------------------


def test_waveform_is_min_and_max_per_bucket_in_range(mono_wav: Path) -> None:
    peaks = waveform(mono_wav)
    assert peaks.shape == (1000, 2)
    assert peaks.dtype == np.float32
    assert (peaks[:, 0] <= peaks[:, 1]).all()
    assert peaks.min() >= -1.0 and peaks.max() <= 1.0
    # Each bucket is 2 ms, almost a whole 440 Hz period: it reaches near both peaks of 0.5.
    assert peaks[:, 1].min() > 0.4 and peaks[:, 0].max() < -0.4
    assert peaks.max() == pytest.approx(0.5, abs=1e-3)


def test_waveform_shows_a_loud_half_louder(quiet_then_loud: Path) -> None:
    peaks = waveform(quiet_then_loud, 100)
    # Buckets are merged from blocks 1/16 of one wide: the two beside the change may share one.
    first, second = peaks[:49], peaks[51:]
    assert first[:, 1].max() == pytest.approx(0.1, abs=0.01)
    assert second[:, 1].min() == pytest.approx(0.8, abs=0.01)
    assert second[:, 0].max() < -0.7


def test_waveform_mixes_stereo_to_mono(stereo_wav: Path) -> None:
    assert waveform(stereo_wav, 10).max() == pytest.approx((0.5 + 0.25) / 2, abs=1e-3)


def test_waveform_of_a_very_short_file_still_has_every_bucket(tmp_path: Path) -> None:
    signal = np.linspace(-0.5, 0.5, 100, dtype=np.float32)
    path = write_wav(tmp_path / "click.wav", signal, rate=8_000)
    peaks = waveform(path, 1000)
    assert peaks.shape == (1000, 2)
    # Each of the 100 samples spans 10 buckets, in order.
    assert peaks[0, 0] == pytest.approx(-0.5, abs=1e-3)
    assert peaks[-1, 1] == pytest.approx(0.5, abs=1e-3)
    assert (np.diff(peaks[:, 1]) >= 0).all()


def test_waveform_survives_a_duration_estimate_far_too_short(
    quiet_then_loud: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = waveform(quiet_then_loud, 100)
    monkeypatch.setattr(audio, "_stated_duration", lambda container, stream: 0.05)
    peaks = waveform(quiet_then_loud, 100)
    steady = np.r_[0:49, 51:100]  # the two buckets beside the change may take a block more
    assert np.allclose(peaks[steady], expected[steady], atol=0.02)


def test_waveform_reads_compressed_audio_and_video(tmp_path: Path, video_with_sound: Path) -> None:
    mp3 = write_encoded(tmp_path / "tone.mp3", "mp3", "libmp3lame")
    for path in (mp3, video_with_sound):
        peaks = waveform(path, 20)
        assert peaks.shape == (20, 2)
        assert np.median(peaks[:, 1]) == pytest.approx(0.5, abs=0.05)


def test_waveform_needs_a_bucket(mono_wav: Path) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        waveform(mono_wav, 0)


# -- decoding --------------------------------------------------------------------------------------


def test_decode_samples_yields_short_mono_float_chunks(stereo_wav: Path) -> None:
    chunks = list(decode_samples(stereo_wav, rate=16_000))
    assert all(c.dtype == np.float32 and c.ndim == 1 for c in chunks)
    assert max(c.size for c in chunks) <= 8_000
    assert sum(c.size for c in chunks) / 16_000 == pytest.approx(SECONDS, abs=0.01)


@pytest.mark.parametrize("suffix", [".wav", ".mp3", ".flac"])
def test_decode_samples_from_an_offset_yields_the_rest(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"tone{suffix}"
    if suffix == ".wav":
        write_wav(path, tone())
    else:
        write_encoded(path, suffix[1:], {".mp3": "libmp3lame", ".flac": "flac"}[suffix])
    total = sum(c.size for c in decode_samples(path, rate=8_000, start_s=0.5))
    assert total / 8_000 == pytest.approx(SECONDS - 0.5, abs=0.06)


def test_decode_samples_starts_at_the_offset(quiet_then_loud: Path) -> None:
    samples = np.concatenate(list(decode_samples(quiet_then_loud, start_s=1.1)))
    assert np.abs(samples).max() > 0.7
    assert np.abs(samples[:1600]).max() > 0.7  # the first 0.1 s is loud already


def test_decode_samples_past_the_end_yields_nothing(mono_wav: Path) -> None:
    assert list(decode_samples(mono_wav, start_s=5.0)) == []


def test_decode_samples_can_stop_early(mono_wav: Path) -> None:
    samples = decode_samples(mono_wav)
    assert next(samples).size > 0
    samples.close()  # closes the file


# -- upload ----------------------------------------------------------------------------------------


def opus_input_rate(data: bytes) -> int:
    head = data.index(b"OpusHead")
    _version, channels, _pre_skip, rate = struct.unpack("<BBHI", data[head + 8 : head + 16])
    assert channels == 1
    return int(rate)


def test_reencode_for_upload_makes_small_16khz_mono_ogg_opus(
    stereo_wav: Path, tmp_path: Path
) -> None:
    upload = reencode_for_upload(stereo_wav)
    assert (upload.filename, upload.content_type) == ("stereo.ogg", "audio/ogg")
    assert len(upload.data) < stereo_wav.stat().st_size / 20
    assert opus_input_rate(upload.data) == 16_000
    path = tmp_path / upload.filename
    path.write_bytes(upload.data)
    info = probe(path)
    assert (info.codec, info.container, info.channels) == ("opus", "ogg", 1)
    assert info.duration_s == pytest.approx(SECONDS, abs=0.1)
    decoded = sum(c.size for c in decode_samples(path, rate=16_000))
    assert decoded / 16_000 == pytest.approx(SECONDS, abs=0.1)
    assert "stereo.ogg" in repr(upload) and "b'" not in repr(upload)


def test_reencode_for_upload_is_deterministic(mono_wav: Path) -> None:
    assert reencode_for_upload(mono_wav) == reencode_for_upload(mono_wav)


def test_reencode_for_upload_reads_a_videos_sound(video_with_sound: Path, tmp_path: Path) -> None:
    upload = reencode_for_upload(video_with_sound)
    assert upload.filename == "clip.ogg"
    path = tmp_path / upload.filename
    path.write_bytes(upload.data)
    assert probe(path).duration_s == pytest.approx(SECONDS, abs=0.1)


@pytest.mark.parametrize("encoding", audio._ENCODINGS[1:], ids=lambda e: e[1])
def test_reencode_for_upload_falls_back_to_mp3_or_flac(
    encoding: tuple[str, str, int | None, dict[str, str], str, str],
    stereo_wav: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if not encodable(encoding[1]):
        pytest.skip(f"this PyAV's FFmpeg cannot encode {encoding[1]}")
    monkeypatch.setattr(audio, "_encoding", lambda: encoding)
    upload = reencode_for_upload(stereo_wav)
    assert upload.filename == f"stereo{encoding[4]}"
    assert upload.content_type == encoding[5]
    path = tmp_path / upload.filename
    path.write_bytes(upload.data)
    info = probe(path)
    assert (info.sample_rate, info.channels) == (16_000, 1)
    assert info.duration_s == pytest.approx(SECONDS, abs=0.1)
    assert len(upload.data) < stereo_wav.stat().st_size / 4


def test_the_preferred_encoding_is_available_here() -> None:
    # The bundled FFmpeg of the PyAV wheels encodes Opus; a fallback here would mean a new build.
    assert audio._encoding()[1] == "libopus"


def test_upload_limits_per_provider() -> None:
    assert upload_limit("openai") == 25 * MIB
    assert upload_limit("fireworks") == 1_000_000_000
    assert upload_limit("local") == 25 * MIB
    for other in ("groq", "vllm", "custom-my-whisper"):
        assert upload_limit(other) == 25 * MIB


def test_too_large_names_the_limit_in_its_own_unit() -> None:
    assert too_large(25 * MIB, "openai") == ""
    assert too_large(900_000_000, "fireworks") == ""
    hint = "Re-encode it to 16 kHz mono to send it."
    assert too_large(31_200_000, "custom-my-whisper") == (
        f"The file is 31.2 MB; OpenAI-compatible servers take at most 25 MiB. {hint}"
    )
    assert too_large(25 * MIB + 1, "openai") == (
        f"The file is 26.2 MB; OpenAI takes at most 25 MiB. {hint}"
    )
    assert too_large(30_000_000, "local") == (
        f"The file is 30.0 MB; The built-in engine takes at most 25 MiB. {hint}"
    )
    assert too_large(1_500_000_000, "fireworks") == (
        f"The file is 1.5 GB; Fireworks takes at most 1 GB. {hint}"
    )


# -- transcripts -----------------------------------------------------------------------------------


VERBOSE = {
    "task": "transcribe",
    "language": "english",
    "duration": 6.2,
    "text": "Hello there. How are you?",
    "segments": [
        {"id": 1, "start": 2.5, "end": 6.2, "text": " How are you?"},
        {"id": 0, "start": 0.0, "end": 2.4, "text": " Hello there."},
        {"id": 2, "start": 6.2, "end": 6.2, "text": "  "},
    ],
    "words": [
        {"word": "Hello", "start": 0.0, "end": 0.6},
        {"word": "there", "start": 0.7, "end": 1.2},
        {"word": "How", "start": 2.6, "end": 2.9},
        {"word": "are", "start": 3.0, "end": 3.2},
        {"word": "you", "start": 3.3, "end": 3.6},
    ],
}


def test_segments_of_verbose_json_attaches_words_by_time() -> None:
    segments = segments_of(VERBOSE)
    assert segments == [
        Segment(0.0, 2.4, "Hello there.", None, (Word("Hello", 0.0, 0.6), Word("there", 0.7, 1.2))),
        Segment(
            2.5,
            6.2,
            "How are you?",
            None,
            (Word("How", 2.6, 2.9), Word("are", 3.0, 3.2), Word("you", 3.3, 3.6)),
        ),
    ]


def test_segments_of_puts_a_word_in_a_gap_into_the_segment_before() -> None:
    body = {
        "segments": [
            {"start": 0.0, "end": 1.0, "text": "one"},
            {"start": 3.0, "end": 4.0, "text": "three"},
        ],
        "words": [
            {"word": "one", "start": 0.1, "end": 0.5},
            {"word": "two", "start": 1.5, "end": 2.0},
            {"word": "three", "start": 3.1, "end": 3.5},
        ],
    }
    first, second = segments_of(body)
    assert [w.word for w in first.words] == ["one", "two"]
    assert [w.word for w in second.words] == ["three"]


def test_segments_of_keeps_a_segments_own_words() -> None:
    body = {
        "segments": [
            {
                "start": 0,
                "end": 1,
                "text": "Hi",
                "words": [{"word": " Hi", "start": 0.1, "end": 0.4}],
            }
        ]
    }
    assert segments_of(body)[0].words == (Word("Hi", 0.1, 0.4),)


def test_segments_of_diarized_json_keeps_speaker_labels() -> None:
    body = {
        "task": "transcribe",
        "duration": 4.0,
        "text": "Hi. Hello.",
        "segments": [
            {"type": "transcript.text.segment", "id": "seg_0", "start": 0.0, "end": 1.5,
             "text": " Hi.", "speaker": "A"},
            {"type": "transcript.text.segment", "id": "seg_1", "start": 1.6, "end": 4.0,
             "text": "Hello.", "speaker": "B"},
        ],
    }  # fmt: skip
    assert [(s.speaker, s.text) for s in segments_of(body)] == [("A", "Hi."), ("B", "Hello.")]


def test_segments_of_names_integer_speaker_ids() -> None:
    body = {
        "segments": [
            {"start": 0.0, "end": 1.0, "text": "Hi.", "speaker_id": 0},
            {"start": 1.0, "end": 2.0, "text": "Hello.", "speaker": 1},
            {"start": 2.0, "end": 3.0, "text": "Bye now."},
        ],
        "words": [
            {"word": "Bye", "start": 2.1, "end": 2.3, "speaker_id": 1},
            {"word": "now.", "start": 2.4, "end": 2.8, "speaker_id": 1},
        ],
    }
    assert [s.speaker for s in segments_of(body)] == ["SPEAKER_0", "SPEAKER_1", "SPEAKER_1"]


def test_segments_of_words_alone_cuts_at_sentences_speakers_and_ten_seconds() -> None:
    words = [
        {"word": "Hi", "start": 0.0, "end": 0.3, "speaker_id": 0},
        {"word": "there.", "start": 0.4, "end": 0.8, "speaker_id": 0},
        {"word": "Yes", "start": 1.0, "end": 1.2, "speaker_id": 0},
        {"word": "no", "start": 1.4, "end": 1.6, "speaker_id": 1},
    ]
    # Twelve seconds of words without punctuation, one a second.
    words += [
        {"word": f"w{i}", "start": 2.0 + i, "end": 2.5 + i, "speaker_id": 1} for i in range(12)
    ]
    segments = segments_of({"text": "ignored", "words": words})
    assert [(s.text, s.speaker) for s in segments[:3]] == [
        ("Hi there.", "SPEAKER_0"),
        ("Yes", "SPEAKER_0"),
        ("no w0 w1 w2 w3 w4 w5 w6 w7 w8", "SPEAKER_1"),
    ]
    assert segments[2].end - segments[2].start <= 10.0
    assert segments[3].text == "w9 w10 w11"
    assert segments[0].words == (Word("Hi", 0.0, 0.3), Word("there.", 0.4, 0.8))


def test_segments_of_text_alone_is_one_segment() -> None:
    assert segments_of({"text": " Just text. ", "duration": 3.5}) == [
        Segment(0.0, 3.5, "Just text.")
    ]
    assert segments_of({"text": "No duration"}) == [Segment(0.0, 0.0, "No duration")]
    assert segments_of({"text": "  "}) == []
    assert segments_of({}) == []


def test_segments_of_tolerates_odd_values() -> None:
    body = {
        "segments": [
            {"start": "1.5", "end": None, "text": "late"},
            {"start": None, "end": "x", "text": "early"},
            "not a segment",
        ],
        "words": "not a list",
    }
    assert segments_of(body) == [Segment(0.0, 0.0, "early"), Segment(1.5, 1.5, "late")]


SRT_BODY = (
    "1\r\n00:00:00,000 --> 00:00:02,500\r\nHello there,\r\nfriend.\r\n\r\n"
    "2\r\n00:00:02,500 --> 00:01:04,075\r\n<i>How</i> are you?\r\n\r\n"
    "3\r\n01:00:00,000 --> 01:00:01,000\r\n\r\n"
)

VTT_BODY = """\ufeffWEBVTT - a transcript
Kind: captions

NOTE This is a note
that spans two lines

STYLE
::cue { color: white }

intro
00:01.000 --> 00:02.500 align:start position:10%
<v Alice>Fish &amp; chips</v>

00:00:02.500 --> 00:00:04.000
<c.yellow>Two</c>
lines <00:00:03.000>here

01:02:03.400 --> 01:02:05.000
<v.loud Bob Smith>Bye.
"""


def test_parse_subtitles_reads_srt() -> None:
    assert parse_subtitles(SRT_BODY) == [
        Segment(0.0, 2.5, "Hello there, friend."),
        Segment(2.5, 64.075, "How are you?"),
    ]


def test_parse_subtitles_reads_webvtt() -> None:
    assert parse_subtitles(VTT_BODY) == [
        Segment(1.0, 2.5, "Fish & chips", "Alice"),
        Segment(2.5, 4.0, "Two lines here"),
        Segment(3723.4, 3725.0, "Bye.", "Bob Smith"),
    ]


def test_parse_subtitles_keeps_srt_annotations_as_text() -> None:
    body = "1\n00:00:00,000 --> 00:00:01,000\n[Music] la la\n"
    assert parse_subtitles(body) == [Segment(0.0, 1.0, "[Music] la la")]


def test_parse_subtitles_of_nothing() -> None:
    assert parse_subtitles("") == []
    assert parse_subtitles("WEBVTT\n\n") == []


# -- exports ---------------------------------------------------------------------------------------

EXPORTED = [
    Segment(0.0, 2.5, "Hello there.", "Alice", (Word("Hello", 0.0, 0.5), Word("there.", 0.6, 1.0))),
    Segment(62.345, 64.0, "Fish & chips <3 -->\nnow", None),
    Segment(3723.4, 3725.0, "Bye.", "Bob"),
    Segment(3726.0, 3727.0, "   ", None),
]


def test_to_srt_writes_numbered_cues_that_srt_parses() -> None:
    text = to_srt(EXPORTED)
    assert "2\n00:01:02,345 --> 00:01:04,000\n" in text
    cues = list(srt.parse(text))
    assert [c.index for c in cues] == [1, 2, 3]
    assert [(c.start.total_seconds(), c.end.total_seconds()) for c in cues] == [
        (0.0, 2.5),
        (62.345, 64.0),
        (3723.4, 3725.0),
    ]
    assert [c.content for c in cues] == [
        "[Alice] Hello there.",
        "Fish & chips <3 -> now",
        "[Bob] Bye.",
    ]
    assert to_srt([]) == ""


def test_to_vtt_writes_voice_tags_that_webvtt_parses() -> None:
    text = to_vtt(EXPORTED)
    assert text.startswith("WEBVTT\n\n")
    assert "00:01:02.345 --> 00:01:04.000\n" in text
    captions = webvtt.from_string(text).captions
    assert [(c.start_time.in_milliseconds(), c.end_time.in_milliseconds()) for c in captions] == [
        (0, 2500),
        (62_345, 64_000),
        (3_723_400, 3_725_000),
    ]
    assert [c.voice for c in captions] == ["Alice", None, "Bob"]
    assert [html.unescape(c.text) for c in captions] == [
        "Hello there.",
        "Fish & chips <3 -> now",
        "Bye.",
    ]


def test_subtitle_exports_read_back_through_parse_subtitles() -> None:
    cued = EXPORTED[:3]
    back = parse_subtitles(to_vtt(cued))
    assert [(s.start, s.end, s.speaker) for s in back] == [
        (s.start, s.end, s.speaker) for s in cued
    ]
    assert [s.text for s in back] == ["Hello there.", "Fish & chips <3 -> now", "Bye."]
    assert [s.text for s in parse_subtitles(to_srt(cued))] == [
        "[Alice] Hello there.",
        "Fish & chips <3 -> now",
        "[Bob] Bye.",
    ]


def test_to_text_is_one_line_per_segment() -> None:
    assert to_text(EXPORTED) == ("Alice: Hello there.\nFish & chips <3 -> now\nBob: Bye.\n")
    assert to_text([]) == ""


def test_to_json_holds_text_segments_and_meta() -> None:
    text = to_json("Hello there. Bye.", EXPORTED[:3], model="whisper-1", language="français")
    assert "français" in text and text.startswith('{\n  "text"')
    body = json.loads(text)
    assert list(body) == ["text", "segments", "model", "language"]
    assert body["segments"][0] == {
        "start": 0.0,
        "end": 2.5,
        "text": "Hello there.",
        "speaker": "Alice",
        "words": [
            {"word": "Hello", "start": 0.0, "end": 0.5},
            {"word": "there.", "start": 0.6, "end": 1.0},
        ],
    }
    assert body["segments"][1] == {"start": 62.345, "end": 64.0, "text": EXPORTED[1].text}


def test_to_json_reads_back_through_segments_of() -> None:
    body = json.loads(to_json("Hello there.", EXPORTED[:1]))
    assert segments_of(body) == EXPORTED[:1]


# -- figures ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "clock"),
    [
        (0.0, "0:00"),
        (7.0, "0:07"),
        (7.49, "0:07"),
        (7.5, "0:08"),
        (59.4, "0:59"),
        (59.6, "1:00"),
        (754.0, "12:34"),
        (3599.4, "59:59"),
        (3599.5, "1:00:00"),
        (3723.0, "1:02:03"),
        (36_000.0, "10:00:00"),
        (-3.0, "0:00"),
        (math.nan, "0:00"),
        (math.inf, "0:00"),
    ],
)
def test_format_clock(seconds: float, clock: str) -> None:
    assert format_clock(seconds) == clock


@pytest.mark.parametrize(
    ("seconds", "stamp"),
    [
        (0.0, "0:00.0"),
        (7.3, "0:07.3"),
        (7.25, "0:07.3"),
        (1.15, "0:01.2"),
        (59.94, "0:59.9"),
        (59.95, "1:00.0"),
        (59.96, "1:00.0"),
        (754.5, "12:34.5"),
        (3599.96, "1:00:00.0"),
        (3723.4, "1:02:03.4"),
        (-0.1, "0:00.0"),
        (math.nan, "0:00.0"),
    ],
)
def test_format_stamp(seconds: float, stamp: str) -> None:
    assert format_stamp(seconds) == stamp


def test_word_error_rate_of_identical_texts_is_zero() -> None:
    assert word_error_rate("the cat sat down", "the cat sat down") == WordErrors(0.0, 0, 0, 0, 4)


def test_word_error_rate_counts_one_substitution_in_four_words() -> None:
    assert word_error_rate("the cat sat down", "the dog sat down") == WordErrors(0.25, 1, 0, 0, 4)


def test_word_error_rate_ignores_case_punctuation_and_spacing() -> None:
    result = word_error_rate("Hello, World!  It's   “fine”.", "hello world it’s fine")
    assert result == WordErrors(0.0, 0, 0, 0, 4)
    assert word_error_rate("'Quoted' words", "quoted words").rate == 0.0
    assert word_error_rate("state-of-the-art", "state of the art").rate == 0.0


def test_word_error_rate_keeps_apostrophes_inside_words() -> None:
    assert word_error_rate("don't stop", "dont stop") == WordErrors(0.5, 1, 0, 0, 2)


def test_word_error_rate_counts_deletions_and_insertions() -> None:
    assert word_error_rate("a b c d", "a c d e f") == WordErrors(0.75, 0, 1, 2, 4)
    assert word_error_rate("a b", "") == WordErrors(1.0, 0, 2, 0, 2)


@pytest.mark.parametrize("reference", ["", "   ", "?!. --"])
def test_word_error_rate_needs_reference_words(reference: str) -> None:
    with pytest.raises(ValueError, match=r"^The reference has no words\.$"):
        word_error_rate(reference, "anything")


def test_real_time_factor() -> None:
    assert real_time_factor(3.0, 60.0) == pytest.approx(0.05)
    assert real_time_factor(90.0, 60.0) == pytest.approx(1.5)
    assert real_time_factor(1.0, 0.0) is None
    assert real_time_factor(1.0, -2.0) is None
    assert real_time_factor(1.0, math.nan) is None


def test_upload_is_plain_data() -> None:
    upload = Upload(b"abc", "a.ogg", "audio/ogg")
    assert repr(upload) == "Upload('a.ogg', audio/ogg, 3 bytes)"
