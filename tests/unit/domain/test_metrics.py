from __future__ import annotations

import pytest

from app.domain.metrics import MetricsRecorder, RunMetrics, combined


def test_decode_rate_excludes_prefill_and_uses_reported_usage() -> None:
    recorder = MetricsRecorder(started_at=10.0)
    for t in (10.5, 10.6, 10.7, 11.5):  # first token after 0.5 s of prefill
        recorder.token(t)
    recorder.usage({"prompt_tokens": 12, "completion_tokens": 21, "total_tokens": 33})
    metrics = recorder.summary(12.0, finish_reason="stop")
    assert metrics.ttft_s == pytest.approx(0.5)
    assert metrics.total_s == pytest.approx(2.0)
    assert metrics.decode_tokens_per_s == pytest.approx(20 / 1.0)
    assert (metrics.prompt_tokens, metrics.completion_tokens) == (12, 21)
    assert not metrics.tokens_estimated
    assert metrics.finish_reason == "stop"


def test_tokens_are_estimated_and_labelled_when_usage_is_missing() -> None:
    recorder = MetricsRecorder(started_at=0.0)
    for t in (1.0, 2.0, 3.0):
        recorder.token(t)
    metrics = recorder.summary(3.0)
    assert metrics.completion_tokens == 3 and metrics.tokens_estimated
    assert metrics.prompt_tokens is None
    assert metrics.decode_tokens_per_s == pytest.approx(1.0)


def test_unknown_stays_unknown() -> None:
    metrics = MetricsRecorder(started_at=0.0).summary(1.0)
    assert metrics.ttft_s is None and metrics.decode_tokens_per_s is None
    assert metrics.completion_tokens is None and metrics.cost_usd is None


def test_server_figures_fill_gaps_and_usage_wins() -> None:
    recorder = MetricsRecorder(started_at=0.0)
    recorder.server(
        request_id="r1", time_to_first_token=0.08, prompt_tokens=120, cached_prompt_tokens=96
    )
    metrics = recorder.summary(1.0)
    assert (metrics.server_ttft_s, metrics.prompt_tokens, metrics.cached_tokens) == (0.08, 120, 96)
    assert metrics.request_id == "r1"
    recorder.usage(
        {
            "prompt_tokens": 121,
            "completion_tokens": 5,
            "prompt_tokens_details": {"cached_tokens": 0},
        }
    )
    assert recorder.summary(1.0).prompt_tokens == 121
    assert recorder.summary(1.0).cached_tokens == 0
    assert recorder.summary(1.0).with_cost(0.25).cost_usd == 0.25


def test_combined_adds_the_steps_of_a_loop_and_keeps_the_first_ttft() -> None:
    first = RunMetrics(
        total_s=2.0,
        ttft_s=0.5,
        prompt_tokens=100,
        completion_tokens=20,
        decode_tokens_per_s=20.0,
        cost_usd=0.001,
        finish_reason="tool_calls",
    )
    second = RunMetrics(
        total_s=1.0,
        ttft_s=0.2,
        prompt_tokens=150,
        completion_tokens=30,
        decode_tokens_per_s=60.0,
        cost_usd=0.002,
        finish_reason="stop",
    )

    total = combined([first, second])

    assert total is not None
    assert (total.total_s, total.ttft_s) == (3.0, 0.5)
    assert (total.prompt_tokens, total.completion_tokens) == (250, 50)
    assert total.cost_usd == pytest.approx(0.003)
    assert total.decode_tokens_per_s == pytest.approx(50 / (1.0 + 0.5))
    assert total.finish_reason == "stop"


def test_combined_says_unknown_rather_than_a_partial_sum() -> None:
    priced, unpriced = RunMetrics(cost_usd=0.01, total_s=1.0), RunMetrics(total_s=1.0)
    total = combined([priced, unpriced])
    assert total is not None and total.cost_usd is None and total.total_s == 2.0
    assert combined([]) is None and combined([priced]) is priced
