"""What went over the wire: each request as sent, every attempt, the response and its raw events.

A caller that wants to see its requests runs its code inside :func:`tracing`; every request the
client makes in that context (and in tasks started from it) is recorded in the given
:class:`Trace`. Nothing is recorded outside such a context, and the key never is: the
``Authorization`` header is kept as ``Bearer ***``.

Example::

    trace = Trace()
    with tracing(trace):
        await client.chat.completions.create(model=m, messages=msgs, stream=True)
    trace.exchanges[-1].events  # [(seconds since the request was sent, b'{"id": ...}'), ...]
"""

from __future__ import annotations

import contextlib
import io
import json
import time
from collections.abc import Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import httpx

__all__ = [
    "Attempt",
    "Exchange",
    "Trace",
    "TracedFile",
    "current_trace",
    "exchange_of",
    "tracing",
]

# A long stream can send hundreds of thousands of events; the inspector shows the first ones.
MAX_EVENTS = 20_000
# A non-streamed body is kept up to this size (an embeddings answer can be tens of megabytes).
MAX_BODY_BYTES = 1_000_000
_REDACTED_HEADERS = frozenset({"authorization", "x-api-key", "api-key"})
_EXTENSION = "fireplay_exchange"

_current: ContextVar[Trace | None] = ContextVar("fireplay_trace", default=None)


@dataclass(slots=True)
class Attempt:
    """One try of a request: how it ended, and the wait before the next try if there was one.

    Attributes:
        at_s: When it was sent, in seconds since the exchange began.
        outcome: The HTTP status (``"429"``) or the transport error (``"ConnectError"``).
        retry_in_s: The wait before the retry it caused, or ``None`` when it was the last.
    """

    at_s: float
    outcome: str = ""
    retry_in_s: float | None = None


@dataclass(frozen=True, slots=True)
class TracedFile:
    """A file part of a multipart request: its name, type and size (never its bytes)."""

    field: str
    filename: str
    content_type: str
    size: int | None


@dataclass(slots=True)
class Exchange:
    """One request the client made and what came back.

    Attributes:
        method: ``POST``, ``GET``.
        url: The full URL, query included.
        request_headers: As sent, with credentials replaced by ``***``.
        form: Multipart fields (audio uploads), or ``None`` for JSON and bodiless requests.
        files: Multipart file parts.
        started_at: Wall-clock time the request was first sent (epoch seconds).
        attempts: Every try, retries included.
        status: The final HTTP status, or ``None`` when no response came.
        response_headers: The final response's headers.
        events: Raw ``data:`` payloads of a streamed response with their arrival times (seconds
            since the request was first sent); at most :data:`MAX_EVENTS` are kept.
        events_dropped: How many events arrived after the kept ones.
        error: How the exchange failed ("" when it did not).
    """

    method: str
    url: str
    request_headers: dict[str, str]
    form: dict[str, Any] | None = None
    files: list[TracedFile] = field(default_factory=list)
    started_at: float = field(default_factory=time.time)
    attempts: list[Attempt] = field(default_factory=list)
    status: int | None = None
    response_headers: dict[str, str] = field(default_factory=dict)
    events: list[tuple[float, bytes]] = field(default_factory=list)
    events_dropped: int = 0
    error: str = ""
    _body: bytes = b""
    _response_body: bytes | None = None
    _clock_start: float = field(default_factory=time.perf_counter)

    @property
    def path(self) -> str:
        """The URL path, e.g. ``/v1/chat/completions``."""
        return httpx.URL(self.url).path

    @property
    def body(self) -> Any:
        """The JSON body as sent (parsed), or ``None`` for multipart and bodiless requests."""
        if not self._body or self.form is not None:
            return None
        try:
            return json.loads(self._body)
        except ValueError:
            return None

    @property
    def streamed(self) -> bool:
        """Whether the response was an event stream."""
        return "event-stream" in self.response_headers.get("content-type", "")

    @property
    def response_text(self) -> str | None:
        """The body of a response that was not streamed (cut at :data:`MAX_BODY_BYTES`)."""
        if self._response_body is None:
            return None
        return self._response_body.decode("utf-8", "replace")

    def elapsed(self) -> float:
        """Seconds since the request was first sent."""
        return time.perf_counter() - self._clock_start

    def add_events(self, payloads: Sequence[bytes]) -> None:
        """Record the events parsed from one network read (they arrived together)."""
        if not payloads:
            return
        room = MAX_EVENTS - len(self.events)
        if room <= 0:
            self.events_dropped += len(payloads)
            return
        now = self.elapsed()
        self.events.extend((now, data) for data in payloads[:room])
        self.events_dropped += max(0, len(payloads) - room)

    def to_json(self) -> dict[str, Any]:
        """Everything recorded, as JSON-able data (events decoded as text)."""
        return {
            "method": self.method,
            "url": self.url,
            "path": self.path,
            "started_at": self.started_at,
            "request_headers": dict(self.request_headers),
            "body": self.body,
            "form": self.form,
            "files": [
                {
                    "field": f.field,
                    "filename": f.filename,
                    "content_type": f.content_type,
                    "size": f.size,
                }
                for f in self.files
            ],
            "attempts": [
                {"at_s": a.at_s, "outcome": a.outcome, "retry_in_s": a.retry_in_s}
                for a in self.attempts
            ],
            "status": self.status,
            "response_headers": dict(self.response_headers),
            "events": [
                {"at_s": at, "data": data.decode("utf-8", "replace")} for at, data in self.events
            ],
            "events_dropped": self.events_dropped,
            "response_body": self.response_text,
            "error": self.error,
        }

    # -- recording, used by the client ---------------------------------------------------------

    def attempt(self) -> Attempt:
        """Start a new try."""
        attempt = Attempt(at_s=self.elapsed())
        self.attempts.append(attempt)
        return attempt

    def responded(self, response: httpx.Response) -> None:
        """Record the final response's status and headers."""
        self.status = response.status_code
        self.response_headers = dict(response.headers.items())
        response.extensions[_EXTENSION] = self

    def read_body(self, response: httpx.Response) -> None:
        """Record a read (non-streamed) response body."""
        self._response_body = response.content[:MAX_BODY_BYTES]


