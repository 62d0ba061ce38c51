"""Token usage reported with a chat completion (and on the finish or last chunk of a stream)."""

from __future__ import annotations

from typing import Any

import pydantic

from app.client._models import BaseModel

__all__ = ["CompletionTokensDetails", "CompletionUsage", "PromptTokensDetails"]


class PromptTokensDetails(BaseModel):
    """Breakdown of prompt tokens; ``cached_tokens`` counts prompt-cache hits."""

    cached_tokens: int | None = None


class CompletionTokensDetails(BaseModel):
    """Breakdown of generated tokens; ``reasoning_tokens`` counts hidden reasoning."""

    reasoning_tokens: int | None = None


class CompletionUsage(BaseModel):
    """Token counts of one request; missing or ``null`` counts read as 0."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    prompt_tokens_details: PromptTokensDetails | None = None
    completion_tokens_details: CompletionTokensDetails | None = None

    @pydantic.field_validator("prompt_tokens", "completion_tokens", "total_tokens", mode="before")
    @classmethod
    def _null_is_zero(cls, value: Any) -> Any:
        return 0 if value is None else value
