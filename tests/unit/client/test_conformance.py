"""The requests the client sends conform to OpenAI's published schemas (provider extras removed)."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from tests.fake_server import FakeServer

from .helpers import async_test, make_client, openai_validator

# Fireworks-only request fields; the OpenAI schemas do not know them.
PROVIDER_EXTENSIONS = {
    "top_k",
    "min_p",
    "repetition_penalty",
    "perf_metrics_in_response",
    "normalize",
}

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Current weather",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
            "strict": False,
        },
    }
]
MESSAGES: list[dict[str, Any]] = [
    {"role": "system", "content": "Be brief."},
    {
        "role": "user",
        "content": [
            {"type": "text", "text": "What is this?"},
            {
                "type": "image_url",
                "image_url": {"url": "data:image/png;base64,iVBORw0KGgo=", "detail": "auto"},
            },
        ],
    },
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city":"SF"}'},
            }
        ],
    },
    {"role": "tool", "tool_call_id": "call_1", "content": '{"temp_c": 18}'},
]


def strip_extensions(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in PROVIDER_EXTENSIONS}


def test_validator_is_not_vacuous() -> None:
    validator = openai_validator("CreateChatCompletionRequest")
    assert not validator.is_valid({"model": "m"})  # messages missing
    assert not validator.is_valid({"model": "m", "messages": [{"role": "wizard", "content": "x"}]})
    assert validator.is_valid(
        {"model": "m", "messages": [{"role": "user", "content": "x"}], "stop": None}
    )
    embeddings = openai_validator("CreateEmbeddingRequest")
    assert not embeddings.is_valid({"model": "e", "input": "x", "normalize": True})


@pytest.mark.parametrize("stream", [False, True])
@async_test
async def test_chat_request_conforms(fake_server: FakeServer, stream: bool) -> None:
    async with make_client(fake_server) as client:
        result = await client.chat.completions.create(
            model="accounts/fireworks/models/llama-v3p1-8b-instruct",
            messages=MESSAGES,
            stream=stream,
            tools=TOOLS,
            tool_choice="auto",
            parallel_tool_calls=True,
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "Result", "schema": {"type": "object"}, "strict": True},
            },
            stream_options={"include_usage": True} if stream else None,
            temperature=0.6,
            top_p=0.9,
            max_tokens=256,
            stop=["\n\n"],
            seed=7,
            logprobs=True,
            top_logprobs=2,
            n=1,
            user=None,
            top_k=40,
            min_p=0.05,
            repetition_penalty=1.05,
            perf_metrics_in_response=True,
        )
        if stream:
            await result.get_final_completion()  # type: ignore[union-attr]
    body = fake_server.requests[0].json
    assert {"top_k", "min_p", "repetition_penalty"} <= body.keys()
    openai_validator("CreateChatCompletionRequest").validate(strip_extensions(body))


@async_test
async def test_json_object_response_format_conforms(fake_server: FakeServer) -> None:
    async with make_client(fake_server) as client:
        await client.chat.completions.create(
            model="m",
            messages=[{"role": "user", "content": "JSON please"}],
            response_format={"type": "json_object"},
        )
    openai_validator("CreateChatCompletionRequest").validate(fake_server.requests[0].json)


@async_test
async def test_embeddings_request_conforms(fake_server: FakeServer) -> None:
    async with make_client(fake_server) as client:
        await client.embeddings.create(
            model="text-embedding-3-small", input=["a", "b"], dimensions=256
        )
        await client.embeddings.create(
            model="text-embedding-3-small", input="one", encoding_format="base64"
        )
        await client.embeddings.create(model="nomic", input=["x"], normalize=True)
    validator = openai_validator("CreateEmbeddingRequest")
    for request in fake_server.requests:
        validator.validate(strip_extensions(request.json))


def _form_as_json(form: dict[str, list[str]], numeric: set[str]) -> dict[str, Any]:
    # Multipart carries strings; OpenAI's SDK writes arrays as repeated "name[]" fields.
    body: dict[str, Any] = {"file": "<binary>"}
    for name, values in form.items():
        if name.endswith("[]"):
            body[name[:-2]] = values
        elif name in numeric:
            body[name] = float(values[0])
        else:
            (body[name],) = values
    return body


@pytest.mark.parametrize("kind", ["transcriptions", "translations"])
@async_test
async def test_audio_form_fields_conform(fake_server: FakeServer, kind: str) -> None:
    async with make_client(fake_server) as client:
        if kind == "transcriptions":
            await client.audio.transcriptions.create(
                model="whisper-1",
                file=("speech.wav", b"RIFF...."),
                response_format="verbose_json",
                language="en",
                prompt="Fireplay, Fireworks",
                temperature=0.2,
                timestamp_granularities=["word", "segment"],
            )
            schema = "CreateTranscriptionRequest"
        else:
            await client.audio.translations.create(
                model="whisper-1",
                file=("speech.wav", b"RIFF...."),
                response_format="text",
                prompt="x",
                temperature=0.0,
            )
            schema = "CreateTranslationRequest"
    request = fake_server.requests[0]
    assert request.files["file"].filename == "speech.wav"
    body = _form_as_json(request.form, numeric={"temperature"})
    openai_validator(schema).validate(body)
    with pytest.raises(jsonschema.ValidationError):
        openai_validator(schema).validate({**body, "diarize": "true"})
