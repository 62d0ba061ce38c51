"""Conversation panes (Chat, Image questions): a workbench pane with its own conversation and,
optionally, system prompt; and the workbench of such panes."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, cast

from PySide6.QtCore import QObject, Signal

from app.client import FireplayError
from app.domain.compare import metrics_dict
from app.domain.conversation import (
    Conversation,
    Role,
    Turn,
    TurnImage,
    TurnStatus,
    turns_from_json,
    turns_to_json,
)
from app.domain.metrics import RunMetrics
from app.domain.run import Failed, Finished, stream_chat
from app.presenters.workbench import Workbench, WorkbenchPane
from app.settings import TargetSettings

if TYPE_CHECKING:
    from app.presenters.services import Services

__all__ = ["ChatPane", "ConversationWorkbench"]


class ChatPane(WorkbenchPane):
    """Owns one target, one conversation and the reply in flight for it.

    Views read :attr:`turns` to render and call the command methods; they never await.

    Signals (besides :class:`WorkbenchPane`'s):
        turn_added(int): a turn was appended at this index.
        text_received(int, str): text arrived for the streaming turn at this index.
        reasoning_received(int, str): reasoning text arrived for the turn at this index.
        turn_finished(int): the turn at this index stopped changing (complete, stopped or failed).
        turns_reset(): turns were replaced or removed; views rebuild from :attr:`turns`.
        reply_finished(str): a reply completed normally, with its full text.
    """

    turn_added = Signal(int)
    text_received = Signal(int, str)
    reasoning_received = Signal(int, str)
    turn_finished = Signal(int)
    turns_reset = Signal()
    reply_finished = Signal(str)

    capability = "chat"

    def __init__(
        self,
        services: Services,
        target: TargetSettings,
        shared_system_prompt: Callable[[], str],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(services, target, parent)
        self._shared_system_prompt = shared_system_prompt
        self._own_system_prompt = target.system_prompt
        self._conversation = Conversation()

    # -- state read by views -------------------------------------------------------------------

    @property
    def turns(self) -> list[Turn]:
        """The conversation's turns, oldest first (read-only for views)."""
        return self._conversation.turns

    @property
    def target(self) -> TargetSettings:
        """This pane's target as it would be saved."""
        return super().target.model_copy(update={"system_prompt": self._own_system_prompt})

    @property
    def own_system_prompt(self) -> str | None:
        """This pane's own system prompt, or None when it uses the shared one."""
        return self._own_system_prompt

    @property
    def last_metrics(self) -> RunMetrics | None:
        """Metrics of the newest reply, if it has any."""
        reply = self._last_reply_turn()
        return reply.metrics if reply else None

    @property
    def has_output(self) -> bool:
        """Whether the newest reply completed with text."""
        reply = self._last_reply_turn()
        return reply is not None and reply.status is TurnStatus.COMPLETE and bool(reply.content)

    def last_reply(self) -> str:
        """Text of the newest reply ("" if none)."""
        reply = self._last_reply_turn()
        return reply.content if reply else ""

    def result_text(self) -> str:
        """The newest reply's text."""
        return self.last_reply()

    def record(self) -> dict[str, Any]:
        """The conversation with each reply's status, metrics, reasoning and error."""
        messages: list[dict[str, Any]] = []
        for turn in self.turns:
            message: dict[str, Any] = {"role": turn.role.value, "content": turn.content}
            if turn.role is Role.ASSISTANT:
                message["status"] = turn.status.value
                message["metrics"] = metrics_dict(turn.metrics)
                if turn.reasoning:
                    message["reasoning"] = turn.reasoning
                if turn.error:
                    message["error"] = turn.error
            messages.append(message)
        return {
            "system_prompt": self._system_prompt(),
            "messages": messages,
            "metrics": [m.get("metrics") for m in messages if m["role"] == "assistant"],
        }

    def result_state(self) -> dict[str, Any] | None:
        """The whole conversation as JSON data (images by name and file, never their data)."""
        if not self.turns:
            return None
        return {
            "turns": turns_to_json(self.turns),
            "images_first": self._conversation.images_first,
        }

    def restore_result(self, state: Mapping[str, Any]) -> None:
        """Show a conversation saved by :meth:`result_state`; the next Send continues it.

        Images come back without their data: they are listed but not sent again (the Image
        questions tab reads their files again, see ``VisionPresenter``).

        Raises:
            ValueError: a saved turn is not valid (nothing is changed then).
        """
        turns = turns_from_json(state.get("turns") or [])
        self.stop()
        self._conversation.turns = turns
        self._conversation.images_first = bool(state.get("images_first", True))
        self.turns_reset.emit()
        self.result_changed.emit()

    # -- commands ------------------------------------------------------------------------------

    def send(self, text: str, images: Sequence[TurnImage] = ()) -> bool:
        """Append ``text`` (and its images) as a user turn and stream the reply.

        Returns False when nothing was sent.
        """
        if self.busy or not (text.strip() or images):
            return False
        self._conversation.add_user(text, images)
        self.turn_added.emit(len(self.turns) - 1)
        self._start_reply()
        return True

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

    def set_own_system_prompt(self, text: str | None) -> None:
        """Give this pane its own system prompt, or ``None`` to use the shared one."""
        self._own_system_prompt = text
        self.target_changed.emit()

    # -- runs ----------------------------------------------------------------------------------

    def _system_prompt(self) -> str:
        own = self._own_system_prompt
        return own if own is not None else self._shared_system_prompt()

    def _last_reply_turn(self) -> Turn | None:
        for turn in reversed(self.turns):
            if turn.role is Role.ASSISTANT:
                return turn
        return None

    def _start_reply(self) -> None:
        turn = self._conversation.start_reply()
        index = len(self.turns) - 1
        self.turn_added.emit(index)
        self._start(self._stream_reply(turn, index))

    async def _stream_reply(self, turn: Turn, index: int) -> None:
        self._conversation.system_prompt = self._system_prompt()
        messages = self._conversation.api_messages()
        images = sum(
            1
            for message in messages
            if isinstance(message["content"], list)
            for part in message["content"]
            if part.get("type") == "image_url"
        )

        def measured(metrics: RunMetrics | None) -> RunMetrics | None:
            if metrics is None or not images:
                return metrics
            return replace(metrics, image_count=images)

        try:
            client = await self._client()
            params = self._request_params()
        except (ValueError, FireplayError) as error:
            self._fail(turn, index, str(error), None)
            return
        events = stream_chat(
            client,
            model=self.model,
            messages=messages,
            params=params,
            extra_body=self._extra_body(),
            estimate_cost=self._cost_estimator(),
        )

        def add_text(text: str) -> None:
            turn.content += text
            if self.shows(turn, index):
                self.text_received.emit(index, text)

        def add_reasoning(text: str) -> None:
            turn.reasoning += text
            if self.shows(turn, index):
                self.reasoning_received.emit(index, text)

        try:
            outcome = await self._consume(events, add_text, add_reasoning)
        except asyncio.CancelledError:
            turn.status = TurnStatus.STOPPED
            turn.metrics = measured(self.live_snapshot)
            self._end(turn, index)
            raise
        match outcome:
            case Finished(metrics=metrics):
                turn.status = TurnStatus.COMPLETE
                turn.metrics = measured(metrics)
                turn.finish_reason = metrics.finish_reason
                self._end(turn, index)
                self.reply_finished.emit(turn.content)
            case Failed(message=message, metrics=metrics):
                self._fail(turn, index, message, measured(metrics))

    def _stopped_before_start(self) -> None:
        for index in range(len(self.turns) - 1, -1, -1):
            turn = self.turns[index]
            if turn.role is Role.ASSISTANT and turn.status is TurnStatus.STREAMING:
                turn.status = TurnStatus.STOPPED
                self.turn_finished.emit(index)
                return

    def _fail(self, turn: Turn, index: int, message: str, metrics: RunMetrics | None) -> None:
        turn.status = TurnStatus.FAILED
        turn.error = message
        turn.metrics = metrics
        self._end(turn, index)
        self.failed.emit(message)

    def _end(self, turn: Turn, index: int) -> None:
        if self.shows(turn, index):
            self.turn_finished.emit(index)

    def shows(self, turn: Turn, index: int) -> bool:
        """Whether ``turn`` is still the conversation's turn at ``index``.

        A reply cancelled by New chat or Edit delivers its last text after the conversation
        changed; that text belongs to no turn on screen any more.
        """
        return index < len(self._conversation.turns) and self._conversation.turns[index] is turn


class ConversationWorkbench(Workbench):
    """A workbench whose panes are conversations: every shared input is a new user turn in each.

    Restoring a saved tab puts its conversations back as one comparison (Diff, Export and the
    fastest/cheapest marks treat them as answers to the restored inputs).
    """

    @property
    def has_results(self) -> bool:
        """Whether any pane has a conversation going (a new one would throw it away)."""
        return any(pane.turns for pane in self._conversations())

    def clear(self) -> None:
        """Start a new conversation in every pane."""
        for pane in self._conversations():
            pane.clear()
        self._inputs_sent.clear()
        self._new_round()

    def restore(self, state: Mapping[str, Any]) -> None:
        """Replace panes, inputs and conversations by ``state`` (from :meth:`state`).

        Raises:
            ValueError: a pane's target or conversation is not valid.
        """
        super().restore(state)
        # The base starts a new round, which no restored pane answers; the restored replies
        # answered the user turns they follow, which every pane shares.
        sent = next(
            (
                [t.content for t in pane.turns if t.role is Role.USER]
                for pane in self._conversations()
                if pane.turns
            ),
            [],
        )
        if sent:
            self._inputs_sent[:] = sent[:-1]
            self._input_sent(sent[-1])
            self._update_marks()

    def _conversations(self) -> list[ChatPane]:
        # Subclasses narrow ``panes`` to their own pane type; here any conversation pane will do.
        return cast(list[ChatPane], list(self._panes))
