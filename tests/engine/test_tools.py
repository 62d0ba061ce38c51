"""Tool calls in every tool_choice mode, streamed deltas, and a two-turn conversation."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import jsonschema
import pytest

from tests.engine.helpers import CHAT_MODEL

pytestmark = pytest.mark.engine

WEATHER = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "minLength": 1},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
    },
    "required": ["city"],
    "additionalProperties": False,
}
TIME = {
    "type": "object",
    "properties": {"timezone": {"type": "string"}, "hour24": {"type": "boolean"}},
    "required": ["timezone", "hour24"],
}
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Get the current weather for a city",
            "parameters": WEATHER,
        },
    },
    {
        "type": "function",
        "function": {
            "name": "get_time",
            "description": "Get the current time in a timezone",
            "parameters": TIME,
        },
    },
]
SCHEMAS = {"get_weather": WEATHER, "get_time": TIME}
ASK = [{"role": "user", "content": "What's the weather in Paris?"}]
# One earlier exchange shows the model what a call looks like (few-shot), as a real
# conversation would after its first tool round.
HISTORY = [
    {"role": "user", "content": "What's the weather in Rome?"},
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_rome",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "Rome"}'},
            }
        ],
    },
    {"role": "tool", "tool_call_id": "call_rome", "content": '{"temperature_c": 22}'},
    {"role": "assistant", "content": "It is 22 °C in Rome."},
]


def _check_calls(calls: list[Any]) -> None:
    assert calls
    for call in calls:
        assert call.type == "function" and call.id.startswith("call_")
        jsonschema.validate(json.loads(call.function.arguments), SCHEMAS[call.function.name])


def test_tool_choice_none_answers_in_text(client: Any) -> None:
    result = client.chat.completions.create(
        model=CHAT_MODEL, messages=ASK, tools=TOOLS, tool_choice="none", max_tokens=40
    )
    message = result.choices[0].message
    assert not message.tool_calls and message.content
    assert result.choices[0].finish_reason in ("stop", "length")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_tool_choice_required_calls_a_tool(client: Any, seed: int) -> None:
    result = client.chat.completions.create(
        model=CHAT_MODEL,
        messages=ASK,
        tools=TOOLS,
        tool_choice="required",
        temperature=1.0,
        seed=seed,
    )
    choice = result.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    _check_calls(choice.message.tool_calls)


def test_a_named_tool_choice_calls_that_tool(client: Any) -> None:
    result = client.chat.completions.create(
        model=CHAT_MODEL,
        messages=ASK,
        tools=TOOLS,
        tool_choice={"type": "function", "function": {"name": "get_time"}},
        temperature=0.8,
        seed=4,
    )
    calls = result.choices[0].message.tool_calls
    assert [c.function.name for c in calls] == ["get_time"]
    _check_calls(calls)


def test_tool_choice_auto_lets_the_model_decide(client: Any) -> None:
    called = 0
    for seed in range(4):
        result = client.chat.completions.create(
            model=CHAT_MODEL,
            messages=[*HISTORY, {"role": "user", "content": "What's the weather in Oslo?"}],
            tools=TOOLS,
            tool_choice="auto",
            temperature=0.5,
            seed=seed,
            max_tokens=60,
        )
        choice = result.choices[0]
        if choice.message.tool_calls:
            called += 1
            assert choice.finish_reason == "tool_calls"
            _check_calls(choice.message.tool_calls)
        else:
            assert choice.message.content
    assert called >= 1


def test_tool_call_streams_as_proper_deltas(http: Any, openapi: Callable[[str, Any], None]) -> None:
    payload = {
        "model": CHAT_MODEL,
        "messages": ASK,
        "tools": TOOLS,
        "tool_choice": "required",
        "stream": True,
    }
    with http.stream("POST", "/chat/completions", json=payload) as response:
        assert response.status_code == 200
        lines = [ln[6:] for ln in response.iter_lines() if ln.startswith("data: ")]
    assert lines[-1] == "[DONE]"
    chunks = [json.loads(line) for line in lines[:-1]]
    for chunk in chunks:
        openapi("CreateChatCompletionStreamResponse", chunk)
    deltas = [c["choices"][0]["delta"] for c in chunks]
    fragments = [t for d in deltas for t in d.get("tool_calls", [])]
    first = fragments[0]
    assert first["index"] == 0 and first["id"].startswith("call_")
    assert first["type"] == "function" and first["function"]["name"] in SCHEMAS
    # id, type and name come once; later fragments carry only the index and arguments.
    assert all(set(f) == {"index", "function"} for f in fragments[1:])
    assert all(set(f["function"]) == {"arguments"} for f in fragments[1:])
    arguments = "".join(f["function"]["arguments"] for f in fragments)
    jsonschema.validate(json.loads(arguments), SCHEMAS[first["function"]["name"]])
    assert len(fragments) > 2
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"


def test_sdk_assembles_a_streamed_tool_call(client: Any) -> None:
    with client.chat.completions.stream(
        model=CHAT_MODEL, messages=ASK, tools=TOOLS, tool_choice="required"
    ) as stream:
        final = stream.get_final_completion()
    _check_calls(final.choices[0].message.tool_calls)


def test_two_turn_conversation_reads_the_tool_result(client: Any) -> None:
    first = client.chat.completions.create(
        model=CHAT_MODEL,
        messages=ASK,
        tools=TOOLS,
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
        temperature=0,
    )
    call = first.choices[0].message.tool_calls[0]
    _check_calls([call])

    def answer(result: str) -> Any:
        return client.chat.completions.create(
            model=CHAT_MODEL,
            messages=[
                *ASK,
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": call.id,
                            "type": "function",
                            "function": {
                                "name": call.function.name,
                                "arguments": call.function.arguments,
                            },
                        }
                    ],
                },
                {"role": "tool", "tool_call_id": call.id, "content": result},
            ],
            tools=TOOLS,
            tool_choice="none",
            temperature=0,
            max_tokens=60,
        )

    short = answer('{"temperature_c": 31}')
    long = answer('{"temperature_c": -4, "sky": "snowing", "wind_kmh": 40, "humidity": 0.9}')
    # The result is in the prompt: it grows with it. Whether the answer quotes it is the
    # weights' business (bench/engine.py --tool-eval); a plain text answer is the engine's.
    assert long.usage.prompt_tokens > short.usage.prompt_tokens
    for reply in (short, long):
        choice = reply.choices[0]
        assert choice.finish_reason in ("stop", "length") and not choice.message.tool_calls
        assert choice.message.content is not None


def test_unknown_named_tool_is_400(client: Any) -> None:
    import openai

    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(
            model=CHAT_MODEL,
            messages=ASK,
            tools=TOOLS,
            tool_choice={"type": "function", "function": {"name": "nope"}},
        )
