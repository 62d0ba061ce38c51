"""One chat request against one target, told as a sequence of events.

A run never touches Qt: a presenter iterates it and turns the events into signals. Cancelling the
task that iterates it closes the HTTP stream; whatever text arrived before stays with the caller.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from app.client import FireplayError
from app.domain.metrics import MetricsRecorder, RunMetrics

if TYPE_CHECKING:
    from app.client import AsyncClient

__all__ = [
    "Failed",
    "Finished",
    "ReasoningDelta",
    "RunEvent",
    "Started",
    "TextDelta",
    "stream_chat",
]


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
class Finished:
    """The answer is complete."""

    metrics: RunMetrics


@dataclass(frozen=True, slots=True)
class Failed:
    """The run ended with an error; text received before it stays valid."""

    message: str
    metrics: RunMetrics


RunEvent = Started | TextDelta | ReasoningDelta | Finished | Failed
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
                for choice in chunk.choices:
                    delta = choice.delta
                    reasoning = getattr(delta, "reasoning_content", None)
                    if reasoning:
                        recorder.token(clock())
                        yield ReasoningDelta(reasoning)
                    if delta.content:
                        recorder.token(clock())
                        yield TextDelta(delta.content)
                    finish_reason = choice.finish_reason or finish_reason
            timings = stream.timings
            recorder.server(
                request_id=timings.request_id,
                time_to_first_token=timings.server_time_to_first_token,
                prompt_tokens=timings.prompt_tokens,
                cached_prompt_tokens=timings.cached_prompt_tokens,
            )
    except FireplayError as error:
        yield Failed(str(error), _priced(recorder.summary(clock()), estimate_cost))
        return
    metrics = recorder.summary(clock(), finish_reason=finish_reason)
    yield Finished(_priced(metrics, estimate_cost))


def _priced(metrics: RunMetrics, estimate_cost: CostEstimator | None) -> RunMetrics:
    return metrics.with_cost(estimate_cost(metrics)) if estimate_cost else metrics
