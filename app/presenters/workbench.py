"""The workbench every tab is: one input, 1–8 panes side by side, each with its own target.

A tab plugs in by subclassing :class:`WorkbenchPane` (its input state and its run) and
:class:`Workbench` (what its shared input is and how it is sent); everything else — targets, model
lists, runs in flight, stop, layout, marks, diff, export and persistence — lives here once.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import math
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from contextlib import aclosing
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from PySide6.QtCore import QObject, Signal

import app
from app.client import Exchange, FireplayError, Trace, tracing
from app.domain.capabilities import model_capabilities
from app.domain.catalog import estimate_audio_cost, estimate_cost, load_catalog
from app.domain.compare import (
    ComparisonRecord,
    PaneRecord,
    Segment,
    best_panes,
    comparison_to_json,
    comparison_to_markdown,
    word_diff,
)
from app.domain.connections import FIREWORKS_PROVIDER_ID, LOCAL_PROVIDER_ID
from app.domain.history import RunHandle, RunStart, prompt_of, strip_media
from app.domain.metrics import RunMetrics
from app.domain.params import PARAMS, ParamSpec, clean_params
from app.domain.run import (
    CostEstimator,
    Failed,
    Finished,
    ReasoningDelta,
    RunEvent,
    Started,
    TextDelta,
    ToolCallDelta,
)
from app.settings import TargetSettings

if TYPE_CHECKING:
    from app.client import AsyncClient
    from app.domain.codegen import CodeRequest
    from app.presenters.presets import Presets
    from app.presenters.services import Services

__all__ = ["MAX_PANES", "Layout", "RunOutcome", "Variation", "Workbench", "WorkbenchPane"]

MAX_PANES = 8
Layout = Literal["columns", "grid"]
Variation = Literal["seed", "temperature"]

# Fireworks reports server-side timings in the body only when asked.
_PROVIDER_EXTRAS: dict[str, dict[str, Any]] = {
    FIREWORKS_PROVIDER_ID: {"perf_metrics_in_response": True}
}
# A run lets the event loop run (painting, input, the other panes) after this many events, so a
# burst of thousands of buffered chunks never holds the UI thread for its whole length.
_YIELD_EVERY = 32
# Live metrics while a reply streams are refreshed at most this often.
# (Each refresh relays out the pane; with eight panes streaming, 4 Hz cost the UI ~10 ms at p99.)
_LIVE_METRICS_EVERY_S = 1.0
# "Connecting to …" is said only when connecting takes longer than this, so a quick server
# never makes eight status lines flicker (and relayout) as a Send starts.
_SAY_CONNECTING_AFTER_S = 0.3
_ENDPOINTS = ("/chat/completions", "/embeddings", "/audio/transcriptions", "/audio/translations")


class RunOutcome:
    """How a pane's newest run ended, for tabs that keep one result per pane."""

    COMPLETE = "complete"
    STOPPED = "stopped"
    FAILED = "failed"


