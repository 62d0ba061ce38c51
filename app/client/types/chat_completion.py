"""A complete (non-streamed, or assembled) chat completion."""

from __future__ import annotations

from typing import Any

import pydantic

from app.client._models import BaseModel
from app.client._timings import ServerTimings

from ._tool_call import arguments_as_text, function_as_object
from .completion_usage import CompletionUsage

__all__ = [
    "ChatCompletion",
    "ChatCompletionMessage",
    "ChatCompletionMessageToolCall",
    "Choice",
    "Function",
]


class Function(BaseModel):
    """The function a model wants called; ``arguments`` is a JSON string (parse it yourself)."""

    name: str = ""
    arguments: str = ""

    @pydantic.field_validator("arguments", mode="before")
    @classmethod
    def _arguments_as_text(cls, value: Any) -> Any:
        return "" if value is None else arguments_as_text(value)


class ChatCompletionMessageToolCall(BaseModel):
    """One tool call of an assistant message."""

    id: str = ""
    type: str = "function"
    function: Function = pydantic.Field(default_factory=Function)

    @pydantic.model_validator(mode="before")
    @classmethod
    def _function_as_object(cls, data: Any) -> Any:
        return function_as_object(data)


class ChatCompletionMessage(BaseModel):
    """The assistant message of one choice."""

    role: str = "assistant"
    content: str | None = None
    reasoning_content: str | None = None
    refusal: str | None = None
    tool_calls: list[ChatCompletionMessageToolCall] | None = None


class Choice(BaseModel):
    """One alternative of a completion; ``finish_reason`` is free text (providers add values)."""

    index: int = 0
    message: ChatCompletionMessage = pydantic.Field(default_factory=ChatCompletionMessage)
    finish_reason: str | None = None
    logprobs: Any = None


class ChatCompletion(BaseModel):
    """Response of ``POST /chat/completions`` (or a stream assembled into one).

    ``perf_metrics`` is present when the request asked for it (Fireworks
    ``perf_metrics_in_response``); :attr:`timings` merges it with the response headers.
    """

    id: str = ""
    object: str = "chat.completion"
    created: int = 0
    model: str = ""
    choices: list[Choice] = pydantic.Field(default_factory=list)
    usage: CompletionUsage | None = None
    perf_metrics: dict[str, Any] | None = None

    _timings: ServerTimings | None = pydantic.PrivateAttr(default=None)

    @property
    def timings(self) -> ServerTimings:
        """Server timings from the response headers and ``perf_metrics``."""
        if self._timings is None:
            self._timings = ServerTimings.from_sources(None, self.perf_metrics)
        return self._timings
