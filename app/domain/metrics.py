"""Honest per-run measurements: what was measured, what the server reported, what is estimated."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

__all__ = ["MetricsRecorder", "RunMetrics", "combined"]


@dataclass(frozen=True, slots=True)
class RunMetrics:
    """Measurements of one run. ``None`` means unknown, never zero.

    Attributes:
        ttft_s: client-side time from sending the request to the first content token.
        server_ttft_s: the server's own time to first token, when it reports one.
        decode_tokens_per_s: output tokens per second between the first and the last token,
            so that prefill time does not dilute it.
        tokens_estimated: token counts were counted from stream chunks because the server sent
            no ``usage``.
        cost_usd: estimated from catalog prices; always an estimate.
        audio_s: seconds of audio sent (transcription and translation runs).
        image_count: images sent with the request.
        valid_json_s: time from sending the request until the output was complete, valid JSON
            (structured output runs).
        dimensions: length of the vectors returned (embeddings runs).
        vector_norm: mean Euclidean norm of those vectors (1.0 when the server normalises them).
    """

    total_s: float | None = None
    ttft_s: float | None = None
    server_ttft_s: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cached_tokens: int | None = None
    tokens_estimated: bool = False
    decode_tokens_per_s: float | None = None
    cost_usd: float | None = None
    finish_reason: str | None = None
    request_id: str | None = None
    audio_s: float | None = None
    image_count: int | None = None
    valid_json_s: float | None = None
    dimensions: int | None = None
    vector_norm: float | None = None

    def with_cost(self, cost_usd: float | None) -> RunMetrics:
        """Return a copy carrying an estimated cost."""
        return replace(self, cost_usd=cost_usd)


class MetricsRecorder:
    """Collects timestamps and server figures while a run streams, then summarises them.

    Timestamps come from the caller's clock so tests can drive time explicitly.
    """

    def __init__(self, started_at: float) -> None:
        self._started_at = started_at
        self._first_token_at: float | None = None
        self._last_token_at: float | None = None
        self._token_chunks = 0
        self._usage: dict[str, Any] | None = None
        self._server_ttft_s: float | None = None
        self._server_prompt_tokens: int | None = None
        self._server_cached_tokens: int | None = None
        self._request_id: str | None = None

    def token(self, now: float) -> None:
        """Record that a chunk with generated text (content or reasoning) arrived at ``now``."""
        if self._first_token_at is None:
            self._first_token_at = now
        self._last_token_at = now
        self._token_chunks += 1

    def usage(self, usage: dict[str, Any] | None) -> None:
        """Record the server's ``usage`` object."""
        if usage:
            self._usage = usage

    def server(
        self,
        *,
        request_id: str | None = None,
        time_to_first_token: float | None = None,
        prompt_tokens: int | None = None,
        cached_prompt_tokens: int | None = None,
    ) -> None:
        """Record what the server said about its own timing (headers or ``perf_metrics``)."""
        self._request_id = request_id or self._request_id
        if time_to_first_token is not None:
            self._server_ttft_s = time_to_first_token
        if prompt_tokens is not None:
            self._server_prompt_tokens = prompt_tokens
        if cached_prompt_tokens is not None:
            self._server_cached_tokens = cached_prompt_tokens

    def summary(self, now: float, *, finish_reason: str | None = None) -> RunMetrics:
        """Summarise the run as of ``now``."""
        usage = self._usage or {}
        completion = usage.get("completion_tokens")
        prompt = usage.get("prompt_tokens", self._server_prompt_tokens)
        details = usage.get("prompt_tokens_details") or {}
        cached = details.get("cached_tokens", self._server_cached_tokens)
        estimated = completion is None and self._token_chunks > 0
        if estimated:
            # One streamed chunk carries about one token on every server we know.
            completion = self._token_chunks
        return RunMetrics(
            total_s=now - self._started_at,
            ttft_s=None
            if self._first_token_at is None
            else self._first_token_at - self._started_at,
            server_ttft_s=self._server_ttft_s,
            prompt_tokens=prompt,
            completion_tokens=completion,
            cached_tokens=cached,
            tokens_estimated=estimated,
            decode_tokens_per_s=self._decode_rate(completion),
            finish_reason=finish_reason,
            request_id=self._request_id,
        )

    def _decode_rate(self, completion_tokens: int | None) -> float | None:
        if self._first_token_at is None or self._last_token_at is None or not completion_tokens:
            return None
        span = self._last_token_at - self._first_token_at
        if completion_tokens < 2 or span <= 0:
            return None
        # The first token closes the prefill; the rate covers the tokens that followed it.
        return (completion_tokens - 1) / span


def _sum(values: list[Any]) -> Any:
    # Unknown in any part makes the whole unknown: a total that silently skipped a step lies.
    return None if not values or any(v is None for v in values) else sum(values)


def combined(runs: list[RunMetrics]) -> RunMetrics | None:
    """The figures of several requests that answered one input (the steps of a tool loop).

    Times, tokens and cost add up; TTFT is the first request's (when the user first saw
    something); tok/s is output tokens over the summed decode time; ``finish_reason`` is the
    last request's.
    """
    if not runs:
        return None
    if len(runs) == 1:
        return runs[0]
    decode_s = [
        r.completion_tokens / r.decode_tokens_per_s
        for r in runs
        if r.completion_tokens and r.decode_tokens_per_s
    ]
    completion = _sum([r.completion_tokens for r in runs])
    return RunMetrics(
        total_s=_sum([r.total_s for r in runs]),
        ttft_s=runs[0].ttft_s,
        server_ttft_s=runs[0].server_ttft_s,
        prompt_tokens=_sum([r.prompt_tokens for r in runs]),
        completion_tokens=completion,
        cached_tokens=_sum([r.cached_tokens for r in runs]),
        tokens_estimated=any(r.tokens_estimated for r in runs),
        decode_tokens_per_s=completion / sum(decode_s) if completion and decode_s else None,
        cost_usd=_sum([r.cost_usd for r in runs]),
        finish_reason=runs[-1].finish_reason,
        request_id=runs[-1].request_id,
    )
