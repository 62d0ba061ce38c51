"""``client.audio``: speech to text (transcriptions) and speech to English (translations)."""

from __future__ import annotations

import asyncio
import io
import json
import mimetypes
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, overload

from app.client._types import NOT_GIVEN, FileTypes, NotGiven, TimeoutTypes
from app.client.types.transcription import Transcription

if TYPE_CHECKING:
    from app.client._client import AsyncClient

__all__ = ["Audio", "Transcriptions", "Translations"]

_TEXT_FORMATS = frozenset({"text", "srt", "vtt"})
Progress = Callable[[int, int], None]

# Leading bytes of common audio containers, so raw bytes get a filename with an extension
# (OpenAI infers the format from it).
_SIGNATURES: tuple[tuple[int, bytes, str, str], ...] = (
    (0, b"RIFF", "audio.wav", "audio/wav"),
    (0, b"fLaC", "audio.flac", "audio/flac"),
    (0, b"OggS", "audio.ogg", "audio/ogg"),
    (0, b"ID3", "audio.mp3", "audio/mpeg"),
    (0, b"\xff\xfb", "audio.mp3", "audio/mpeg"),
    (0, b"\xff\xf3", "audio.mp3", "audio/mpeg"),
    (0, b"\x1a\x45\xdf\xa3", "audio.webm", "audio/webm"),
    (4, b"ftyp", "audio.m4a", "audio/mp4"),
)


def _sniff(content: bytes) -> tuple[str, str]:
    for offset, signature, filename, content_type in _SIGNATURES:
        if content[offset : offset + len(signature)] == signature:
            return filename, content_type
    return "audio", "application/octet-stream"


def _content_type(filename: str) -> str:
    return mimetypes.guess_type(filename)[0] or "application/octet-stream"


async def _file_part(file: FileTypes) -> tuple[str, bytes, str]:
    if isinstance(file, tuple):
        if len(file) == 3:
            return file[0], file[1], file[2]
        return file[0], file[1], _content_type(file[0])
    if isinstance(file, bytes):
        filename, content_type = _sniff(file)
        return filename, file, content_type
    path = Path(os.fspath(file))
    # Reading happens off the event loop: audio files can be large and the loop drives the UI.
    content = await asyncio.to_thread(path.read_bytes)
    return path.name, content, _content_type(path.name)


class _UploadReader(io.BytesIO):
    """A file's bytes as httpx reads them to send them, saying how many have gone.

    httpx asks for 64 KiB at a time; answering with up to 1 MiB sends a 115 MB file about
    three times as fast as handing httpx the bytes whole, which it writes to the socket in one
    piece (bench/audio_load.py), and progress still moves every megabyte.
    """

    _PIECE = 1 << 20

    def __init__(self, content: bytes, progress: Progress | None) -> None:
        super().__init__(content)
        self._size = len(content)
        self._progress = progress

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size if size is None or size < 0 else max(size, self._PIECE))
        if self._progress is not None:
            self._progress(self.tell(), self._size)
        return chunk


def _form_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return json.dumps(value)
    return str(value)


