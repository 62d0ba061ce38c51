"""One request against one target, told as a sequence of events.

A run never touches Qt: a presenter iterates it and turns the events into signals. Cancelling the
task that iterates it closes the HTTP stream; whatever arrived before stays with the caller.
Streaming chat (:func:`stream_chat`) and one-shot endpoints such as embeddings or transcriptions
(:func:`run_once`) tell the same story: ``Started``, what arrived, then ``Finished`` or
``Failed`` with the run's metrics.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from app.client import FireplayError
from app.domain.metrics import MetricsRecorder, RunMetrics

if TYPE_CHECKING:
    from app.client import AsyncClient

__all__ = [
    "Failed",
    "Finished",
    "ReasoningDelta",
    "Result",
    "RunEvent",
    "Started",
    "TextDelta",
    "ToolCall",
    "ToolCallDelta",
    "ToolCallsReady",
    "UsageReported",
    "run_once",
    "stream_chat",
]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Started:
    """The request was sent."""


@dataclass(frozen=True, slots=True)
class TextDelta:
    """A piece of the answer."""

    text: str


@dataclass(frozen=True, slots=True)
class ReasoningDelta:
    """A piece of the model's separated reasoning (``reasoning_content``)."""

    text: str


@dataclass(frozen=True, slots=True)
class ToolCallDelta:
    """A piece of tool call ``index``: its id and name when they first arrive, then arguments."""

    index: int
    id: str | None
    name: str | None
    arguments: str


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A complete tool call as the model made it (``arguments`` is JSON text, not yet parsed)."""

    index: int
    id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class ToolCallsReady:
    """The stream ended with these tool calls complete, in index order."""

    calls: tuple[ToolCall, ...]


@dataclass(frozen=True, slots=True)
class UsageReported:
    """The server said how many tokens the request used (sent once, near the end)."""

    prompt_tokens: int | None
    completion_tokens: int | None


@dataclass(frozen=True, slots=True)
class Result(Generic[T]):
    """What a one-shot request returned (an embeddings list, a transcription...)."""

    value: T


@dataclass(frozen=True, slots=True)
class Finished:
    """The answer is complete."""

    metrics: RunMetrics


@dataclass(frozen=True, slots=True)
class Failed:
    """The run ended with an error; text received before it stays valid.

    ``status`` is the HTTP status when the server answered with an error (None otherwise).
    """

    message: str
    metrics: RunMetrics
    status: int | None = None


RunEvent = (
    Started
    | TextDelta
    | ReasoningDelta
    | ToolCallDelta
    | ToolCallsReady
    | UsageReported
    | Result[Any]
    | Finished
    | Failed
)
CostEstimator = Callable[[RunMetrics], float | None]


async def stream_chat(
    client: AsyncClient,
    *,
    model: str,
    messages: list[dict[str, Any]],
    params: dict[str, Any],
    extra_body: dict[str, Any] | None = None,
    estimate_cost: CostEstimator | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> AsyncGenerator[RunEvent, None]:
    """Stream one chat completion and yield what happens, ending with ``Finished`` or ``Failed``.

    Only :class:`FireplayError` becomes ``Failed``: anything else is a bug and propagates.
    """
    recorder = MetricsRecorder(clock())
    yield Started()
    finish_reason: str | None = None
    calls: dict[int, list[str]] = {}  # index -> [id, name, arguments]
    try:
        stream = await client.chat.completions.create(
            model=model,
            messages=messages,
            stream=True,
            stream_options={"include_usage": True},
            extra_body=extra_body,
            **params,
        )
        async with stream:
            async for chunk in stream:
                if chunk.usage is not None:
                    recorder.usage(chunk.usage.model_dump())
                    yield UsageReported(chunk.usage.prompt_tokens, chunk.usage.completion_tokens)
                for choice in chunk.choices:
                    delta = choice.delta
                    reasoning = getattr(delta, "reasoning_content", None)
                    if reasoning:
                        recorder.token(clock())
                        yield ReasoningDelta(reasoning)
                    if delta.content:
                        recorder.token(clock())
                        yield TextDelta(delta.content)
                    for part in delta.tool_calls or ():
                        recorder.token(clock())
                        yield _tool_call_delta(part, calls)
                    finish_reason = choice.finish_reason or finish_reason
            timings = stream.timings
            recorder.server(
                request_id=timings.request_id,
                time_to_first_token=timings.server_time_to_first_token,
                prompt_tokens=timings.prompt_tokens,
                cached_prompt_tokens=timings.cached_prompt_tokens,
            )
    except FireplayError as error:
        yield Failed(
            str(error),
            _priced(recorder.summary(clock()), estimate_cost),
            getattr(error, "status_code", None),
        )
        return
    if calls:
        yield ToolCallsReady(tuple(ToolCall(i, *calls[i]) for i in sorted(calls)))
    metrics = recorder.summary(clock(), finish_reason=finish_reason)
    yield Finished(_priced(metrics, estimate_cost))


async def run_once(
    request: Callable[[], Awaitable[T]],
    *,
    measure: Callable[[T, RunMetrics], RunMetrics] | None = None,
    estimate_cost: CostEstimator | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> AsyncGenerator[RunEvent, None]:
    """Make one non-streaming request and tell it as ``Started``, ``Result``, ``Finished``.

    Args:
        request: Makes the request (e.g. ``lambda: client.embeddings.create(...)``).
        measure: Adds what the answer says to the timing (usage, audio seconds, ...).
        estimate_cost: Prices the measured run.
        clock: Seconds, for the total time.
    """
    started = clock()
    yield Started()
    try:
        value = await request()
    except FireplayError as error:
        yield Failed(
            str(error), RunMetrics(total_s=clock() - started), getattr(error, "status_code", None)
        )
        return
    metrics = RunMetrics(total_s=clock() - started)
    if measure is not None:
        metrics = measure(value, metrics)
    yield Result(value)
    yield Finished(_priced(metrics, estimate_cost))


def _tool_call_delta(part: Any, calls: dict[int, list[str]]) -> ToolCallDelta:
    # Servers that omit the index send one call per chunk: a new id opens the next one.
    index = part.index
    if index is None:
        last = max(calls, default=-1)
        known_id = calls[last][0] if last >= 0 else None
        index = last + 1 if last < 0 or (part.id and part.id != known_id) else last
    call = calls.setdefault(index, ["", "", ""])
    function = part.function
    name = function.name if function is not None else None
    arguments = (function.arguments if function is not None else None) or ""
    if part.id and not call[0]:
        call[0] = part.id
    if name and not call[1]:
        call[1] = name
    call[2] += arguments
    return ToolCallDelta(index, part.id or None, name, arguments)


def _priced(metrics: RunMetrics, estimate_cost: CostEstimator | None) -> RunMetrics:
    return metrics.with_cost(estimate_cost(metrics)) if estimate_cost else metrics
