"""Transcription with faster-whisper, and the five OpenAI response formats.

Audio is decoded by PyAV (bundled with faster-whisper, FFmpeg inside), so wav, mp3, flac, ogg,
m4a and webm all work without a system FFmpeg. ``faster_whisper`` is imported in
:func:`load_whisper` only.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.engine._errors import InvalidRequestError, MediaError

__all__ = [
    "Segment",
    "Transcriber",
    "Transcript",
    "Word",
    "load_whisper",
    "to_srt",
    "to_verbose_json",
    "to_vtt",
]

_FALLBACK_TEMPERATURES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)


@dataclass(frozen=True)
class Word:
    """A word with its timing."""

    word: str
    start: float
    end: float
    probability: float


@dataclass(frozen=True)
class Segment:
    """A transcribed segment (whisper's own fields)."""

    id: int
    seek: int
    start: float
    end: float
    text: str
    tokens: list[int]
    temperature: float
    avg_logprob: float
    compression_ratio: float
    no_speech_prob: float
    words: list[Word] = field(default_factory=list)


@dataclass(frozen=True)
class Transcript:
    """A finished transcription."""

    task: str
    language: str
    duration: float
    text: str
    segments: list[Segment]


class Transcriber:
    """A loaded whisper model.

    Args:
        model: a ``faster_whisper.WhisperModel``.
        decode: faster-whisper's ``decode_audio``.
        multilingual: whether the model handles languages other than English.
    """

    def __init__(self, model: Any, decode: Callable[..., Any], multilingual: bool) -> None:
        self._model = model
        self._decode = decode
        self.multilingual = multilingual

    def transcribe(
        self,
        data: bytes,
        *,
        task: str,
        language: str | None,
        prompt: str | None,
        temperature: float | None,
        word_timestamps: bool,
        cancel: threading.Event,
    ) -> Transcript:
        """Transcribe (or translate to English) an encoded audio file.

        Args:
            data: the uploaded file's bytes.
            task: ``transcribe`` or ``translate``.
            language: ISO code of the spoken language, if known.
            prompt: priming text (vocabulary, style).
            temperature: one sampling temperature; ``None`` uses whisper's fallback ladder.
            word_timestamps: also time every word.
            cancel: set when the client has gone; stops between segments.

        Returns:
            The transcript.

        Raises:
            InvalidRequestError: the language is not one the model handles.
            MediaError: the file is not decodable audio.
        """
        if not self.multilingual:
            if language not in (None, "", "en"):
                raise InvalidRequestError(
                    f"This whisper model understands English only (language={language!r}).",
                    param="language",
                )
            # English-only models cannot translate; their transcript is already English.
            task, language = "transcribe", "en"
        try:
            audio = self._decode(io.BytesIO(data), sampling_rate=16000)
        except Exception as exc:
            # PyAV raises a family of FFmpeg error classes (and ValueError/IndexError on
            # truncated containers); any of them means the upload is not usable audio.
            raise MediaError(f"The audio file could not be decoded: {exc}", param="file") from None
        if getattr(audio, "size", 0) == 0:
            raise MediaError("The audio file holds no audio samples.", param="file")
        temps: Sequence[float] = (
            _FALLBACK_TEMPERATURES if temperature is None else (float(temperature),)
        )
        segments_iter, info = self._model.transcribe(
            audio,
            task=task,
            language=language or None,
            initial_prompt=prompt or None,
            temperature=list(temps),
            word_timestamps=word_timestamps,
            vad_filter=False,
        )
        segments: list[Segment] = []
        for seg in segments_iter:
            if cancel.is_set():
                break
            words = [Word(w.word, w.start, w.end, w.probability) for w in seg.words or []]
            segments.append(
                Segment(
                    id=len(segments),
                    seek=seg.seek,
                    start=seg.start,
                    end=seg.end,
                    text=seg.text,
                    tokens=list(seg.tokens),
                    temperature=float(seg.temperature or 0.0),
                    avg_logprob=seg.avg_logprob,
                    compression_ratio=seg.compression_ratio,
                    no_speech_prob=seg.no_speech_prob,
                    words=words,
                )
            )
        text = "".join(s.text for s in segments).strip()
        return Transcript(task, info.language, float(info.duration), text, segments)


def _timestamp(seconds: float, sep: str) -> str:
    ms = max(0, round(seconds * 1000))
    hours, ms = divmod(ms, 3_600_000)
    minutes, ms = divmod(ms, 60_000)
    secs, ms = divmod(ms, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{sep}{ms:03d}"


def to_srt(transcript: Transcript) -> str:
    """SubRip subtitles."""
    blocks = [
        f"{n}\n{_timestamp(s.start, ',')} --> {_timestamp(s.end, ',')}\n{s.text.strip()}\n"
        for n, s in enumerate(transcript.segments, start=1)
    ]
    return "\n".join(blocks)


def to_vtt(transcript: Transcript) -> str:
    """WebVTT subtitles."""
    blocks = [
        f"{_timestamp(s.start, '.')} --> {_timestamp(s.end, '.')}\n{s.text.strip()}\n"
        for s in transcript.segments
    ]
    return "WEBVTT\n\n" + "\n".join(blocks)


def to_verbose_json(transcript: Transcript, *, words: bool, segments: bool) -> dict[str, Any]:
    """OpenAI's ``verbose_json`` body.

    Args:
        transcript: the transcript.
        words: include the top-level ``words`` list.
        segments: include ``segments`` (OpenAI omits them when only words were asked for).

    Returns:
        The response body.
    """
    body: dict[str, Any] = {
        "task": transcript.task,
        "language": transcript.language,
        "duration": round(transcript.duration, 3),
        "text": transcript.text,
    }
    if segments:
        body["segments"] = [
            {
                "id": s.id,
                "seek": s.seek,
                "start": round(s.start, 3),
                "end": round(s.end, 3),
                "text": s.text,
                "tokens": s.tokens,
                "temperature": s.temperature,
                "avg_logprob": s.avg_logprob,
                "compression_ratio": s.compression_ratio,
                "no_speech_prob": s.no_speech_prob,
            }
            for s in transcript.segments
        ]
    if words:
        body["words"] = [
            {"word": w.word.strip(), "start": round(w.start, 3), "end": round(w.end, 3)}
            for s in transcript.segments
            for w in s.words
        ]
    body["usage"] = {"type": "duration", "seconds": max(1, round(transcript.duration))}
    return body


def load_whisper(
    model_dir: Path, *, threads: int, progress: Callable[[str, float], None]
) -> Transcriber:
    """Load a CTranslate2 whisper model from a local directory (no download).

    Args:
        model_dir: directory with ``model.bin``, ``config.json``, ``tokenizer.json``...
        threads: CPU threads.
        progress: receives (stage, fraction) updates.

    Returns:
        The transcriber.
    """
    progress("importing faster-whisper", 0.1)
    from faster_whisper import WhisperModel, decode_audio

    progress("loading whisper weights", 0.4)
    model = WhisperModel(
        str(model_dir), device="cpu", compute_type="int8", cpu_threads=threads, num_workers=1
    )
    return Transcriber(model, decode_audio, bool(model.model.is_multilingual))
