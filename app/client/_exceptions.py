"""Error hierarchy of the client and the one place that turns an HTTP error response into one.

Every message is the server's own words plus the status (``"401 Unauthorized: Invalid API key"``);
the API key is scrubbed from anything taken from the server before it reaches a message or ``body``.
"""

from __future__ import annotations

import html
import json
import re
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "FireplayError",
    "InternalServerError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "StreamError",
    "UnprocessableEntityError",
    "error_message_from_body",
    "make_status_error",
    "redact",
]

_EXCERPT_LEN = 300
_REDACTED = "***"
_MIN_SECRET_LEN = 8


class FireplayError(Exception):
    """Base class of every error Fireplay raises on purpose; presenters catch only this."""


class APIError(FireplayError):
    """An inference API call failed.

    Attributes:
        message: Human-readable text, safe to show to the user.
        request: The request that failed, when one was sent.
        body: The decoded error body (JSON value or text), if the server sent one.
    """

    def __init__(
        self, message: str, *, request: httpx.Request | None = None, body: object | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.request = request
        self.body = body

    @property
    def code(self) -> object | None:
        """The ``code`` of an OpenAI-style error body, if any."""
        return _error_field(self.body, "code")

    @property
    def type(self) -> str | None:
        """The ``type`` of an OpenAI-style error body, if any."""
        value = _error_field(self.body, "type")
        return value if isinstance(value, str) else None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class APIConnectionError(APIError):
    """The server could not be reached, or the connection broke before a response was complete."""

    def __init__(
        self, message: str = "Connection error.", *, request: httpx.Request | None = None
    ) -> None:
        super().__init__(message, request=request)


class APITimeoutError(APIConnectionError):
    """Connecting, sending or waiting for the next byte took longer than the configured timeout."""

    def __init__(
        self, message: str = "Request timed out.", *, request: httpx.Request | None = None
    ) -> None:
        super().__init__(message, request=request)


class APIStatusError(APIError):
    """The server answered with an error status (4xx/5xx, or an error body on a 2xx).

    Attributes:
        status_code: The HTTP status (or the status code carried inside an error body).
        request_id: The ``x-request-id`` response header, for support requests.
        response: The HTTP response, already read.
    """

    def __init__(
        self,
        message: str,
        *,
        response: httpx.Response,
        body: object | None,
        status_code: int | None = None,
    ) -> None:
        super().__init__(message, request=response.request, body=body)
        self.response = response
        self.status_code = response.status_code if status_code is None else status_code
        self.request_id: str | None = response.headers.get("x-request-id")


class BadRequestError(APIStatusError):
    """400: the request was malformed or a parameter is invalid."""


class AuthenticationError(APIStatusError):
    """401: the API key is missing or wrong."""


class PermissionDeniedError(APIStatusError):
    """403: the key may not use this resource."""


class NotFoundError(APIStatusError):
    """404: unknown path, or the model is missing, not deployed or not accessible."""


class ConflictError(APIStatusError):
    """409: a conflicting request is in progress (retried by default)."""


class UnprocessableEntityError(APIStatusError):
    """422: the server understood the request but rejected its content."""


class RateLimitError(APIStatusError):
    """429: over quota or rate limit (retried by default, honouring ``retry-after``)."""


class InternalServerError(APIStatusError):
    """>= 500: the server or a gateway in front of it failed (retried by default)."""


class StreamError(APIError):
    """The server reported an error inside a stream that had already started (HTTP 200)."""


class APIResponseValidationError(APIError):
    """A successful response did not have the expected shape.

    Attributes:
        response: The HTTP response whose body was rejected.
        status_code: Its HTTP status.
    """

    def __init__(self, message: str, *, response: httpx.Response, body: object | None) -> None:
        super().__init__(message, request=response.request, body=body)
        self.response = response
        self.status_code = response.status_code


_STATUS_CLASSES: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def redact(text: str, secret: str | None) -> str:
    """Return ``text`` with every occurrence of ``secret`` replaced by ``***``.

    Keys shorter than 8 characters are placeholders for local servers ("EMPTY", "x"), not
    secrets; scrubbing them would mangle every message that happens to contain them.
    """
    if secret and len(secret) >= _MIN_SECRET_LEN and secret in text:
        return text.replace(secret, _REDACTED)
    return text


def _error_field(body: object, name: str) -> object | None:
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            return error.get(name)
        return body.get(name)
    return None


_TAG_BLOCK = re.compile(r"<(script|style|head)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")


def _excerpt(text: str) -> str:
    text = _SPACE.sub(" ", text).strip()
    if len(text) > _EXCERPT_LEN:
        return text[: _EXCERPT_LEN - 1].rstrip() + "…"
    return text


def _html_excerpt(text: str) -> str:
    # Gateways (nginx, Cloudflare) answer 502/503 with a page whose <title> and <h1> repeat the
    # status; the body text without markup is what tells them apart.
    text = _TAG_BLOCK.sub(" ", text)
    return _excerpt(html.unescape(_TAG.sub(" ", text)))


def _looks_like_html(text: str, content_type: str) -> bool:
    return "html" in content_type or text.lstrip()[:1] == "<"


def error_message_from_body(body: object, text: str, content_type: str = "") -> str:
    """Extract the server's own error message from any of the error-body shapes seen in the wild.

    Order (wire reference §1.3): ``error.message``, ``error`` as a string, top-level ``message``,
    ``detail`` (string, or FastAPI's list of ``{"msg": ...}``), a JSON string body, then the raw
    text (tag-stripped when it is an HTML page).

    Args:
        body: The decoded JSON body, or ``None`` when it was not JSON.
        text: The raw body text.
        content_type: The response ``content-type``, used to recognise HTML pages.

    Returns:
        A single-line message; empty when the server gave nothing usable.
    """
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            message = error.get("message")
            if message:
                return _excerpt(str(message))
        elif isinstance(error, str) and error:
            return _excerpt(error)
        message = body.get("message")
        if isinstance(message, str) and message:
            return _excerpt(message)
        detail = body.get("detail")
        if isinstance(detail, str) and detail:
            return _excerpt(detail)
        if isinstance(detail, list):
            parts = [str(d.get("msg", d)) if isinstance(d, dict) else str(d) for d in detail]
            return _excerpt("; ".join(parts))
        if error:
            return _excerpt(json.dumps(error))
    elif isinstance(body, str):
        return _excerpt(body)
    if not text.strip():
        return ""
    if _looks_like_html(text, content_type):
        return _html_excerpt(text)
    return _excerpt(text)


def _status_line(status_code: int, reason: str) -> str:
    if not reason:
        try:
            reason = HTTPStatus(status_code).phrase
        except ValueError:
            reason = ""
    return f"{status_code} {reason}".strip()


def make_status_error(
    response: httpx.Response, *, api_key: str | None, status_code: int | None = None
) -> APIStatusError:
    """Build the right :class:`APIStatusError` subclass for a response whose body has been read.

    Args:
        response: The error response (``aread()`` already awaited).
        api_key: The key that was sent; scrubbed from the message and body.
        status_code: Overrides the HTTP status, for error bodies delivered with a 2xx status.

    Returns:
        The error to raise; its ``str()`` is ``"<status> <reason>: <server message>"``.
    """
    status = response.status_code if status_code is None else status_code
    text = redact(response.content.decode(response.encoding or "utf-8", "replace"), api_key)
    body: Any
    try:
        body = json.loads(text) if text.strip() else None
    except ValueError:
        body = None
    message = error_message_from_body(body, text, response.headers.get("content-type", ""))
    reason = response.reason_phrase if status == response.status_code else ""
    status_line = _status_line(status, reason)
    # Gateways often repeat the status as the message ("Not Found", "502 Bad Gateway nginx").
    for repeated in (status_line, status_line.partition(" ")[2]):
        rest = message[len(repeated) :]
        if repeated and message.lower().startswith(repeated.lower()) and not rest[:1].isalnum():
            message = rest.lstrip(" :-—")
            break
    full = f"{status_line}: {message}" if message else status_line
    if status >= 500:
        cls: type[APIStatusError] = InternalServerError
    else:
        cls = _STATUS_CLASSES.get(status, APIStatusError)
    return cls(
        full,
        response=response,
        body=body if body is not None else (text or None),
        status_code=status,
    )
