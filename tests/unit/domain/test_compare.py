from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from app.domain.compare import (
    ComparisonRecord,
    DiffOp,
    PaneRecord,
    best_panes,
    comparison_from_json,
    comparison_to_json,
    comparison_to_markdown,
    word_diff,
)
from app.domain.metrics import RunMetrics


def _side(segments, keep):  # type: ignore[no-untyped-def]
    return "".join(s.text for s in segments if s.op in (DiffOp.EQUAL, keep))


def test_word_diff_marks_changed_words_only() -> None:
    segments = word_diff("The quick brown fox.", "The slow brown fox!")
    assert [(s.op, s.text) for s in segments] == [
        (DiffOp.EQUAL, "The "),
        (DiffOp.DELETE, "quick"),
        (DiffOp.INSERT, "slow"),
        (DiffOp.EQUAL, " brown fox"),
        (DiffOp.DELETE, "."),
        (DiffOp.INSERT, "!"),
    ]


def test_a_rewritten_phrase_is_one_change_not_words_glued_together() -> None:
    segments = word_diff("Here are three colours", "1. Blue: three colours")
    assert [(s.op, s.text) for s in segments] == [
        (DiffOp.DELETE, "Here are"),
        (DiffOp.INSERT, "1. Blue:"),
        (DiffOp.EQUAL, " three colours"),
    ]


@given(st.text(), st.text())
def test_word_diff_reconstructs_both_sides(left: str, right: str) -> None:
    segments = word_diff(left, right)
    assert _side(segments, DiffOp.DELETE) == left
    assert _side(segments, DiffOp.INSERT) == right


def test_best_panes_needs_two_comparable_runs() -> None:
    fast = RunMetrics(total_s=1.0, cost_usd=0.002)
    slow_cheap = RunMetrics(total_s=3.0, cost_usd=0.001)
    assert best_panes([fast, slow_cheap, None]) == (0, 1)
    assert best_panes([fast, None]) == (None, None)
    assert best_panes([RunMetrics(total_s=2.0), RunMetrics(total_s=1.0)]) == (1, None)


def _record() -> ComparisonRecord:
    reply = {
        "role": "assistant",
        "content": "Paris.",
        "metrics": {
            "ttft_s": 0.2,
            "total_s": 0.5,
            "completion_tokens": 2,
            "prompt_tokens": 9,
            "tokens_estimated": False,
            "decode_tokens_per_s": 10.0,
            "cost_usd": 0.000012,
            "finish_reason": "stop",
        },
    }
    failed = {"role": "assistant", "content": "Par", "error": "500 Internal Server Error: boom"}
    return ComparisonRecord(
        inputs=["Capital of France?"],
        panes=[
            PaneRecord(
                "fireworks",
                "gpt-oss-120b",
                {"temperature": 0.2},
                "Be brief.",
                [{"role": "user", "content": "Capital of France?"}, reply],
            ),
            PaneRecord(
                "openai",
                "gpt-4o-mini",
                {},
                "",
                [{"role": "user", "content": "Capital of France?"}, failed],
            ),
        ],
        created="2026-11-26T13:00:00Z",
        app_version="0.1.0",
    )


def test_json_export_round_trips() -> None:
    record = _record()
    assert comparison_from_json(comparison_to_json(record)) == record


def test_markdown_export_has_targets_answers_metrics_and_errors() -> None:
    text = comparison_to_markdown(_record())
    assert "## Pane 1: gpt-oss-120b (fireworks)" in text
    assert "`temperature=0.2`" in text and "System prompt: Be brief." in text
    assert "Paris." in text and "TTFT 0.200 s" in text and "(estimate)" in text
    assert "> Error: 500 Internal Server Error: boom" in text


def test_foreign_json_is_rejected() -> None:
    import pytest

    with pytest.raises(ValueError, match="not a Fireplay comparison"):
        comparison_from_json('{"format": "other"}')
