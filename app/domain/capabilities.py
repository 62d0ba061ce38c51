"""What a model can do, so that each tab offers the models that suit it first.

Three sources, best first: what the server itself reports (the built-in engine lists its models'
capabilities), the shipped Fireworks catalog, and the model id's wording. A model nobody knows
anything about is assumed to chat, since most OpenAI-compatible servers serve chat models.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Literal

from app.domain.catalog import load_catalog

__all__ = ["CAPABILITIES", "Capability", "model_capabilities", "split_by_capability"]

Capability = Literal["chat", "json", "tools", "vision", "audio", "embeddings"]
CAPABILITIES: tuple[Capability, ...] = ("chat", "json", "tools", "vision", "audio", "embeddings")

# Capability names in the built-in engine's ``/v1/models`` entries.
_REPORTED: dict[str, Capability] = {
    "chat": "chat",
    "json_schema": "json",
    "tools": "tools",
    "vision": "vision",
    "image_input_ocr": "vision",
    "transcription": "audio",
    "translation": "audio",
    "embeddings": "embeddings",
}
_AUDIO_WORDS = ("whisper", "transcribe", "speech-to-text", "stt")
_EMBEDDING_WORDS = ("embed", "e5-", "bge-", "minilm", "gte-", "nomic")
_VISION_WORDS = ("vision", "-vl", "vl-", "llava", "gpt-4o", "gpt-4.1", "pixtral", "qwen2.5-vl")
_TEXT_MODEL: frozenset[Capability] = frozenset({"chat", "json", "tools"})


def model_capabilities(
    model_id: str, reported: Sequence[str] | None = None
) -> frozenset[Capability]:
    """What ``model_id`` can do.

    Args:
        model_id: The id a server lists.
        reported: The capabilities the server listed for it, if it lists any.
    """
    if reported:
        return frozenset(_REPORTED[name] for name in reported if name in _REPORTED)
    info = load_catalog().get(model_id)
    if info is not None:
        if info.kind == "embedding":
            return frozenset({"embeddings"})
        if info.kind == "audio":
            return frozenset({"audio"})
        found: set[Capability] = {"chat", "json"}
        if info.supports_tools is not False:
            found.add("tools")
        if info.supports_image_input:
            found.add("vision")
        return frozenset(found)
    lowered = model_id.lower()
    if any(word in lowered for word in _AUDIO_WORDS):
        return frozenset({"audio"})
    if any(word in lowered for word in _EMBEDDING_WORDS):
        return frozenset({"embeddings"})
    if any(word in lowered for word in _VISION_WORDS):
        return _TEXT_MODEL | {"vision"}
    return _TEXT_MODEL


def split_by_capability(
    ids: Iterable[str], capability: str, reported: Mapping[str, Sequence[str]] | None = None
) -> tuple[list[str], list[str]]:
    """``ids`` split into those with ``capability`` and the others, each in the given order."""
    reported = reported or {}
    suited: list[str] = []
    others: list[str] = []
    for model_id in ids:
        capable = capability in model_capabilities(model_id, reported.get(model_id))
        (suited if capable else others).append(model_id)
    return suited, others
