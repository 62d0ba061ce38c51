"""A scripted, loopback, OpenAI-compatible HTTP server for tests (standard library only).

It runs ``ThreadingHTTPServer(("127.0.0.1", 0))`` in a daemon thread, so it works under any event
loop (asyncio, qasync) and streams with real timing: every SSE event is its own HTTP chunk, written
and flushed separately.

Usage::

    def test_something(fake_server):
        fake_server.script.append(Scripted(chunks=["Hel", "lo"], delay=0.05))
        client = AsyncClient(base_url=fake_server.url, api_key="k")
        ...
        assert fake_server.requests[0].json["model"] == "m"

Each incoming request consumes the next :class:`Scripted` entry (if any); with an empty script,
chat requests get a short default reply and the other endpoints a generated answer.

Endpoints (under ``/v1``): ``POST chat/completions``, ``POST embeddings`` (float and base64),
``POST audio/transcriptions`` and ``audio/translations`` (multipart, every response format),
``GET models``, and a fake Fireworks control plane ``GET accounts/<account>/models`` with
``pageSize``/``pageToken``/``nextPageToken`` (its root is :attr:`FakeServer.root`).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import select
import socket
import struct
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

import pytest

__all__ = [
    "DEFAULT_REPLY",
    "FIREWORKS_CATALOG",
    "MODELS",
    "NEVER",
    "FakeServer",
    "RecordedRequest",
    "Scripted",
    "UploadedFile",
    "fake_server",
    "fake_vector",
]

DEFAULT_REPLY: list[str] = ["Hello", " from", " the", " fake", " server."]

MODELS: list[dict[str, Any]] = [
    {"id": "fake-chat", "object": "model", "created": 1767225600, "owned_by": "fireplay-tests"},
    {"id": "fake-embed", "object": "model", "created": 1767225600, "owned_by": "fireplay-tests"},
    {"id": "whisper-v3", "object": "model", "created": 1767225600, "owned_by": "fireplay-tests"},
    {
        "id": "accounts/fireworks/models/llama-v3p1-8b-instruct",
        "object": "model",
        "created": 1767225600,
        "owned_by": "fireworks",
        "supports_tools": True,
        "context_length": 131072,
    },
]


def _catalog_entry(i: int) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": f"accounts/fireworks/models/fake-model-{i:02d}",
        "displayName": f"Fake Model {i:02d}",
        "kind": "EMBEDDING_MODEL" if i % 5 == 4 else "HF_BASE_MODEL",
        "state": "READY",
        "public": True,
        "contextLength": 8192 * (1 + i % 4),
        "supportsTools": i % 2 == 0,
        "supportsImageInput": i % 3 == 0,
        "supportsServerless": i % 4 != 3,
        "baseModelDetails": {"parameterCount": str(1_000_000_000 * (i + 1)), "moe": False},
        "someFutureField": {"i": i},
    }
    if i % 5 != 4:
        entry["conversationConfig"] = {"style": "jinja"}
    return entry


# Twelve records: enough for several pages at small page sizes.
FIREWORKS_CATALOG: list[dict[str, Any]] = [_catalog_entry(i) for i in range(12)]

# Never set: a response that waits for it (``wait_for``) waits until the server stops, which is
# how a test gets a server that surely does not answer in time.
NEVER = threading.Event()

_UsagePlacement = Literal["auto", "finish", "separate"]


@dataclass
class Scripted:
    """One scripted response, consumed in order by the next request.

    Attributes:
        status: HTTP status. A non-2xx status without ``body`` sends an OpenAI error envelope.
        chunks: Text deltas (``content``). Streamed as one SSE event each when the request has
            ``stream: true``; joined into ``message.content`` otherwise. When ``chunks``,
            ``reasoning`` and ``tool_calls`` are all empty, chat gets :data:`DEFAULT_REPLY`.
        reasoning: ``reasoning_content`` deltas, sent before the text.
        tool_calls: Raw tool-call deltas: each item is the ``delta.tool_calls`` list of one
            chunk, sent after the text (non-streamed requests get them assembled by index).
        delay: Seconds between SSE events.
        first_byte_delay: Seconds before the status line is sent.
        wait_for: An event the response waits for before its status line (or, with
            ``hold_after``, in the middle of the stream), so a test can order what happens
            without relying on how long anything takes.
        hold_after: Wait for ``wait_for`` after this many SSE events: a stream that is surely
            still running when the test acts on it.
        body: Raw body sent instead of a generated one: a dict as JSON, ``str``/``bytes`` as is
            (set ``content-type`` in ``headers`` to change the defaults). For any endpoint.
        headers: Extra response headers.
        usage: ``"default"`` generates counts, a dict is sent as is, ``None`` sends no usage.
        usage_placement: ``"finish"`` puts usage on the finish chunk (Fireworks style),
            ``"separate"`` on an extra chunk with ``choices: []`` (OpenAI ``include_usage``
            style); ``"auto"`` picks ``separate`` when the request set
            ``stream_options.include_usage`` and ``finish`` otherwise.
        raw_events: Exact pieces of the stream body (``str`` or ``bytes``), each written and
            flushed as its own HTTP chunk; nothing else is generated (no ``[DONE]``).
        drop_after: Close the socket abruptly after this many SSE events (or raw pieces).
        finish_reason: The finish chunk's ``finish_reason``.
        perf_metrics: Sent as ``perf_metrics`` on the finish chunk / the response body.
        model: Reported model id (default: the requested one).
    """

    status: int = 200
    chunks: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    tool_calls: list[list[dict[str, Any]]] | None = None
    delay: float = 0.0
    first_byte_delay: float = 0.0
    wait_for: threading.Event | None = None
    hold_after: int | None = None
    body: dict[str, Any] | list[Any] | str | bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    usage: dict[str, Any] | Literal["default"] | None = "default"
    usage_placement: _UsagePlacement = "auto"
    raw_events: list[str | bytes] | None = None
    drop_after: int | None = None
    finish_reason: str = "stop"
    perf_metrics: dict[str, Any] | None = None
    model: str | None = None


@dataclass
class UploadedFile:
    """A file part of a multipart request."""

    filename: str
    content_type: str
    content: bytes


@dataclass
class RecordedRequest:
    """What the server received.

    Attributes:
        method: HTTP method.
        path: Path without the query string.
        query: Parsed query string.
        headers: Header names lower-cased.
        body: Raw body.
        json: Parsed JSON body, or ``None``.
        form: Multipart form fields (repeated names keep every value).
        files: Multipart file parts by field name.
        client_disconnected: Set when a write failed because the client went away.
    """

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    json: Any = None
    form: dict[str, list[str]] = field(default_factory=dict)
    files: dict[str, UploadedFile] = field(default_factory=dict)
    client_disconnected: bool = False


class _ClientGoneError(Exception):
    """The client closed the connection while we were writing."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""

    # -- request plumbing -------------------------------------------------------------------

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def _read_body(self) -> bytes:
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            parts: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("content-length") or 0)
        return self.rfile.read(length) if length else b""

    def _record(self) -> RecordedRequest:
        body = self._read_body()
        url = urlsplit(self.path)
        record = RecordedRequest(
            method=self.command,
            path=url.path,
            query=parse_qs(url.query),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        content_type = self.headers.get("content-type", "")
        if "json" in content_type and body:
            try:
                record.json = json.loads(body)
            except ValueError:
                record.json = None
        elif content_type.startswith("multipart/form-data"):
            record.form, record.files = _parse_multipart(content_type, body)
        return record

    def _dispatch(self) -> None:
        fake = self.server.fake
        try:
            record = self._record()
            with fake.lock:
                fake.requests.append(record)
                scripted = fake.next_script(record)
            self._respond(record, scripted)
        except _ClientGoneError:
            self.close_connection = True
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            self.close_connection = True

    def _respond(self, record: RecordedRequest, scripted: Scripted | None) -> None:
        script = scripted or Scripted()
        if script.first_byte_delay and self.server.fake.stopping.wait(script.first_byte_delay):
            return
        if (
            script.wait_for is not None
            and script.hold_after is None
            and not self._wait(script.wait_for, record)
        ):
            return
        if script.raw_events is not None:
            self._stream(record, script, [_as_bytes(e) for e in script.raw_events])
            return
        if script.body is not None:
            self._send_raw(script.status, script.body, script.headers)
            return
        if script.status >= 400:
            self._send_json(script.status, _error_envelope(script.status), script.headers)
            return
        route = record.path.removeprefix("/v1")
        if record.method == "POST" and route == "/chat/completions":
            self._chat(record, script)
        elif record.method == "POST" and route == "/embeddings":
            self._send_json(script.status, _embeddings(record.json or {}), script.headers)
        elif record.method == "POST" and route in ("/audio/transcriptions", "/audio/translations"):
            self._audio(record, script, translate=route.endswith("translations"))
        elif record.method == "GET" and route == "/models":
            self._send_json(script.status, {"object": "list", "data": MODELS}, script.headers)
        elif (
            record.method == "GET" and route.startswith("/accounts/") and route.endswith("/models")
        ):
            self._send_json(script.status, _catalog_page(record.query), script.headers)
        else:
            body = _error_envelope(404, f"No route for {record.method} {record.path}")
            self._send_json(404, body, script.headers)

    # -- writing ------------------------------------------------------------------------------

    def _send_raw(self, status: int, body: Any, headers: dict[str, str]) -> None:
        if isinstance(body, dict | list):
            self._send_json(status, body, headers)
            return
        data = _as_bytes(body)
        default_type = (
            "text/plain; charset=utf-8" if isinstance(body, str) else "application/octet-stream"
        )
        self._send_bytes(status, data, {"content-type": default_type, **_lower(headers)})

    def _wait(self, event: threading.Event, record: RecordedRequest) -> bool:
        """Wait for ``event``; False when the server stops first.

        A client that hangs up meanwhile is noticed at once (``client_disconnected``), as a
        failed write would notice it.
        """
        stopping = self.server.fake.stopping
        while not event.wait(0.01):
            if stopping.is_set():
                return False
            if self._client_hung_up():
                record.client_disconnected = True
                raise _ClientGoneError
        return True

    def _client_hung_up(self) -> bool:
        readable, _, _ = select.select([self.connection], [], [], 0)
        if not readable:
            return False
        try:
            return not self.connection.recv(1, socket.MSG_PEEK)
        except OSError:  # reset by the peer
            return True

    def _send_json(self, status: int, body: Any, headers: dict[str, str]) -> None:
        data = json.dumps(body).encode()
        self._send_bytes(status, data, {"content-type": "application/json", **_lower(headers)})

    def _send_bytes(self, status: int, data: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _write_chunk(self, record: RecordedRequest, data: bytes) -> None:
        try:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError) as exc:
            record.client_disconnected = True
            raise _ClientGoneError from exc

    def _stream(self, record: RecordedRequest, script: Scripted, events: list[bytes]) -> None:
        self.send_response(script.status)
        headers = {"content-type": "text/event-stream", "cache-control": "no-cache"}
        for name, value in {**headers, **_lower(script.headers)}.items():
            self.send_header(name, value)
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        self.wfile.flush()
        stopping = self.server.fake.stopping
        for n, event in enumerate(events):
            if script.drop_after is not None and n >= script.drop_after:
                self._drop()
                return
            if n and script.delay and stopping.wait(script.delay):
                return
            if (
                n == script.hold_after
                and script.wait_for
                and not self._wait(script.wait_for, record)
            ):
                return
            self._write_chunk(record, event)
        if script.drop_after is not None and script.drop_after <= len(events):
            self._drop()
            return
        self._write_chunk(record, b"")

    def _drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    # -- endpoints ----------------------------------------------------------------------------

    def _chat(self, record: RecordedRequest, script: Scripted) -> None:
        request = record.json if isinstance(record.json, dict) else {}
        has_output = script.chunks or script.reasoning or script.tool_calls
        chunks = script.chunks if has_output else DEFAULT_REPLY
        model = script.model or str(request.get("model", "fake-chat"))
        usage = _usage(script, request, chunks)
        created = int(time.time())
        completion_id = f"chatcmpl-fake-{len(self.server.fake.requests)}"
        if not request.get("stream"):
            self._send_json(
                script.status,
                _completion(completion_id, created, model, script, chunks, usage),
                script.headers,
            )
            return
        include_usage = bool((request.get("stream_options") or {}).get("include_usage"))
        placement = script.usage_placement
        if placement == "auto":
            placement = "separate" if include_usage else "finish"
        events = _chat_events(completion_id, created, model, script, chunks, usage, placement)
        self._stream(record, script, events)

    def _audio(self, record: RecordedRequest, script: Scripted, *, translate: bool) -> None:
        fmt = (record.form.get("response_format") or ["json"])[0]
        upload = record.files.get("file")
        size = len(upload.content) if upload else 0
        text = "Hello from the fake server." if translate else "Hallo vom Testserver."
        text = f"{text} ({size} bytes)"
        if fmt == "text":
            self._send_raw(
                200, text, {"content-type": "text/plain; charset=utf-8", **script.headers}
            )
        elif fmt == "srt":
            srt = f"1\n00:00:00,000 --> 00:00:01,500\n{text}\n"
            self._send_raw(
                200, srt, {"content-type": "text/plain; charset=utf-8", **script.headers}
            )
        elif fmt == "vtt":
            vtt = f"WEBVTT\n\n00:00:00.000 --> 00:00:01.500\n{text}\n"
            self._send_raw(200, vtt, {"content-type": "text/vtt; charset=utf-8", **script.headers})
        elif fmt == "verbose_json":
            words = [
                {"word": w, "start": 0.3 * i, "end": 0.3 * i + 0.25, "probability": 0.9}
                for i, w in enumerate(text.split())
            ]
            body = {
                "task": "translate" if translate else "transcribe",
                "language": "en" if translate else "de",
                "duration": 1.5,
                "text": text,
                "words": words,
                "segments": [
                    {
                        "id": 0,
                        "seek": 0,
                        "start": 0.0,
                        "end": 1.5,
                        "text": text,
                        "tokens": [1, 2, 3],
                        "temperature": 0.0,
                        "avg_logprob": -0.2,
                        "compression_ratio": 1.1,
                        "no_speech_prob": 0.01,
                        "speaker_id": "SPEAKER_00",
                    },
                ],
            }
            self._send_json(200, body, script.headers)
        else:
            self._send_json(200, {"text": text}, script.headers)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, fake: FakeServer) -> None:
        self.fake = fake
        super().__init__(("127.0.0.1", 0), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that vanished mid-response is part of the tests, not a server failure.
        return


def openai_error(message: str, kind: str = "invalid_request_error") -> dict[str, Any]:
    """An error body in OpenAI's envelope, for ``Scripted(status=..., body=...)``."""
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}