@dataclass(slots=True)
class Trace:
    """The exchanges made within one :func:`tracing` context, oldest first."""

    exchanges: list[Exchange] = field(default_factory=list)

    @property
    def last(self) -> Exchange | None:
        """The newest exchange, or ``None`` before any request."""
        return self.exchanges[-1] if self.exchanges else None

    def begin(
        self,
        request: httpx.Request,
        form: Mapping[str, Any] | None = None,
        files: Mapping[str, tuple[str | None, Any, str | None]] | None = None,
    ) -> Exchange:
        """Record a request about to be sent."""
        headers = {
            name: "Bearer ***"
            if name.lower() == "authorization"
            else "***"
            if name.lower() in _REDACTED_HEADERS
            else value
            for name, value in request.headers.items()
        }
        exchange = Exchange(
            method=request.method,
            url=str(request.url),
            request_headers=headers,
            form=dict(form) if form is not None else None,
        )
        if form is None:
            # A JSON body is already encoded in memory; a multipart one is read while it is sent.
            with contextlib.suppress(httpx.RequestNotRead):
                exchange._body = request.content
        for name, part in (files or {}).items():
            filename, content, content_type = part
            exchange.files.append(
                TracedFile(name, filename or "", content_type or "", _size_of(content))
            )
        self.exchanges.append(exchange)
        return exchange

    def to_json(self) -> list[dict[str, Any]]:
        """Every exchange as JSON-able data."""
        return [exchange.to_json() for exchange in self.exchanges]


def current_trace() -> Trace | None:
    """The trace requests are recorded in here, if any."""
    return _current.get()


@contextlib.contextmanager
def tracing(trace: Trace) -> Iterator[Trace]:
    """Record every request made in this context (and in tasks started from it) in ``trace``."""
    token = _current.set(trace)
    try:
        yield trace
    finally:
        _current.reset(token)


def _size_of(content: object) -> int | None:
    if isinstance(content, bytes | bytearray):
        return len(content)
    if isinstance(content, io.BytesIO):
        with content.getbuffer() as view:
            return view.nbytes
    return None


def exchange_of(response: httpx.Response) -> Exchange | None:
    """The exchange that recorded ``response``, when its request was traced."""
    exchange = response.extensions.get(_EXTENSION)
    return exchange if isinstance(exchange, Exchange) else None
