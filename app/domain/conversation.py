"""A multi-turn conversation as the user sees it, and the messages a request sends for it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from app.domain.compare import metrics_dict, metrics_from_dict
from app.domain.metrics import RunMetrics

__all__ = [
    "Conversation",
    "Role",
    "Turn",
    "TurnImage",
    "TurnStatus",
    "turns_from_json",
    "turns_to_json",
]


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


@dataclass(frozen=True, slots=True)
class TurnImage:
    """One image a user turn carries.

    Attributes:
        name: What the user attached: a file name, ``pasted image.png``, a URL's last segment.
        part: The ``image_url`` content part as sent, prepared for the pane's provider; ``None``
            when its data is not at hand (a conversation read back by :func:`turns_from_json`
            keeps no image data), and then the image is not sent again.
        path: The file the image was read from, if it came from one.
        detail: The ``detail`` it was prepared with (``auto``, ``low`` or ``high``).
    """

    name: str
    part: dict[str, Any] | None = None
    path: str | None = None
    detail: str = "auto"


@dataclass
class Turn:
    """One message of the conversation, with what Fireplay learned while receiving it.

    A user turn may carry images (:class:`TurnImage`), in the order the user attached them.
    """

    role: Role
    content: str = ""
    images: list[TurnImage] = field(default_factory=list)
    reasoning: str = ""
    status: TurnStatus = TurnStatus.COMPLETE
    error: str | None = None
    finish_reason: str | None = None
    metrics: RunMetrics | None = None

    @property
    def image_names(self) -> list[str]:
        """What the user attached to this turn, in order."""
        return [image.name for image in self.images]


@dataclass
class Conversation:
    """The system prompt and the turns of one chat."""

    system_prompt: str = ""
    turns: list[Turn] = field(default_factory=list)
    #: Images go before the text in a message (Llama 3.2 Vision wants them first).
    images_first: bool = True

    def add_user(self, text: str, images: Sequence[TurnImage] = ()) -> Turn:
        """Append a user turn, with its images."""
        turn = Turn(Role.USER, text, images=list(images))
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
        parts = [image.part for image in turn.images if image.part is not None]
        if not parts:
            return turn.content
        text = [{"type": "text", "text": turn.content}] if turn.content else []
        return [*parts, *text] if self.images_first else [*text, *parts]

    def _reply_to(self, user_index: int) -> Turn | None:
        following = self.turns[user_index + 1 : user_index + 2]
        return following[0] if following and following[0].role is Role.ASSISTANT else None


# Replies that later requests carry as history.
_SENT_AGAIN = frozenset({TurnStatus.COMPLETE, TurnStatus.STOPPED})


def turns_to_json(turns: Sequence[Turn]) -> list[dict[str, Any]]:
    """The turns as JSON data that :func:`turns_from_json` reads back.

    Image data is never written, only where it came from: a ``data:`` URL part becomes its
    name, file path and detail, while a part that only links to an image (an http URL) is kept
    as is, since it is short and the provider fetches it again.
    """
    return [_turn_to_json(turn) for turn in turns]


def turns_from_json(data: Sequence[Mapping[str, Any]]) -> list[Turn]:
    """Read back what :func:`turns_to_json` wrote.

    Images that were embedded come back without a part (:attr:`TurnImage.part` is ``None``), and
    a reply that was still streaming comes back stopped: the run that filled it is gone.

    Raises:
        ValueError: a turn has an unknown role or status.
    """
    return [_turn_from_json(item) for item in data]


def _turn_to_json(turn: Turn) -> dict[str, Any]:
    data: dict[str, Any] = {
        "role": turn.role.value,
        "content": turn.content,
        "status": turn.status.value,
    }
    if turn.images:
        data["images"] = [_image_to_json(image) for image in turn.images]
    if turn.reasoning:
        data["reasoning"] = turn.reasoning
    if turn.error is not None:
        data["error"] = turn.error
    if turn.finish_reason is not None:
        data["finish_reason"] = turn.finish_reason
    if turn.metrics is not None:
        data["metrics"] = metrics_dict(turn.metrics)
    return data


def _turn_from_json(data: Mapping[str, Any]) -> Turn:
    status = TurnStatus(data.get("status", TurnStatus.COMPLETE))
    return Turn(
        role=Role(data["role"]),
        content=str(data.get("content") or ""),
        images=[_image_from_json(image) for image in data.get("images") or ()],
        reasoning=str(data.get("reasoning") or ""),
        status=TurnStatus.STOPPED if status is TurnStatus.STREAMING else status,
        error=data.get("error"),
        finish_reason=data.get("finish_reason"),
        metrics=metrics_from_dict(data.get("metrics")),
    )


def _image_to_json(image: TurnImage) -> dict[str, Any]:
    data: dict[str, Any] = {"name": image.name, "detail": image.detail}
    if image.path is not None:
        data["path"] = image.path
    url = (image.part or {}).get("image_url", {}).get("url", "")
    if image.part is not None and not url.startswith("data:"):
        data["part"] = image.part
    return data


def _image_from_json(data: Mapping[str, Any]) -> TurnImage:
    return TurnImage(
        name=str(data.get("name") or "image"),
        part=data.get("part"),
        path=data.get("path"),
        detail=str(data.get("detail") or "auto"),
    )
