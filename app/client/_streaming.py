"""Server-sent-event streams of chat completion chunks.

The SSE framing is hand-written rather than taken from httpx-sse: the common event, a single
``data: {...}`` line, is cut out of the raw bytes with one ``split`` per network read and handed
as bytes to pydantic's Rust JSON parser, skipping UTF-8 decoding, line iteration and per-line
field parsing. ``bench/client_stream.py`` measures both decoders; anything other than that
common shape (comments, ``event:``, multi-line data, ``id:``/``retry:`` blocks, CR line ends)
goes through a complete WHATWG field parser.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any, Generic, TypeVar

import httpx
import pydantic

from ._accumulate import ChatCompletionAccumulator
from ._exceptions import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APITimeoutError,
    StreamError,
    error_message_from_body,
    redact,
)
from ._timings import ServerTimings
from .types.chat_completion import ChatCompletion
from .types.chat_completion_chunk import (
    ChatCompletionChunk,
    ChoiceDelta,
    ChoiceDeltaToolCall,
    ChoiceDeltaToolCallFunction,
    ChunkChoice,
)

__all__ = ["AsyncStream"]

_ChunkT = TypeVar("_ChunkT", bound=ChatCompletionChunk)

_DATA_PREFIX = b"data: "
# `int in bytes` is a plain memchr, several times faster than `b"\n" in bytes`.
_LF = 0x0A
_DONE = b"[DONE]"
_BOM = b"\xef\xbb\xbf"
_DRAIN_LIMIT = 65536
_DRAIN_TIMEOUT = 1.0


class AsyncStream(Generic[_ChunkT]):
    """An open chat completion stream: iterate it for chunks, then ask for the assembled result.

    Use it as an async context manager (or call :meth:`close`) so that leaving early, an error
    or task cancellation closes the HTTP response; cancelling the iterating task while it waits
    for data closes the response by itself.

    Example::

        async with await client.chat.completions.create(..., stream=True) as stream:
            async for chunk in stream:
                ...
            completion = await stream.get_final_completion()

    Attributes:
        response: The underlying HTTP response (status and headers are final).
    """

    def __init__(
        self,
        *,
        response: httpx.Response,
        chunk_type: type[_ChunkT],
        api_key: str | None = None,
    ) -> None:
        """Wrap a response whose status was checked and whose body is an event stream.

        Args:
            response: An unread, streaming 2xx response.
            chunk_type: The pydantic model every ``data:`` event is validated into.
            api_key: The key that was sent, scrubbed from in-band error messages.
        """
        self.response = response
        self._validate = chunk_type.__pydantic_validator__.validate_json
        self._api_key = api_key
        self._accumulator = ChatCompletionAccumulator()
        self._finished = False
        self._closed = False
        self._error: APIError | None = None
        self._byte_iterator: AsyncIterator[bytes] | None = None
        self._iterator: AsyncIterator[_ChunkT] = self._iterate()

    # -- iteration ---------------------------------------------------------------------------

    def __aiter__(self) -> AsyncIterator[_ChunkT]:
        return self._iterator

    async def __anext__(self) -> _ChunkT:
        return await self._iterator.__anext__()

    async def _iterate(self) -> AsyncIterator[_ChunkT]:
        # One long-lived async generator serves every `async for` and `__anext__` call, and
        # keeps the framing state in its locals: resuming it costs less per chunk than a fresh
        # `__anext__` coroutine plus attribute traffic. It never awaits while being closed, so
        # it is safe under loops without asyncgen hooks (qasync).
        validate = self._validate
        fold = self._accumulator.add
        body = self._open_body()
        blocks: list[bytes] = []
        tail = b""
        pending_cr = False
        first = True
        eof = False
        while True:
            for block in blocks:
                if block.startswith(_DATA_PREFIX) and _LF not in block:
                    data = block[6:]
                else:
                    parsed = await self._parse_block(block)
                    if parsed is None:
                        continue
                    data = parsed
                if data == _DONE:
                    await self._finish(drain=not eof)
                    return
                try:
                    chunk = validate(data)
                except pydantic.ValidationError as exc:
                    # Empty payloads and comments some gateways wrap as "data: : ping" are
                    # keep-alives, not broken events.
                    stripped = data.strip()
                    if not stripped or stripped.startswith(b":"):
                        continue
                    raise await self._fail(self._invalid_chunk(data, exc)) from exc
                extra = chunk.__pydantic_extra__
                if extra and "error" in extra:
                    raise await self._fail(self._error_event(extra))
                fold(chunk)
                yield chunk
                if self._closed:
                    return
            if self._closed:
                return
            if eof:
                await self._end_without_done()
                return
            try:
                data = await body.__anext__()
            except StopAsyncIteration:
                eof = True
                if pending_cr:
                    tail += b"\n"
                # An event cut off mid-line is discarded (WHATWG); complete lines without the
                # final blank line still make one (some servers end with "data: [DONE]\n").
                blocks = [tail.rstrip(b"\n")] if tail.endswith(b"\n") and tail.strip() else []
                continue
            except BaseException as exc:
                await self._read_failed(exc)
                return
            if first:
                first = False
                if data.startswith(_BOM):
                    data = data[3:]
            if pending_cr:
                data = b"\r" + data
                pending_cr = False
            if b"\r" in data:
                # CR and CRLF line ends become LF; a trailing CR may be half of a CRLF.
                if data.endswith(b"\r"):
                    data = data[:-1]
                    pending_cr = True
                data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
            if tail:
                data = tail + data
            blocks = data.split(b"\n\n")
            tail = blocks.pop()

    def _open_body(self) -> AsyncIterator[bytes]:
        # The raw body skips content decoding unless the server compressed it.
        encoding = self.response.headers.get("content-encoding", "").strip().lower()
        if encoding in ("", "identity"):
            self._byte_iterator = self.response.aiter_raw()
        else:
            self._byte_iterator = self.response.aiter_bytes()
        return self._byte_iterator

    async def _read_failed(self, exc: BaseException) -> None:
        """Handle a failed read: map transport errors, close on cancellation, then re-raise.

        Returns (ending the stream quietly) only when another task closed the stream.
        """
        if not isinstance(exc, httpx.TransportError):
            # Cancellation (or Ctrl-C) while waiting for data: release the connection now.
            await self.close()
            raise exc
        if self._closed:
            return
        if isinstance(exc, httpx.TimeoutException):
            error: APIError = APITimeoutError(
                "Timed out waiting for the stream.", request=self.response.request
            )
        else:
            error = APIConnectionError(
                f"The connection broke during the stream ({_describe(exc)}).",
                request=self.response.request,
            )
        raise await self._fail(error) from exc

    async def _end_without_done(self) -> None:
        # Some servers omit [DONE]; a stream whose last choice finished is complete anyway.
        if not self._accumulator.finished_choices:
            raise await self._fail(
                APIConnectionError(
                    "The server closed the stream before it finished.",
                    request=self.response.request,
                )
            )
        await self._finish(drain=False)

    async def _parse_block(self, block: bytes) -> bytes | None:
        """Parse one event that is not a lone ``data:`` line; ``None`` if nothing to dispatch."""
        data: list[str] = []
        event = ""
        for line in block.decode("utf-8", "replace").split("\n"):
            if not line or line[0] == ":":
                continue
            name, _, value = line.partition(":")
            if value[:1] == " ":
                value = value[1:]
            if name == "data":
                data.append(value)
            elif name == "event":
                event = value
            elif name == "error":
                # llama.cpp builds through 2025 sent errors in a non-standard `error:` field.
                raise await self._fail(self._error_event({"error": _json_or_text(value)}))
        if event == "error":
            payload = _json_or_text("\n".join(data))
            if not isinstance(payload, dict):
                payload = {"error": payload}
            raise await self._fail(self._error_event(payload))
        if not data:
            return None
        return "\n".join(data).encode()

    # -- errors --------------------------------------------------------------------------------

    def _error_event(self, payload: dict[str, Any]) -> StreamError:
        text = redact(json.dumps(payload, ensure_ascii=False), self._api_key)
        body = json.loads(text)
        message = error_message_from_body(body, text) or "unknown error"
        return StreamError(
            f"The server reported an error during the stream: {message}",
            request=self.response.request,
            body=body,
        )

    def _invalid_chunk(self, data: bytes, exc: pydantic.ValidationError) -> APIError:
        text = redact(data.decode("utf-8", "replace"), self._api_key)
        problem = exc.errors(include_url=False, include_input=False)[0]
        return APIResponseValidationError(
            f"The server sent a malformed stream event: {problem['msg']}",
            response=self.response,
            body=text,
        )

    async def _fail(self, error: APIError) -> APIError:
        self._error = error
        await self.close()
        return error

    # -- lifecycle -----------------------------------------------------------------------------

    async def _finish(self, *, drain: bool) -> None:
        self._finished = True
        try:
            if drain and self._byte_iterator is not None:
                await self._drain(self._byte_iterator)
        finally:
            await self.close()

    @staticmethod
    async def _drain(byte_iterator: AsyncIterator[bytes]) -> None:
        # After [DONE] only the end of the HTTP body is left, usually already buffered. Reading
        # it returns the connection to the pool; closing an unfinished body would discard it.
        left = _DRAIN_LIMIT
        try:
            async with asyncio.timeout(_DRAIN_TIMEOUT):
                async for data in byte_iterator:
                    left -= len(data)
                    if left < 0:
                        return
        except (TimeoutError, httpx.TransportError):
            return

    async def close(self) -> None:
        """Close the HTTP response; safe to call more than once. Received chunks stay available."""
        if self._closed:
            return
        self._closed = True
        try:
            # httpx's byte iterators are async generators; closing them explicitly matters
            # under loops without asyncgen finalizer hooks (qasync).
            aclose = getattr(self._byte_iterator, "aclose", None)
            if aclose is not None:
                await aclose()
        except RuntimeError:
            # Another task is inside the iterator, waiting for data: closing the response
            # below ends that wait.
            pass
        finally:
            await self.response.aclose()

    async def __aenter__(self) -> AsyncStream[_ChunkT]:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- results -------------------------------------------------------------------------------

    @property
    def finished(self) -> bool:
        """Whether the server ended the stream normally."""
        return self._finished and self._error is None

    @property
    def error(self) -> APIError | None:
        """The error that ended the stream, if any."""
        return self._error

    @property
    def response_headers(self) -> httpx.Headers:
        """The HTTP response headers (request id, rate limits, server timings)."""
        return self.response.headers

    @property
    def timings(self) -> ServerTimings:
        """Server timings from the response headers and the last chunk's ``perf_metrics``."""
        return ServerTimings.from_sources(self.response.headers, self._accumulator.perf_metrics)

    def partial_completion(self) -> ChatCompletion:
        """Assemble what has been received so far, without reading more (for stopped runs)."""
        completion = self._accumulator.completion()
        completion._timings = self.timings
        return completion

    async def get_final_completion(self) -> ChatCompletion:
        """Read the rest of the stream (if any) and return the assembled completion.

        Returns:
            Content, reasoning, tool calls (by index), usage, finish reason and
            ``perf_metrics`` of the whole stream; :attr:`ChatCompletion.timings` is set.

        Raises:
            APIError: The error that ended the stream (again, if it was already raised).
            RuntimeError: The stream was closed by the caller before it finished.
        """
        if not self._closed:
            async for _ in self:
                pass
        if self._error is not None:
            raise self._error
        if not self._finished:
            raise RuntimeError(
                "The stream was closed before it finished; use partial_completion()."
            )
        return self.partial_completion()


