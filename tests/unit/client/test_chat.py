"""Non-streamed chat completions: request body, response parsing, timings."""

from __future__ import annotations

import httpx
import pytest

from app.client import (
    APIResponseValidationError,
    AsyncClient,
    BadRequestError,
    ChatCompletion,
    ServerTimings,
)
from tests.fake_server import FakeServer, Scripted

from .helpers import API_KEY, async_test, make_client

MESSAGES = [{"role": "user", "content": "Hi"}]


@async_test
async def test_plain_completion_is_parsed(fake_server: FakeServer) -> None:
    fake_server.script.append(Scripted(chunks=["Hel", "lo"], reasoning=["Think", "ing"]))
    async with make_client(fake_server) as client:
        completion = await client.chat.completions.create(model="m", messages=MESSAGES)
    assert isinstance(completion, ChatCompletion)
    assert completion.choices[0].message.content == "Hello"
    assert completion.choices[0].message.reasoning_content == "Thinking"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None and completion.usage.completion_tokens == 4
    request = fake_server.requests[0]
    assert request.method == "POST" and request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert request.headers["content-type"] == "application/json"
    assert request.json == {"model": "m", "messages": MESSAGES}


@async_test
async def test_unknown_params_pass_through_and_none_is_not_sent(fake_server: FakeServer) -> None:
    async with make_client(fake_server) as client:
        await client.chat.completions.create(
            model="m",
            messages=MESSAGES,
            temperature=0.2,
            top_k=40,
            min_p=0.05,
            repetition_penalty=1.05,
            perf_metrics_in_response=True,
            response_format={"type": "grammar", "grammar": 'root ::= "yes"'},
            max_tokens=None,
            seed=None,
        )
    body = fake_server.requests[0].json
    assert body["top_k"] == 40 and body["min_p"] == 0.05 and body["repetition_penalty"] == 1.05
    assert body["perf_metrics_in_response"] is True and body["temperature"] == 0.2
    assert body["response_format"] == {"type": "grammar", "grammar": 'root ::= "yes"'}
    assert "max_tokens" not in body and "seed" not in body and "stream" not in body


@async_test
async def test_extra_body_wins_and_may_send_null(fake_server: FakeServer) -> None:
    async with make_client(fake_server) as client:
        await client.chat.completions.create(
            model="m",
            messages=MESSAGES,
            temperature=1.0,
            extra_body={"temperature": 0.0, "user": None},
        )
    body = fake_server.requests[0].json
    assert body["temperature"] == 0.0 and body["user"] is None


@async_test
async def test_headers_default_extra_and_removed(fake_server: FakeServer) -> None:
    async with make_client(
        fake_server, default_headers={"x-session-affinity": "s1", "x-team": "a"}
    ) as client:
        await client.chat.completions.create(
            model="m", messages=MESSAGES, extra_headers={"x-team": "b", "x-session-affinity": None}
        )
    headers = fake_server.requests[0].headers
    assert headers["x-team"] == "b" and "x-session-affinity" not in headers
    assert headers["accept"] == "application/json"


@async_test
async def test_header_names_are_case_insensitive(fake_server: FakeServer) -> None:
    async with make_client(fake_server, default_headers={"X-Team": "a"}) as client:
        await client.chat.completions.create(
            model="m", messages=MESSAGES, extra_headers={"x-team": "b", "AUTHORIZATION": None}
        )
    headers = fake_server.requests[0].headers
    assert headers["x-team"] == "b" and "authorization" not in headers


@async_test
async def test_no_api_key_sends_no_authorization(fake_server: FakeServer) -> None:
    async with make_client(fake_server, api_key=None) as client:
        await client.chat.completions.create(model="m", messages=MESSAGES)
    assert "authorization" not in fake_server.requests[0].headers


@async_test
async def test_unknown_response_fields_are_kept(fake_server: FakeServer) -> None:
    body = {
        "id": "c1",
        "object": "chat.completion",
        "created": 1,
        "model": "m",
        "system_fingerprint": "fp_1",
        "timings": {"predicted_per_second": 40.0},
        "choices": [
            {
                "index": 0,
                "finish_reason": "eos_token",
                "message": {"role": "assistant", "content": "x", "annotations": []},
                "stop_reason": 2,
            }
        ],
        "usage": {"prompt_tokens": 3, "completion_tokens": None, "total_tokens": 3, "new": 1},
    }
    fake_server.script.append(Scripted(body=body))
    async with make_client(fake_server) as client:
        completion = await client.chat.completions.create(model="m", messages=MESSAGES)
    assert completion.model_extra == {
        "system_fingerprint": "fp_1",
        "timings": {"predicted_per_second": 40.0},
    }
    choice = completion.choices[0]
    assert choice.finish_reason == "eos_token"
    assert choice.model_extra == {"stop_reason": 2}
    assert choice.message.model_extra == {"annotations": []}
    assert completion.usage is not None and completion.usage.completion_tokens == 0
    assert completion.usage.model_extra == {"new": 1}
    # The llama.cpp `timings` body field does not shadow the server timings.
    assert isinstance(completion.timings, ServerTimings)


