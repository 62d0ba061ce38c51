"""Comparing targets: word-level diffs, fastest/cheapest marks, and exports of a comparison."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from typing import Any

from app.domain.metrics import RunMetrics

__all__ = [
    "ComparisonRecord",
    "DiffOp",
    "PaneRecord",
    "Segment",
    "best_panes",
    "comparison_from_json",
    "comparison_to_json",
    "comparison_to_markdown",
    "metrics_dict",
    "metrics_from_dict",
    "word_diff",
]

_TOKENS = re.compile(r"\s+|\w+|[^\w\s]", re.UNICODE)


class DiffOp(StrEnum):
    """What a diff segment is relative to the left text."""

    EQUAL = "equal"
    DELETE = "delete"
    INSERT = "insert"


@dataclass(frozen=True, slots=True)
class Segment:
    """A run of text that is common to both sides, only on the left, or only on the right."""

    op: DiffOp
    text: str


def word_diff(left: str, right: str) -> list[Segment]:
    """Diff two texts word by word; whitespace and punctuation are tokens of their own.

    A replacement becomes a deletion followed by an insertion, so concatenating the EQUAL and
    DELETE segments gives back ``left`` and the EQUAL and INSERT segments give back ``right``.
    Whitespace alone between two changes joins them into one change: "Here are" replaced by
    "1. Blue:" reads as such, not as four words cut apart by the space they happen to share.
    """
    a, b = _TOKENS.findall(left), _TOKENS.findall(right)
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    # Alternating runs: an EQUAL text, or a change as (deleted, inserted).
    runs: list[str | tuple[str, str]] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            runs.append("".join(a[i1:i2]))
        else:
            runs.append(("".join(a[i1:i2]), "".join(b[j1:j2])))
    merged: list[str | tuple[str, str]] = []
    for run in runs:
        if isinstance(run, tuple) and len(merged) >= 2:
            gap, before = merged[-1], merged[-2]
            if isinstance(gap, str) and not gap.strip() and isinstance(before, tuple):
                merged[-2:] = [(before[0] + gap + run[0], before[1] + gap + run[1])]
                continue
        merged.append(run)
    segments: list[Segment] = []
    for run in merged:
        if isinstance(run, str):
            _push(segments, DiffOp.EQUAL, run)
        else:
            _push(segments, DiffOp.DELETE, run[0])
            _push(segments, DiffOp.INSERT, run[1])
    return segments


def _push(segments: list[Segment], op: DiffOp, text: str) -> None:
    if not text:
        return
    if segments and segments[-1].op is op:
        segments[-1] = Segment(op, segments[-1].text + text)
    else:
        segments.append(Segment(op, text))


def best_panes(metrics: Sequence[RunMetrics | None]) -> tuple[int | None, int | None]:
    """Indices of the fastest (total latency) and cheapest (estimated cost) finished runs.

    Nothing is marked unless at least two runs can be compared on that figure.
    """

    def pick(values: list[tuple[float, int]]) -> int | None:
        return min(values)[1] if len(values) >= 2 else None

    latencies = [(m.total_s, i) for i, m in enumerate(metrics) if m and m.total_s is not None]
    costs = [(m.cost_usd, i) for i, m in enumerate(metrics) if m and m.cost_usd is not None]
    return pick(latencies), pick(costs)


@dataclass
class PaneRecord:
    """One pane of a comparison: its target and what it produced."""

    provider: str
    model: str
    params: dict[str, Any] = field(default_factory=dict)
    system_prompt: str = ""
    messages: list[dict[str, Any]] = field(default_factory=list)
    metrics: list[dict[str, Any] | None] = field(default_factory=list)


@dataclass
class ComparisonRecord:
    """A whole comparison: the shared inputs and every pane."""

    inputs: list[str]
    panes: list[PaneRecord]
    created: str
    app_version: str
    format: str = "fireplay.comparison/1"


def metrics_dict(metrics: RunMetrics | None) -> dict[str, Any] | None:
    """A JSON-friendly form of ``metrics``."""
    return None if metrics is None else asdict(metrics)


def metrics_from_dict(data: Mapping[str, Any] | None) -> RunMetrics | None:
    """Read back what :func:`metrics_dict` wrote; keys a newer version added are left out."""
    if not data:
        return None
    known = {f.name for f in fields(RunMetrics)}
    return RunMetrics(**{name: value for name, value in data.items() if name in known})


def comparison_to_json(record: ComparisonRecord) -> str:
    """Serialise a comparison; :func:`comparison_from_json` reads it back."""
    return json.dumps(asdict(record), indent=2, ensure_ascii=False)


def comparison_from_json(text: str) -> ComparisonRecord:
    """Read a comparison written by :func:`comparison_to_json`.

    Raises:
        ValueError: the text is not a Fireplay comparison.
    """
    data = json.loads(text)
    if not isinstance(data, dict) or data.get("format") != "fireplay.comparison/1":
        raise ValueError("not a Fireplay comparison export")
    panes = [PaneRecord(**pane) for pane in data.pop("panes")]
    return ComparisonRecord(panes=panes, **data)


def comparison_to_markdown(record: ComparisonRecord) -> str:
    """A readable report: inputs, then each pane's target, answers and metrics."""
    lines = [f"# Fireplay comparison — {record.created}", ""]
    lines += ["## Inputs", ""] + [f"{n}. {text}" for n, text in enumerate(record.inputs, 1)]
    for number, pane in enumerate(record.panes, 1):
        lines += ["", f"## Pane {number}: {pane.model} ({pane.provider})", ""]
        if pane.params:
            settings = ", ".join(f"`{k}={v}`" for k, v in sorted(pane.params.items()))
            lines += [f"Parameters: {settings}", ""]
        if pane.system_prompt:
            lines += [f"System prompt: {pane.system_prompt}", ""]
        replies = [m for m in pane.messages if m["role"] == "assistant"]
        for reply_number, message in enumerate(replies, 1):
            lines += [f"### Reply {reply_number}", "", message.get("content") or "", ""]
            metrics = message.get("metrics")
            if metrics:
                lines += [_metrics_line(metrics), ""]
            if message.get("error"):
                lines += [f"> Error: {message['error']}", ""]
    return "\n".join(lines).rstrip() + "\n"


def _metrics_line(metrics: dict[str, Any]) -> str:
    parts = []
    if metrics.get("ttft_s") is not None:
        parts.append(f"TTFT {metrics['ttft_s']:.3f} s")
    if metrics.get("decode_tokens_per_s") is not None:
        parts.append(f"{metrics['decode_tokens_per_s']:.1f} tok/s")
    if metrics.get("completion_tokens") is not None:
        estimated = " (estimated)" if metrics.get("tokens_estimated") else ""
        parts.append(
            f"{metrics.get('prompt_tokens')} → {metrics['completion_tokens']} tokens{estimated}"
        )
    elif metrics.get("prompt_tokens") is not None:
        parts.append(f"{metrics['prompt_tokens']} input tokens")
    if metrics.get("dimensions") is not None:
        parts.append(f"{metrics['dimensions']} dimensions")
    if metrics.get("total_s") is not None:
        parts.append(f"total {metrics['total_s']:.3f} s")
    if metrics.get("cost_usd") is not None:
        parts.append(f"${metrics['cost_usd']:.6f} (estimate)")
    if metrics.get("finish_reason"):
        parts.append(f"finish: {metrics['finish_reason']}")
    return "_" + " · ".join(parts) + "_"
