"""Response of ``POST /embeddings``; base64 vectors are decoded to floats on arrival."""

from __future__ import annotations

import base64
import sys
from array import array
from typing import Any

import pydantic

from app.client._models import BaseModel

__all__ = ["CreateEmbeddingResponse", "Embedding", "EmbeddingUsage", "decode_base64_embedding"]


def decode_base64_embedding(text: str) -> list[float]:
    """Decode an ``encoding_format="base64"`` vector: base64 of little-endian float32 values."""
    values = array("f")
    values.frombytes(base64.b64decode(text))
    if sys.byteorder == "big":
        values.byteswap()
    return values.tolist()


class Embedding(BaseModel):
    """One input's vector; ``embedding`` is always a list of floats."""

    object: str = "embedding"
    index: int = 0
    embedding: list[float] = pydantic.Field(default_factory=list)

    @pydantic.field_validator("embedding", mode="before")
    @classmethod
    def _decode_base64(cls, value: Any) -> Any:
        return decode_base64_embedding(value) if isinstance(value, str) else value


class EmbeddingUsage(BaseModel):
    """Token counts of an embeddings request."""

    prompt_tokens: int = 0
    total_tokens: int = 0


class CreateEmbeddingResponse(BaseModel):
    """One :class:`Embedding` per input, in input order (``index``)."""

    object: str = "list"
    data: list[Embedding] = pydantic.Field(default_factory=list)
    model: str = ""
    usage: EmbeddingUsage | None = None