class _AudioResource:
    _path: str

    def __init__(self, client: AsyncClient) -> None:
        """Bind to a client."""
        self._client = client

    async def _create(
        self,
        *,
        model: str,
        file: FileTypes,
        response_format: str,
        fields: Mapping[str, Any],
        extra_headers: Mapping[str, str | None] | None,
        timeout: TimeoutTypes | NotGiven,
        progress: Progress | None,
    ) -> Transcription | str:
        data: dict[str, Any] = {"model": model, "response_format": response_format}
        for name, value in fields.items():
            if value is None:
                continue
            if isinstance(value, list | tuple):
                # OpenAI's convention for arrays in forms: the field repeated with "[]".
                data[f"{name}[]"] = [_form_value(item) for item in value]
            else:
                data[name] = _form_value(value)
        if isinstance(file, str) and file.startswith(("http://", "https://")):
            # Fireworks accepts a public URL in place of the audio bytes; a part without a
            # filename is a plain form field, and keeps the body multipart.
            part: tuple[str | None, bytes | _UploadReader, str | None] = (
                None,
                file.encode(),
                None,
            )
        else:
            name, content, content_type = await _file_part(file)
            part = (name, _UploadReader(content, progress), content_type)
        response = await self._client._request(
            "POST",
            self._path,
            model=model,
            data=data,
            files={"file": part},
            extra_headers=extra_headers,
            timeout=timeout,
            accept="text/plain" if response_format in _TEXT_FORMATS else "application/json",
        )
        if response_format in _TEXT_FORMATS:
            return response.text
        return self._client._parse(response, Transcription)

    @overload
    async def create(
        self,
        *,
        model: str,
        file: FileTypes,
        response_format: Literal["json", "verbose_json", "diarized_json"] = "json",
        language: str | None = None,
        prompt: str | None = None,
        temperature: float | str | None = None,
        timestamp_granularities: Sequence[str] | str | None = None,
        extra_headers: Mapping[str, str | None] | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        progress: Progress | None = None,
        **extra: Any,
    ) -> Transcription: ...

    @overload
    async def create(
        self,
        *,
        model: str,
        file: FileTypes,
        response_format: Literal["text", "srt", "vtt"],
        language: str | None = None,
        prompt: str | None = None,
        temperature: float | str | None = None,
        timestamp_granularities: Sequence[str] | str | None = None,
        extra_headers: Mapping[str, str | None] | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        progress: Progress | None = None,
        **extra: Any,
    ) -> str: ...

    @overload
    async def create(
        self,
        *,
        model: str,
        file: FileTypes,
        response_format: str,
        language: str | None = None,
        prompt: str | None = None,
        temperature: float | str | None = None,
        timestamp_granularities: Sequence[str] | str | None = None,
        extra_headers: Mapping[str, str | None] | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        progress: Progress | None = None,
        **extra: Any,
    ) -> Transcription | str: ...

    async def create(
        self,
        *,
        model: str,
        file: FileTypes,
        response_format: str = "json",
        language: str | None = None,
        prompt: str | None = None,
        temperature: float | str | None = None,
        timestamp_granularities: Sequence[str] | str | None = None,
        extra_headers: Mapping[str, str | None] | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        progress: Progress | None = None,
        **extra: Any,
    ) -> Transcription | str:
        """Upload an audio file (multipart) to this resource's endpoint.

        Args:
            model: e.g. ``whisper-v3`` (Fireworks) or ``whisper-1`` (OpenAI).
            file: A path, raw bytes, ``(filename, bytes)``, ``(filename, bytes, content_type)``,
                or (Fireworks) an ``http(s)`` URL string.
            response_format: ``json``, ``verbose_json``, ``text``, ``srt`` or ``vtt``.
            language: Spoken language (ISO code).
            prompt: Priming text or vocabulary.
            temperature: Sampling temperature (Fireworks also takes a comma list).
            timestamp_granularities: A list is sent OpenAI-style as repeated
                ``timestamp_granularities[]`` fields; a comma string (``"word,segment"``,
                Fireworks' documented form) is sent as one field.
            extra_headers: Extra headers for this call.
            timeout: Overrides the client's timeout for this call.
            progress: Called with (bytes sent, bytes in the file) as the upload goes out
                (again from 0 when a retry sends it anew).
            **extra: Further form fields (``None`` skipped, booleans as ``true``/``false``),
                e.g. Fireworks' ``vad_model`` or ``diarize``.

        Returns:
            A :class:`Transcription` for JSON formats, the body text for text/srt/vtt.

        Raises:
            OSError: ``file`` is a path that cannot be read.
        """
        fields = {
            "language": language,
            "prompt": prompt,
            "temperature": temperature,
            "timestamp_granularities": timestamp_granularities,
            **extra,
        }
        return await self._create(
            model=model,
            file=file,
            response_format=response_format,
            fields=fields,
            extra_headers=extra_headers,
            timeout=timeout,
            progress=progress,
        )


class Transcriptions(_AudioResource):
    """``POST /audio/transcriptions``: speech to text in the spoken language."""

    _path = "/audio/transcriptions"


class Translations(_AudioResource):
    """``POST /audio/translations``: speech in any language to English text.

    Same arguments and results as :class:`Transcriptions`; ``language`` names the source language.
    """

    _path = "/audio/translations"


class Audio:
    """``client.audio``: holds :attr:`transcriptions` and :attr:`translations`."""

    def __init__(self, client: AsyncClient) -> None:
        """Bind to a client."""
        self.transcriptions = Transcriptions(client)
        self.translations = Translations(client)
