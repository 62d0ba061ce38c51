"""One shared HTTP client per provider, created on first use, rebuilt when its settings change."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from app.client import FireplayError
from app.domain.capabilities import split_by_capability
from app.domain.catalog import load_catalog

if TYPE_CHECKING:
    from app.client import AsyncClient
    from app.engine.process import EngineProcess
    from app.secrets import SecretStore
    from app.settings import AppSettings, ProviderProfile

__all__ = ["Connections", "ModelList", "ProviderUnavailableError"]

log = logging.getLogger(__name__)

LOCAL_PROVIDER_ID = "local"
FIREWORKS_PROVIDER_ID = "fireworks"


class ProviderUnavailableError(FireplayError):
    """The provider cannot be used as configured (no key, no URL, engine not installed)."""


@dataclass(frozen=True, slots=True)
class ModelList:
    """Model ids offered for a provider and where they came from."""

    ids: list[str]
    source: str
    warning: str | None = None
    reported: dict[str, list[str]] = field(default_factory=dict)

    def split(self, capability: str) -> tuple[list[str], list[str]]:
        """The ids with ``capability`` (see :mod:`app.domain.capabilities`), then the others."""
        return split_by_capability(self.ids, capability, self.reported)


@dataclass(frozen=True, slots=True)
class _Entry:
    fingerprint: tuple[object, ...]
    client: AsyncClient


class Connections:
    """Hands out one :class:`AsyncClient` per provider profile.

    The client is rebuilt when the profile's URL or key changes, so an edited key takes effect on
    the next request without restarting.
    """

    def __init__(
        self,
        settings: Callable[[], AppSettings],
        secrets: SecretStore,
        engine_factory: Callable[[Sequence[str]], EngineProcess] | None = None,
    ) -> None:
        self._settings = settings
        self._secrets = secrets
        self._engine_factory = engine_factory
        self._engine: EngineProcess | None = None
        self._engine_args: tuple[str, ...] = ()
        self._clients: dict[str, _Entry] = {}

    async def client(self, provider_id: str) -> AsyncClient:
        """Return the client for ``provider_id``, starting the embedded engine if needed.

        Raises:
            ProviderUnavailableError: the provider is misconfigured or its engine cannot start.
        """
        profile = self._profile(provider_id)
        base_url = await self._base_url(profile)
        resolved = self._secrets.get(profile)
        if profile.requires_key and resolved is None:
            hint = f" or set {profile.api_key_env}" if profile.api_key_env else ""
            raise ProviderUnavailableError(
                f"{profile.name} needs an API key: add it in Settings{hint}."
            )
        api_key = resolved.value if resolved else None
        fingerprint = (base_url, api_key, tuple(sorted(profile.model_base_urls.items())))
        stale = self._clients.get(provider_id)
        if stale is not None and stale.fingerprint == fingerprint:
            return stale.client
        from app.client import AsyncClient  # httpx loads on the first request, not at start-up

        client = AsyncClient(
            base_url=base_url, api_key=api_key, model_base_urls=dict(profile.model_base_urls)
        )
        # Swapped in before the old client is closed: a request made meanwhile (another pane,
        # the model list) gets this client, never the old key or a second client of its own.
        self._clients[provider_id] = _Entry(fingerprint, client)
        if stale is not None:
            await stale.client.aclose()
        return client

    async def list_models(self, provider_id: str) -> ModelList:
        """Models the provider offers, falling back to the shipped catalog when it cannot say."""
        profile = self._profile(provider_id)
        try:
            client = await self.client(provider_id)
            if profile.model_listing == "fireworks":
                records = await client.models.list_fireworks()
                ids = sorted(record.name for record in records)
            else:
                page = await client.models.list()
                ids = sorted(model.id for model in page.data)
                # The built-in engine (and some servers) say what each model does.
                listed = {m.id: (m.model_extra or {}).get("capabilities") for m in page.data}
                reported = {
                    model_id: [str(c) for c in caps]
                    for model_id, caps in listed.items()
                    if isinstance(caps, list)
                }
                return ModelList(ids, f"from {profile.name}", reported=reported)
            return ModelList(ids, f"from {profile.name}")
        except FireplayError as error:
            fallback = self._catalog_models(profile)
            if not fallback:
                raise
            return ModelList(fallback, "from the offline catalog", warning=str(error))

    async def aclose(self) -> None:
        """Close every client and stop the embedded engine (also when a client fails to close).

        Must be awaited in a task of the running loop, like every other request.
        """
        entries, self._clients = list(self._clients.values()), {}
        try:
            for entry in entries:
                try:
                    await entry.client.aclose()
                except Exception as error:  # one client's failure must not keep the others open
                    log.warning("could not close the client for %s: %r", entry.client, error)
        finally:
            if self._engine is not None:
                engine, self._engine = self._engine, None
                await engine.stop()

    def _profile(self, provider_id: str) -> ProviderProfile:
        try:
            return self._settings().provider(provider_id)
        except KeyError:
            raise ProviderUnavailableError(
                f"The provider {provider_id!r} was removed in Settings: choose another one."
            ) from None

    async def _base_url(self, profile: ProviderProfile) -> str:
        if profile.id != LOCAL_PROVIDER_ID:
            if not profile.base_url:
                raise ProviderUnavailableError(
                    f"{profile.name} has no base URL: set it in Settings."
                )
            return profile.base_url
        if self._engine_factory is None:
            raise ProviderUnavailableError("The built-in engine is not available in this build.")
        from app.engine.process import (
            EngineStartError,
            install_command,
            missing_engine_dependencies,
        )

        missing = missing_engine_dependencies()
        if missing:
            raise ProviderUnavailableError(
                f"The built-in engine needs {', '.join(missing)}. "
                f"Install them with: {install_command()}"
            )
        # The engine serves the user's own .gguf files too; a changed list means a new engine.
        args = tuple(
            arg for path in self._settings().local_model_files for arg in ("--model-file", path)
        )
        if self._engine is not None and args != self._engine_args:
            await self._engine.stop()
            self._engine = None
        if self._engine is None:
            self._engine = self._engine_factory(args)
            self._engine_args = args
        try:
            return await self._engine.ensure_running()
        except EngineStartError as error:
            raise ProviderUnavailableError(f"The built-in engine did not start: {error}") from error

    @staticmethod
    def _catalog_models(profile: ProviderProfile) -> list[str]:
        if profile.id != FIREWORKS_PROVIDER_ID:
            return []
        return [info.id for info in load_catalog().models()]
