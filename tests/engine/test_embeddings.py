"""Embeddings: one vector per input, float and base64, dimensions, meaning."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from tests.engine.helpers import CHAT_MODEL, EMBED_MODEL

pytestmark = pytest.mark.engine

TRIPLES = [
    (
        "How do I reset my password?",
        "What are the steps to change a forgotten password?",
        "The train to Berlin leaves at noon.",
    ),
    (
        "The cat is sleeping on the sofa.",
        "A cat naps on the couch.",
        "Interest rates rose by half a percent.",
    ),
    (
        "Please send me the invoice by email.",
        "Could you email me the bill?",
        "Volcanoes can erupt without warning.",
    ),
    ("Der Hund spielt im Garten.", "The dog is playing in the garden.", "Der Zug hat Verspätung."),
]


def test_paraphrases_are_closer_than_unrelated_texts(client: Any) -> None:
    texts = [t for triple in TRIPLES for t in triple]
    result = client.embeddings.create(model=EMBED_MODEL, input=texts, encoding_format="float")
    assert [d.index for d in result.data] == list(range(len(texts)))
    vectors = np.array([d.embedding for d in result.data])
    assert vectors.shape == (len(texts), 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)
    for i in range(len(TRIPLES)):
        anchor, paraphrase, unrelated = vectors[3 * i : 3 * i + 3]
        assert anchor @ paraphrase > anchor @ unrelated, TRIPLES[i]
    assert result.usage.prompt_tokens > len(texts)


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
