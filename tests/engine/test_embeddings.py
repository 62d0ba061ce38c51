"""Embeddings: one vector per input, float and base64, dimensions, meaning."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from tests.engine.helpers import CHAT_MODEL, EMBED_MODEL

pytestmark = pytest.mark.engine

TEXTS = [
    "How do I reset my password?",
    "The cat is sleeping on the sofa.",
    "Der Hund spielt im Garten.",
    "A much longer sentence, so that the batch holds inputs of different lengths and the "
    "shorter ones are padded next to it.",
]


def test_one_unit_vector_per_input_whatever_the_batch(client: Any) -> None:
    # Meaning (paraphrases ranked above unrelated texts) is bench/engine.py --media-eval's
    # figure; the engine's part is pooling each input alone, padding or not.
    result = client.embeddings.create(model=EMBED_MODEL, input=TEXTS, encoding_format="float")
    assert [d.index for d in result.data] == list(range(len(TEXTS)))
    vectors = np.array([d.embedding for d in result.data])
    assert vectors.shape == (len(TEXTS), 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)
    assert result.usage.prompt_tokens > len(TEXTS)
    for text, batched in zip(TEXTS, vectors, strict=True):
        alone = client.embeddings.create(model=EMBED_MODEL, input=text, encoding_format="float")
        assert np.allclose(alone.data[0].embedding, batched, atol=1e-4), text
    assert not np.allclose(vectors[0], vectors[1], atol=1e-2)


def test_base64_matches_float(http: Any, openapi: Callable[[str, Any], None]) -> None:
    payload = {"model": EMBED_MODEL, "input": ["alpha", "beta"]}
    floats = http.post("/embeddings", json={**payload, "encoding_format": "float"}).json()
    packed = http.post("/embeddings", json={**payload, "encoding_format": "base64"}).json()
    openapi("CreateEmbeddingResponse", floats)
    # OpenAI's schema types `embedding` as numbers only; base64 strings are checked by decoding.
    for f, b in zip(floats["data"], packed["data"], strict=True):
        decoded = np.frombuffer(base64.b64decode(b["embedding"]), dtype="<f4")
        assert np.allclose(decoded, f["embedding"], atol=1e-6)


def test_sdk_default_base64_decodes(client: Any) -> None:
    # The openai SDK asks for base64 when no format is given and decodes it itself.
    result = client.embeddings.create(model=EMBED_MODEL, input="hello world")
    assert len(result.data) == 1 and len(result.data[0].embedding) == 384


def test_dimensions_truncate_and_renormalise(client: Any) -> None:
    result = client.embeddings.create(
        model=EMBED_MODEL, input=["one", "two"], dimensions=64, encoding_format="float"
    )
    for item in result.data:
        assert len(item.embedding) == 64
        assert abs(np.linalg.norm(item.embedding) - 1.0) < 1e-3


@pytest.mark.parametrize(
    "body",
    [
        {"model": EMBED_MODEL, "input": ""},
        {"model": EMBED_MODEL, "input": []},
        {"model": EMBED_MODEL, "input": [[1, 2, 3]]},
        {"model": EMBED_MODEL, "input": "x", "dimensions": 4096},
        {"model": EMBED_MODEL, "input": "x", "encoding_format": "hex"},
        {"model": CHAT_MODEL, "input": "x"},
    ],
)
def test_invalid_requests_are_400(http: Any, body: dict[str, Any]) -> None:
    response = http.post("/embeddings", json=body)
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"
