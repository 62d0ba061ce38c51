"""One pane of a workbench: a target (provider, model, parameters) and its own conversation."""

from __future__ import annotations

import asyncio
import copy
import math
import time
from collections.abc import Callable
from contextlib import aclosing
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

from app.client import FireplayError
from app.domain.catalog import estimate_cost, load_catalog
from app.domain.conversation import Conversation, Role, Turn, TurnStatus
from app.domain.metrics import RunMetrics
from app.domain.params import clean_params
from app.domain.run import CostEstimator, Failed, Finished, ReasoningDelta, TextDelta, stream_chat
from app.settings import TargetSettings

if TYPE_CHECKING:
    from app.presenters.services import Services

__all__ = ["ChatPane"]

# Fireworks reports server-side timings in the body only when asked.
_PROVIDER_EXTRAS: dict[str, dict[str, Any]] = {"fireworks": {"perf_metrics_in_response": True}}
# Stream events closer together than this were parsed from one network read.
_BURST_GAP_S = 0.0002
# A reply lets the event loop run (painting, input, the other panes) after this many events, so a
# burst of thousands of buffered chunks never holds the UI thread for its whole length.
_YIELD_EVERY = 32


class ChatPane(QObject):
    """Owns one target, one conversation and the run in flight for it.

    Views read :attr:`turns` to render and call the command methods; they never await.

    Signals:
        turn_added(int): a turn was appended at this index.
        text_received(int, str): text arrived for the streaming turn at this index.
        reasoning_received(int, str): reasoning text arrived for the turn at this index.
        turn_finished(int): the turn at this index stopped changing (complete, stopped or failed).
        turns_reset(): turns were replaced or removed; views rebuild from :attr:`turns`.
        reply_finished(str): a reply completed normally, with its full text.
        failed(str): a run failed; the message is the server's own words.
        busy_changed(bool): a run started or ended.
        models_changed(list, str): the model ids on offer and where they came from.
        target_changed(): provider, model, parameters or system prompt changed.
        status_changed(str): a short status line (engine starting, model list warnings).
    """

    turn_added = Signal(int)
    text_received = Signal(int, str)
    reasoning_received = Signal(int, str)
    turn_finished = Signal(int)
    turns_reset = Signal()
    reply_finished = Signal(str)
    failed = Signal(str)
    busy_changed = Signal(bool)
    models_changed = Signal(list, str)
    target_changed = Signal()
    status_changed = Signal(str)

    def __init__(
        self,
        services: Services,
        target: TargetSettings,
        shared_system_prompt: Callable[[], str],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._services = services
        self._shared_system_prompt = shared_system_prompt
        self._provider_id = target.provider
        self._model = target.model
        self._params: dict[str, Any] = dict(target.params)
        self._own_system_prompt = target.system_prompt
        self._conversation = Conversation()
        self._task: asyncio.Task[None] | None = None
        # Cleared inside the task's last step, so listeners of busy_changed already see idle.
        self._running = False
        self._models_task: asyncio.Task[None] | None = None
        services.engine.status_changed.connect(self._on_engine_status)

    # -- state read by views -------------------------------------------------------------------

    @property
    def turns(self) -> list[Turn]:
        """The conversation's turns, oldest first (read-only for views)."""
        return self._conversation.turns

    @property
    def target(self) -> TargetSettings:
        """This pane's target as it would be saved."""
        return TargetSettings(
            provider=self._provider_id,
            model=self._model,
            params=dict(self._params),
            system_prompt=self._own_system_prompt,
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
    def own_system_prompt(self) -> str | None:
        """This pane's own system prompt, or None when it uses the shared one."""
        return self._own_system_prompt

    @property
    def busy(self) -> bool:
        """Whether a run is in flight."""
        return self._running

    @property
    def last_metrics(self) -> RunMetrics | None:
        """Metrics of the newest reply, if it has any."""
        for turn in reversed(self.turns):
            if turn.role is Role.ASSISTANT:
                return turn.metrics
        return None

    def last_reply(self) -> str:
        """Text of the newest reply ("" if none)."""
        for turn in reversed(self.turns):
            if turn.role is Role.ASSISTANT:
                return turn.content
        return ""

    # -- commands ------------------------------------------------------------------------------

    def send(self, text: str) -> bool:
        """Append ``text`` as a user turn and stream the reply; False when nothing was sent."""
        if self.busy or not text.strip():
            return False
        self._conversation.add_user(text)
        self.turn_added.emit(len(self.turns) - 1)
        self._start_reply()
        return True

    def stop(self) -> None:
        """Cancel the run in flight; the text received so far is kept and marked stopped."""
        if self._task is not None and not self._task.done():
            self._task.cancel()

    def regenerate(self) -> bool:
        """Drop the last reply and ask again with the same conversation."""
        if self.busy or self._conversation.last_user_index() is None:
            return False
        if self._conversation.drop_replies_after_last_user():
            self.turns_reset.emit()
        self._start_reply()
        return True

    def edit_last(self) -> str | None:
        """Take back the last user message (and its reply) so the user can edit and resend it."""
        if self.busy:
            return None
        text = self._conversation.pop_last_exchange()
        if text is not None:
            self.turns_reset.emit()
        return text

    def clear(self) -> None:
        """Start a new conversation (the target stays)."""
        self.stop()
        self._conversation.turns.clear()
        self.turns_reset.emit()

    def replace_turns(self, turns: list[Turn]) -> None:
        """Continue from a copy of another conversation (idle panes only)."""
        if self.busy:
            return
        self._conversation.turns = copy.deepcopy(turns)
        self.turns_reset.emit()

    def set_param(self, name: str, value: Any) -> None:
        """Set a sampling parameter, or unset it with ``None`` so the provider default applies."""
        if value is None:
            self._params.pop(name, None)
        else:
            self._params[name] = value
        self.target_changed.emit()

    def set_own_system_prompt(self, text: str | None) -> None:
        """Give this pane its own system prompt, or ``None`` to use the shared one."""
        self._own_system_prompt = text
        self.target_changed.emit()

    def set_provider(self, provider_id: str) -> None:
        """Switch provider; the model switches to the provider's default and the list refreshes."""
        if provider_id == self._provider_id:
            return
        profile = self._services.settings.settings.provider(provider_id)
        self._provider_id = provider_id
        self._model = profile.default_model or ""
        self.target_changed.emit()
        self.refresh_models()

    def set_model(self, model: str) -> None:
        """Use ``model`` for the next run."""
        model = model.strip()
        if model == self._model:
            return
        self._model = model
        self.target_changed.emit()
        if self._provider_id == "fireworks":
            self._suggest_fireworks_equivalent(model)

    def _suggest_fireworks_equivalent(self, model: str) -> None:
        catalog = load_catalog()
        equivalent = catalog.fireworks_equivalent(model) if catalog.get(model) is None else None
        if equivalent:
            self.status_changed.emit(
                f"{model} is an OpenAI model name; its usual Fireworks equivalent is {equivalent}."
            )

    def refresh_models(self) -> None:
        """Fetch the provider's model list in the background; ``models_changed`` reports it."""
        if self._models_task is not None and not self._models_task.done():
            self._models_task.cancel()
        self._models_task = self._services.runner.start(self._load_models(), name="pane.models")

    # -- runs ----------------------------------------------------------------------------------

    def _start_reply(self) -> None:
        turn = self._conversation.start_reply()
        index = len(self.turns) - 1
        self.turn_added.emit(index)
        self._running = True
        self._task = self._services.runner.start(self._stream_reply(turn, index), name="pane.reply")
        self.busy_changed.emit(True)

    async def _stream_reply(self, turn: Turn, index: int) -> None:
        self._conversation.system_prompt = (
            self._own_system_prompt
            if self._own_system_prompt is not None
            else self._shared_system_prompt()
        )
        messages = self._conversation.api_messages()
        try:
            if not self._model:
                raise ValueError("Choose a model for this pane first.")
            params = clean_params(self._params)
            client = await self._services.connections.client(self._provider_id)
        except (ValueError, FireplayError) as error:
            self._fail(turn, index, str(error), None)
            return
        outbox = _Outbox(self, turn, index)
        events = stream_chat(
            client,
            model=self._model,
            messages=messages,
            params=params,
            extra_body=_PROVIDER_EXTRAS.get(self._provider_id),
            estimate_cost=self._cost_estimator(self._model),
        )
        try:
            async with aclosing(events):
                handled = 0
                async for event in events:
                    match event:
                        case TextDelta(text=text):
                            outbox.add_text(text)
                        case ReasoningDelta(text=text):
                            outbox.add_reasoning(text)
                        case Finished(metrics=metrics):
                            outbox.deliver()
                            turn.status = TurnStatus.COMPLETE
                            turn.metrics = metrics
                            turn.finish_reason = metrics.finish_reason
                        case Failed(message=message, metrics=metrics):
                            outbox.deliver()
                            self._fail(turn, index, message, metrics)
                            return
                    handled += 1
                    if handled % _YIELD_EVERY == 0:
                        await asyncio.sleep(0)
        except asyncio.CancelledError:
            outbox.deliver()
            turn.status = TurnStatus.STOPPED
            self._end(turn, index)
            raise
        self._end(turn, index)
        self.reply_finished.emit(turn.content)

    def _fail(self, turn: Turn, index: int, message: str, metrics: RunMetrics | None) -> None:
        turn.status = TurnStatus.FAILED
        turn.error = message
        turn.metrics = metrics
        self._end(turn, index)
        self.failed.emit(message)

    def _end(self, turn: Turn, index: int) -> None:
        self._running = False
        if self.shows(turn, index):
            self.turn_finished.emit(index)
        self.busy_changed.emit(False)

    def shows(self, turn: Turn, index: int) -> bool:
        """Whether ``turn`` is still the conversation's turn at ``index``.

        A reply cancelled by New chat or Edit delivers its last text after the conversation
        changed; that text belongs to no turn on screen any more.
        """
        return index < len(self._conversation.turns) and self._conversation.turns[index] is turn

    def _cost_estimator(self, model: str) -> CostEstimator | None:
        info = load_catalog().get(model) if self._provider_id == "fireworks" else None
        if info is None:
            return None

        def estimate(metrics: RunMetrics) -> float | None:
            if metrics.prompt_tokens is None or metrics.completion_tokens is None:
                return None
            return estimate_cost(
                info, metrics.prompt_tokens, metrics.completion_tokens, metrics.cached_tokens or 0
            )

        return estimate

    def _on_engine_status(self, _state: str, message: str) -> None:
        if self._provider_id == "local":
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
        if not self._model and listing.ids:
            self.set_model(listing.ids[0])
        self.models_changed.emit(listing.ids, listing.source)
        warning = f" ({listing.warning})" if listing.warning else ""
        self.status_changed.emit(f"{len(listing.ids)} models {listing.source}{warning}")


class _Outbox:
    """Hands one reply's text to the views.

    Text that trickles in is emitted as it arrives. Events that follow each other closely were
    parsed from one network read: they are joined and emitted once, right after the burst, so a
    fast stream costs one signal per read instead of one per token.
    """

    def __init__(self, pane: ChatPane, turn: Turn, index: int) -> None:
        self._pane = pane
        self._turn = turn
        self._index = index
        self._text: list[str] = []
        self._reasoning: list[str] = []
        self._last = -math.inf
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
        """Update the turn and emit everything queued."""
        if self._delivery is not None:
            self._delivery.cancel()
            self._delivery = None
        shown = self._pane.shows(self._turn, self._index)
        if self._reasoning:
            text = "".join(self._reasoning)
            self._reasoning.clear()
            self._turn.reasoning += text
            if shown:
                self._pane.reasoning_received.emit(self._index, text)
        if self._text:
            text = "".join(self._text)
            self._text.clear()
            self._turn.content += text
            if shown:
                self._pane.text_received.emit(self._index, text)

    def _arrived(self) -> None:
        now = time.perf_counter()
        burst = now - self._last < _BURST_GAP_S
        self._last = now
        if self._delivery is not None:
            return
        if burst:
            # Runs as soon as the reply task waits for the network or yields.
            self._delivery = asyncio.get_running_loop().call_soon(self.deliver)
        else:
            self.deliver()