class CompletedStream(AsyncStream[ChatCompletionChunk]):
    """A stream request that the server answered with one JSON completion instead of events.

    It yields a single chunk equivalent to the completion, and returns the completion itself
    from :meth:`get_final_completion`.
    """

    def __init__(
        self, *, response: httpx.Response, completion: ChatCompletion, api_key: str | None
    ) -> None:
        """Wrap a fully read JSON response.

        Args:
            response: The read response.
            completion: Its parsed body.
            api_key: The key that was sent.
        """
        self._completion = completion
        super().__init__(response=response, chunk_type=ChatCompletionChunk, api_key=api_key)
        self._finished = True
        self._closed = True

    async def _iterate(self) -> AsyncIterator[ChatCompletionChunk]:
        chunk = _chunk_from_completion(self._completion)
        self._accumulator.add(chunk)
        yield chunk

    def partial_completion(self) -> ChatCompletion:
        """Return the completion the server sent."""
        return self._completion


def _chunk_from_completion(completion: ChatCompletion) -> ChatCompletionChunk:
    choices = []
    for choice in completion.choices:
        message = choice.message
        tool_calls = None
        if message.tool_calls:
            tool_calls = [
                ChoiceDeltaToolCall(
                    index=i,
                    id=call.id,
                    type=call.type,
                    function=ChoiceDeltaToolCallFunction(
                        name=call.function.name, arguments=call.function.arguments
                    ),
                )
                for i, call in enumerate(message.tool_calls)
            ]
        delta = ChoiceDelta(
            role=message.role,
            content=message.content,
            reasoning_content=message.reasoning_content,
            refusal=message.refusal,
            tool_calls=tool_calls,
        )
        choices.append(
            ChunkChoice(
                index=choice.index,
                delta=delta,
                finish_reason=choice.finish_reason,
                logprobs=choice.logprobs,
            )
        )
    return ChatCompletionChunk(
        id=completion.id,
        created=completion.created,
        model=completion.model,
        choices=choices,
        usage=completion.usage,
        perf_metrics=completion.perf_metrics,
    )


def _json_or_text(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _describe(exc: httpx.TransportError) -> str:
    return str(exc) or type(exc).__name__
