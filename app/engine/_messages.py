"""OpenAI chat messages to the plain ``{"role", "content"}`` turns a chat template renders.

- system and developer messages are merged into one leading system turn (some templates
  reject a system turn anywhere else), followed by the tool instructions when tools are on;
- content parts are flattened; each image part becomes the OCR text of that image, placed
  before the message's text;
- an assistant turn's ``tool_calls`` are written back in the model's own call format;
- ``role: "tool"`` results become a user turn that names the tool whose call they answer, so
  the model actually reads them in the next turn;
- consecutive turns of the same role are joined (strict templates require alternation).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from app.engine._errors import InvalidRequestError, PayloadTooLargeError
from app.engine._tools import tool_call_text, tool_result_text

__all__ = ["MAX_IMAGE_BYTES", "ImagePart", "collect_images", "to_turns"]

MAX_IMAGE_BYTES = 20 * 1024 * 1024
_DATA_URL = re.compile(
    r"^data:(?P<mime>[\w.+-]+/[\w.+-]+)?(?P<params>(;[^;,]*)*),(?P<data>.*)$", re.S
)
_ROLES = {"system", "developer", "user", "assistant", "tool", "function"}


@dataclass(frozen=True)
class ImagePart:
    """An image found in the messages.

    Attributes:
        key: ``(message index, part index)``.
        data: the decoded image bytes.
        mime: the declared media type, if any.
    """

    key: tuple[int, int]
    data: bytes
    mime: str | None


def _content_parts(content: Any, index: int) -> list[Mapping[str, Any]]:
    if isinstance(content, list):
        for j, part in enumerate(content):
            if not isinstance(part, Mapping) or not isinstance(part.get("type"), str):
                raise InvalidRequestError(
                    f"messages[{index}].content[{j}] must be an object with a type.",
                    param=f"messages[{index}].content",
                )
        return list(content)
    return []


def collect_images(messages: Sequence[Mapping[str, Any]]) -> list[ImagePart]:
    """Decode every ``image_url`` part (data URLs only: the engine fetches nothing).

    Args:
        messages: the request's messages.

    Returns:
        The images in order.

    Raises:
        InvalidRequestError: a part is not a data URL or its base64 is broken.
        PayloadTooLargeError: an image is larger than :data:`MAX_IMAGE_BYTES`.
    """
    images: list[ImagePart] = []
    for i, message in enumerate(messages):
        for j, part in enumerate(_content_parts(message.get("content"), i)):
            if part["type"] != "image_url":
                continue
            ref = part.get("image_url")
            url = ref.get("url") if isinstance(ref, Mapping) else ref
            if not isinstance(url, str):
                raise InvalidRequestError(
                    f"messages[{i}].content[{j}].image_url.url is required.",
                    param=f"messages[{i}].content",
                )
            match = _DATA_URL.match(url)
            if match is None:
                raise InvalidRequestError(
                    "The local engine reads images from data URLs only "
                    "(data:image/png;base64,...); it does not download URLs.",
                    param=f"messages[{i}].content[{j}].image_url.url",
                )
            payload = match["data"]
            if len(payload) * 3 // 4 > MAX_IMAGE_BYTES:
                raise PayloadTooLargeError(
                    f"Image {len(images) + 1} is larger than {MAX_IMAGE_BYTES // 2**20} MiB.",
                    param=f"messages[{i}].content[{j}]",
                )
            if ";base64" not in (match["params"] or ""):
                raise InvalidRequestError(
                    "Image data URLs must be base64-encoded.",
                    param=f"messages[{i}].content[{j}].image_url.url",
                )
            try:
                data = base64.b64decode(payload, validate=False)
            except (binascii.Error, ValueError):
                raise InvalidRequestError(
                    "The image data URL holds invalid base64.",
                    param=f"messages[{i}].content[{j}].image_url.url",
                ) from None
            images.append(ImagePart((i, j), data, match["mime"]))
    return images


def _text_of(content: Any, index: int, ocr: Mapping[tuple[int, int], str]) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise InvalidRequestError(
            f"messages[{index}].content must be a string or a list of parts.",
            param=f"messages[{index}].content",
        )
    pieces: list[str] = []
    images: list[str] = []
    for j, part in enumerate(_content_parts(content, index)):
        kind = part["type"]
        if kind == "text":
            text = part.get("text")
            if not isinstance(text, str):
                raise InvalidRequestError(
                    f"messages[{index}].content[{j}].text must be a string.",
                    param=f"messages[{index}].content",
                )
            pieces.append(text)
        elif kind == "image_url":
            images.append(ocr[(index, j)])
        else:
            raise InvalidRequestError(
                f"Content parts of type {kind!r} are not supported by the local engine.",
                param=f"messages[{index}].content[{j}].type",
            )
    # The image text goes before the question whatever the part order: with the question
    # last, SmolLM2 found a receipt's total 24/24 times against 18/24 with it first
    # (bench/engine.py --ocr-eval).
    return "\n\n".join(p for p in [*images, *pieces] if p)


def to_turns(
    messages: Sequence[Mapping[str, Any]],
    *,
    ocr: Mapping[tuple[int, int], str],
    tool_prompt: str | None,
) -> list[dict[str, str]]:
    """Normalise messages for the chat template.

    Args:
        messages: the request's messages.
        ocr: the text block for each image part, by ``(message index, part index)``.
        tool_prompt: instructions offering tools, appended to the system turn.

    Returns:
        Turns with roles ``system``, ``user`` and ``assistant`` only.

    Raises:
        InvalidRequestError: a message is malformed.
    """
    if not messages:
        raise InvalidRequestError("messages must not be empty.", param="messages")
    system: list[str] = []
    turns: list[dict[str, str]] = []
    call_names: dict[str, str] = {}

    def add(role: str, text: str) -> None:
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"] += "\n\n" + text
        else:
            turns.append({"role": role, "content": text})

    for i, message in enumerate(messages):
        if not isinstance(message, Mapping):
            raise InvalidRequestError(f"messages[{i}] must be an object.", param="messages")
        role = message.get("role")
        if role not in _ROLES:
            raise InvalidRequestError(
                f"messages[{i}].role must be one of {sorted(_ROLES)}.", param=f"messages[{i}].role"
            )
        text = _text_of(message.get("content"), i, ocr)
        if role in ("system", "developer"):
            if text:
                system.append(text)
        elif role == "user":
            add("user", text)
        elif role == "assistant":
            calls = message.get("tool_calls") or []
            lines = [text] if text else []
            for call in calls:
                fn = call.get("function") if isinstance(call, Mapping) else None
                if not isinstance(fn, Mapping) or not isinstance(fn.get("name"), str):
                    raise InvalidRequestError(
                        f"messages[{i}].tool_calls entries need function.name.",
                        param=f"messages[{i}].tool_calls",
                    )
                args = fn.get("arguments", "{}")
                if not isinstance(args, str):
                    args = _json_dumps(args)
                if isinstance(call.get("id"), str):
                    call_names[call["id"]] = fn["name"]
                lines.append(tool_call_text(fn["name"], args))
            add("assistant", "\n".join(lines))
        else:
            call_id = message.get("tool_call_id")
            name = message.get("name")
            if not isinstance(name, str):
                name = call_names.get(call_id) if isinstance(call_id, str) else None
            add("user", tool_result_text(name, text))
    if tool_prompt:
        system.append(tool_prompt)
    if system:
        turns.insert(0, {"role": "system", "content": "\n\n".join(system)})
    if not any(t["role"] == "user" for t in turns):
        raise InvalidRequestError("messages need at least one user message.", param="messages")
    return turns


def _json_dumps(value: Any) -> str:
    import json

    return json.dumps(value, ensure_ascii=False)
