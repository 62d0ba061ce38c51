"""Runs told as events: streamed chat with tool calls and usage, and one-shot requests."""

from __future__ import annotations

from typing import Any

from app.domain.metrics import RunMetrics
from app.domain.run import (
    Failed,
    Finished,
    Result,
    RunEvent,
    Started,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    ToolCallsReady,
    UsageReported,
    run_once,
    stream_chat,
)
from tests.fake_server import FakeServer, Scripted, openai_error
from tests.unit.client.helpers import async_test, make_client

MESSAGES = [{"role": "user", "content": "Weather in Paris and Rome?"}]


async def _events(run: Any) -> list[RunEvent]:
    return [event async for event in run]


def _weather_call(index: int, call_id: str, city: str) -> list[list[dict[str, Any]]]:
    opening = {"index": index, "id": call_id, "type": "function"}
    opening["function"] = {"name": "get_weather", "arguments": ""}
    return [
        [opening],
        [{"index": index, "function": {"arguments": '{"city": '}}],
        [{"index": index, "function": {"arguments": f'"{city}"}}'}}],
    ]


@async_test
async def test_tool_calls_stream_as_deltas_then_arrive_complete(fake_server: FakeServer) -> None:
    fake_server.script.append(
        Scripted(
            tool_calls=_weather_call(0, "call_a", "Paris") + _weather_call(1, "call_b", "Rome"),
            finish_reason="tool_calls",
        )
    )
    async with make_client(fake_server) as client:
        events = await _events(stream_chat(client, model="m", messages=MESSAGES, params={}))
    deltas = [e for e in events if isinstance(e, ToolCallDelta)]
    assert [(d.index, d.id, d.name) for d in deltas[:2]] == [
        (0, "call_a", "get_weather"),
        (0, None, None),
    ]
    assert "".join(d.arguments for d in deltas if d.index == 1) == '{"city": "Rome"}'
    ready = next(e for e in events if isinstance(e, ToolCallsReady))
    assert ready.calls == (
        ToolCall(0, "call_a", "get_weather", '{"city": "Paris"}'),
        ToolCall(1, "call_b", "get_weather", '{"city": "Rome"}'),
    )
    assert isinstance(events[0], Started) and isinstance(events[-1], Finished)
    assert events[-1].metrics.finish_reason == "tool_calls"
    assert events.index(ready) == len(events) - 2


@async_test
async def test_usage_is_an_event_and_a_metric(fake_server: FakeServer) -> None:
    fake_server.script.append(Scripted(chunks=["a", "b", "c"]))
    async with make_client(fake_server) as client:
        events = await _events(stream_chat(client, model="m", messages=MESSAGES, params={}))
    usage = [e for e in events if isinstance(e, UsageReported)]
    finished = events[-1]
    assert isinstance(finished, Finished) and len(usage) == 1
    assert usage[0].completion_tokens == finished.metrics.completion_tokens == 3
    assert usage[0].prompt_tokens == finished.metrics.prompt_tokens
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "abc"
    assert not any(isinstance(e, ToolCallsReady) for e in events)


@async_test
async def test_a_one_shot_run_yields_its_result_with_measured_and_priced_metrics(
    fake_server: FakeServer,
) -> None:
    def measure(value: Any, metrics: RunMetrics) -> RunMetrics:
        return RunMetrics(total_s=metrics.total_s, prompt_tokens=value.usage.prompt_tokens)

    async with make_client(fake_server) as client:
        events = await _events(
            run_once(
                lambda: client.embeddings.create(model="e", input=["one two", "three"]),
                measure=measure,
                estimate_cost=lambda m: (m.prompt_tokens or 0) * 0.5,
            )
        )
    started, result, finished = events
    assert isinstance(started, Started) and isinstance(result, Result)
    assert [item.index for item in result.value.data] == [0, 1]
    assert isinstance(finished, Finished)
    assert finished.metrics.prompt_tokens == 3 and finished.metrics.cost_usd == 1.5
    assert finished.metrics.total_s is not None and finished.metrics.total_s >= 0


@async_test
async def test_a_one_shot_run_that_fails_says_why_and_how_long_it_took(
    fake_server: FakeServer,
) -> None:
    fake_server.script.append(
        Scripted(status=400, body=openai_error("model is not an embedding model", "invalid"))
    )
    async with make_client(fake_server, max_retries=0) as client:
        events = await _events(run_once(lambda: client.embeddings.create(model="m", input="x")))
    assert isinstance(events[0], Started) and len(events) == 2
    failed = events[1]
    assert isinstance(failed, Failed)
    assert "400" in failed.message and "not an embedding model" in failed.message
    assert failed.metrics.total_s is not None
