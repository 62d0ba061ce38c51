"""Streamed chat completions: SSE framing, in-band errors, assembly, faults and cancellation."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from app.client import (
    APIConnectionError,
    APIResponseValidationError,
    APITimeoutError,
    AsyncClient,
    AsyncStream,
    BadRequestError,
    ChatCompletionChunk,
    ServerTimings,
    StreamError,
)
from tests.fake_server import DEFAULT_REPLY, NEVER, FakeServer, Scripted

from .helpers import API_KEY, async_test, busy_connections, make_client, open_connections

MESSAGES = [{"role": "user", "content": "Hi"}]


def chunk(
    delta: dict[str, Any] | None = None,
    finish: str | None = None,
    *,
    index: int = 0,
    choices: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> str:
    """JSON text of one chat completion chunk."""
    if choices is None:
        choices = [{"index": index, "delta": delta or {}, "finish_reason": finish}]
    body = {
        "id": "c1",
        "object": "chat.completion.chunk",
        "created": 1767225600,
        "model": "m",
        "choices": choices,
        **extra,
    }
    return json.dumps(body, ensure_ascii=False)


def sse(*payloads: str) -> list[str | bytes]:
    """One ``data:`` event per payload."""
    return [f"data: {payload}\n\n" for payload in payloads]


def tool(
    index: int | None, id: str | None = None, name: str | None = None, args: Any = None
) -> dict[str, Any]:
    """One tool-call delta entry."""
    entry: dict[str, Any] = {}
    if index is not None:
        entry["index"] = index
    if id is not None:
        entry["id"] = id
        entry["type"] = "function"
    function: dict[str, Any] = {}
    if name is not None:
        function["name"] = name
    if args is not None:
        function["arguments"] = args
    if function:
        entry["function"] = function
    return entry


async def open_stream(client: AsyncClient, **params: Any) -> AsyncStream[ChatCompletionChunk]:
    return await client.chat.completions.create(model="m", messages=MESSAGES, stream=True, **params)


async def stream_events(
    server: FakeServer, events: list[str | bytes]
) -> tuple[list[ChatCompletionChunk], Any]:
    """Stream scripted raw events; return the chunks and the assembled completion."""
    server.script.append(Scripted(raw_events=events))
    async with make_client(server) as client:
        stream = await open_stream(client)
        async with stream:
            chunks = [c async for c in stream]
        return chunks, await stream.get_final_completion()


def texts(chunks: list[ChatCompletionChunk]) -> list[str | None]:
    return [c.choices[0].delta.content if c.choices else None for c in chunks]


# -- the common path -----------------------------------------------------------------------------


@async_test
async def test_stream_yields_chunks_and_assembles_completion(fake_server: FakeServer) -> None:
    async with make_client(fake_server) as client:
        stream = await open_stream(client, temperature=0.5)
        async with stream:
            chunks = [c async for c in stream]
        completion = await stream.get_final_completion()
    assert [c for c in texts(chunks) if c] == DEFAULT_REPLY
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices[0].finish_reason == "stop"
    message = completion.choices[0].message
    assert message.role == "assistant" and message.content == "".join(DEFAULT_REPLY)
    assert completion.choices[0].finish_reason == "stop"
    assert completion.object == "chat.completion" and completion.model == "m"
    assert completion.usage is not None and completion.usage.completion_tokens == len(DEFAULT_REPLY)
    request = fake_server.requests[0]
    assert request.json["stream"] is True and request.json["temperature"] == 0.5
    assert request.headers["accept"] == "text/event-stream"
    assert stream.finished and stream.error is None


@pytest.mark.parametrize(
    ("placement", "include_usage", "expect_empty_choices_chunk"),
    [
        ("finish", False, False),
        ("separate", False, True),
        ("auto", True, True),
        ("auto", False, False),
    ],
)
@async_test
async def test_usage_on_finish_chunk_or_empty_choices_chunk(
    fake_server: FakeServer, placement: str, include_usage: bool, expect_empty_choices_chunk: bool
) -> None:
    fake_server.script.append(Scripted(chunks=["a", "b"], usage_placement=placement))  # type: ignore[arg-type]
    params = {"stream_options": {"include_usage": True}} if include_usage else {}
    async with make_client(fake_server) as client:
        stream = await open_stream(client, **params)
        chunks = [c async for c in stream]
        completion = await stream.get_final_completion()
    assert any(c.choices == [] for c in chunks) is expect_empty_choices_chunk
    assert completion.usage is not None and completion.usage.total_tokens == 3
    assert completion.choices[0].message.content == "ab"


@async_test
async def test_stream_without_usage(fake_server: FakeServer) -> None:
    fake_server.script.append(Scripted(chunks=["a"], usage=None))
    async with make_client(fake_server) as client:
        completion = await (await open_stream(client)).get_final_completion()
    assert completion.usage is None and completion.choices[0].message.content == "a"


@async_test
async def test_get_final_completion_consumes_the_rest(fake_server: FakeServer) -> None:
    fake_server.script.append(Scripted(chunks=["x", "y", "z"]))
    async with make_client(fake_server) as client:
        stream = await open_stream(client)
        first = await anext(stream)
        second = await stream.__anext__()
        completion = await stream.get_final_completion()
        # The body was read to its end after [DONE]: the connection went back to the pool.
        assert open_connections(client) == 1 and busy_connections(client) == 0
    assert first.choices[0].delta.role == "assistant" and second.choices[0].delta.content == "x"
    assert completion.choices[0].message.content == "xyz"


@async_test
async def test_stream_timings_and_headers(fake_server: FakeServer) -> None:
    fake_server.script.append(
        Scripted(
            headers={"x-request-id": "r-1", "fireworks-prompt-tokens": "12"},
            perf_metrics={"server-time-to-first-token": 0.05, "cached-prompt-tokens": 8},
        )
    )
    async with make_client(fake_server) as client:
        stream = await open_stream(client)
        completion = await stream.get_final_completion()
    expected = ServerTimings(
        request_id="r-1", server_time_to_first_token=0.05, prompt_tokens=12, cached_prompt_tokens=8
    )
    assert stream.timings == expected and completion.timings == expected
    assert stream.response_headers["x-request-id"] == "r-1"
    assert completion.perf_metrics == {
        "server-time-to-first-token": 0.05,
        "cached-prompt-tokens": 8,
    }


# -- SSE framing -----------------------------------------------------------------------------------


@async_test
async def test_comments_and_keepalives_are_ignored(fake_server: FakeServer) -> None:
    events: list[str | bytes] = [
        ": ping\n\n",
        ":\n\n",
        ": OPENROUTER PROCESSING\n\n",
        "data: : ping wrapped by a gateway\n\n",
        "data:\n\n",
        "data: \n\n",
        f": note before data\ndata: {chunk({'content': 'a'})}\n\n",
        "\n\n\n",
        f"data: {chunk({'content': 'b'}, 'stop')}\n: trailing comment\n\n",
        "data: [DONE]\n\n",
    ]
    chunks, completion = await stream_events(fake_server, events)
    assert texts(chunks) == ["a", "b"]
    assert completion.choices[0].message.content == "ab"


@async_test
async def test_empty_events_after_retry_and_id_blocks_are_skipped(fake_server: FakeServer) -> None:
    events: list[str | bytes] = [
        "retry: 3000\n\n",
        "id: 7\n\n",
        f"id: 8\nevent: message\ndata: {chunk({'content': 'a'}, 'stop')}\n\n",
        "id: 9\n\n",
        "event: ping\n\n",
        "data: [DONE]\n\n",
    ]
    chunks, completion = await stream_events(fake_server, events)
    assert texts(chunks) == ["a"] and completion.choices[0].message.content == "a"


@async_test
async def test_multiline_data_is_joined_with_newlines(fake_server: FakeServer) -> None:
    first, rest = chunk({"content": "multi"}, "stop").split(",", 1)
    events: list[str | bytes] = [f"data: {first},\ndata: {rest}\n\n", "data:[DONE]\n\n"]
    chunks, _ = await stream_events(fake_server, events)
    assert texts(chunks) == ["multi"]


@async_test
async def test_crlf_and_cr_line_endings(fake_server: FakeServer) -> None:
    events: list[str | bytes] = [
        f"data: {chunk({'content': 'a'})}\r\n\r\n",
        f"data: {chunk({'content': 'b'})}\r\r",
        f"data: {chunk({'content': 'c'})}\r",  # CRLF split across two writes
        "\n\r\n",
        f": comment\r\ndata: {chunk({'content': 'd'}, 'stop')}\r\n\r\n",
        "data: [DONE]\r\n\r\n",
    ]
    chunks, completion = await stream_events(fake_server, events)
    assert texts(chunks) == ["a", "b", "c", "d"]
    assert completion.choices[0].message.content == "abcd"


@async_test
async def test_utf8_and_events_split_across_writes(fake_server: FakeServer) -> None:
    text = "héllo 🔥 wörld"
    data = f"data: {chunk({'content': text}, 'stop')}\n\ndata: [DONE]\n\n".encode()
    cut = data.index("🔥".encode()) + 2  # inside the 4-byte sequence
    events: list[str | bytes] = [data[:3], data[3:cut], data[cut:-10], data[-10:]]
    chunks, completion = await stream_events(fake_server, events)
    assert texts(chunks) == [text] and completion.choices[0].message.content == text


@async_test
async def test_byte_order_mark_and_missing_final_blank_line(fake_server: FakeServer) -> None:
    events: list[str | bytes] = [
        b"\xef\xbb\xbf" + f"data: {chunk({'content': 'a'}, 'stop')}\n\n".encode(),
        "data: [DONE]\n",
    ]
    chunks, completion = await stream_events(fake_server, events)
    assert texts(chunks) == ["a"] and completion.choices[0].finish_reason == "stop"


@async_test
async def test_missing_done_after_a_finished_choice_is_accepted(fake_server: FakeServer) -> None:
    chunks, completion = await stream_events(
        fake_server, sse(chunk({"content": "a"}), chunk({}, "length"))
    )
    assert texts(chunks) == ["a", None]
    assert completion.choices[0].finish_reason == "length"


@async_test
async def test_stream_cut_before_finishing_raises_with_partial_output(
    fake_server: FakeServer,
) -> None:
    fake_server.script.append(
        Scripted(raw_events=sse(chunk({"content": "par"}), chunk({"content": "tial"})))
    )
    received: list[str | None] = []
    async with make_client(fake_server) as client:
        stream = await open_stream(client)
        with pytest.raises(APIConnectionError, match="closed the stream before it finished"):
            async for c in stream:
                received.append(c.choices[0].delta.content)
        assert received == ["par", "tial"]
        assert stream.partial_completion().choices[0].message.content == "partial"
        assert isinstance(stream.error, APIConnectionError) and not stream.finished
        with pytest.raises(APIConnectionError):
            await stream.get_final_completion()
        assert busy_connections(client) == 0


@async_test
async def test_chunk_without_optional_fields(fake_server: FakeServer) -> None:
    events = sse(
        json.dumps({"choices": [{"delta": {"content": "a"}}]}),
        json.dumps({"choices": [{"index": 0, "finish_reason": "stop"}], "obfuscation": "xyz"}),
        "[DONE]",
    )
    chunks, completion = await stream_events(fake_server, events)
    assert chunks[0].id == "" and chunks[1].choices[0].delta.content is None
    assert chunks[1].model_extra == {"obfuscation": "xyz"}
    assert completion.choices[0].message.content == "a"


@async_test
async def test_null_delta_reads_as_an_empty_delta(fake_server: FakeServer) -> None:
    # Some servers send `"delta": null` on the chunk that carries finish_reason.
    events = sse(
        chunk({"role": "assistant", "content": "Hi"}),
        chunk(choices=[{"index": 0, "delta": None, "finish_reason": "stop"}]),
        "[DONE]",
    )
    chunks, completion = await stream_events(fake_server, events)
    last = chunks[-1].choices[0]
    assert last.delta.content is None and last.delta.tool_calls is None
    assert last.finish_reason == "stop"
    assert completion.choices[0].message.content == "Hi"
    assert completion.choices[0].finish_reason == "stop"


@async_test
async def test_many_events_in_one_read(fake_server: FakeServer) -> None:
    # Servers that batch their writes (or a slow reader) put dozens of events in one read,
    # with keep-alives and unusual events between them, and cut the last one anywhere.
    words = [f"w{i} " for i in range(200)]
    body = "".join(
        [f"data: {chunk({'role': 'assistant', 'content': ''})}\n\n"]
        + [f"data: {chunk({'content': w})}\n\n" for w in words[:100]]
        + [": ping\n\n", f"id: 1\ndata: {chunk({'content': words[100]})}\n\n"]
        + [f"data: {chunk({'content': w})}\n\n" for w in words[101:]]
        + [f"data: {chunk({}, 'stop')}\n\n", "data: [DONE]\n\n"]
    ).encode()
    events: list[str | bytes] = [body[:7000], body[7000:7001], body[7001:]]
    chunks, completion = await stream_events(fake_server, events)
    assert texts(chunks)[1:-1] == words
    assert completion.choices[0].message.content == "".join(words)


@async_test
async def test_refusal_logprobs_and_late_fields_are_assembled(fake_server: FakeServer) -> None:
    def logprob(token: str) -> dict[str, Any]:
        return {"content": [{"token": token, "logprob": -0.5, "top_logprobs": []}]}

    events = sse(
        chunk(choices=[{"index": 0, "delta": {"content": "No"}, "logprobs": logprob("No")}]),
        chunk(choices=[{"index": 0, "delta": {"content": "."}, "logprobs": logprob(".")}]),
        chunk({"role": "assistant", "refusal": "I can"}),
        chunk({"refusal": "not."}, "stop"),
        chunk(choices=[], perf_metrics={"server-processing-time": 0.5}),
        "[DONE]",
    )
    _, completion = await stream_events(fake_server, events)
    choice = completion.choices[0]
    assert choice.message.content == "No." and choice.message.refusal == "I cannot."
    assert choice.message.role == "assistant" and choice.finish_reason == "stop"
    assert choice.logprobs is not None
    assert [entry["token"] for entry in choice.logprobs["content"]] == ["No", "."]
    assert completion.perf_metrics == {"server-processing-time": 0.5}


# -- errors inside the stream ------------------------------------------------------------------


OPENAI_ERROR = {"error": {"message": "Internal failure", "type": "server_error", "code": 500}}
ANTHROPIC_ERROR = {"type": "error", "error": {"type": "api_error", "message": "Overloaded"}}
LLAMA_CPP_ERROR = {
    "code": 400,
    "message": "the request exceeds the available context size",
    "type": "invalid_request_error",
}


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (f"data: {json.dumps(OPENAI_ERROR)}\n\n", "Internal failure"),
        (f"event: error\ndata: {json.dumps(ANTHROPIC_ERROR)}\n\n", "Overloaded"),
        (f"error: {json.dumps(LLAMA_CPP_ERROR)}\n\n", LLAMA_CPP_ERROR["message"]),
        ("event: error\ndata: plain words\n\n", "plain words"),
    ],
    ids=["data-error-object", "event-error", "llama-cpp-error-field", "event-error-text"],
)
@async_test
async def test_in_band_errors_raise_stream_error(
    fake_server: FakeServer, event: str, message: str
) -> None:
    events: list[str | bytes] = [
        f"data: {chunk({'content': 'so far'})}\n\n",
        event,
        "data: [DONE]\n\n",
    ]
    fake_server.script.append(Scripted(raw_events=events))
    async with make_client(fake_server) as client:
        stream = await open_stream(client)
        seen = []
        with pytest.raises(StreamError) as caught:
            async for c in stream:
                seen.append(c)
        assert open_connections(client) == 0
    assert texts(seen) == ["so far"]
    assert message in str(caught.value) and "Traceback" not in str(caught.value)
    assert stream.partial_completion().choices[0].message.content == "so far"
    with pytest.raises(StreamError):
        await stream.get_final_completion()


@async_test
async def test_stream_error_never_shows_the_key(fake_server: FakeServer) -> None:
    event = json.dumps({"error": {"message": f"bad key {API_KEY}"}})
    fake_server.script.append(Scripted(raw_events=[f"data: {event}\n\n"]))
    async with make_client(fake_server) as client:
        stream = await open_stream(client)
        with pytest.raises(StreamError) as caught:
            await stream.get_final_completion()
    error = caught.value
    assert (
        API_KEY not in str(error)
        and API_KEY not in repr(error)
        and API_KEY not in json.dumps(error.body)
    )
    assert "***" in str(error)


@async_test
async def test_malformed_event_raises_validation_error(fake_server: FakeServer) -> None:
    fake_server.script.append(Scripted(raw_events=sse("{not json", "[DONE]")))
    async with make_client(fake_server) as client:
        stream = await open_stream(client)
        with pytest.raises(APIResponseValidationError, match="malformed stream event"):
            await stream.get_final_completion()
        assert open_connections(client) == 0


@async_test
async def test_stream_request_answered_with_json_completion(fake_server: FakeServer) -> None:
    body = {
        "id": "c9",
        "object": "chat.completion",
        "created": 5,
        "model": "m",
        "choices": [
            {
                "index": 0,
                "finish_reason": "tool_calls",
                "message": {
                    "role": "assistant",
                    "content": "text",
                    "tool_calls": [
                        {
                            "id": "t",
                            "type": "function",
                            "function": {"name": "f", "arguments": "{}"},
                        }
                    ],
                },
            }
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3},
        "extra_field": True,
    }
    fake_server.script.append(Scripted(body=body, headers={"x-request-id": "j-1"}))
    async with make_client(fake_server) as client:
        stream = await open_stream(client)
        chunks = [c async for c in stream]
        completion = await stream.get_final_completion()
    assert len(chunks) == 1 and chunks[0].choices[0].delta.content == "text"
    delta_calls = chunks[0].choices[0].delta.tool_calls
    assert delta_calls is not None and delta_calls[0].function is not None
    assert delta_calls[0].index == 0 and delta_calls[0].function.name == "f"
    assert completion.model_extra == {"extra_field": True}
    assert completion.usage is not None and completion.usage.total_tokens == 3
    assert stream.timings.request_id == "j-1" and completion.timings.request_id == "j-1"


@async_test
async def test_stream_request_answered_with_json_error(fake_server: FakeServer) -> None:
    fake_server.script.append(
        Scripted(body={"error": {"message": "no streaming here", "code": 400}})
    )
    async with make_client(fake_server) as client:
        with pytest.raises(BadRequestError, match="no streaming here"):
            await open_stream(client)


@async_test
async def test_error_status_raises_before_streaming(fake_server: FakeServer) -> None:
    fake_server.script.append(Scripted(status=400, body={"error": {"message": "bad temperature"}}))
    async with make_client(fake_server) as client:
        with pytest.raises(BadRequestError, match="400 Bad Request: bad temperature"):
            await open_stream(client)
        assert open_connections(client) <= 1  # error body read; connection reusable


# -- assembly: reasoning, choices, tool calls -----------------------------------------------------


@async_test
async def test_reasoning_and_several_choices(fake_server: FakeServer) -> None:
    events = sse(
        chunk(choices=[{"index": 0, "delta": {"role": "assistant", "reasoning_content": "hm"}}]),
        chunk(choices=[{"index": 1, "delta": {"role": "assistant", "content": "B1"}}]),
        chunk(choices=[{"index": 0, "delta": {"reasoning_content": "m.", "content": "A1"}}]),
        chunk(
            choices=[
                {"index": 1, "delta": {"content": "B2"}, "finish_reason": "length"},
                {"index": 0, "delta": {"content": None}, "finish_reason": "stop"},
            ]
        ),
        "[DONE]",
    )
    _, completion = await stream_events(fake_server, events)
    first, second = completion.choices
    assert (first.index, first.message.content, first.message.reasoning_content) == (
        0,
        "A1",
        "hmm.",
    )
    assert (second.index, second.message.content, second.message.reasoning_content) == (
        1,
        "B1B2",
        None,
    )
    assert (first.finish_reason, second.finish_reason) == ("stop", "length")


def _calls(completion: Any) -> list[tuple[str, str, str]]:
    return [
        (c.id, c.function.name, c.function.arguments)
        for c in completion.choices[0].message.tool_calls or []
    ]


TOOL_CASES: dict[str, tuple[list[list[dict[str, Any]]], list[tuple[str, str, str]]]] = {
    # OpenAI: id, type and name once; arguments in fragments; a second call at index 1.
    "openai": (
        [
            [tool(0, "call_a", "get_weather", "")],
            [tool(0, args='{"city":')],
            [tool(0, args='"SF"}')],
            [tool(1, "call_b", "get_time", "{}")],
        ],
        [("call_a", "get_weather", '{"city":"SF"}'), ("call_b", "get_time", "{}")],
    ),
    # sglang repeats id and name on every fragment: never concatenate the name.
    "repeated-id-and-name": (
        [[tool(0, "call_a", "f", '{"a"')], [tool(0, "call_a", "f", ":1}")]],
        [("call_a", "f", '{"a":1}')],
    ),
    # vLLM sends id "" after the first fragment.
    "empty-id-later": (
        [[tool(0, "call_a", "f", "")], [tool(0, "", None, "{}")]],
        [("call_a", "f", "{}")],
    ),
    # Some servers never send an id in streams.
    "no-id": (
        [[tool(0, None, "f", "{")], [tool(0, args="}")]],
        [("", "f", "{}")],
    ),
    # Several calls, and two fragments of one call, in a single chunk.
    "several-in-one-chunk": (
        [
            [tool(0, "a", "f", '{"x"'), tool(1, "b", "g", "{}"), tool(0, args=":1}")],
        ],
        [("a", "f", '{"x":1}'), ("b", "g", "{}")],
    ),
    # Every parallel call at index 0, told apart by their ids.
    "all-at-index-0": (
        [
            [tool(0, "a", "f", '{"n":')],
            [tool(0, args="1}")],
            [tool(0, "b", "g", '{"n":2}')],
            [tool(0, "b", None, "")],
        ],
        [("a", "f", '{"n":1}'), ("b", "g", '{"n":2}')],
    ),
    # Arguments as a JSON object replace (not extend) what came before.
    "dict-arguments": (
        [[tool(0, "a", "f", "")], [tool(0, args={"city": "Paris"})]],
        [("a", "f", '{"city": "Paris"}')],
    ),
    # No arguments at all read as an empty object.
    "no-arguments": ([[tool(0, "a", "ping")]], [("a", "ping", "{}")]),
    # Missing index: the fragment belongs to the call with that id, else the last call.
    "missing-index": (
        [
            [tool(0, "a", "f", "{")],
            [tool(1, "b", "g", "{")],
            [tool(None, "a", None, "}")],
            [tool(None, args="}")],
        ],
        [("a", "f", "{}"), ("b", "g", "{}")],
    ),
}


@pytest.mark.parametrize("case", list(TOOL_CASES), ids=list(TOOL_CASES))
@async_test
async def test_tool_call_deltas_are_assembled_by_index(fake_server: FakeServer, case: str) -> None:
    deltas, expected = TOOL_CASES[case]
    fake_server.script.append(Scripted(tool_calls=deltas, finish_reason="tool_calls"))
    async with make_client(fake_server) as client:
        stream = await open_stream(client)
        chunks = [c async for c in stream]
        completion = await stream.get_final_completion()
    assert _calls(completion) == expected
    assert completion.choices[0].finish_reason == "tool_calls"
    assert all(call.type == "function" for call in completion.choices[0].message.tool_calls or [])
    # The chunks themselves carry the fragments untouched (arguments as text).
    fragments = [tc for c in chunks if c.choices for tc in c.choices[0].delta.tool_calls or []]
    assert all(f.function is None or not isinstance(f.function.arguments, dict) for f in fragments)


@async_test
async def test_tool_calls_finish_reason_wins_over_a_later_stop(fake_server: FakeServer) -> None:
    events = sse(
        chunk({"tool_calls": [tool(0, "a", "f", "{}")]}),
        chunk({}, "tool_calls"),
        chunk({}, "stop"),
        "[DONE]",
    )
    _, completion = await stream_events(fake_server, events)
    assert completion.choices[0].finish_reason == "tool_calls" and _calls(completion)


@async_test
async def test_stop_with_tool_calls_keeps_the_calls(fake_server: FakeServer) -> None:
    events = sse(
        chunk({"content": None, "tool_calls": [tool(0, "a", "f", '{"q":1}')]}),
        chunk({}, "stop"),
        "[DONE]",
    )
    _, completion = await stream_events(fake_server, events)
    assert completion.choices[0].finish_reason == "stop"
    assert _calls(completion) == [("a", "f", '{"q":1}')]
    assert completion.choices[0].message.content is None


# -- faults: dropped connections, timeouts, cancellation ------------------------------------------


@async_test
async def test_connection_dropped_mid_stream(fake_server: FakeServer) -> None:
    fake_server.script.append(Scripted(chunks=["one", "two", "three", "four"], drop_after=3))
    received: list[str | None] = []
    async with make_client(fake_server) as client:
        stream = await open_stream(client)
        with pytest.raises(APIConnectionError, match="connection broke") as caught:
            async for c in stream:
                received.append(c.choices[0].delta.content)
        assert open_connections(client) == 0
    assert received == ["", "one", "two"]
    assert not isinstance(caught.value, APITimeoutError)
    assert stream.partial_completion().choices[0].message.content == "onetwo"
    assert len(fake_server.requests) == 1  # never retried after the first byte


@async_test
async def test_read_timeout_mid_stream(fake_server: FakeServer) -> None:
    fake_server.script.append(Scripted(chunks=["a", "b"], hold_after=1, wait_for=NEVER))
    async with make_client(fake_server, timeout=httpx.Timeout(0.3, connect=2.0)) as client:
        stream = await open_stream(client)
        received = []
        with pytest.raises(APITimeoutError):
            async for c in stream:
                received.append(c)
        assert open_connections(client) == 0
    assert texts(received) == [""]
    assert stream.partial_completion().choices[0].message.role == "assistant"


@async_test
async def test_cancelling_the_task_closes_the_connection(fake_server: FakeServer) -> None:
    fake_server.script.append(
        Scripted(chunks=[f"t{i}" for i in range(5)], hold_after=4, wait_for=NEVER)
    )
    received: list[str | None] = []
    async with make_client(fake_server) as client:
        stream = await open_stream(client)

        async def consume() -> None:
            async for c in stream:  # no `async with`: cancellation alone must clean up
                received.append(c.choices[0].delta.content)

        task = asyncio.create_task(consume())
        while len(received) < 3:
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert open_connections(client) == 0
        partial = stream.partial_completion().choices[0].message.content
        assert partial is not None and partial.startswith("t0t1")
    record = fake_server.requests[0]
    assert fake_server.wait_until(lambda: record.client_disconnected)


@async_test
async def test_cancelled_in_loop_body_with_context_manager(fake_server: FakeServer) -> None:
    fake_server.script.append(Scripted(chunks=["t0", "t1"], hold_after=2, wait_for=NEVER))
    async with make_client(fake_server) as client:
        inside = asyncio.Event()

        async def consume() -> None:
            async with await open_stream(client) as stream:
                async for _ in stream:
                    inside.set()
                    await asyncio.sleep(10)  # cancelled here, outside the client's code

        task = asyncio.create_task(consume())
        await inside.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert open_connections(client) == 0
    assert fake_server.wait_until(lambda: fake_server.requests[0].client_disconnected)


@async_test
async def test_leaving_early_and_closing(fake_server: FakeServer) -> None:
    fake_server.script.append(Scripted(chunks=[f"t{i}" for i in range(100)], delay=0.01))
    async with make_client(fake_server) as client:
        stream = await open_stream(client)
        async for c in stream:
            if c.choices[0].delta.content == "t1":
                break
        await stream.close()
        await stream.close()  # idempotent
        assert open_connections(client) == 0
        assert [c async for c in stream] == []
        with pytest.raises(RuntimeError, match="closed before it finished"):
            await stream.get_final_completion()
        assert stream.partial_completion().choices[0].message.content == "t0t1"
        # The pool still works for the next request.
        completion = await client.chat.completions.create(model="m", messages=MESSAGES)
    assert completion.choices[0].message.content == "".join(DEFAULT_REPLY)


@async_test
async def test_closing_from_another_task_ends_the_iteration(fake_server: FakeServer) -> None:
    fake_server.script.append(Scripted(chunks=["a", "b", "c"], hold_after=1, wait_for=NEVER))
    async with make_client(fake_server) as client:
        stream = await open_stream(client)
        received: list[ChatCompletionChunk] = []

        async def consume() -> None:
            async for c in stream:
                received.append(c)

        task = asyncio.create_task(consume())
        while not received:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)  # the consumer now waits for the next event
        await stream.close()
        await asyncio.wait_for(task, timeout=5)  # ends quietly, no error
        assert stream.error is None and not stream.finished
        assert open_connections(client) == 0
    assert texts(received) == [""]
