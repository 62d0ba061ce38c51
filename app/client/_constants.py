"""Defaults shared by the client: timeouts, retry policy and well-known hosts."""

from __future__ import annotations

import httpx

__all__ = [
    "DEFAULT_CONTROL_PLANE_URL",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
    "INITIAL_RETRY_DELAY",
    "MAX_RETRY_AFTER",
    "MAX_RETRY_DELAY",
]

# A generation may take minutes before its last byte; a refused connection must fail fast.
DEFAULT_TIMEOUT = httpx.Timeout(600.0, connect=5.0)
DEFAULT_MAX_RETRIES = 2

INITIAL_RETRY_DELAY = 0.5
MAX_RETRY_DELAY = 8.0
# A server-requested wait longer than this is not honoured: the backoff schedule is used instead.
MAX_RETRY_AFTER = 60.0

DEFAULT_CONTROL_PLANE_URL = "https://api.fireworks.ai"
