"""Model listings: OpenAI-style ``GET /models`` and the Fireworks control-plane catalog."""

from __future__ import annotations

from typing import Any

import pydantic
from pydantic.alias_generators import to_camel

from app.client._models import BaseModel

__all__ = ["FireworksModel", "Model", "ModelPage"]


class Model(BaseModel):
    """One entry of ``GET /models``."""

    id: str
    object: str = "model"
    created: int | None = None
    owned_by: str | None = None


class ModelPage(BaseModel):
    """The ``{"object": "list", "data": [...]}`` envelope of ``GET /models``."""

    object: str = "list"
    data: list[Model] = pydantic.Field(default_factory=list)


class FireworksModel(BaseModel):
    """A model record of the Fireworks control plane (camelCase on the wire, snake_case here).

    Capabilities may be missing for some models; they then read as ``None``/``False``.
    """

    model_config = pydantic.ConfigDict(alias_generator=to_camel, populate_by_name=True)

    name: str
    display_name: str | None = None
    description: str | None = None
    kind: str | None = None
    state: str | None = None
    public: bool | None = None
    context_length: int | None = None
    supports_tools: bool = False
    supports_image_input: bool = False
    supports_serverless: bool = False
    supports_lora: bool = False
    deprecation_date: dict[str, Any] | None = None
    base_model_details: dict[str, Any] | None = None
    conversation_config: dict[str, Any] | None = None
    default_sampling_params: dict[str, Any] | None = None

    @property
    def supports_chat(self) -> bool:
        """Whether the chat API is enabled (the record has a ``conversationConfig``)."""
        return self.conversation_config is not None
