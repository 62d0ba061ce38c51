"""Server-sent-event streams of chat completion chunks.

The SSE framing is hand-written rather than taken from httpx-sse: the common network read, a
run of one-line ``data: {...}`` events, is cut into their data with a single ``split`` on
``"\n\ndata: "`` and handed as bytes to pydantic's Rust JSON parser, skipping UTF-8 decoding,
line iteration and per-line field parsing. httpx-sse's decoder feeding the same models costs
1.2-1.7x raw httpx + ``json.loads`` in ``bench/client_stream.py``. Reads of any other shape
(comments, ``event:``, multi-line data, ``id:``/``retry:`` blocks) go through a complete
WHATWG field parser; the tests check both paths against httpx-sse's decoder, read by read.
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
from ._trace import exchange_of
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

_BOUNDARY = b"\n\n"
# An event boundary followed by the usual first line of an event.
_DATA_EVENT = b"\n\ndata: "
_DATA_PREFIX = b"data: "
# `int in bytes` is a plain memchr, several times faster than `b"\n" in bytes`.
_LF = 0x0A
_CR = 0x0D
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
        self._exchange = exchange_of(response)

    # -- iteration ---------------------------------------------------------------------------

    def __aiter__(self) -> AsyncIterator[_ChunkT]:
        return self._iterator

    async def __anext__(self) -> _ChunkT:
        return await self._iterator.__anext__()

    async def _iterate(self) -> AsyncIterator[_ChunkT]:
        # One long-lived async generator serves every `async for` and `__anext__` call, and
        # keeps its state in locals: resuming it costs less per chunk than a fresh `__anext__`
        # coroutine plus attribute traffic. It never awaits while being closed, so it is safe
        # under loops without asyncgen hooks (qasync).
        validate = self._validate
        fold = self._accumulator.add
        framer = _EventFramer()
        body = self._open_body()
        exchange = self._exchange
        payloads: list[bytes] = []
        eof = False
        while True:
            for data in payloads:
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
            if framer.error is not None:
                raise await self._fail(self._error_event(framer.error))
            if self._closed:
                return
            if eof:
                await self._end_without_done()
                return
            try:
                received = await body.__anext__()
            except StopAsyncIteration:
                eof = True
                payloads = framer.finish()
                if exchange is not None:
                    exchange.add_events(payloads)
                continue
            except BaseException as exc:
                await self._read_failed(exc)
                return
            payloads = framer.feed(received)
            if exchange is not None:
                exchange.add_events(payloads)

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
            if self._exchange is not None:
                self._exchange.error = "Stopped by the client before the stream ended."
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
        if self._exchange is not None:
            self._exchange.error = str(error)
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


class _EventFramer:
    """Cuts a server-sent-event byte stream into the ``data`` of its events (WHATWG framing).

    Network reads go in through :meth:`feed`, in order; each call returns the data of the
    events it completed, as UTF-8 bytes. Events without ``data`` lines (``id:``/``retry:``
    blocks, comments, blank keep-alives) produce nothing. An in-band error event (``event:
    error`` or a llama.cpp ``error:`` field) ends the framing: the data before it is still
    returned, and the error's payload is left in :attr:`error`.

    Attributes:
        error: The payload of an in-band error event, once one was seen.
    """

    __slots__ = ("_pending_cr", "_started", "_tail", "error")

    def __init__(self) -> None:
        """Start before the first byte of the stream."""
        # What is left of the stream after the last complete event, always preceded by the
        # boundary that ended that event: then every event that starts with a `data: ` line
        # follows a `\n\ndata: `, including the first one of the next read.
        self._tail = _BOUNDARY
        self._started = False
        self._pending_cr = False
        self.error: dict[str, Any] | None = None

    def feed(self, data: bytes) -> list[bytes]:
        """Take one network read; return the data of every event it completed."""
        if not self._started:
            self._started = True
            if data.startswith(_BOM):
                data = data[3:]
        if self._pending_cr:
            data = b"\r" + data
            self._pending_cr = False
        if _CR in data:
            # CR and CRLF line ends become LF; a trailing CR may be half of a CRLF.
            if data.endswith(b"\r"):
                data = data[:-1]
                self._pending_cr = True
            data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        buffer = self._tail + data
        # The common read is a run of one-line `data: {...}` events, the last one possibly
        # cut off by the network. Splitting on the boundary together with the field name (a
        # long needle, which the byte search skips through quickly) leaves exactly their data,
        # without a copy per event, provided nothing precedes the first event, no piece holds
        # another line (a comment, another field) and an unfinished last piece holds no
        # complete event. Anything else takes the field-by-field parse below.
        pieces = buffer.split(_DATA_EVENT)
        if len(pieces) > 1 and not pieces[0]:
            last = pieces.pop()
            finished = last[-2:] == _BOUNDARY
            if finished:
                pieces.append(last[:-2])
            del pieces[0]
            if (finished or _BOUNDARY not in last) and not [p for p in pieces if _LF in p]:
                self._tail = _BOUNDARY if finished else _DATA_EVENT + last
                return pieces
        end = buffer.rfind(_BOUNDARY)
        self._tail = buffer[end:]
        return self._parse(buffer[:end].split(_BOUNDARY))

    def finish(self) -> list[bytes]:
        """The stream ended: return the data of a last event that lacked its blank line."""
        rest = self._tail[2:]
        if self._pending_cr:
            rest += b"\n"
        self._tail = _BOUNDARY
        # An event cut off mid-line is discarded (WHATWG); complete lines without the final
        # blank line still make one (some servers end with "data: [DONE]\n").
        if rest.endswith(b"\n") and rest.strip():
            return self._parse([rest.rstrip(b"\n")])
        return []

    def _parse(self, blocks: list[bytes]) -> list[bytes]:
        payloads: list[bytes] = []
        for block in blocks:
            if not block:
                continue
            if block.startswith(_DATA_PREFIX) and _LF not in block:
                payloads.append(block[6:])
                continue
            data = self._parse_fields(block)
            if self.error is not None:
                break
            if data is not None:
                payloads.append(data)
        return payloads

    def _parse_fields(self, block: bytes) -> bytes | None:
        """Parse one event of any shape; ``None`` if it has nothing to dispatch."""
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
                self.error = {"error": _json_or_text(value)}
                return None
        if event == "error":
            payload = _json_or_text("\n".join(data))
            self.error = payload if isinstance(payload, dict) else {"error": payload}
            return None
        if not data:
            return None
        return "\n".join(data).encode()


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
