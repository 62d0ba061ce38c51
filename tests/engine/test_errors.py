"""Error statuses in OpenAI's shape: 400, 404, 405, 413, 503 (422 is in the media tests)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import openai
import pytest

from app.engine import EngineProcess
from tests.engine.conftest import LoopThread
from tests.engine.helpers import AUDIO_MODEL, CHAT_MODEL

pytestmark = pytest.mark.engine

Validate = Callable[[str, Any], None]


def _error(response: httpx.Response, status: int, openapi: Validate) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    openapi("ErrorResponse", body)
    return dict(body["error"])


def test_unknown_model_is_404(client: Any, http: Any, openapi: Validate) -> None:
    with pytest.raises(openai.NotFoundError) as err:
        client.chat.completions.create(
            model="no-such-model", messages=[{"role": "user", "content": "hi"}]
        )
    assert "no-such-model" in err.value.message
    error = _error(http.post("/embeddings", json={"model": "nope", "input": "x"}), 404, openapi)
    assert error["code"] == "model_not_found" and error["param"] == "model"
    _error(http.get("/models/nope"), 404, openapi)


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": CHAT_MODEL}, "messages"),
        ({"model": CHAT_MODEL, "messages": []}, "messages"),
        (
            {"model": CHAT_MODEL, "messages": [{"role": "user", "content": "x"}], "temperature": 3},
            "temperature",
        ),
        (
            {"model": CHAT_MODEL, "messages": [{"role": "wizard", "content": "x"}]},
            "messages[0].role",
        ),
        (
            {"model": CHAT_MODEL, "messages": [{"role": "user", "content": "x"}], "logprobs": True},
            "logprobs",
        ),
        ({"model": CHAT_MODEL, "messages": [{"role": "user", "content": "x"}], "n": 0}, "n"),
        ({"model": AUDIO_MODEL, "messages": [{"role": "user", "content": "x"}]}, "model"),
    ],
)
def test_invalid_chat_requests_are_400(
    http: Any, openapi: Validate, body: dict[str, Any], param: str
) -> None:
    error = _error(http.post("/chat/completions", json=body), 400, openapi)
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param


def test_malformed_json_is_400(http: Any, openapi: Validate) -> None:
    response = http.post(
        "/chat/completions", content=b"{not json", headers={"content-type": "application/json"}
    )
    _error(response, 400, openapi)


def test_prompt_longer_than_the_context_is_400(http: Any, openapi: Validate) -> None:
    long_text = "word " * 12000
    response = http.post(
        "/chat/completions",
        json={"model": CHAT_MODEL, "messages": [{"role": "user", "content": long_text}]},
    )
    assert _error(response, 400, openapi)["code"] == "context_length_exceeded"


def test_unknown_paths_and_methods(http: Any, openapi: Validate) -> None:
    _error(http.get("/nothing/here"), 404, openapi)
    _error(http.get("/chat/completions"), 405, openapi)


def test_body_too_large_is_413(http: Any, openapi: Validate) -> None:
    response = http.post(
        "/embeddings",
        content=b"x" * (33 * 1024 * 1024),
        headers={"content-type": "application/json"},
    )
    _error(response, 413, openapi)


@pytest.fixture
def impatient_engine(loop_thread: LoopThread) -> Iterator[str]:
    """An engine that answers 503 at once while a model loads (no grace period)."""
    engine = EngineProcess(extra_args=["--load-wait", "0"])
    url = loop_thread.run(engine.ensure_running())
    yield url
    loop_thread.run(engine.stop())


def test_503_while_a_model_is_loading(
    impatient_engine: str, speech_wav: bytes, openapi: Validate
) -> None:
    files = {"file": ("s.wav", speech_wav, "audio/wav")}
    with httpx.Client(base_url=impatient_engine, timeout=60) as http:
        first = http.post("/audio/transcriptions", files=files, data={"model": AUDIO_MODEL})
        error = _error(first, 503, openapi)
        assert error["code"] == "model_loading"
        assert int(first.headers["retry-after"]) >= 1
        deadline = time.monotonic() + 60
        state = ""
        while time.monotonic() < deadline and state != "ready":
            state = http.get(f"/models/{AUDIO_MODEL}").json()["status"]["state"]
            time.sleep(0.1)
        assert state == "ready"
        again = http.post("/audio/transcriptions", files=files, data={"model": AUDIO_MODEL})
        assert again.status_code == 200 and again.json()["text"]


def test_a_model_that_fails_to_load_is_503_with_the_reason(
    loop_thread: LoopThread, tmp_path: Any, openapi: Validate
) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_text("this is not a GGUF file")
    engine = EngineProcess(extra_args=["--model-file", str(broken)])
    url = loop_thread.run(engine.ensure_running())
    try:
        with httpx.Client(base_url=url, timeout=60) as http:
            body = {"model": "broken", "messages": [{"role": "user", "content": "hi"}]}
            error = _error(http.post("/chat/completions", json=body), 503, openapi)
            assert error["code"] == "model_load_failed" and "broken" in error["message"]
            status = http.get("/models/broken").json()["status"]
            assert status["state"] == "failed" and status["error"]
            # The other models are unaffected.
            ok = http.post(
                "/chat/completions",
                json={"model": CHAT_MODEL, "messages": body["messages"], "max_tokens": 3},
            )
            assert ok.status_code == 200
    finally:
        loop_thread.run(engine.stop())
