"""A multi-turn conversation as the user sees it, and the messages a request sends for it."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from app.domain.metrics import RunMetrics

__all__ = ["Conversation", "Role", "Turn", "TurnStatus"]


class Role(StrEnum):
    """Who said a turn."""

    USER = "user"
    ASSISTANT = "assistant"


class TurnStatus(StrEnum):
    """Where a turn stands; a stopped or failed reply keeps whatever text had arrived."""

    STREAMING = "streaming"
    COMPLETE = "complete"
    STOPPED = "stopped"
    FAILED = "failed"


@dataclass
class Turn:
    """One message of the conversation, with what Fireplay learned while receiving it.

    A user turn may carry images: ``images`` are their content parts as sent (``image_url``
    parts, prepared for the pane's provider) and ``image_names`` what the user attached.
    """

    role: Role
    content: str = ""
    images: list[dict[str, Any]] = field(default_factory=list)
    image_names: list[str] = field(default_factory=list)
    reasoning: str = ""
    status: TurnStatus = TurnStatus.COMPLETE
    error: str | None = None
    finish_reason: str | None = None
    metrics: RunMetrics | None = None


@dataclass
class Conversation:
    """The system prompt and the turns of one chat."""

    system_prompt: str = ""
    turns: list[Turn] = field(default_factory=list)
    #: Images go before the text in a message (Llama 3.2 Vision wants them first).
    images_first: bool = True

    def add_user(
        self, text: str, images: list[dict[str, Any]] | None = None, names: list[str] | None = None
    ) -> Turn:
        """Append a user turn, with the content parts of its images and their names."""
        turn = Turn(Role.USER, text, images=list(images or ()), image_names=list(names or ()))
        self.turns.append(turn)
        return turn

    def start_reply(self) -> Turn:
        """Append an empty assistant turn that a run will fill."""
        turn = Turn(Role.ASSISTANT, status=TurnStatus.STREAMING)
        self.turns.append(turn)
        return turn

    def last_user_index(self) -> int | None:
        """Index of the most recent user turn, if any."""
        for index in range(len(self.turns) - 1, -1, -1):
            if self.turns[index].role is Role.USER:
                return index
        return None

    def drop_replies_after_last_user(self) -> int:
        """Remove the assistant turns after the last user turn (for regenerate); return how many."""
        start = self.last_user_index()
        if start is None:
            return 0
        removed = len(self.turns) - start - 1
        del self.turns[start + 1 :]
        return removed

    def pop_last_exchange(self) -> str | None:
        """Remove the last user turn and its replies, returning the user's text for editing."""
        start = self.last_user_index()
        if start is None:
            return None
        text = self.turns[start].content
        del self.turns[start:]
        return text

    def api_messages(self) -> list[dict[str, Any]]:
        """Messages for a chat-completions request, always alternating user and assistant.

        The last user turn is the one being answered. Each earlier user turn is sent with its
        reply only when that reply has text and did not fail: a stopped reply is sent as the user
        saw it, since the user continues from it, while a failed exchange stays on screen (to edit
        or resend) but is never sent again, so one bad prompt cannot break every later turn.
        """
        messages: list[dict[str, Any]] = []
        if self.system_prompt.strip():
            messages.append({"role": "system", "content": self.system_prompt})
        last_user = self.last_user_index()
        for index, turn in enumerate(self.turns):
            if turn.role is not Role.USER:
                continue
            if index == last_user:
                messages.append({"role": "user", "content": self._user_content(turn)})
                break
            reply = self._reply_to(index)
            if reply is not None and reply.content and reply.status in _SENT_AGAIN:
                messages.append({"role": "user", "content": self._user_content(turn)})
                messages.append({"role": "assistant", "content": reply.content})
        return messages

    def _user_content(self, turn: Turn) -> str | list[dict[str, Any]]:
        # Images stay in the turn they came with, so every follow-up sends them again.
        if not turn.images:
            return turn.content
        text = [{"type": "text", "text": turn.content}] if turn.content else []
        return [*turn.images, *text] if self.images_first else [*text, *turn.images]

    def _reply_to(self, user_index: int) -> Turn | None:
        following = self.turns[user_index + 1 : user_index + 2]
        return following[0] if following and following[0].role is Role.ASSISTANT else None


# Replies that later requests carry as history.
_SENT_AGAIN = frozenset({TurnStatus.COMPLETE, TurnStatus.STOPPED})
