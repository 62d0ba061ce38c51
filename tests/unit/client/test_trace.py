"""Tracing: each request as sent, its attempts, the response and its raw events; never the key."""

from __future__ import annotations

import asyncio
import json

import pytest

from app.client import APIConnectionError, AuthenticationError, Trace, tracing
from tests.fake_server import FakeServer, Scripted

from .helpers import API_KEY, async_test, make_client

MESSAGES = [{"role": "user", "content": "Hi"}]


@async_test
async def test_a_streamed_request_is_recorded_as_sent_with_its_events(
    fake_server: FakeServer,
) -> None:
    fake_server.script.append(Scripted(chunks=["Hel", "lo"], headers={"x-request-id": "r-1"}))
    trace = Trace()
    async with make_client(fake_server) as client:
        with tracing(trace):
            stream = await client.chat.completions.create(
                model="m", messages=MESSAGES, stream=True, temperature=0.5, extra_body={"top_k": 3}
            )
            async with stream:
                async for _chunk in stream:
                    pass
    [exchange] = trace.exchanges
    sent = fake_server.requests[0]
    assert exchange.method == "POST" and exchange.path == "/v1/chat/completions"
    assert (
        exchange.body
        == sent.json
        == {
            "model": "m",
            "messages": MESSAGES,
            "temperature": 0.5,
            "stream": True,
            "top_k": 3,
        }
    )
    assert exchange.request_headers["authorization"] == "Bearer ***"
    assert exchange.status == 200 and exchange.response_headers["x-request-id"] == "r-1"
    assert exchange.streamed and exchange.response_text is None
    datas = [data for _at, data in exchange.events]
    assert datas[-1] == b"[DONE]"
    texts = [
        json.loads(d)["choices"][0]["delta"].get("content")
        for d in datas[:-1]
        if json.loads(d)["choices"]
    ]
    assert "".join(t for t in texts if t) == "Hello"
    times = [at for at, _data in exchange.events]
    assert times == sorted(times) and times[0] >= 0
    assert [a.outcome for a in exchange.attempts] == ["200"]
    assert API_KEY not in json.dumps(trace.to_json())


@async_test
async def test_retries_are_recorded_with_their_reasons_and_waits(
    fake_server: FakeServer, retry_delays: list[tuple[int, float]]
) -> None:
    fake_server.script += [
        Scripted(status=429, headers={"retry-after": "2"}),
        Scripted(status=503),
    ]
    trace = Trace()
    async with make_client(fake_server) as client:
        with tracing(trace):
            await client.chat.completions.create(model="m", messages=MESSAGES)
    [exchange] = trace.exchanges
    assert [(a.outcome, a.retry_in_s is not None) for a in exchange.attempts] == [
        ("429", True),
        ("503", True),
        ("200", False),
    ]
    # The waits recorded are the ones taken (the fixture makes them instant).
    assert [a.retry_in_s for a in exchange.attempts] == [0.0, 0.0, None]
    assert retry_delays[0] == (0, 2.0)
    assert exchange.status == 200 and json.loads(exchange.response_text or "")["choices"]


@async_test
async def test_a_refused_request_keeps_the_error_and_the_response_body(
    fake_server: FakeServer,
) -> None:
    fake_server.script.append(Scripted(status=401))
    trace = Trace()
    async with make_client(fake_server) as client:
        with tracing(trace), pytest.raises(AuthenticationError):
            await client.chat.completions.create(model="m", messages=MESSAGES)
    [exchange] = trace.exchanges
    assert exchange.status == 401 and exchange.error.startswith("401")
    assert "error" in json.loads(exchange.response_text or "")


@async_test
async def test_a_stream_that_drops_records_the_events_before_the_break(
    fake_server: FakeServer,
) -> None:
    fake_server.script.append(Scripted(chunks=["a", "b", "c", "d"], drop_after=3))
    trace = Trace()
    async with make_client(fake_server) as client:
        with tracing(trace):
            stream = await client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
            with pytest.raises(APIConnectionError):
                async with stream:
                    async for _chunk in stream:
                        pass
    [exchange] = trace.exchanges
    assert len(exchange.events) == 3 and "connection broke" in exchange.error


@async_test
async def test_multipart_uploads_record_fields_and_file_size_not_bytes(
    fake_server: FakeServer,
) -> None:
    trace = Trace()
    async with make_client(fake_server) as client:
        with tracing(trace):
            await client.audio.transcriptions.create(
                model="whisper-v3", file=("talk.wav", b"RIFF" + b"\0" * 96), language="en"
            )
    [exchange] = trace.exchanges
    assert exchange.body is None
    assert exchange.form == {"model": "whisper-v3", "response_format": "json", "language": "en"}
    [part] = exchange.files
    assert (part.field, part.filename, part.size) == ("file", "talk.wav", 100)


@async_test
async def test_nothing_is_recorded_outside_a_tracing_context(fake_server: FakeServer) -> None:
    trace = Trace()
    async with make_client(fake_server) as client:
        with tracing(trace):
            task = asyncio.ensure_future(
                client.chat.completions.create(model="m", messages=MESSAGES)
            )
        await client.chat.completions.create(model="m", messages=MESSAGES)
        await task
    # The task started inside the context is traced (it copied the context); the call after is not.
    assert len(trace.exchanges) == 1
