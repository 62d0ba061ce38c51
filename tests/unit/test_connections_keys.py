"""A provider's client always carries its current key: from the first request after it is saved."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from app.domain.connections import Connections
from app.secrets import SecretStore
from app.settings import AppSettings
from tests.fake_server import FakeServer

KEY = "sk-custom-endpoint-0123456789"
NEW_KEY = "sk-custom-endpoint-replaced-42"


def _connections(tmp_path: Path) -> tuple[Connections, dict[str, AppSettings], SecretStore]:
    holder = {"settings": AppSettings()}
    secrets = SecretStore(tmp_path)
    return Connections(lambda: holder["settings"], secrets), holder, secrets


def _authorization(server: FakeServer) -> list[str | None]:
    return [r.headers.get("authorization") for r in server.requests if r.path == "/v1/models"]


def test_the_first_listing_after_adding_an_endpoint_with_a_key_sends_the_key(
    tmp_path: Path, fake_server: FakeServer
) -> None:
    connections, holder, secrets = _connections(tmp_path)

    async def scenario() -> Any:
        # What Settings does on "Add": the endpoint, then its key, then the model list.
        holder["settings"], profile = holder["settings"].with_custom_provider(
            "My server", fake_server.url
        )
        secrets.set(profile.id, KEY)
        try:
            return await connections.list_models(profile.id)
        finally:
            await connections.aclose()

    assert asyncio.run(scenario()).ids
    assert _authorization(fake_server) == [f"Bearer {KEY}"]


def test_requests_made_while_the_old_client_closes_carry_the_new_key(
    tmp_path: Path, fake_server: FakeServer
) -> None:
    connections, holder, secrets = _connections(tmp_path)

    async def scenario() -> None:
        holder["settings"], profile = holder["settings"].with_custom_provider(
            "My server", fake_server.url
        )
        old = await connections.client(profile.id)
        await old.models.list()  # no key yet; its connection stays open in the pool
        secrets.set(profile.id, NEW_KEY)
        # Two panes list models at once right after the key was saved.
        first, second = await asyncio.gather(
            connections.client(profile.id), connections.client(profile.id)
        )
        assert first is second and first is not old and old.is_closed
        await asyncio.gather(first.models.list(), second.models.list())
        await connections.aclose()
        assert first.is_closed

    asyncio.run(scenario())
    assert _authorization(fake_server) == [None, f"Bearer {NEW_KEY}", f"Bearer {NEW_KEY}"]


def test_a_changed_base_url_gets_a_new_client_with_the_key(
    tmp_path: Path, fake_server: FakeServer
) -> None:
    connections, holder, secrets = _connections(tmp_path)
    other = FakeServer().start()

    async def scenario() -> None:
        holder["settings"], profile = holder["settings"].with_custom_provider(
            "My server", other.url
        )
        secrets.set(profile.id, KEY)
        old = await connections.client(profile.id)
        moved = profile.model_copy(update={"base_url": fake_server.url})
        holder["settings"] = holder["settings"].with_provider(moved)
        new = await connections.client(profile.id)
        assert new is not old and old.is_closed and new.base_url == fake_server.url
        await new.models.list()
        await connections.aclose()

    try:
        asyncio.run(scenario())
    finally:
        other.stop()
    assert _authorization(fake_server) == [f"Bearer {KEY}"]
