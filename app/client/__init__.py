"""Qt-free async client for OpenAI-compatible inference APIs (Fireworks, OpenAI, local servers).

Shaped like the openai SDK, built on httpx and pydantic::

    async with AsyncClient(base_url=..., api_key=...) as client:
        stream = await client.chat.completions.create(model=..., messages=[...], stream=True)
        async with stream:
            async for chunk in stream:
                ...
        completion = await stream.get_final_completion()
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# The exceptions are light and imported eagerly: presenters catch them. Everything else pulls in
# httpx and pydantic models, so it loads on first use, after the window has painted.
from ._exceptions import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    FireplayError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    StreamError,
    UnprocessableEntityError,
)

if TYPE_CHECKING:
    from ._client import AsyncClient
    from ._constants import DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT
    from ._streaming import AsyncStream
    from ._timings import ServerTimings
    from ._trace import Exchange, Trace, tracing
    from ._types import NOT_GIVEN, FileTypes, NotGiven
    from .types import (
        ChatCompletion,
        ChatCompletionChunk,
        ChatCompletionMessage,
        ChatCompletionMessageToolCall,
        CompletionUsage,
        CreateEmbeddingResponse,
        Embedding,
        FireworksModel,
        Model,
        ModelPage,
        Transcription,
    )

_LAZY = {
    "AsyncClient": "._client",
    "DEFAULT_MAX_RETRIES": "._constants",
    "DEFAULT_TIMEOUT": "._constants",
    "AsyncStream": "._streaming",
    "ServerTimings": "._timings",
    "Exchange": "._trace",
    "Trace": "._trace",
    "tracing": "._trace",
    "NOT_GIVEN": "._types",
    "FileTypes": "._types",
    "NotGiven": "._types",
    **dict.fromkeys(
        (
            "ChatCompletion",
            "ChatCompletionChunk",
            "ChatCompletionMessage",
            "ChatCompletionMessageToolCall",
            "CompletionUsage",
            "CreateEmbeddingResponse",
            "Embedding",
            "FireworksModel",
            "Model",
            "ModelPage",
            "Transcription",
        ),
        ".types",
    ),
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


__all__ = [
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
    "NOT_GIVEN",
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncClient",
    "AsyncStream",
    "AuthenticationError",
    "BadRequestError",
    "ChatCompletion",
    "ChatCompletionChunk",
    "ChatCompletionMessage",
    "ChatCompletionMessageToolCall",
    "CompletionUsage",
    "ConflictError",
    "CreateEmbeddingResponse",
    "Embedding",
    "Exchange",
    "FileTypes",
    "FireplayError",
    "FireworksModel",
    "InternalServerError",
    "Model",
    "ModelPage",
    "NotFoundError",
    "NotGiven",
    "PermissionDeniedError",
    "RateLimitError",
    "ServerTimings",
    "StreamError",
    "Trace",
    "Transcription",
    "UnprocessableEntityError",
    "tracing",
]
