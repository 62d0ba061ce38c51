"""Errors the engine answers with, in OpenAI's shape and with the matching HTTP status."""

from __future__ import annotations

from typing import Any

__all__ = [
    "EngineError",
    "InvalidRequestError",
    "MediaError",
    "ModelLoadingError",
    "ModelNotFoundError",
    "ModelUnavailableError",
    "PayloadTooLargeError",
]


class EngineError(Exception):
    """An error with an HTTP status and an OpenAI error body.

    Args:
        message: the text shown to the user.
        param: the request field at fault, if any.
        code: a short machine-readable code, if any.
    """

    status: int = 500
    error_type: str = "server_error"

    def __init__(self, message: str, param: str | None = None, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code

    def body(self) -> dict[str, Any]:
        """Return the OpenAI error envelope for this error."""
        return {
            "error": {
                "message": self.message,
                "type": self.error_type,
                "param": self.param,
                "code": self.code,
            }
        }

    def headers(self) -> dict[str, str]:
        """Return extra response headers (e.g. ``retry-after``)."""
        return {}


class InvalidRequestError(EngineError):
    """400: the request (or a JSON schema in it) is malformed or unsupported."""

    status = 400
    error_type = "invalid_request_error"


class ModelNotFoundError(EngineError):
    """404: no model with that id is served here."""

    status = 404
    error_type = "invalid_request_error"

    def __init__(self, model: str) -> None:
        super().__init__(
            f"The model '{model}' does not exist.", param="model", code="model_not_found"
        )


class PayloadTooLargeError(EngineError):
    """413: the request body or an embedded file exceeds the engine's limit."""

    status = 413
    error_type = "invalid_request_error"


class MediaError(EngineError):
    """422: an uploaded audio file or image cannot be decoded."""

    status = 422
    error_type = "invalid_request_error"


class ModelLoadingError(EngineError):
    """503: the model is still loading; retry shortly."""

    status = 503
    error_type = "server_error"

    def __init__(self, model: str, retry_after: float) -> None:
        super().__init__(
            f"The model '{model}' is still loading; retry in a moment.", code="model_loading"
        )
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        """Tell clients (the OpenAI SDK honours it) when to retry."""
        return {
            "retry-after": str(max(1, round(self.retry_after))),
            "retry-after-ms": str(int(self.retry_after * 1000)),
        }


class ModelUnavailableError(EngineError):
    """503: the model failed to load (its message says why)."""

    status = 503
    error_type = "server_error"
