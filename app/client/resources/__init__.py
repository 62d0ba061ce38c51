"""Resource namespaces of :class:`app.client.AsyncClient` (one module per API area)."""

from __future__ import annotations

from .audio import Audio, Transcriptions, Translations
from .chat import Chat, Completions
from .embeddings import Embeddings
from .models import Models

__all__ = ["Audio", "Chat", "Completions", "Embeddings", "Models", "Transcriptions", "Translations"]
