"""Audio transcription and translation: multipart uploads and every response format."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from app.client import FileTypes, Transcription
from tests.fake_server import FakeServer, Scripted

from .helpers import async_test, make_client

WAV = b"RIFF\x24\x00\x00\x00WAVEfmt fake audio payload"


@pytest.mark.parametrize("source", ["path", "pathlike", "bytes", "tuple2", "tuple3"])
@async_test
async def test_file_inputs(fake_server: FakeServer, tmp_path: Path, source: str) -> None:
    path = tmp_path / "meeting.flac"
    path.write_bytes(WAV)
    files: dict[str, FileTypes] = {
        "path": str(path),
        "pathlike": path,
        "bytes": WAV,
        "tuple2": ("clip.mp3", WAV),
        "tuple3": ("clip.bin", WAV, "audio/ogg"),
    }
    file = files[source]
    expected_name, expected_type = {
        "path": ("meeting.flac", "audio/flac"),
        "pathlike": ("meeting.flac", "audio/flac"),
        "bytes": ("audio.wav", "audio/wav"),
        "tuple2": ("clip.mp3", "audio/mpeg"),
        "tuple3": ("clip.bin", "audio/ogg"),
    }[source]
    async with make_client(fake_server) as client:
        result = await client.audio.transcriptions.create(model="whisper-v3", file=file)
    assert isinstance(result, Transcription) and result.text.endswith(f"({len(WAV)} bytes)")
    request = fake_server.requests[0]
    assert request.path == "/v1/audio/transcriptions"
    assert request.headers["content-type"].startswith("multipart/form-data; boundary=")
    upload = request.files["file"]
    assert (upload.filename, upload.content_type, upload.content) == (
        expected_name,
        expected_type,
        WAV,
    )
    assert request.form == {"model": ["whisper-v3"], "response_format": ["json"]}


@async_test
async def test_verbose_json_has_segments_and_words(fake_server: FakeServer) -> None:
    async with make_client(fake_server) as client:
        result = await client.audio.transcriptions.create(
            model="whisper-v3",
            file=WAV,
            response_format="verbose_json",
            language="de",
            prompt="Fireplay",
            temperature=0.0,
            timestamp_granularities=["word", "segment"],
        )
    assert isinstance(result, Transcription)
    assert result.language == "de" and result.duration == 1.5
    assert result.segments is not None and result.segments[0].end == 1.5
    assert (
        result.segments[0].model_extra is not None
        and result.segments[0].model_extra["speaker_id"] == "SPEAKER_00"
    )
    assert result.words is not None and result.words[0].word == "Hallo"
    assert result.model_extra == {"task": "transcribe"}
    form = fake_server.requests[0].form
    assert form["timestamp_granularities[]"] == ["word", "segment"]
    assert (
        form["language"] == ["de"]
        and form["prompt"] == ["Fireplay"]
        and form["temperature"] == ["0.0"]
    )


@pytest.mark.parametrize(
    ("response_format", "start"),
    [("text", "Hallo vom Testserver."), ("srt", "1\n00:00:00,000 --> "), ("vtt", "WEBVTT\n\n")],
)
@async_test
async def test_text_formats_return_the_body_text(
    fake_server: FakeServer, response_format: str, start: str
) -> None:
    async with make_client(fake_server) as client:
        result = await client.audio.transcriptions.create(
            model="w", file=WAV, response_format=response_format
        )
    assert isinstance(result, str) and result.startswith(start)
    assert fake_server.requests[0].headers["accept"] == "text/plain"


@async_test
async def test_translations(fake_server: FakeServer) -> None:
    async with make_client(fake_server) as client:
        result = await client.audio.translations.create(model="w", file=("talk.ogg", WAV))
        text = await client.audio.translations.create(model="w", file=WAV, response_format="text")
    assert isinstance(result, Transcription) and result.text.startswith(
        "Hello from the fake server."
    )
    assert isinstance(text, str) and text.startswith("Hello from the fake server.")
    assert [r.path for r in fake_server.requests] == ["/v1/audio/translations"] * 2


@async_test
async def test_provider_fields_and_fireworks_spellings(fake_server: FakeServer) -> None:
    async with make_client(fake_server) as client:
        await client.audio.transcriptions.create(
            model="whisper-v3-turbo",
            file="https://example.com/talk.mp3",
            timestamp_granularities="word,segment",
            temperature="0.0,0.2,0.4",
            diarize=True,
            vad_model="silero",
            min_speakers=None,
        )
    request = fake_server.requests[0]
    assert request.files == {}
    assert request.form == {
        "model": ["whisper-v3-turbo"],
        "response_format": ["json"],
        "timestamp_granularities": ["word,segment"],
        "temperature": ["0.0,0.2,0.4"],
        "diarize": ["true"],
        "vad_model": ["silero"],
        "file": ["https://example.com/talk.mp3"],
    }


@async_test
async def test_audio_model_uses_its_own_host(fake_server: FakeServer) -> None:
    audio_host = FakeServer().start()
    try:
        async with make_client(
            fake_server, model_base_urls={"whisper-v3": audio_host.url}
        ) as client:
            await client.audio.transcriptions.create(model="whisper-v3", file=WAV)
            await client.chat.completions.create(
                model="chat", messages=[{"role": "user", "content": "x"}]
            )
        assert [r.path for r in audio_host.requests] == ["/v1/audio/transcriptions"]
        assert [r.path for r in fake_server.requests] == ["/v1/chat/completions"]
    finally:
        audio_host.stop()


@async_test
async def test_unreadable_path_raises_before_sending(
    fake_server: FakeServer, tmp_path: Path
) -> None:
    async with make_client(fake_server) as client:
        with pytest.raises(FileNotFoundError):
            await client.audio.transcriptions.create(model="w", file=tmp_path / "missing.wav")
    assert fake_server.requests == []


@async_test
async def test_upload_progress_counts_every_byte_and_restarts_on_a_retry(
    fake_server: FakeServer,
) -> None:
    content = bytes(range(256)) * 12 * 1024  # 3 MiB: several reads of 1 MiB
    fake_server.script.append(Scripted(status=503))
    seen: list[tuple[int, int]] = []
    async with make_client(fake_server, max_retries=1) as client:
        result = await client.audio.transcriptions.create(
            model="whisper-v3",
            file=("talk.wav", content),
            progress=lambda sent, total: seen.append((sent, total)),
        )
    assert isinstance(result, Transcription)
    assert fake_server.requests[-1].files["file"].content == content
    assert {total for _sent, total in seen} == {len(content)}
    sent = [s for s, _total in seen]
    # Two climbs from the start to the end: the refused attempt, then the retry.
    climbs = [[sent[0]]]
    for before, after in itertools.pairwise(sent):
        if after < before:
            climbs.append([])
        climbs[-1].append(after)
    assert len(climbs) == 2
    assert all(c[-1] == len(content) and c[0] < len(content) for c in climbs)
