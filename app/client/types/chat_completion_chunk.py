"""One event of a streamed chat completion.

Every field has a default so that provider variants (usage-only chunks with ``choices: []``,
chunks without ``id``) validate; unknown fields are kept.
"""

from __future__ import annotations

from typing import Annotated, Any, Self

import pydantic
from pydantic_core import core_schema

from app.client._models import BaseModel

from ._tool_call import arguments_as_text, function_as_object
from .completion_usage import CompletionUsage

__all__ = [
    "ChatCompletionChunk",
    "ChoiceDelta",
    "ChoiceDeltaToolCall",
    "ChoiceDeltaToolCallFunction",
    "ChunkChoice",
]


class ChoiceDeltaToolCallFunction(BaseModel):
    """A fragment of a function call: ``name`` comes once, ``arguments`` in pieces."""

    name: str | None = None
    arguments: str | None = None

    _whole_arguments: bool = pydantic.PrivateAttr(default=False)

    @pydantic.model_validator(mode="wrap")
    @classmethod
    def _arguments_as_text(
        cls, data: Any, handler: pydantic.ModelWrapValidatorHandler[Self]
    ) -> Self:
        arguments = data.get("arguments") if isinstance(data, dict) else None
        if not isinstance(arguments, dict | list):
            return handler(data)
        model = handler({**data, "arguments": arguments_as_text(arguments)})
        model._whole_arguments = True
        return model

    @property
    def whole_arguments(self) -> bool:
        """Whether ``arguments`` arrived as a JSON object: a complete value, not a fragment."""
        return self._whole_arguments


class ChoiceDeltaToolCall(BaseModel):
    """A fragment of a tool call, keyed by ``index`` (``id`` may be missing, repeated or ``""``)."""

    index: int | None = None
    id: str | None = None
    type: str | None = None
    function: ChoiceDeltaToolCallFunction | None = None

    @pydantic.model_validator(mode="before")
    @classmethod
    def _function_as_object(cls, data: Any) -> Any:
        return function_as_object(data)


class ChoiceDelta(BaseModel):
    """What one chunk adds to a choice."""

    role: str | None = None
    content: str | None = None
    reasoning_content: str | None = None
    refusal: str | None = None
    tool_calls: list[ChoiceDeltaToolCall] | None = None


class _NullAsEmpty:
    """Reads ``null`` as an empty model: some servers send ``"delta": null`` on the last chunk.

    A union tried left to right, rather than a before-validator, keeps the usual object off
    any Python call: only a ``null`` reaches the function that builds the empty model.
    """

    def __get_pydantic_core_schema__(
        self, source: type[BaseModel], handler: pydantic.GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.union_schema(
            [
                handler(source),
                core_schema.no_info_after_validator_function(
                    lambda _: source(), core_schema.none_schema()
                ),
            ],
            mode="left_to_right",
        )


class ChunkChoice(BaseModel):
    """The part of one chunk that belongs to choice ``index``.

    A ``null`` ``delta`` reads as an empty one.
    """

    index: int = 0
    delta: Annotated[ChoiceDelta, _NullAsEmpty()] = pydantic.Field(default_factory=ChoiceDelta)
    finish_reason: str | None = None
    logprobs: Any = None


class ChatCompletionChunk(BaseModel):
    """One ``data:`` event of a chat completion stream."""

    id: str = ""
    object: str = "chat.completion.chunk"
    created: int = 0
    model: str = ""
    choices: list[ChunkChoice] = pydantic.Field(default_factory=list)
    usage: CompletionUsage | None = None
    perf_metrics: dict[str, Any] | None = None
