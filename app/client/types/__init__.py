"""Response models of the client (pydantic, unknown fields kept)."""

from __future__ import annotations

from .chat_completion import (
    ChatCompletion,
    ChatCompletionMessage,
    ChatCompletionMessageToolCall,
    Choice,
    Function,
)
from .chat_completion_chunk import (
    ChatCompletionChunk,
    ChoiceDelta,
    ChoiceDeltaToolCall,
    ChoiceDeltaToolCallFunction,
    ChunkChoice,
)
from .completion_usage import CompletionTokensDetails, CompletionUsage, PromptTokensDetails
from .embedding import CreateEmbeddingResponse, Embedding, EmbeddingUsage
from .model import FireworksModel, Model, ModelPage
from .transcription import Transcription, TranscriptionSegment, TranscriptionWord

__all__ = [
    "ChatCompletion",
    "ChatCompletionChunk",
    "ChatCompletionMessage",
    "ChatCompletionMessageToolCall",
    "Choice",
    "ChoiceDelta",
    "ChoiceDeltaToolCall",
    "ChoiceDeltaToolCallFunction",
    "ChunkChoice",
    "CompletionTokensDetails",
    "CompletionUsage",
    "CreateEmbeddingResponse",
    "Embedding",
    "EmbeddingUsage",
    "FireworksModel",
    "Function",
    "Model",
    "ModelPage",
    "PromptTokensDetails",
    "Transcription",
    "TranscriptionSegment",
    "TranscriptionWord",
]
