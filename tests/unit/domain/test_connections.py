from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from app.client import AuthenticationError
from app.domain.connections import Connections, ProviderUnavailableError
from app.secrets import SecretStore
from app.settings import AppSettings
from tests.fake_server import FakeServer, Scripted


def _setup(tmp_path: Path, server: FakeServer, *, requires_key: bool = False) -> tuple[Any, ...]:
    settings, profile = AppSettings().with_custom_provider(
        "Fake", server.url, requires_key=requires_key
    )
    holder = {"settings": settings}
    secrets = SecretStore(tmp_path)
    return Connections(lambda: holder["settings"], secrets), holder, secrets, profile


def test_one_client_per_provider_rebuilt_when_the_key_changes(
    tmp_path: Path, fake_server: FakeServer
) -> None:
    connections, _, secrets, profile = _setup(tmp_path, fake_server, requires_key=True)

    async def scenario() -> None:
        with pytest.raises(ProviderUnavailableError, match="needs an API key"):
            await connections.client(profile.id)
        secrets.set(profile.id, "key-number-one-123")
        first = await connections.client(profile.id)
        assert await connections.client(profile.id) is first
        secrets.set(profile.id, "key-number-two-456")
        second = await connections.client(profile.id)
        assert second is not first and first.is_closed
        await second.models.list()
        await connections.aclose()
        assert second.is_closed

    asyncio.run(scenario())
    assert fake_server.requests[-1].headers["authorization"] == "Bearer key-number-two-456"


def test_a_removed_provider_is_a_clear_error(tmp_path: Path, fake_server: FakeServer) -> None:
    connections, holder, _, profile = _setup(tmp_path, fake_server)
    holder["settings"] = holder["settings"].without_provider(profile.id)
    with pytest.raises(ProviderUnavailableError, match="was removed in Settings"):
        asyncio.run(connections.client(profile.id))


def test_models_come_from_the_provider(tmp_path: Path, fake_server: FakeServer) -> None:
    connections, _, _, profile = _setup(tmp_path, fake_server)

    async def scenario() -> Any:
        try:
            return await connections.list_models(profile.id)
        finally:
            await connections.aclose()

    listing = asyncio.run(scenario())
    assert listing.ids and listing.source == "from Fake" and listing.warning is None


def test_fireworks_falls_back_to_the_catalog_with_the_reason(
    tmp_path: Path, fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = AppSettings()
    fireworks = settings.provider("fireworks").model_copy(update={"base_url": fake_server.url})
    settings = settings.with_provider(fireworks)
    monkeypatch.setenv("FIREWORKS_API_KEY", "fw-bad-key-0000000")
    connections = Connections(lambda: settings, SecretStore(tmp_path))
    denied = {"error": {"message": "Invalid API key", "type": "auth", "param": None, "code": None}}
    fake_server.script.extend(Scripted(status=401, body=denied) for _ in range(2))

    async def scenario() -> Any:
        # Point the control-plane listing at the fake server too.
        client = await connections.client("fireworks")
        original = client.models.list_fireworks

        async def listing(**kwargs: Any) -> Any:
            return await original(control_plane_url=fake_server.root, **kwargs)

        monkeypatch.setattr(client.models, "list_fireworks", listing)
        try:
            return await connections.list_models("fireworks")
        finally:
            await connections.aclose()

    result = asyncio.run(scenario())
    assert result.source == "from the offline catalog"
    assert "accounts/fireworks/models/gpt-oss-120b" in result.ids
    assert "Invalid API key" in (result.warning or "")


def test_other_providers_do_not_invent_a_model_list(
    tmp_path: Path, fake_server: FakeServer
) -> None:
    connections, _, _, profile = _setup(tmp_path, fake_server)
    fake_server.script.append(Scripted(status=401, body={"error": "nope"}))

    async def scenario() -> Any:
        try:
            return await connections.list_models(profile.id)
        finally:
            await connections.aclose()

    with pytest.raises(AuthenticationError, match="nope"):
        asyncio.run(scenario())


def test_missing_engine_dependencies_say_how_to_install_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import app.engine.process as process

    monkeypatch.setattr(process, "missing_engine_dependencies", lambda: ["llama-cpp-python"])
    monkeypatch.setattr(process, "install_command", lambda: "pip install -e .[engine]")
    connections = Connections(
        lambda: AppSettings(), SecretStore(tmp_path), lambda args: process.EngineProcess()
    )
    with pytest.raises(ProviderUnavailableError) as error:
        asyncio.run(connections.client("local"))
    assert "llama-cpp-python" in str(error.value) and "pip install -e .[engine]" in str(error.value)


class _FakeEngine:
    def __init__(self, args: tuple[str, ...]) -> None:
        self.args = args
        self.stopped = False

    async def ensure_running(self) -> str:
        return "http://127.0.0.1:9/v1"

    async def stop(self) -> None:
        self.stopped = True


def test_the_engine_restarts_with_the_users_model_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import app.engine.process as process

    monkeypatch.setattr(process, "missing_engine_dependencies", lambda: [])
    engines: list[_FakeEngine] = []
    holder = {"settings": AppSettings()}

    def factory(args: Any) -> Any:
        engines.append(_FakeEngine(tuple(args)))
        return engines[-1]

    connections = Connections(lambda: holder["settings"], SecretStore(tmp_path), factory)

    async def scenario() -> None:
        first = await connections.client("local")
        assert await connections.client("local") is first
        holder["settings"] = holder["settings"].updated(local_model_files=["/models/tiny.gguf"])
        await connections.client("local")
        await connections.aclose()

    asyncio.run(scenario())
    assert [e.args for e in engines] == [(), ("--model-file", "/models/tiny.gguf")]
    assert engines[0].stopped and engines[1].stopped
