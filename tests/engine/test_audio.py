"""Transcription of generated speech in every container and response format."""

from __future__ import annotations

import io
import json
import wave
from collections.abc import Callable
from typing import Any

import pytest

from tests.engine.helpers import AUDIO_FORMATS, AUDIO_MODEL, encode_audio

pytestmark = pytest.mark.engine


def _wav_seconds(wav: bytes) -> float:
    with wave.open(io.BytesIO(wav)) as reader:
        return reader.getnframes() / reader.getframerate()


def _verbose(http: Any, name: str, audio: bytes) -> dict[str, Any]:
    response = http.post(
        "/audio/transcriptions",
        files={"file": (name, audio)},
        data={"model": AUDIO_MODEL, "response_format": "verbose_json", "temperature": "0"},
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


# How well whisper hears the words is a figure for bench/engine.py --media-eval; these tests
# check what the engine decides: the decoded length, the segments and the response shapes.


@pytest.mark.parametrize("fmt", ["wav", *AUDIO_FORMATS])
def test_every_container_is_decoded_whole(http: Any, speech_wav: bytes, fmt: str) -> None:
    audio = speech_wav if fmt == "wav" else encode_audio(speech_wav, fmt)
    body = _verbose(http, f"speech.{fmt}", audio)
    # Lossy codecs pad a few frames; a truncated or wrongly resampled decode is off by seconds.
    assert abs(body["duration"] - _wav_seconds(speech_wav)) < 0.15, body["duration"]
    assert body["text"].strip() and body["segments"]
    assert body["segments"][-1]["end"] <= body["duration"] + 0.5


def test_json_and_verbose_json_validate(
    http: Any, speech_wav: bytes, openapi: Callable[[str, Any], None]
) -> None:
    files = {"file": ("speech.wav", speech_wav, "audio/wav")}
    plain = http.post("/audio/transcriptions", files=files, data={"model": AUDIO_MODEL})
    assert plain.status_code == 200
    openapi("CreateTranscriptionResponseJson", plain.json())
    verbose = http.post(
        "/audio/transcriptions",
        files=files,
        data={
            "model": AUDIO_MODEL,
            "response_format": "verbose_json",
            "timestamp_granularities[]": ["word", "segment"],
        },
    )
    body = verbose.json()
    openapi("CreateTranscriptionResponseVerboseJson", body)
    assert body["segments"] and body["words"]
    assert 0 < body["duration"] < 30
    starts = [s["start"] for s in body["segments"]]
    assert starts == sorted(starts) and all(s["end"] >= s["start"] for s in body["segments"])
    assert all(w["end"] >= w["start"] for w in body["words"])


def test_subtitle_formats(client: Any, speech_wav: bytes) -> None:
    srt = client.audio.transcriptions.create(
        model=AUDIO_MODEL, file=("s.wav", speech_wav), response_format="srt"
    )
    vtt = client.audio.transcriptions.create(
        model=AUDIO_MODEL, file=("s.wav", speech_wav), response_format="vtt"
    )
    assert srt.startswith("1\n00:00:") and " --> " in srt
    assert vtt.startswith("WEBVTT\n\n00:00:") and " --> " in vtt


def test_prompt_and_translation_endpoint(client: Any, http: Any, speech_wav: bytes) -> None:
    plain = client.audio.transcriptions.create(
        model=AUDIO_MODEL, file=("s.wav", speech_wav), temperature=0
    )
    primed = client.audio.transcriptions.create(
        model=AUDIO_MODEL, file=("s.wav", speech_wav), prompt="Quarterly report.", temperature=0
    )
    assert plain.text.strip() and primed.text.strip()
    # English-only whisper: translating English speech is transcribing it. (The SDK marks its
    # translations method deprecated, so this one goes over plain HTTP.)
    translated = http.post(
        "/audio/translations",
        files={"file": ("s.wav", speech_wav, "audio/wav")},
        data={"model": AUDIO_MODEL, "temperature": "0"},
    )
    assert translated.status_code == 200
    assert translated.json()["text"] == plain.text


def test_errors(http: Any, speech_wav: bytes) -> None:
    garbage = http.post(
        "/audio/transcriptions",
        files={"file": ("x.mp3", b"this is not audio at all" * 50, "audio/mpeg")},
        data={"model": AUDIO_MODEL},
    )
    assert garbage.status_code == 422
    assert garbage.json()["error"]["message"]
    german = http.post(
        "/audio/transcriptions",
        files={"file": ("s.wav", speech_wav, "audio/wav")},
        data={"model": AUDIO_MODEL, "language": "de"},
    )
    assert german.status_code == 400 and german.json()["error"]["param"] == "language"
    no_file = http.post("/audio/transcriptions", data={"model": AUDIO_MODEL})
    assert no_file.status_code == 400
    bad_format = http.post(
        "/audio/transcriptions",
        files={"file": ("s.wav", speech_wav, "audio/wav")},
        data={"model": AUDIO_MODEL, "response_format": "docx"},
    )
    assert bad_format.status_code == 400
    assert json.loads(bad_format.text)["error"]["param"] == "response_format"
