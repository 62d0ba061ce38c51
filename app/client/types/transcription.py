"""Response of ``/audio/transcriptions`` and ``/audio/translations`` (``json``/``verbose_json``)."""

from __future__ import annotations

from app.client._models import BaseModel

__all__ = ["Transcription", "TranscriptionSegment", "TranscriptionWord"]


class TranscriptionWord(BaseModel):
    """A word with its timestamps in seconds (``verbose_json`` with word granularity)."""

    word: str = ""
    start: float = 0.0
    end: float = 0.0


class TranscriptionSegment(BaseModel):
    """A segment with its timestamps in seconds; providers add fields such as ``speaker_id``."""

    id: int = 0
    start: float = 0.0
    end: float = 0.0
    text: str = ""


class Transcription(BaseModel):
    """Transcribed (or translated) text; the details come only with ``verbose_json``.

    ``language`` is a code on some providers and a name (``"english"``) on others.
    """

    text: str = ""
    language: str | None = None
    duration: float | None = None
    segments: list[TranscriptionSegment] | None = None
    words: list[TranscriptionWord] | None = None
