"""Concurrency: queued streams both complete, other endpoints stay responsive, and a client
that disconnects stops its generation."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from tests.engine.helpers import CHAT_MODEL

pytestmark = pytest.mark.engine


def _stream(client: Any, tokens: int, record: dict[str, Any]) -> None:
    stream = client.chat.completions.create(
        model=CHAT_MODEL,
        messages=[{"role": "user", "content": "Tell me about the moon."}],
        max_tokens=tokens,
        stream=True,
        stream_options={"include_usage": True},
        extra_body={"ignore_eos": True},
    )
    stamps: list[float] = []
    finish = None
    usage = None
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            stamps.append(time.monotonic())
        if chunk.choices and chunk.choices[0].finish_reason:
            finish = chunk.choices[0].finish_reason
        if chunk.usage is not None:
            usage = chunk.usage
    record.update(first=stamps[0], last=stamps[-1], finish=finish, usage=usage)


def test_two_concurrent_streams_both_complete_and_queue(client: Any, http: Any) -> None:
    records: list[dict[str, Any]] = [{}, {}]
    first = threading.Thread(target=_stream, args=(client, 200, records[0]))
    first.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and _model_status(http)["active"] == 0:
        time.sleep(0.01)
    second = threading.Thread(target=_stream, args=(client, 40, records[1]))
    second.start()
    # The second request waits in the model's queue while the first one streams.
    seen_queued = False
    while time.monotonic() < deadline and first.is_alive():
        status = _model_status(http)
        if status["queued"] == 1 and status["active"] == 1:
            seen_queued = True
            break
        time.sleep(0.01)
    first.join(120)
    second.join(120)
    assert seen_queued
    assert records[0]["finish"] == "length" and records[0]["usage"].completion_tokens == 200
    assert records[1]["finish"] == "length" and records[1]["usage"].completion_tokens == 40
    assert records[0]["first"] < records[1]["first"]


def _model_status(http: Any) -> dict[str, Any]:
    models = http.get("/engine/status").json()["models"]
    return next(m for m in models if m["id"] == CHAT_MODEL)


def _long_stream(client: Any, prompt: str) -> Any:
    return client.chat.completions.create(
        model=CHAT_MODEL,
        messages=[{"role": "user", "content": prompt}],
        max_tokens=3000,
        stream=True,
        extra_body={"ignore_eos": True},
    )


def _status(http: Any) -> dict[str, Any]:
    return dict(http.get("/engine/status").json())


def _status_once_cancelled(http: Any, before: int) -> dict[str, Any]:
    """The engine status once a generation beyond ``before`` has been cancelled."""
    deadline = time.monotonic() + 60
    status = _status(http)
    while time.monotonic() < deadline and status["stats"]["cancelled_generations"] == before:
        time.sleep(0.05)
        status = _status(http)
    return status


def test_other_requests_are_served_during_a_generation(client: Any, http: Any) -> None:
    before = _status(http)["stats"]["cancelled_generations"]
    stream = _long_stream(client, "Tell me about the moon.")
    chunks = iter(stream)
    while not next(chunks).choices[0].delta.content:
        pass
    # The generation has started and, with 3000 tokens to go, is still running: the model list
    # and the status are answered in between, not after it.
    for _ in range(3):
        assert http.get("/models").status_code == 200
    assert _model_status(http)["active"] == 1
    stream.close()
    assert _status_once_cancelled(http, before)["last_generation"]["finish_reason"] == "cancelled"


def test_a_client_disconnect_stops_its_generation(client: Any, http: Any) -> None:
    before = _status(http)["stats"]["cancelled_generations"]
    stream = _long_stream(client, "Tell me a very long story.")
    received = 0
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            received += 1
        if received >= 5:
            break
    stream.close()
    status = _status_once_cancelled(http, before)
    assert status["stats"]["cancelled_generations"] == before + 1
    last = status["last_generation"]
    assert last["finish_reason"] == "cancelled" and last["completion_tokens"] < 3000
    # The queue moved on: the next request is served normally.
    after = client.chat.completions.create(
        model=CHAT_MODEL, messages=[{"role": "user", "content": "Hi"}], max_tokens=5
    )
    assert after.choices[0].finish_reason in ("stop", "length")


def test_a_non_streaming_client_that_leaves_stops_too(engine_url: str, http: Any) -> None:
    import httpx

    before = _status(http)["stats"]["cancelled_generations"]
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(
            f"{engine_url}/chat/completions",
            json={
                "model": CHAT_MODEL,
                "messages": [{"role": "user", "content": "Write an essay."}],
                "max_tokens": 3000,
                "ignore_eos": True,
            },
            timeout=httpx.Timeout(5.0, read=1.0),
        )
    status = _status_once_cancelled(http, before)
    assert status["stats"]["cancelled_generations"] == before + 1
    assert status["last_generation"]["completion_tokens"] < 3000
