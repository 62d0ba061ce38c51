"""Model listings: OpenAI-style /models and the paged Fireworks control plane."""

from __future__ import annotations

from app.client import FireworksModel, Model, ModelPage
from tests.fake_server import FIREWORKS_CATALOG, MODELS, FakeServer, Scripted

from .helpers import API_KEY, async_test, make_client


@async_test
async def test_models_list(fake_server: FakeServer) -> None:
    async with make_client(fake_server) as client:
        page = await client.models.list()
    assert isinstance(page, ModelPage) and all(isinstance(m, Model) for m in page.data)
    assert [m.id for m in page.data] == [m["id"] for m in MODELS]
    llama = page.data[-1]
    assert llama.owned_by == "fireworks" and llama.model_extra == {
        "supports_tools": True,
        "context_length": 131072,
    }
    request = fake_server.requests[0]
    assert (request.method, request.path) == ("GET", "/v1/models")


@async_test
async def test_fireworks_catalog_follows_every_page(fake_server: FakeServer) -> None:
    async with make_client(fake_server) as client:
        models = await client.models.list_fireworks(
            page_size=5, control_plane_url=fake_server.root + "/"
        )
    assert [m.name for m in models] == [r["name"] for r in FIREWORKS_CATALOG]
    pages = fake_server.requests
    assert [r.path for r in pages] == ["/v1/accounts/fireworks/models"] * 3
    assert [r.query.get("pageToken") for r in pages] == [None, ["5"], ["10"]]
    assert all(r.query["pageSize"] == ["5"] for r in pages)
    assert all(r.headers["authorization"] == f"Bearer {API_KEY}" for r in pages)


@async_test
async def test_fireworks_filter_is_sent_on_every_page(fake_server: FakeServer) -> None:
    async with make_client(fake_server) as client:
        models = await client.models.list_fireworks(
            account="fireworks",
            page_size=4,
            filter="supports_serverless=true",
            control_plane_url=fake_server.root,
        )
    assert models and all(m.supports_serverless for m in models)
    assert len(fake_server.requests) > 1
    assert all(r.query["filter"] == ["supports_serverless=true"] for r in fake_server.requests)


@async_test
async def test_fireworks_record_fields(fake_server: FakeServer) -> None:
    async with make_client(fake_server) as client:
        models = await client.models.list_fireworks(control_plane_url=fake_server.root)
    first, embedding = models[0], models[4]
    assert isinstance(first, FireworksModel)
    assert first.display_name == "Fake Model 00" and first.context_length == 8192
    assert first.supports_tools and first.supports_image_input and first.supports_serverless
    assert first.kind == "HF_BASE_MODEL" and first.state == "READY" and first.supports_chat
    assert first.base_model_details == {"parameterCount": "1000000000", "moe": False}
    assert first.model_extra == {"someFutureField": {"i": 0}}
    assert embedding.kind == "EMBEDDING_MODEL" and not embedding.supports_chat
    assert fake_server.requests[0].query["pageSize"] == ["200"]


@async_test
async def test_repeated_page_token_stops_paging(fake_server: FakeServer) -> None:
    page = {"models": [{"name": "accounts/x/models/a"}], "nextPageToken": "same"}
    fake_server.script += [Scripted(body=page), Scripted(body=page), Scripted(body=page)]
    async with make_client(fake_server) as client:
        models = await client.models.list_fireworks(account="x", control_plane_url=fake_server.root)
    assert len(fake_server.requests) == 2 and len(models) == 2
    assert models[0].supports_tools is False and models[0].context_length is None
