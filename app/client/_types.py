"""Small shared types: the "argument not given" sentinel and accepted file inputs."""

from __future__ import annotations

import os
from typing import Final, Literal, TypeAlias

import httpx

__all__ = ["NOT_GIVEN", "FileTypes", "NotGiven", "TimeoutTypes"]


class NotGiven:
    """Sentinel telling "the caller did not pass this argument" apart from an explicit ``None``."""

    _instance: NotGiven | None = None

    def __new__(cls) -> NotGiven:
        # A singleton, so `is NOT_GIVEN` checks hold everywhere.
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> Literal[False]:
        return False

    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN: Final = NotGiven()

TimeoutTypes: TypeAlias = float | httpx.Timeout

# A path, raw bytes, (filename, bytes) or (filename, bytes, content type).
FileTypes: TypeAlias = str | os.PathLike[str] | bytes | tuple[str, bytes] | tuple[str, bytes, str]