class FakeServer:
    """The scripted OpenAI-compatible server.

    Attributes:
        script: Responses for the next requests, consumed in order.
        by_model: Responses for requests naming a model, consumed in order and before
            ``script``; concurrent requests to different models then get deterministic replies.
        requests: Every request received, in order.
    """

    def __init__(self) -> None:
        """Create a stopped server; call :meth:`start`."""
        self.script: list[Scripted] = []
        self.by_model: defaultdict[str, list[Scripted]] = defaultdict(list)
        self.requests: list[RecordedRequest] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def next_script(self, record: RecordedRequest) -> Scripted | None:
        """The response for ``record`` (call with :attr:`lock` held)."""
        model = record.json.get("model") if isinstance(record.json, dict) else None
        if model is None and record.form.get("model"):
            model = record.form["model"][0]  # multipart uploads (audio) name it in a field
        queue = self.by_model.get(model) if isinstance(model, str) else None
        if queue:
            return queue.pop(0)
        return self.script.pop(0) if self.script else None

    @property
    def port(self) -> int:
        """The bound port."""
        if self._server is None:
            raise RuntimeError("FakeServer is not started")
        return int(self._server.server_address[1])

    @property
    def root(self) -> str:
        """``http://127.0.0.1:PORT`` (the fake Fireworks control-plane root)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """The OpenAI-style base URL, ``http://127.0.0.1:PORT/v1``."""
        return f"{self.root}/v1"

    def start(self) -> FakeServer:
        """Bind a free loopback port and serve in a daemon thread."""
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; streaming handlers still running give up at their next wait."""
        self.stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def wait_until(self, predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
        """Poll ``predicate`` (from a non-server thread) until it is true or ``timeout`` passes."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(0.01)
        return predicate()


