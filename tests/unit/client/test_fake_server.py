"""The fake server speaks OpenAI's published response shapes, so tests built on it are fair."""

from __future__ import annotations

import base64
import json
import struct
from typing import Any

import httpx
import pytest

from tests.fake_server import FakeServer, Scripted

from .helpers import openai_validator

WAV = b"RIFF....WAVEfmt "


def _stream_payloads(text: str) -> list[Any]:
    events = [block for block in text.split("\n\n") if block]
    assert events[-1] == "data: [DONE]"
    return [json.loads(event.removeprefix("data: ")) for event in events[:-1]]


@pytest.mark.parametrize("include_usage", [False, True])
def test_chat_stream_chunks_conform(fake_server: FakeServer, include_usage: bool) -> None:
    fake_server.script.append(
        Scripted(
            chunks=["a", "b"],
            reasoning=["r"],
            tool_calls=[
                [
                    {
                        "index": 0,
                        "id": "c",
                        "type": "function",
                        "function": {"name": "f", "arguments": "{}"},
                    }
                ]
            ],
            finish_reason="tool_calls",
        )
    )
    body: dict[str, Any] = {
        "model": "m",
        "messages": [{"role": "user", "content": "x"}],
        "stream": True,
    }
    if include_usage:
        body["stream_options"] = {"include_usage": True}
    response = httpx.post(f"{fake_server.url}/chat/completions", json=body)
    assert response.headers["content-type"] == "text/event-stream"
    payloads = _stream_payloads(response.text)
    validator = openai_validator("CreateChatCompletionStreamResponse")
    for payload in payloads:
        validator.validate(payload)
    assert (payloads[-1]["choices"] == []) is include_usage
    assert "usage" in payloads[-1]


def test_chat_completion_conforms(fake_server: FakeServer) -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": "x"}]}
    response = httpx.post(f"{fake_server.url}/chat/completions", json=body)
    openai_validator("CreateChatCompletionResponse").validate(response.json())


def test_embeddings_conform(fake_server: FakeServer) -> None:
    body = {"model": "e", "input": ["a", "b"], "encoding_format": "float"}
    as_float = httpx.post(f"{fake_server.url}/embeddings", json=body).json()
    openai_validator("CreateEmbeddingResponse").validate(as_float)
    # OpenAI's schema only describes float vectors; base64 is the same vector, packed.
    body["encoding_format"] = "base64"
    as_base64 = httpx.post(f"{fake_server.url}/embeddings", json=body).json()
    for packed, plain in zip(as_base64["data"], as_float["data"], strict=True):
        raw = base64.b64decode(packed["embedding"])
        assert list(struct.unpack(f"<{len(raw) // 4}f", raw)) == plain["embedding"]


def test_models_and_errors_conform(fake_server: FakeServer) -> None:
    openai_validator("ListModelsResponse").validate(httpx.get(f"{fake_server.url}/models").json())
    fake_server.script.append(Scripted(status=429))
    response = httpx.get(f"{fake_server.url}/models")
    assert response.status_code == 429
    openai_validator("ErrorResponse").validate(response.json())


@pytest.mark.parametrize(
    ("response_format", "content_type", "schema"),
    [
        ("json", "application/json", "CreateTranscriptionResponseJson"),
        ("verbose_json", "application/json", "CreateTranscriptionResponseVerboseJson"),
        ("text", "text/plain; charset=utf-8", None),
        ("srt", "text/plain; charset=utf-8", None),
        ("vtt", "text/vtt; charset=utf-8", None),
    ],
)
def test_transcriptions_conform(
    fake_server: FakeServer, response_format: str, content_type: str, schema: str | None
) -> None:
    response = httpx.post(
        f"{fake_server.url}/audio/transcriptions",
        data={"model": "w", "response_format": response_format},
        files={"file": ("a.wav", WAV)},
    )
    assert response.headers["content-type"] == content_type
    if schema is not None:
        openai_validator(schema).validate(response.json())
    else:
        assert "Hallo vom Testserver." in response.text
    assert fake_server.requests[0].files["file"].content == WAV