class WorkbenchPane(QObject):
    """One target (provider, model, parameters) and the runs made for it.

    Subclasses hold the tab's own pane state, start their runs with :meth:`_start` and hand the
    streamed text to :meth:`_consume`.

    Signals:
        busy_changed(bool): a run started or ended.
        models_changed(list, list, str): the model ids that suit the tab, the others the provider
            lists, and where the list came from.
        target_changed(): provider, model or parameters changed.
        status_changed(str): a short status line (connecting, engine starting, model list).
        failed(str): a run failed; the message is the server's own words.
        live_metrics(object): :class:`RunMetrics` of the run in flight, refreshed while it streams.
        result_changed(): the pane's result (what :meth:`result_text` returns) was replaced.
    """

    busy_changed = Signal(bool)
    models_changed = Signal(list, list, str)
    target_changed = Signal()
    status_changed = Signal(str)
    failed = Signal(str)
    live_metrics = Signal(object)
    result_changed = Signal()

    #: The model capability this tab needs; models that have it are offered first.
    capability: ClassVar[str] = "chat"
    #: The parameters this tab's requests take (shown in the side panel, checked before sending).
    param_specs: ClassVar[tuple[ParamSpec, ...]] = PARAMS
    #: The measured time that includes waiting in the built-in engine's queue.
    queued_figure: ClassVar[str] = "TTFT"
    #: Models a new pane starts with, per provider, where the provider's default lacks the
    #: tab's capability (a chat model in a speech or embeddings tab).
    suggested_models: ClassVar[dict[str, str]] = {}

    def __init__(
        self, services: Services, target: TargetSettings, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._services = services
        self._provider_id = target.provider
        self._model = target.model
        self._params: dict[str, Any] = dict(target.params)
        self._options: dict[str, Any] = dict(target.options)
        self._task: asyncio.Task[None] | None = None
        # Cleared inside the task's last step, so listeners of busy_changed already see idle.
        self._running = False
        self._models_task: asyncio.Task[None] | None = None
        self._models_loaded_for: str | None = None
        #: The workbench round this pane's newest result answers (see Workbench marks).
        self.answered_input = -1
        #: Why this round's TTFT is not the model's alone ("" when it is; see Workbench).
        self.queue_note = ""
        self._live: RunMetrics | None = None
        self._connecting: asyncio.TimerHandle | None = None
        self._connecting_said = False
        #: The tab this pane belongs to (set by its workbench), and the tab's inputs as a run
        #: starts, for the history.
        self.tab_id = ""
        self.inputs_source: Callable[[], dict[str, Any]] = dict
        self._trace = Trace()
        self._recording: _Recording | None = None
        services.engine.status_changed.connect(self._on_engine_status)
        self.failed.connect(self._note_failure)

    # -- state read by views -------------------------------------------------------------------

    @property
    def target(self) -> TargetSettings:
        """This pane's target as it would be saved."""
        return TargetSettings(
            provider=self._provider_id,
            model=self._model,
            params=dict(self._params),
            options=dict(self._options),
        )

    @property
    def params(self) -> dict[str, Any]:
        """The parameters the user has set; unset ones are absent and use the provider default."""
        return dict(self._params)

    @property
    def provider_id(self) -> str:
        """Id of the provider profile the next run uses."""
        return self._provider_id

    @property
    def model(self) -> str:
        """Model id the next run uses."""
        return self._model

    @property
    def busy(self) -> bool:
        """Whether a run is in flight."""
        return self._running

    @property
    def last_metrics(self) -> RunMetrics | None:
        """Metrics of the newest finished (or stopped, or failed) run, if it has any."""
        return None

    @property
    def live_snapshot(self) -> RunMetrics | None:
        """The newest live figures of the run in flight or last stopped (``None`` before any)."""
        return self._live

    @property
    def exchanges(self) -> list[Exchange]:
        """The requests of the newest run as sent, with their responses (the request inspector)."""
        return list(self._trace.exchanges)

    @property
    def has_output(self) -> bool:
        """Whether the newest run completed with output (failed, stopped and empty runs did not)."""
        raise NotImplementedError

    def result_text(self) -> str:
        """The newest result as text: what Diff compares and what Copy takes."""
        raise NotImplementedError

    def record(self) -> dict[str, Any]:
        """What the pane shows, for an export: at least ``messages`` and ``metrics`` lists."""
        raise NotImplementedError

    def result_state(self) -> dict[str, Any] | None:
        """What the pane shows, as JSON data that :meth:`restore_result` puts back (sessions,
        reopening a run from the history); ``None`` when there is nothing to keep."""
        return None

    def restore_result(self, state: Mapping[str, Any]) -> None:
        """Show a result saved by :meth:`result_state` (tabs override; emit ``result_changed``)."""

    def code_request(self) -> CodeRequest | None:
        """The newest request, for View code (``None`` before the first request)."""
        from app.domain.codegen import CodeRequest

        exchange = next((e for e in reversed(self._trace.exchanges) if e.method == "POST"), None)
        if exchange is None:
            return None
        endpoint = _endpoint_of(exchange.path)
        profile = self._services.settings.settings.provider(self._provider_id)
        return CodeRequest(
            method=exchange.method,
            base_url=exchange.url.split("?")[0].removesuffix(endpoint),
            path=endpoint,
            body=exchange.body,
            form=exchange.form,
            file_path=self._code_file_path(),
            api_key_env=profile.api_key_env or "OPENAI_API_KEY",
            media_paths=self._code_media_paths(),
        )

    def code(self, language: str) -> str | None:
        """The code that makes the newest request again, in ``language`` (see ``LANGUAGES``)."""
        from app.domain.codegen import generate

        request = self.code_request()
        return generate(request, language) if request is not None else None

    def inspection(self, *, elide_media: bool = False) -> list[dict[str, Any]]:
        """The newest run's exchanges as JSON data, exactly as recorded (keys redacted).

        With ``elide_media`` every embedded image or audio (a ``data:`` URL) is shortened to
        its type and size, for showing: a screen of base64 helps nobody and is slow to lay out.
        """
        exchanges = [exchange.to_json() for exchange in self._trace.exchanges]
        return [_elided(e) for e in exchanges] if elide_media else exchanges

    def _code_file_path(self) -> str | None:
        """The path of the file the newest request uploaded (tabs that upload override)."""
        return None

    def _code_media_paths(self) -> tuple[str, ...]:
        """Paths of the images the newest request embedded, in order (tabs with images override)."""
        return ()

    def variation_label(self) -> str:
        """The seed and temperature this pane sets, e.g. ``seed 2 · temp 0.7`` ("" if none)."""
        parts = []
        if "seed" in self._params:
            parts.append(f"seed {self._params['seed']}")
        if "temperature" in self._params:
            parts.append(f"temp {self._params['temperature']:g}")
        return " · ".join(parts)

    @classmethod
    def suggested_model(cls, provider_id: str, default_model: str) -> str:
        """The model a pane of this tab starts with on ``provider_id`` (whose default is given).

        The provider's default when it has the tab's capability, else the tab's suggestion for
        the provider (:attr:`suggested_models`), if it has one.
        """
        if not cls.suggested_models or cls.capability in model_capabilities(default_model):
            return default_model
        return cls.suggested_models.get(provider_id, "")

    # -- commands ------------------------------------------------------------------------------

    def stop(self) -> None:
        """Cancel the run in flight; what was received so far is kept and marked stopped."""
        if self._task is not None and not self._task.done():
            if self._recording is not None:
                self._recording.stopped = True
            self._task.cancel()

    def set_param(self, name: str, value: Any) -> None:
        """Set a parameter, or unset it with ``None`` so the provider default applies."""
        if value is None:
            self._params.pop(name, None)
        else:
            self._params[name] = value
        self.target_changed.emit()

    def set_option(self, name: str, value: Any) -> None:
        """Set one of the tab's own choices for this target, or unset it with ``None``."""
        if value is None:
            self._options.pop(name, None)
        else:
            self._options[name] = value
        self.target_changed.emit()

    def set_provider(self, provider_id: str) -> None:
        """Switch provider; the model switches to the provider's default and the list refreshes."""
        if provider_id == self._provider_id:
            return
        profile = self._services.settings.settings.provider(provider_id)
        self._provider_id = provider_id
        self._model = self.suggested_model(provider_id, profile.default_model or "")
        self.target_changed.emit()
        self.refresh_models()

    def set_model(self, model: str) -> None:
        """Use ``model`` for the next run."""
        model = model.strip()
        if model == self._model:
            return
        self._model = model
        self.target_changed.emit()
        if self._provider_id == FIREWORKS_PROVIDER_ID:
            self._suggest_fireworks_equivalent(model)

    def refresh_models(self) -> None:
        """Fetch the provider's model list in the background; ``models_changed`` reports it."""
        if self._models_task is not None and not self._models_task.done():
            self._models_task.cancel()
        self._models_task = self._services.runner.start(self._load_models(), name="pane.models")

    def ensure_models(self) -> None:
        """Load the model list once per provider (when the picker is first opened)."""
        if self._models_loaded_for != self._provider_id:
            self.refresh_models()

    # -- runs, for subclasses ------------------------------------------------------------------

    def _start(self, run: Coroutine[Any, Any, None]) -> None:
        """Run ``run`` as this pane's run in flight (``busy`` until it ends)."""
        self._running = True
        started: list[bool] = []
        self._task = self._services.runner.start(self._lifecycle(run, started), name="pane.run")
        self._task.add_done_callback(lambda _task: self._after_run(run, started))
        self.busy_changed.emit(True)

    async def _lifecycle(self, run: Coroutine[Any, Any, None], started: list[bool]) -> None:
        started.append(True)
        self._trace = Trace()
        recording = self._recording = self._begin_recording()
        try:
            with tracing(self._trace):
                await run
        except asyncio.CancelledError:
            recording.stopped = True
            raise
        finally:
            self._recording = None
            self._finish_recording(recording)
            self._running = False
            self.busy_changed.emit(False)

    def _begin_recording(self) -> _Recording:
        target = self.target
        start = RunStart(
            tab=self.tab_id,
            provider=target.provider,
            model=target.model,
            params={**target.params, **_target_extras(target)},
            inputs=strip_media(self.inputs_source()),
            started_at=time.time(),
        )
        return _Recording(self._services.history.begin(start))

    def _finish_recording(self, recording: _Recording) -> None:
        self._record_request(recording)
        metrics = self.last_metrics
        if recording.error:
            status = "failed"
        elif recording.stopped:
            status = "stopped"
        else:
            status = "complete"
        recording.handle.finish(
            status=status,
            output=self.result_text() if self.has_output or not recording.streamed else None,
            metrics=dataclasses.asdict(metrics) if metrics is not None else None,
            error=recording.error,
            result=self.result_state(),
        )
        self._services.history.finished()

    def _record_request(self, recording: _Recording) -> None:
        exchange = self._trace.last
        if exchange is None or exchange is recording.request_of:
            return
        recording.request_of = exchange
        request = strip_media(exchange.to_json())
        for name in ("events", "response_body", "response_headers", "attempts"):
            request.pop(name, None)
        request["path"] = _endpoint_of(exchange.path)  # as the API names it, for batch files
        recording.handle.set_request(request, _history_prompt(exchange.body, exchange.form))

    def _note_failure(self, message: str) -> None:
        if self._recording is not None:
            self._recording.error = message

    def _after_run(self, run: Coroutine[Any, Any, None], started: list[bool]) -> None:
        if started:
            return
        # Stopped before its first step (Stop right after Send): the run never began, so it
        # could not mark itself stopped; close it and let the tab do so.
        run.close()
        self._stopped_before_start()
        self._running = False
        self.busy_changed.emit(False)

    def _stopped_before_start(self) -> None:
        """A run was stopped before it began: show it as stopped (tabs override)."""

    async def _client(self) -> AsyncClient:
        """The client for this pane's provider, saying where it connects meanwhile.

        Raises:
            ValueError: no model is chosen or a parameter is out of range.
            FireplayError: the provider cannot be used (no key, engine cannot start, ...).
        """
        if not self._model:
            raise ValueError("Choose a model for this pane first.")
        clean_params(self._params, self.param_specs)  # a bad value is reported before sending
        profile = self._services.settings.settings.provider(self._provider_id)
        where = profile.base_url_for(self._model) if profile.base_url else "the built-in engine"
        self._say_connecting(f"Connecting to {where}…")
        try:
            return await self._services.connections.client(self._provider_id)
        except BaseException:
            self._connected()
            raise

    def _say_connecting(self, text: str) -> None:
        """Show ``text`` if the server has not answered soon; :meth:`_connected` ends it."""
        self._connected()

        def say() -> None:
            self._connecting_said = True
            self.status_changed.emit(text)

        self._connecting = asyncio.get_running_loop().call_later(_SAY_CONNECTING_AFTER_S, say)

    def _connected(self) -> None:
        if self._connecting is not None:
            self._connecting.cancel()
            self._connecting = None
        if self._connecting_said:
            self._connecting_said = False
            self.status_changed.emit("")

    def _request_params(self) -> dict[str, Any]:
        """The parameters to send: those the user set, in their wire types."""
        return clean_params(self._params, self.param_specs)

    def _extra_body(self) -> dict[str, Any] | None:
        return _PROVIDER_EXTRAS.get(self._provider_id)

    def _cost_estimator(self) -> CostEstimator | None:
        info = (
            load_catalog().get(self._model) if self._provider_id == FIREWORKS_PROVIDER_ID else None
        )
        if info is None:
            return None

        def estimate(metrics: RunMetrics) -> float | None:
            if metrics.audio_s is not None:
                return estimate_audio_cost(info, metrics.audio_s)
            if metrics.prompt_tokens is None:
                return None
            if metrics.completion_tokens is None and info.kind == "embedding":
                return estimate_cost(info, metrics.prompt_tokens, 0)
            if metrics.completion_tokens is None:
                return None
            return estimate_cost(
                info, metrics.prompt_tokens, metrics.completion_tokens, metrics.cached_tokens or 0
            )

        return estimate

    async def _consume(
        self,
        events: AsyncIterator[RunEvent],
        on_text: Callable[[str], None],
        on_reasoning: Callable[[str], None] | None = None,
        on_event: Callable[[RunEvent], None] | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> RunEvent | None:
        """Feed a run's text to ``on_text`` (bursts joined) and its other events to ``on_event``.

        Text queued before another event is delivered first, so the tab sees everything in the
        order it arrived. Returns the run's last event (``Finished`` or ``Failed``); a cancelled
        run delivers what it received and re-raises. Live metrics are emitted while it streams.
        """
        recording = self._recording
        if recording is not None:
            recording.streamed = True
            shown = on_text

            def on_text(text: str) -> None:
                recording.handle.append_output(text)
                shown(text)

        outbox = _Outbox(on_text, on_reasoning or (lambda _text: None))
        live = _LiveMetrics(self, clock)
        try:
            async with aclosing(events):  # type: ignore[type-var]
                handled = 0
                answered = False
                async for event in events:
                    if not answered:
                        if isinstance(event, Started):
                            continue
                        answered = True
                        self._connected()
                        if recording is not None:
                            self._record_request(recording)
                    match event:
                        case TextDelta(text=text):
                            outbox.add_text(text)
                            live.token()
                        case ReasoningDelta(text=text):
                            outbox.add_reasoning(text)
                            live.token()
                        case Finished() | Failed():
                            outbox.deliver()
                            return event
                        case _:
                            outbox.deliver()
                            if isinstance(event, ToolCallDelta):
                                live.token()
                            if on_event is not None:
                                on_event(event)
                    handled += 1
                    if handled % _YIELD_EVERY == 0:
                        await asyncio.sleep(0)
        finally:
            outbox.deliver()
            live.flush()
            self._connected()
        return None

    # -- internals -----------------------------------------------------------------------------

    def _suggest_fireworks_equivalent(self, model: str) -> None:
        catalog = load_catalog()
        equivalent = catalog.fireworks_equivalent(model) if catalog.get(model) is None else None
        if equivalent:
            self.status_changed.emit(
                f"{model} is an OpenAI model name; its usual Fireworks equivalent is {equivalent}."
            )

    def _on_engine_status(self, _state: str, message: str) -> None:
        if self._provider_id == LOCAL_PROVIDER_ID:
            self.status_changed.emit(message)

    async def _load_models(self) -> None:
        provider_id = self._provider_id
        try:
            listing = await self._services.connections.list_models(provider_id)
        except FireplayError as error:
            self.status_changed.emit(f"Could not list models: {error}")
            return
        if provider_id != self._provider_id:
            return
        self._models_loaded_for = provider_id
        suited, others = listing.split(self.capability)
        if not self._model and suited:
            self.set_model(suited[0])
        self.models_changed.emit(suited, others, listing.source)
        warning = f" ({listing.warning})" if listing.warning else ""
        other = f"; {len(others)} others listed after them" if others and suited else ""
        self.status_changed.emit(
            f"{len(suited)} {self.capability} models {listing.source}{other}{warning}"
        )


class _Recording:
    """The history record of the run in flight, and what the pane learns about it meanwhile."""

    def __init__(self, handle: RunHandle) -> None:
        self.handle = handle
        self.stopped = False
        self.error = ""
        # Whether its text arrives in pieces (then the pieces are its output until it ends).
        self.streamed = False
        self.request_of: Exchange | None = None


def _target_extras(target: TargetSettings) -> dict[str, Any]:
    """A target's settings beyond its parameters, under keys no parameter has."""
    from app.presenters.history import OPTIONS_KEY, SYSTEM_PROMPT_KEY

    extras: dict[str, Any] = {}
    if target.options:
        extras[OPTIONS_KEY] = dict(target.options)
    if target.system_prompt is not None:
        extras[SYSTEM_PROMPT_KEY] = target.system_prompt
    return extras


def _history_prompt(body: Any, form: Mapping[str, Any] | None) -> str:
    """What a request asked, newest user message first (the history lists its start).

    Earlier turns follow it, so they are found by search too; replies are the output's.
    """
    messages = body.get("messages") if isinstance(body, dict) else None
    if not isinstance(messages, list):
        return prompt_of(body, form)
    asked = [m for m in messages if isinstance(m, dict) and m.get("role") != "assistant"]
    users = [i for i, m in enumerate(asked) if m.get("role") == "user"]
    if users:
        asked.insert(0, asked.pop(users[-1]))
    return prompt_of({"messages": asked}, form)


def _elided(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _elided(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_elided(item) for item in value]
    if isinstance(value, str) and value.startswith("data:") and ";base64," in value[:100]:
        head, _, blob = value.partition(";base64,")
        return f"{head};base64,… ({len(blob):,} characters)"
    return value


def _endpoint_of(path: str) -> str:
    """The endpoint a request's path ends with (the rest belongs to the API root)."""
    return next((e for e in _ENDPOINTS if path.endswith(e)), path)


class _LiveMetrics:
    """Counts a streaming run's tokens and emits provisional metrics a few times a second.

    Tokens that arrive within one interval of the last emission are shown at the interval's end,
    so the figures catch up even when the stream pauses right after them.
    """

    def __init__(self, pane: WorkbenchPane, clock: Callable[[], float]) -> None:
        self._pane = pane
        self._clock = clock
        self._started = clock()
        self._first: float | None = None
        self._tokens = 0
        self._emitted = -math.inf
        self._catch_up: asyncio.TimerHandle | None = None
        pane._live = None

    def token(self) -> None:
        now = self._clock()
        if self._first is None:
            self._first = now
        self._tokens += 1
        wait = self._emitted + _LIVE_METRICS_EVERY_S - now
        if wait <= 0:
            self._emit(now)
        elif self._catch_up is None:
            self._catch_up = asyncio.get_running_loop().call_later(
                wait, lambda: self._emit(self._clock())
            )

    def flush(self) -> None:
        """Emit the figures as of now (a stopped run keeps these)."""
        if self._first is not None:
            self._emit(self._clock())

    def _emit(self, now: float) -> None:
        assert self._first is not None
        if self._catch_up is not None:
            self._catch_up.cancel()
            self._catch_up = None
        self._emitted = now
        span = now - self._first
        metrics = RunMetrics(
            total_s=now - self._started,
            ttft_s=self._first - self._started,
            completion_tokens=self._tokens,
            tokens_estimated=True,
            decode_tokens_per_s=(self._tokens - 1) / span
            if self._tokens > 1 and span > 0
            else None,
        )
        self._pane._live = metrics
        self._pane.live_metrics.emit(metrics)


class _Outbox:
    """Hands one run's text to its receivers, once per event-loop turn.

    Every event parsed from one network read arrives in the same turn of the event loop, before
    the run waits for the network again (or yields, see ``_YIELD_EVERY``): their text is joined
    and handed over once at the end of that turn. A fast stream then costs one signal per read
    instead of one per token, and a trickling one is shown as soon as each token arrives.
    """

    def __init__(self, on_text: Callable[[str], None], on_reasoning: Callable[[str], None]) -> None:
        self._on_text = on_text
        self._on_reasoning = on_reasoning
        self._text: list[str] = []
        self._reasoning: list[str] = []
        self._delivery: asyncio.Handle | None = None

    def add_text(self, text: str) -> None:
        """Queue answer text."""
        self._text.append(text)
        self._arrived()

    def add_reasoning(self, text: str) -> None:
        """Queue reasoning text."""
        self._reasoning.append(text)
        self._arrived()

    def deliver(self) -> None:
        """Hand over everything queued."""
        if self._delivery is not None:
            self._delivery.cancel()
            self._delivery = None
        if self._reasoning:
            text = "".join(self._reasoning)
            self._reasoning.clear()
            self._on_reasoning(text)
        if self._text:
            text = "".join(self._text)
            self._text.clear()
            self._on_text(text)

    def _arrived(self) -> None:
        if self._delivery is None:
            self._delivery = asyncio.get_running_loop().call_soon(self.deliver)


class Workbench(QObject):
    """The panes of one tab and the shared input sent to all of them.

    Subclasses name their tab (:attr:`tab_id`), make their panes (:meth:`_make_pane`) and decide
    what "send" means for their input.

    Signals:
        pane_added(int): a pane was inserted at this index.
        pane_removed(int): the pane at this index was removed.
        busy_changed(bool): whether any pane is running changed.
        layout_changed(str): ``columns`` or ``grid``.
        marks_changed(object, object): index of the fastest and of the cheapest pane, or None.
        providers_changed(): providers were added, removed or edited in Settings.
        targets_changed(): a pane's provider, model, parameters or options changed.
        send_state_changed(): whether Send can act, or why not, may have changed (tabs emit it
            too when their own input changes).
        inputs_restored(): the tab's inputs were replaced (a session, a preset, a reopened run):
            views show them again.
    """

    pane_added = Signal(int)
    pane_removed = Signal(int)
    busy_changed = Signal(bool)
    layout_changed = Signal(str)
    marks_changed = Signal(object, object)
    providers_changed = Signal()
    targets_changed = Signal()
    send_state_changed = Signal()
    inputs_restored = Signal()

    tab_id: ClassVar[str]
    #: The pane class, whose suggested models a tab never used starts with.
    pane_type: ClassVar[type[WorkbenchPane]] = WorkbenchPane

    def __init__(self, services: Services, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._services = services
        saved = services.settings.settings.workbench(self.tab_id)
        self._layout: Layout = saved.layout
        self._inputs_sent: list[str] = []
        # Marks compare only results of the same round (one shared input, sent once).
        self._round = 0
        self._panes: list[WorkbenchPane] = []
        targets = services.settings.settings.targets(self.tab_id)[:MAX_PANES]
        if not saved.targets:
            targets = [self._fresh_target(target) for target in targets]
        for target in targets:
            self._insert(len(self._panes), target)
        services.settings.providers_changed.connect(self.providers_changed)
        self.targets_changed.connect(self.send_state_changed)
        self.busy_changed.connect(lambda _busy: self.send_state_changed.emit())

    # -- state read by views -------------------------------------------------------------------

    @property
    def panes(self) -> list[Any]:
        """The panes, left to right."""
        return list(self._panes)

    @property
    def param_specs(self) -> tuple[ParamSpec, ...]:
        """The parameters this tab's panes take."""
        return self._panes[0].param_specs

    @property
    def layout(self) -> Layout:
        """How the panes are arranged."""
        return self._layout

    @property
    def busy(self) -> bool:
        """Whether any pane is running."""
        return any(pane.busy for pane in self._panes)

    @property
    def can_add(self) -> bool:
        """Whether another pane fits."""
        return len(self._panes) < MAX_PANES

    @property
    def can_diff(self) -> bool:
        """Whether two panes have results to compare."""
        return sum(1 for pane in self._panes if pane.has_output) >= 2

    @property
    def has_results(self) -> bool:
        """Whether any pane shows a result that a new layout of panes would throw away."""
        return any(pane.has_output for pane in self._panes)

    @property
    def presets(self) -> Presets:
        """The presets of every tab (this tab's are those named by :attr:`tab_id`)."""
        return self._services.presets

    def providers(self) -> list[tuple[str, str]]:
        """(id, display name) of every configured provider."""
        return [(p.id, p.name) for p in self._services.settings.settings.providers]

    def saved_input(self, name: str, default: Any = None) -> Any:
        """One of this tab's inputs as the user left it."""
        return self._services.settings.settings.workbench(self.tab_id).inputs.get(name, default)

    # -- shared commands -----------------------------------------------------------------------

    def stop(self) -> None:
        """Stop every pane; partial results are kept."""
        for pane in self._panes:
            pane.stop()

    def set_layout(self, layout: Layout) -> None:
        """Arrange panes in columns or a grid, and remember it."""
        if layout == self._layout:
            return
        self._layout = layout
        self._services.settings.update_workbench(self.tab_id, layout=layout)
        self.layout_changed.emit(layout)

    def remember_input(self, name: str, value: Any) -> None:
        """Keep one of this tab's inputs across restarts."""
        self._services.settings.update_workbench(self.tab_id, inputs={name: value})

    def refresh_models(self, *, include_local: bool = True) -> None:
        """Refresh every pane's model list; ``include_local=False`` skips the built-in engine,
        so that listing models at start-up does not start it."""
        for pane in self._panes:
            if include_local or pane.provider_id != LOCAL_PROVIDER_ID:
                pane.refresh_models()

    def set_first_target(self, provider_id: str, model: str) -> None:
        """Point the first pane at ``provider_id`` and ``model`` (the command line's choice)."""
        pane = self._panes[0]
        pane.set_provider(provider_id)
        pane.set_model(model)

    # -- targets -------------------------------------------------------------------------------

    def add_target(self) -> int | None:
        """Add a pane with the same target as the last one; returns its index."""
        return self.duplicate_target(len(self._panes) - 1)

    def duplicate_target(self, index: int) -> int | None:
        """Insert a copy of pane ``index``'s target right after it; returns the new index."""
        if not self.can_add:
            return None
        self._insert(index + 1, self._panes[index].target)
        self._save_targets()
        return index + 1

    def remove_target(self, index: int) -> bool:
        """Remove pane ``index`` (stopping it); the last pane cannot be removed."""
        if len(self._panes) <= 1:
            return False
        pane = self._panes.pop(index)
        pane.stop()
        pane.deleteLater()
        self.pane_removed.emit(index)
        self._save_targets()
        self._update_marks()
        return True

    def vary(self, index: int, count: int, what: Variation) -> None:
        """Replace all panes by ``count`` copies of pane ``index``'s target that differ in one knob.

        Seeds are 1..count; temperatures are spread evenly from 0.0 to 1.4. Results start empty,
        since the panes are new (views ask the user first when that throws results away).
        """
        if self.busy:
            return
        count = max(2, min(count, MAX_PANES))
        base = self._panes[index].target
        targets = []
        for n in range(count):
            value: Any = n + 1 if what == "seed" else round(1.4 * n / (count - 1), 2)
            targets.append(base.model_copy(update={"params": {**base.params, what: value}}))
        self._replace_all(targets)

    # -- comparison ----------------------------------------------------------------------------

    def diff(self, left: int, right: int) -> list[Segment]:
        """Word-level diff between two panes' newest results."""
        return word_diff(self._panes[left].result_text(), self._panes[right].result_text())

    def comparison(self) -> ComparisonRecord:
        """Everything on screen: inputs, targets, results and metrics."""
        panes = []
        for pane in self._panes:
            target = pane.target
            record = pane.record()
            panes.append(
                PaneRecord(
                    provider=target.provider,
                    model=target.model,
                    params=target.params,
                    system_prompt=record.get("system_prompt", ""),
                    messages=record["messages"],
                    metrics=record["metrics"],
                )
            )
        created = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        return ComparisonRecord(
            inputs=list(self._inputs_sent),
            panes=panes,
            created=created,
            app_version=app.__version__,
        )

    def export_markdown(self) -> str:
        """The comparison as a Markdown report."""
        return comparison_to_markdown(self.comparison())

    def export_json(self) -> str:
        """The comparison as JSON (see ``app.domain.compare``)."""
        return comparison_to_json(self.comparison())

    # -- state: sessions, presets, reopened runs ------------------------------------------------

    def inputs_state(self) -> dict[str, Any]:
        """The tab's inputs as JSON data (tabs whose inputs are not all remembered override)."""
        return dict(self._services.settings.settings.workbench(self.tab_id).inputs)

    def restore_inputs(self, inputs: Mapping[str, Any]) -> None:
        """Put back inputs saved by :meth:`inputs_state`, then emit ``inputs_restored``.

        Tabs override to take each input in; the base remembers them as the saved inputs.
        """
        self._services.settings.update_workbench(self.tab_id, inputs=dict(inputs))
        self.inputs_restored.emit()

    def state(self, *, results: bool = True) -> dict[str, Any]:
        """The tab as JSON data: its inputs and every pane's target (and result)."""
        return {
            "inputs": self.inputs_state(),
            # What the results answer, so that restored results are compared (marks, export).
            "inputs_sent": list(self._inputs_sent) if results else [],
            "panes": [
                {
                    "target": pane.target.model_dump(mode="json"),
                    "result": pane.result_state() if results else None,
                    "answered": results and pane.answered_input == self._round,
                }
                for pane in self._panes
            ],
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        """Replace panes, inputs and results by ``state`` (from :meth:`state`); stops runs first.

        Raises:
            ValueError: a pane's target is not valid.
        """
        panes = list(state.get("panes") or [])[:MAX_PANES]
        targets = [TargetSettings.model_validate(p["target"]) for p in panes]
        if not targets:
            raise ValueError("The saved tab has no panes.")
        self.stop()
        self._replace_all(targets)
        self.restore_inputs(state.get("inputs") or {})
        self._inputs_sent = [str(text) for text in state.get("inputs_sent") or []]
        for pane, saved in zip(self._panes, panes, strict=True):
            if saved.get("result"):
                pane.restore_result(saved["result"])
                if saved.get("answered"):
                    pane.answered_input = self._round
        self._update_marks()
        self.send_state_changed.emit()

    # -- for subclasses ------------------------------------------------------------------------

    def _make_pane(self, target: TargetSettings) -> WorkbenchPane:
        raise NotImplementedError

    def _fresh_target(self, target: TargetSettings) -> TargetSettings:
        """The first target of a tab never used: the active provider, and its model if it suits."""
        model = self.pane_type.suggested_model(target.provider, target.model)
        return target if model == target.model else target.model_copy(update={"model": model})

    def _input_sent(self, text: str) -> None:
        """Record a shared input: a new round, which every pane that runs now answers."""
        self._inputs_sent.append(text)
        self._round += 1
        # The built-in engine answers one request per model at a time, in arrival order: panes
        # on the same local model wait for each other, and their TTFT includes that wait.
        local_models = [p.model for p in self._panes if p.provider_id == LOCAL_PROVIDER_ID]
        for pane in self._panes:
            pane.answered_input = self._round
            sharing = (
                local_models.count(pane.model) - 1 if pane.provider_id == LOCAL_PROVIDER_ID else 0
            )
            pane.queue_note = (
                f"queued with {sharing} other pane{'s' if sharing > 1 else ''} on the built-in "
                f"engine: {pane.queued_figure} includes the wait"
                if sharing > 0
                else ""
            )

    def _new_round(self) -> None:
        """Results on screen no longer answer one shared input: nothing to compare."""
        self._round += 1
        self._update_marks()

    # -- internals -----------------------------------------------------------------------------

    def _insert(self, index: int, target: TargetSettings) -> None:
        pane = self._make_pane(target)
        pane.setParent(self)
        pane.tab_id = self.tab_id
        pane.inputs_source = self.inputs_state
        self._panes.insert(index, pane)
        pane.busy_changed.connect(self._on_pane_busy_changed)
        pane.target_changed.connect(self._save_targets)
        pane.target_changed.connect(self.targets_changed)
        self.pane_added.emit(index)

    def _replace_all(self, targets: list[TargetSettings]) -> None:
        while self._panes:
            pane = self._panes.pop()
            pane.stop()
            pane.deleteLater()
            self.pane_removed.emit(len(self._panes))
        self._inputs_sent.clear()
        self._round += 1
        for target in targets:
            self._insert(len(self._panes), target)
        self._save_targets()
        self._update_marks()

    def _save_targets(self) -> None:
        self._services.settings.update_workbench(
            self.tab_id, targets=[pane.target for pane in self._panes]
        )

    def _on_pane_busy_changed(self, _busy: bool) -> None:
        self.busy_changed.emit(self.busy)
        if not self.busy:
            self._update_marks()

    def _update_marks(self) -> None:
        # Only runs that completed with output in this round are compared.
        fastest, cheapest = best_panes(
            [
                pane.last_metrics
                if pane.has_output and pane.answered_input == self._round
                else None
                for pane in self._panes
            ]
        )
        self.marks_changed.emit(fastest, cheapest)
