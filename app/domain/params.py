"""Sampling parameters: which ones exist, their ranges, and which of them a request sends.

A parameter the user has not set is never sent, so the provider's own default applies and the UI can
say so honestly instead of pretending to know the default.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

__all__ = [
    "AUDIO_PARAMS",
    "EMBEDDING_PARAMS",
    "JSON_PARAMS",
    "PARAMS",
    "ParamKind",
    "ParamSpec",
    "clean_params",
    "parse_stop",
]


class ParamKind(StrEnum):
    """How a parameter is edited and typed on the wire."""

    FLOAT = "float"
    INT = "int"
    CHOICE = "choice"
    STOP = "stop"
    TEXT = "text"


@dataclass(frozen=True, slots=True)
class ParamSpec:
    """One sampling parameter as the user sees it and as the request carries it."""

    name: str
    label: str
    kind: ParamKind
    help: str
    minimum: float = 0.0
    maximum: float = 0.0
    step: float = 1.0
    decimals: int = 0
    choices: tuple[str, ...] = ()
    openai_standard: bool = True

    def coerce(self, value: Any) -> Any:
        """Return ``value`` in its wire type; raise ``ValueError`` when it is out of range."""
        if self.kind is ParamKind.CHOICE:
            if value not in self.choices:
                raise ValueError(f"{self.label} must be one of {', '.join(self.choices)}")
            return value
        if self.kind is ParamKind.TEXT:
            return str(value)
        if self.kind is ParamKind.STOP:
            stops = parse_stop(value) if isinstance(value, str) else [str(s) for s in value]
            if len(stops) > 4:
                raise ValueError("At most 4 stop sequences are allowed")
            return stops
        number = int(value) if self.kind is ParamKind.INT else round(float(value), self.decimals)
        if not self.minimum <= number <= self.maximum:
            raise ValueError(f"{self.label} must be between {self.minimum:g} and {self.maximum:g}")
        return number


PARAMS: tuple[ParamSpec, ...] = (
    ParamSpec(
        "temperature",
        "Temperature",
        ParamKind.FLOAT,
        "Randomness of sampling; 0 is (nearly) deterministic.",
        0.0,
        2.0,
        0.05,
        2,
    ),
    ParamSpec(
        "top_p",
        "Top P",
        ParamKind.FLOAT,
        "Nucleus sampling: keep the smallest token set whose probability reaches P.",
        0.0,
        1.0,
        0.05,
        2,
    ),
    ParamSpec(
        "top_k",
        "Top K",
        ParamKind.INT,
        "Sample only among the K most likely tokens (Fireworks, vLLM, llama.cpp).",
        1,
        1000,
        1,
        openai_standard=False,
    ),
    ParamSpec(
        "min_p",
        "Min P",
        ParamKind.FLOAT,
        "Drop tokens less likely than min_p × the top token (Fireworks, vLLM, llama.cpp).",
        0.0,
        1.0,
        0.01,
        2,
        openai_standard=False,
    ),
    ParamSpec(
        "max_tokens", "Max tokens", ParamKind.INT, "Upper bound on generated tokens.", 1, 1_000_000
    ),
    ParamSpec(
        "stop",
        "Stop",
        ParamKind.STOP,
        "Up to 4 stop sequences, comma-separated; \\n and \\t escapes work.",
    ),
    ParamSpec(
        "seed",
        "Seed",
        ParamKind.INT,
        "Fixed seed for reproducible sampling, where the server supports it.",
        0,
        2**31 - 1,
    ),
    ParamSpec(
        "presence_penalty",
        "Presence penalty",
        ParamKind.FLOAT,
        "Penalise tokens that already appeared at all.",
        -2.0,
        2.0,
        0.1,
        2,
    ),
    ParamSpec(
        "frequency_penalty",
        "Frequency penalty",
        ParamKind.FLOAT,
        "Penalise tokens in proportion to how often they appeared.",
        -2.0,
        2.0,
        0.1,
        2,
    ),
    ParamSpec(
        "repetition_penalty",
        "Repetition penalty",
        ParamKind.FLOAT,
        "Multiplicative penalty on repeated tokens; 1.0 is off (Fireworks, vLLM).",
        0.0,
        2.0,
        0.05,
        2,
        openai_standard=False,
    ),
    ParamSpec(
        "reasoning_effort",
        "Reasoning effort",
        ParamKind.CHOICE,
        "How much a reasoning model thinks before answering.",
        choices=("none", "low", "medium", "high"),
    ),
)

_CHAT_BY_NAME = {spec.name: spec for spec in PARAMS}

#: Structured output: sampling that matters for JSON (stop strings and penalties would cut or
#: bend the document).
JSON_PARAMS: tuple[ParamSpec, ...] = tuple(
    _CHAT_BY_NAME[name]
    for name in ("temperature", "top_p", "top_k", "min_p", "max_tokens", "seed", "reasoning_effort")
)

EMBEDDING_PARAMS: tuple[ParamSpec, ...] = (
    ParamSpec(
        "dimensions",
        "Dimensions",
        ParamKind.INT,
        "Shorter vectors from a Matryoshka model (Nomic, OpenAI text-embedding-3).",
        1,
        8192,
    ),
    ParamSpec(
        "encoding_format",
        "Encoding",
        ParamKind.CHOICE,
        "How vectors travel: float lists or base64 (smaller; the values are the same).",
        choices=("float", "base64"),
    ),
)

AUDIO_PARAMS: tuple[ParamSpec, ...] = (
    ParamSpec(
        "language",
        "Language",
        ParamKind.TEXT,
        "ISO-639-1 code of the spoken language (e.g. en); detected when unset.",
    ),
    ParamSpec(
        "prompt",
        "Prompt",
        ParamKind.TEXT,
        "Text that guides spelling and style, e.g. names and terms the audio contains.",
    ),
    ParamSpec(
        "temperature",
        "Temperature",
        ParamKind.FLOAT,
        "Sampling temperature of the decoder; 0 is (nearly) deterministic.",
        0.0,
        1.0,
        0.05,
        2,
    ),
    ParamSpec(
        "response_format",
        "Response format",
        ParamKind.CHOICE,
        "What the server returns; verbose_json carries the segments.",
        choices=("verbose_json", "json", "text", "srt", "vtt"),
    ),
    ParamSpec(
        "timestamp_granularities",
        "Timestamps",
        ParamKind.CHOICE,
        "Segment or word timestamps (verbose_json only).",
        choices=("segment", "word", "segment,word"),
    ),
)

# Chat's ranges win where two lists share a name.
_BY_NAME = {spec.name: spec for spec in (*AUDIO_PARAMS, *EMBEDDING_PARAMS, *PARAMS)}
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", ",": ","}


def parse_stop(text: str) -> list[str]:
    r"""Split comma-separated stop sequences; ``\n``, ``\t``, ``\r``, ``\\``, ``\,`` are escapes."""
    parts: list[str] = []
    current: list[str] = []
    chars = iter(text)
    for char in chars:
        if char == "\\":
            escaped = next(chars, "")
            current.append(_ESCAPES.get(escaped, "\\" + escaped))
        elif char == ",":
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [part for part in (p.strip(" ") for p in parts) if part]


def clean_params(
    values: dict[str, Any], specs: tuple[ParamSpec, ...] | None = None
) -> dict[str, Any]:
    """Return only the parameters that are set, coerced to their wire types.

    Unknown names pass through untouched so that provider-specific extras keep working.
    ``specs`` names the tab's own list when two tabs give one name different ranges (audio's
    temperature stops at 1).

    Raises:
        ValueError: a known parameter is out of range.
    """
    cleaned: dict[str, Any] = {}
    by_name = {spec.name: spec for spec in specs} if specs is not None else None
    for name, value in values.items():
        if value is None or value == "" or value == []:
            continue
        spec = (by_name or _BY_NAME).get(name)
        cleaned[name] = spec.coerce(value) if spec else value
    return cleaned
