"""Transcription of generated speech in every container and response format."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.engine.helpers import (
    AUDIO_FORMATS,
    AUDIO_MODEL,
    SPEECH,
    encode_audio,
    word_error_rate,
)

pytestmark = pytest.mark.engine

MAX_WER = 0.25


def test_wav_transcription_is_accurate(client: Any, speech_wav: bytes) -> None:
    result = client.audio.transcriptions.create(
        model=AUDIO_MODEL, file=("speech.wav", speech_wav), language="en", temperature=0
    )
    assert word_error_rate(SPEECH, result.text) <= MAX_WER, result.text


@pytest.mark.parametrize("fmt", AUDIO_FORMATS)
def test_every_container_is_decoded(client: Any, speech_wav: bytes, fmt: str) -> None:
    data = encode_audio(speech_wav, fmt)
    text = client.audio.transcriptions.create(
        model=AUDIO_MODEL, file=(f"speech.{fmt}", data), response_format="text"
    )
    assert word_error_rate(SPEECH, text) <= MAX_WER, (fmt, text)


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
    primed = client.audio.transcriptions.create(
        model=AUDIO_MODEL, file=("s.wav", speech_wav), prompt="Quarterly finance report."
    )
    assert word_error_rate(SPEECH, primed.text) <= MAX_WER
    # English-only whisper: translating English speech gives the English transcript. (The
    # SDK marks its translations method deprecated, so this one goes over plain HTTP.)
    translated = http.post(
        "/audio/translations",
        files={"file": ("s.wav", speech_wav, "audio/wav")},
        data={"model": AUDIO_MODEL},
    )
    assert translated.status_code == 200
    assert word_error_rate(SPEECH, translated.json()["text"]) <= MAX_WER


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
