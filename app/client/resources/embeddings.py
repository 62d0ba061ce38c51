"""``client.embeddings``: vectors for one or more inputs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from app.client._types import NOT_GIVEN, NotGiven, TimeoutTypes
from app.client.types.embedding import CreateEmbeddingResponse

if TYPE_CHECKING:
    from app.client._client import AsyncClient

__all__ = ["Embeddings"]


class Embeddings:
    """``POST /embeddings``."""

    def __init__(self, client: AsyncClient) -> None:
        """Bind to a client."""
        self._client = client

    async def create(
        self,
        *,
        model: str,
        input: str | Sequence[str] | Sequence[int] | Sequence[Sequence[int]],
        encoding_format: str = "float",
        dimensions: int | None = None,
        extra_body: Mapping[str, Any] | None = None,
        extra_headers: Mapping[str, str | None] | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        **params: Any,
    ) -> CreateEmbeddingResponse:
        """Embed ``input``.

        ``encoding_format`` is always sent (servers differ in their default); base64 answers
        are decoded, so ``data[i].embedding`` is always a list of floats.

        Args:
            model: Embedding model id.
            input: A string, a list of strings, or token ids.
            encoding_format: ``"float"`` or ``"base64"``.
            dimensions: Truncate vectors to this size (only sent when given).
            extra_body: Merged into the JSON body last.
            extra_headers: Extra headers for this call.
            timeout: Overrides the client's timeout for this call.
            **params: Further body fields (``None`` values are not sent), e.g. Fireworks'
                ``normalize`` or ``prompt_template``.

        Returns:
            One embedding per input, with usage.
        """
        body: dict[str, Any] = {
            "model": model,
            "input": input if isinstance(input, str) else list(input),
            "encoding_format": encoding_format,
        }
        if dimensions is not None:
            body["dimensions"] = dimensions
        for name, value in params.items():
            if value is not None:
                body[name] = value
        if extra_body:
            body.update(extra_body)
        client = self._client
        response = await client._request(
            "POST",
            "/embeddings",
            model=model,
            json=body,
            extra_headers=extra_headers,
            timeout=timeout,
        )
        return client._parse(response, CreateEmbeddingResponse)
