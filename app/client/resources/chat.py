"""``client.chat.completions``: chat completions, plain or streamed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, overload

import httpx

from app.client._exceptions import APIConnectionError
from app.client._streaming import AsyncStream, CompletedStream
from app.client._timings import ServerTimings
from app.client._types import NOT_GIVEN, NotGiven, TimeoutTypes
from app.client.types.chat_completion import ChatCompletion
from app.client.types.chat_completion_chunk import ChatCompletionChunk

if TYPE_CHECKING:
    from app.client._client import AsyncClient

__all__ = ["Chat", "Completions"]


class Completions:
    """``POST /chat/completions``."""

    def __init__(self, client: AsyncClient) -> None:
        """Bind to a client."""
        self._client = client

    @overload
    async def create(
        self,
        *,
        model: str,
        messages: Sequence[Mapping[str, Any]],
        stream: Literal[False] = False,
        extra_body: Mapping[str, Any] | None = None,
        extra_headers: Mapping[str, str | None] | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        **params: Any,
    ) -> ChatCompletion: ...

    @overload
    async def create(
        self,
        *,
        model: str,
        messages: Sequence[Mapping[str, Any]],
        stream: Literal[True],
        extra_body: Mapping[str, Any] | None = None,
        extra_headers: Mapping[str, str | None] | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        **params: Any,
    ) -> AsyncStream[ChatCompletionChunk]: ...

    @overload
    async def create(
        self,
        *,
        model: str,
        messages: Sequence[Mapping[str, Any]],
        stream: bool,
        extra_body: Mapping[str, Any] | None = None,
        extra_headers: Mapping[str, str | None] | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        **params: Any,
    ) -> ChatCompletion | AsyncStream[ChatCompletionChunk]: ...

    async def create(
        self,
        *,
        model: str,
        messages: Sequence[Mapping[str, Any]],
        stream: bool = False,
        extra_body: Mapping[str, Any] | None = None,
        extra_headers: Mapping[str, str | None] | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        **params: Any,
    ) -> ChatCompletion | AsyncStream[ChatCompletionChunk]:
        """Create a chat completion.

        Any OpenAI or provider parameter (``temperature``, ``tools``, ``response_format``,
        ``stream_options``, Fireworks' ``top_k``, ``min_p``, ``perf_metrics_in_response``, ...)
        is passed as a keyword and sent unchanged; keywords whose value is ``None`` are not sent.

        Args:
            model: Model id (its per-model base URL is used if one is configured).
            messages: The conversation, as OpenAI message objects.
            stream: Return an :class:`AsyncStream` of chunks instead of a completion.
            extra_body: Merged into the JSON body last, sent as is (``None`` values included).
            extra_headers: Extra headers for this call; a ``None`` value removes a header.
            timeout: Overrides the client's timeout for this call.
            **params: Further body fields.

        Returns:
            A :class:`ChatCompletion` (with ``timings``), or an :class:`AsyncStream`.

        Raises:
            APIStatusError: The server refused the request (subclass by status).
            APIConnectionError: No connection (``APITimeoutError`` on timeout).
            APIResponseValidationError: The server's answer had an unexpected shape.
        """
        body: dict[str, Any] = {"model": model, "messages": [dict(m) for m in messages]}
        for name, value in params.items():
            if value is not None:
                body[name] = value
        if stream:
            body["stream"] = True
        if extra_body:
            body.update(extra_body)
        client = self._client
        response = await client._request(
            "POST",
            "/chat/completions",
            model=model,
            json=body,
            extra_headers=extra_headers,
            timeout=timeout,
            stream=stream,
            accept="text/event-stream" if stream else "application/json",
        )
        if not stream:
            completion = client._parse(response, ChatCompletion)
            completion._timings = ServerTimings.from_sources(
                response.headers, completion.perf_metrics
            )
            return completion
        content_type = response.headers.get("content-type", "")
        if "json" in content_type and "event-stream" not in content_type:
            # Some servers answer a stream request with a plain JSON completion or error.
            return await self._completed_stream(response)
        return AsyncStream(
            response=response, chunk_type=ChatCompletionChunk, api_key=client._api_key
        )

    async def _completed_stream(self, response: httpx.Response) -> CompletedStream:
        client = self._client
        try:
            await response.aread()
        except httpx.TransportError as exc:
            await response.aclose()
            raise APIConnectionError(
                client._connection_message(exc, response.request), request=response.request
            ) from exc
        completion = client._parse(response, ChatCompletion)
        completion._timings = ServerTimings.from_sources(response.headers, completion.perf_metrics)
        return CompletedStream(response=response, completion=completion, api_key=client._api_key)


class Chat:
    """``client.chat``: holds :attr:`completions`."""

    def __init__(self, client: AsyncClient) -> None:
        """Bind to a client."""
        self.completions = Completions(client)
