"""Embeddings: float and base64 encodings, dimensions, request body."""

from __future__ import annotations

import base64
import struct

import pytest

from app.client import CreateEmbeddingResponse
from app.client.types.embedding import decode_base64_embedding
from tests.fake_server import FakeServer, Scripted

from .helpers import async_test, make_client


@pytest.mark.parametrize("encoding_format", ["float", "base64"])
@async_test
async def test_embeddings_come_back_as_floats(
    fake_server: FakeServer, encoding_format: str
) -> None:
    async with make_client(fake_server) as client:
        response = await client.embeddings.create(
            model="fake-embed", input=["alpha", "beta"], encoding_format=encoding_format
        )
    assert isinstance(response, CreateEmbeddingResponse)
    assert [d.index for d in response.data] == [0, 1]
    for item in response.data:
        assert len(item.embedding) == 8 and all(isinstance(v, float) for v in item.embedding)
    assert response.data[0].embedding != response.data[1].embedding
    assert response.usage is not None and response.usage.total_tokens == 2
    assert fake_server.requests[0].json["encoding_format"] == encoding_format


@async_test
async def test_base64_and_float_agree(fake_server: FakeServer) -> None:
    async with make_client(fake_server) as client:
        as_float = await client.embeddings.create(model="e", input="same text")
        as_base64 = await client.embeddings.create(
            model="e", input="same text", encoding_format="base64"
        )
    assert as_float.data[0].embedding == as_base64.data[0].embedding


@async_test
async def test_float_format_is_sent_explicitly_and_dimensions_only_when_given(
    fake_server: FakeServer,
) -> None:
    async with make_client(fake_server) as client:
        await client.embeddings.create(model="e", input="x")
        response = await client.embeddings.create(
            model="e", input=("a", "b"), dimensions=4, normalize=True, user=None
        )
    first, second = (r.json for r in fake_server.requests)
    assert first == {"model": "e", "input": "x", "encoding_format": "float"}
    assert second == {
        "model": "e",
        "input": ["a", "b"],
        "encoding_format": "float",
        "dimensions": 4,
        "normalize": True,
    }
    assert all(len(d.embedding) == 4 for d in response.data)


@async_test
async def test_string_embedding_is_decoded_even_when_float_was_asked(
    fake_server: FakeServer,
) -> None:
    vector = [0.5, -1.25, 3.0]
    encoded = base64.b64encode(struct.pack("<3f", *vector)).decode()
    body = {
        "data": [{"index": 0, "embedding": encoded, "object": "embedding", "norm": 1.0}],
        "model": "e",
    }
    fake_server.script.append(Scripted(body=body))
    async with make_client(fake_server) as client:
        response = await client.embeddings.create(model="e", input="x")
    assert response.data[0].embedding == vector
    assert response.data[0].model_extra == {"norm": 1.0} and response.usage is None


def test_decode_base64_is_little_endian_float32() -> None:
    raw = bytes.fromhex("0000803f000000c0")  # 1.0, -2.0 little-endian
    assert decode_base64_embedding(base64.b64encode(raw).decode()) == [1.0, -2.0]
