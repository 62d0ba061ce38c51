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
    """One message of the conversation, with what Fireplay learned while receiving it."""

    role: Role
    content: str = ""
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

    def add_user(self, text: str) -> Turn:
        """Append a user turn."""
        turn = Turn(Role.USER, text)
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
        """Messages for a chat-completions request.

        A stopped or failed reply is sent with the text the user saw, since the user continues from
        it; a reply that produced no text at all is left out rather than sent as an empty message.
        """
        messages: list[dict[str, Any]] = []
        if self.system_prompt.strip():
            messages.append({"role": "system", "content": self.system_prompt})
        for turn in self.turns:
            if turn.role is Role.ASSISTANT and (
                turn.status is TurnStatus.STREAMING or not turn.content
            ):
                continue
            messages.append({"role": turn.role.value, "content": turn.content})
        return messages
