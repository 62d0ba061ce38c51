"""Retry policy: which failures are retried, how long to wait, and what is never retried."""

from __future__ import annotations

import email.utils
import logging
import time

import httpx
import pytest

from app.client import (
    APITimeoutError,
    AsyncClient,
    InternalServerError,
    RateLimitError,
)
from tests.fake_server import NEVER, FakeServer, Scripted

from .helpers import API_KEY, async_test, make_client

MESSAGES = [{"role": "user", "content": "Hi"}]
RATE_LIMITED = {"error": {"message": "Rate limit reached for model m", "type": "rate_limit_error"}}


@async_test
async def test_429_with_retry_after_is_retried_then_succeeds(
    fake_server: FakeServer, retry_delays: list[tuple[int, float]], caplog: pytest.LogCaptureFixture
) -> None:
    fake_server.script.append(Scripted(status=429, body=RATE_LIMITED, headers={"retry-after": "2"}))
    with caplog.at_level(logging.DEBUG, logger="app.client"):
        async with make_client(fake_server) as client:
            completion = await client.chat.completions.create(model="m", messages=MESSAGES)
    assert completion.choices[0].message.content
    assert len(fake_server.requests) == 2
    assert retry_delays == [(0, 2.0)]
    assert "Retrying POST /v1/chat/completions" in caplog.text and "429" in caplog.text
    assert API_KEY not in caplog.text


@async_test
async def test_429_exhausted_raises_rate_limit_error_with_server_message(
    fake_server: FakeServer, retry_delays: list[tuple[int, float]]
) -> None:
    fake_server.script += [Scripted(status=429, body=RATE_LIMITED) for _ in range(3)]
    async with make_client(fake_server, max_retries=2) as client:
        with pytest.raises(RateLimitError) as caught:
            await client.chat.completions.create(model="m", messages=MESSAGES)
    assert str(caught.value) == "429 Too Many Requests: Rate limit reached for model m"
    assert len(fake_server.requests) == 3 and [a for a, _ in retry_delays] == [0, 1]


@async_test
async def test_retry_after_ms_wins_over_retry_after(
    fake_server: FakeServer, retry_delays: list[tuple[int, float]]
) -> None:
    fake_server.script.append(
        Scripted(status=503, headers={"retry-after-ms": "1500", "retry-after": "9"})
    )
    async with make_client(fake_server) as client:
        await client.embeddings.create(model="e", input="x")
    assert retry_delays == [(0, 1.5)]


@pytest.mark.parametrize(
    ("status", "retried"),
    [
        (408, True),
        (409, True),
        (500, True),
        (502, True),
        (503, True),
        (400, False),
        (401, False),
        (404, False),
        (413, False),
        (422, False),
    ],
)
@async_test
async def test_which_statuses_are_retried(
    fake_server: FakeServer, retry_delays: list[tuple[int, float]], status: int, retried: bool
) -> None:
    fake_server.script.append(Scripted(status=status))
    async with make_client(fake_server) as client:
        if retried:
            await client.chat.completions.create(model="m", messages=MESSAGES)
        else:
            with pytest.raises(Exception) as caught:
                await client.chat.completions.create(model="m", messages=MESSAGES)
            assert getattr(caught.value, "status_code", None) == status
    assert len(fake_server.requests) == (2 if retried else 1)


@async_test
async def test_x_should_retry_header_is_obeyed(
    fake_server: FakeServer, retry_delays: list[tuple[int, float]]
) -> None:
    fake_server.script += [
        Scripted(status=400, headers={"x-should-retry": "true"}),
        Scripted(status=200),
        Scripted(status=500, headers={"x-should-retry": "false"}),
    ]
    async with make_client(fake_server) as client:
        await client.chat.completions.create(model="m", messages=MESSAGES)
        with pytest.raises(InternalServerError):
            await client.chat.completions.create(model="m", messages=MESSAGES)
    assert len(fake_server.requests) == 3


@async_test
async def test_timeouts_are_retried(
    fake_server: FakeServer, retry_delays: list[tuple[int, float]]
) -> None:
    fake_server.script.append(Scripted(wait_for=NEVER))
    async with make_client(fake_server, timeout=0.3) as client:
        completion = await client.chat.completions.create(model="m", messages=MESSAGES)
    assert completion.choices[0].message.content and len(retry_delays) == 1


@async_test
async def test_max_retries_zero_never_retries(
    fake_server: FakeServer, retry_delays: list[tuple[int, float]]
) -> None:
    fake_server.script.append(Scripted(wait_for=NEVER))
    async with make_client(fake_server, timeout=0.3, max_retries=0) as client:
        with pytest.raises(APITimeoutError):
            await client.chat.completions.create(model="m", messages=MESSAGES)
    assert retry_delays == []


@async_test
async def test_stream_is_retried_only_before_it_starts(
    fake_server: FakeServer, retry_delays: list[tuple[int, float]]
) -> None:
    fake_server.script += [Scripted(status=429), Scripted(chunks=["ok"])]
    async with make_client(fake_server) as client:
        stream = await client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
        completion = await stream.get_final_completion()
    assert completion.choices[0].message.content == "ok" and len(fake_server.requests) == 2


@async_test
async def test_multipart_upload_is_resent_whole(
    fake_server: FakeServer, retry_delays: list[tuple[int, float]]
) -> None:
    fake_server.script.append(Scripted(status=503))
    async with make_client(fake_server) as client:
        await client.audio.transcriptions.create(model="w", file=("a.wav", b"RIFF-audio-bytes"))
    first, second = fake_server.requests
    assert first.body == second.body and second.files["file"].content == b"RIFF-audio-bytes"


# -- the wait itself ---------------------------------------------------------------------------


# Building a client loads TLS certificates; one is enough for the pure delay computations.
_OFFLINE_CLIENT = AsyncClient(base_url="http://127.0.0.1:9")


def _delay(attempt: int, **headers: str) -> float:
    return _OFFLINE_CLIENT._retry_delay(attempt, httpx.Headers(headers))


def test_retry_after_seconds_and_fractions() -> None:
    assert _delay(0, **{"retry-after": "3"}) == 3.0
    assert _delay(1, **{"retry-after": "0.25"}) == 0.25
    assert _delay(0, **{"retry-after-ms": "20"}) == 0.02


def test_retry_after_http_date() -> None:
    when = email.utils.formatdate(time.time() + 10, usegmt=True)
    assert 5 <= _delay(0, **{"retry-after": when}) <= 10


@pytest.mark.parametrize(
    "headers",
    [
        {"retry-after": "61"},
        {"retry-after": "0"},
        {"retry-after": "-3"},
        {"retry-after": "soon"},
        {"retry-after-ms": "nan"},
        {"retry-after": email.utils.formatdate(time.time() - 30, usegmt=True)},
        {},
    ],
)
def test_unusable_retry_after_falls_back_to_backoff(headers: dict[str, str]) -> None:
    assert 0.375 <= _delay(0, **headers) <= 0.5


@pytest.mark.parametrize(
    ("attempt", "ceiling"),
    [(0, 0.5), (1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (9, 8.0), (5000, 8.0)],
)
def test_backoff_doubles_up_to_eight_seconds_with_jitter(attempt: int, ceiling: float) -> None:
    delays = [_delay(attempt) for _ in range(50)]
    assert all(0.75 * ceiling <= d <= ceiling for d in delays)
    assert len(set(delays)) > 1  # jittered


def test_backoff_after_connection_failure_has_no_headers() -> None:
    assert 0.75 <= _OFFLINE_CLIENT._retry_delay(1, None) <= 1.0
