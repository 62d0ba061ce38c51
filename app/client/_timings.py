"""Server-side timings a provider reports in response headers and in the body's ``perf_metrics``."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import httpx
import pydantic

__all__ = ["ServerTimings"]

_HEADER_FIELDS: tuple[tuple[str, str], ...] = (
    ("server_time_to_first_token", "fireworks-server-time-to-first-token"),
    ("server_processing_time", "fireworks-server-processing-time"),
    ("prompt_tokens", "fireworks-prompt-tokens"),
    ("cached_prompt_tokens", "fireworks-cached-prompt-tokens"),
)
_PERF_FIELDS: tuple[tuple[str, str], ...] = (
    ("server_time_to_first_token", "server-time-to-first-token"),
    ("server_processing_time", "server-processing-time"),
    ("prompt_tokens", "prompt-tokens"),
    ("cached_prompt_tokens", "cached-prompt-tokens"),
)


class ServerTimings(pydantic.BaseModel):
    """What the server says about one request; every field is ``None`` when not reported.

    Attributes:
        request_id: ``x-request-id`` response header.
        server_time_to_first_token: Seconds from request arrival to first token, server side.
        server_processing_time: Seconds the server spent on the whole request.
        prompt_tokens: Prompt tokens as counted by the server.
        cached_prompt_tokens: Prompt tokens served from the prompt cache.
    """

    model_config = pydantic.ConfigDict(frozen=True)

    request_id: str | None = None
    server_time_to_first_token: float | None = None
    server_processing_time: float | None = None
    prompt_tokens: int | None = None
    cached_prompt_tokens: int | None = None

    @classmethod
    def from_sources(
        cls,
        headers: httpx.Headers | Mapping[str, str] | None = None,
        perf_metrics: Mapping[str, Any] | None = None,
    ) -> ServerTimings:
        """Merge response headers with a body ``perf_metrics`` object (the body wins on conflict).

        Values that do not parse as numbers are ignored rather than failing the response.

        Args:
            headers: Response headers (``fireworks-*`` timing headers and ``x-request-id``).
            perf_metrics: The hyphenated ``perf_metrics`` object of a response or final chunk.

        Returns:
            The merged timings.
        """
        values: dict[str, Any] = {}
        if headers is not None:
            lowered = headers if isinstance(headers, httpx.Headers) else httpx.Headers(headers)
            request_id = lowered.get("x-request-id")
            if request_id:
                values["request_id"] = request_id
            for field, header in _HEADER_FIELDS:
                _put_number(values, field, lowered.get(header))
        if perf_metrics:
            for field, key in _PERF_FIELDS:
                _put_number(values, field, perf_metrics.get(key))
        return cls(**values)


def _put_number(values: dict[str, Any], field: str, raw: object) -> None:
    if raw is None or isinstance(raw, bool):
        return
    try:
        number = float(raw) if isinstance(raw, str) else raw
    except ValueError:
        return
    if not isinstance(number, int | float) or not math.isfinite(number):
        return
    values[field] = int(number) if field.endswith("tokens") else float(number)
