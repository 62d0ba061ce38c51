"""Base class of every response model: unknown fields are kept, never rejected."""

from __future__ import annotations

import pydantic

__all__ = ["BaseModel"]


class BaseModel(pydantic.BaseModel):
    """Response model that keeps fields it does not declare (providers add many).

    Unknown fields are reachable as attributes and through ``model_extra``.
    """

    model_config = pydantic.ConfigDict(extra="allow", protected_namespaces=())