@async_test
async def test_tool_call_arguments_given_as_dict_become_json_text(fake_server: FakeServer) -> None:
    body = {
        "choices": [
            {
                "index": 0,
                "finish_reason": "tool_calls",
                "message": {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "a",
                            "type": "function",
                            "function": {"name": "f", "arguments": {"x": 1}},
                        },
                        {"id": "b", "function": "g"},
                    ],
                },
            }
        ]
    }
    fake_server.script.append(Scripted(body=body))
    async with make_client(fake_server) as client:
        completion = await client.chat.completions.create(model="m", messages=MESSAGES)
    calls = completion.choices[0].message.tool_calls
    assert calls is not None
    assert calls[0].function.arguments == '{"x": 1}'
    assert calls[1].function.name == "g" and calls[1].type == "function"


@async_test
async def test_timings_from_headers_and_perf_metrics(fake_server: FakeServer) -> None:
    fake_server.script.append(
        Scripted(
            headers={
                "x-request-id": "req-42",
                "fireworks-server-time-to-first-token": "0.41",
                "fireworks-server-processing-time": "1.5",
                "fireworks-prompt-tokens": "120",
                "fireworks-cached-prompt-tokens": "not-a-number",
            },
            perf_metrics={"cached-prompt-tokens": 96, "server-processing-time": 1.25},
        )
    )
    async with make_client(fake_server) as client:
        completion = await client.chat.completions.create(model="m", messages=MESSAGES)
    assert completion.timings == ServerTimings(
        request_id="req-42",
        server_time_to_first_token=0.41,
        server_processing_time=1.25,
        prompt_tokens=120,
        cached_prompt_tokens=96,
    )


@async_test
async def test_error_body_with_status_200_raises(fake_server: FakeServer) -> None:
    body = {"error": {"message": "context length exceeded", "type": "BadRequestError", "code": 400}}
    fake_server.script.append(Scripted(body=body))
    async with make_client(fake_server) as client:
        with pytest.raises(BadRequestError) as caught:
            await client.chat.completions.create(model="m", messages=MESSAGES)
    assert str(caught.value) == "400 Bad Request: context length exceeded"
    assert caught.value.status_code == 400


@async_test
async def test_malformed_success_body_raises_validation_error(fake_server: FakeServer) -> None:
    fake_server.script.append(Scripted(body={"choices": "nope"}))
    async with make_client(fake_server) as client:
        with pytest.raises(APIResponseValidationError) as caught:
            await client.chat.completions.create(model="m", messages=MESSAGES)
    assert "choices" in str(caught.value) and caught.value.status_code == 200


@async_test
async def test_per_model_base_url(fake_server: FakeServer) -> None:
    other = FakeServer().start()
    try:
        async with make_client(fake_server, model_base_urls={"special": other.url + "/"}) as client:
            await client.chat.completions.create(model="special", messages=MESSAGES)
            await client.chat.completions.create(model="plain", messages=MESSAGES)
        assert [r.json["model"] for r in other.requests] == ["special"]
        assert [r.json["model"] for r in fake_server.requests] == ["plain"]
    finally:
        other.stop()


@async_test
async def test_with_options_shares_the_pool(fake_server: FakeServer) -> None:
    client = make_client(fake_server)
    quick = client.with_options(timeout=1.0, max_retries=0)
    assert quick.http_client is client.http_client
    assert quick.max_retries == 0 and quick.timeout == 1.0 and client.max_retries == 2
    await quick.chat.completions.create(model="m", messages=MESSAGES)
    await quick.aclose()  # the copy does not own the pool
    open_after_copy_closed = not client.is_closed
    await client.chat.completions.create(model="m", messages=MESSAGES)
    await client.aclose()
    assert open_after_copy_closed and client.is_closed and quick.is_closed


@async_test
async def test_caller_supplied_http_client_is_not_closed(fake_server: FakeServer) -> None:
    async with httpx.AsyncClient() as http:
        async with AsyncClient(base_url=fake_server.url, http_client=http) as client:
            await client.chat.completions.create(model="m", messages=MESSAGES)
        assert not http.is_closed


def test_repr_hides_the_key() -> None:
    client = AsyncClient(base_url="http://127.0.0.1:9/v1", api_key=API_KEY)
    assert API_KEY not in repr(client)
    assert repr(client) == "AsyncClient(base_url='http://127.0.0.1:9/v1')"


@async_test
async def test_closed_client_refuses_requests(fake_server: FakeServer) -> None:
    client = make_client(fake_server)
    await client.aclose()
    assert client.is_closed
    with pytest.raises(RuntimeError, match="closed"):
        await client.chat.completions.create(model="m", messages=MESSAGES)
    assert fake_server.requests == []