@pytest.fixture
def fake_server() -> Iterator[FakeServer]:
    """A started :class:`FakeServer`, stopped after the test."""
    server = FakeServer().start()
    try:
        yield server
    finally:
        server.stop()


# -- response builders --------------------------------------------------------------------------


def _as_bytes(value: str | bytes) -> bytes:
    return value.encode() if isinstance(value, str) else value


def _lower(headers: dict[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def _error_envelope(status: int, message: str | None = None) -> dict[str, Any]:
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    kind = "invalid_request_error" if status < 500 else "server_error"
    return {"error": {"message": message or phrase, "type": kind, "param": None, "code": None}}


def _usage(script: Scripted, request: dict[str, Any], chunks: list[str]) -> dict[str, Any] | None:
    if script.usage is None:
        return None
    if isinstance(script.usage, dict):
        return script.usage
    prompt = sum(len(str(m.get("content", "")).split()) for m in request.get("messages") or [])
    completion = len(chunks) + len(script.reasoning) + len(script.tool_calls or [])
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _chunk(
    completion_id: str, created: int, model: str, choices: list[dict[str, Any]], **extra: Any
) -> bytes:
    body = {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": choices,
        **extra,
    }
    return b"data: " + json.dumps(body, separators=(",", ":")).encode() + b"\n\n"


def _chat_events(
    completion_id: str,
    created: int,
    model: str,
    script: Scripted,
    chunks: list[str],
    usage: dict[str, Any] | None,
    placement: str,
) -> list[bytes]:
    def delta(d: dict[str, Any], finish: str | None = None) -> list[dict[str, Any]]:
        return [{"index": 0, "delta": d, "logprobs": None, "finish_reason": finish}]

    events = [_chunk(completion_id, created, model, delta({"role": "assistant", "content": ""}))]
    events += [
        _chunk(completion_id, created, model, delta({"reasoning_content": r}))
        for r in script.reasoning
    ]
    events += [_chunk(completion_id, created, model, delta({"content": c})) for c in chunks]
    events += [
        _chunk(completion_id, created, model, delta({"tool_calls": calls}))
        for calls in script.tool_calls or []
    ]
    finish_extra: dict[str, Any] = {}
    if usage is not None and placement == "finish":
        finish_extra["usage"] = usage
    if script.perf_metrics is not None:
        finish_extra["perf_metrics"] = script.perf_metrics
    events.append(
        _chunk(completion_id, created, model, delta({}, script.finish_reason), **finish_extra)
    )
    if usage is not None and placement == "separate":
        events.append(_chunk(completion_id, created, model, [], usage=usage))
    events.append(b"data: [DONE]\n\n")
    return events


def _assemble_tool_calls(deltas: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    calls: dict[int, dict[str, Any]] = {}
    for entries in deltas:
        for entry in entries:
            call = calls.setdefault(
                int(entry.get("index", 0)),
                {"id": "", "type": "function", "function": {"name": "", "arguments": ""}},
            )
            call["id"] = call["id"] or entry.get("id") or ""
            function = entry.get("function") or {}
            call["function"]["name"] = call["function"]["name"] or function.get("name") or ""
            arguments = function.get("arguments")
            if isinstance(arguments, str):
                call["function"]["arguments"] += arguments
            elif arguments is not None:
                call["function"]["arguments"] = arguments
    return [calls[i] for i in sorted(calls)]


def _completion(
    completion_id: str,
    created: int,
    model: str,
    script: Scripted,
    chunks: list[str],
    usage: dict[str, Any] | None,
) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": "".join(chunks), "refusal": None}
    if script.reasoning:
        message["reasoning_content"] = "".join(script.reasoning)
    if script.tool_calls:
        message["tool_calls"] = _assemble_tool_calls(script.tool_calls)
    body: dict[str, Any] = {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": script.finish_reason,
            }
        ],
    }
    if usage is not None:
        body["usage"] = usage
    if script.perf_metrics is not None:
        body["perf_metrics"] = script.perf_metrics
    return body


def fake_vector(text: str, dimensions: int) -> list[float]:
    """The vector the server returns for ``text`` (the same every time, unnormalised)."""
    digest = hashlib.sha256(text.encode()).digest()
    # Values exactly representable in float32, so base64 round trips compare equal.
    return [(digest[i % len(digest)] - 128) / 128 for i in range(dimensions)]


def _embeddings(request: dict[str, Any]) -> dict[str, Any]:
    inputs = request.get("input", "")
    texts = [inputs] if isinstance(inputs, str) else [str(i) for i in inputs]
    dimensions = int(request.get("dimensions") or 8)
    as_base64 = request.get("encoding_format") == "base64"
    data = []
    for index, text in enumerate(texts):
        vector = fake_vector(text, dimensions)
        embedding: Any = vector
        if as_base64:
            embedding = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
        data.append({"object": "embedding", "index": index, "embedding": embedding})
    tokens = sum(len(t.split()) for t in texts)
    return {
        "object": "list",
        "model": request.get("model", "fake-embed"),
        "data": data,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


def _catalog_page(query: dict[str, list[str]]) -> dict[str, Any]:
    page_size = min(int((query.get("pageSize") or ["50"])[0]), 200)
    offset = int((query.get("pageToken") or ["0"])[0] or 0)
    records = FIREWORKS_CATALOG
    if (query.get("filter") or [""])[0].replace(" ", "") == "supports_serverless=true":
        records = [r for r in records if r["supportsServerless"]]
    page: dict[str, Any] = {
        "models": records[offset : offset + page_size],
        "totalSize": len(records),
    }
    if offset + page_size < len(records):
        page["nextPageToken"] = str(offset + page_size)
    return page


def _parse_multipart(
    content_type: str, body: bytes
) -> tuple[dict[str, list[str]], dict[str, UploadedFile]]:
    message = BytesParser(policy=HTTP).parsebytes(
        b"content-type: " + content_type.encode() + b"\r\n\r\n" + body
    )
    form: dict[str, list[str]] = {}
    files: dict[str, UploadedFile] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        content = payload if isinstance(payload, bytes) else b""
        filename = part.get_filename()
        if filename is not None:
            files[name] = UploadedFile(filename, part.get_content_type(), content)
        else:
            form.setdefault(name, []).append(content.decode())
    return form, files
