"""``client.models``: what a server offers, OpenAI-style and from the Fireworks catalog."""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any

import pydantic

from app.client._constants import DEFAULT_CONTROL_PLANE_URL
from app.client._models import BaseModel
from app.client._types import NOT_GIVEN, NotGiven, TimeoutTypes
from app.client.types.model import FireworksModel, ModelPage

if TYPE_CHECKING:
    from app.client._client import AsyncClient

__all__ = ["Models"]


class _FireworksModelPage(BaseModel):
    models: list[FireworksModel] = pydantic.Field(default_factory=list)
    next_page_token: str | None = pydantic.Field(default=None, alias="nextPageToken")


class Models:
    """``GET /models`` and the Fireworks control plane's model list."""

    def __init__(self, client: AsyncClient) -> None:
        """Bind to a client."""
        self._client = client

    async def list(self, *, timeout: TimeoutTypes | NotGiven = NOT_GIVEN) -> ModelPage:
        """List the models of ``GET {base_url}/models``.

        Args:
            timeout: Overrides the client's timeout for this call.

        Returns:
            The page; its ``data`` holds one :class:`Model` per entry.
        """
        response = await self._client._request("GET", "/models", timeout=timeout)
        return self._client._parse(response, ModelPage)

    async def list_fireworks(
        self,
        *,
        account: str = "fireworks",
        page_size: int = 200,
        filter: str | None = None,
        control_plane_url: str = DEFAULT_CONTROL_PLANE_URL,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
    ) -> builtins.list[FireworksModel]:
        """List every model of a Fireworks account, following ``nextPageToken`` to the end.

        Args:
            account: Account id (``fireworks`` holds the public catalog).
            page_size: Models per page (the server caps it at 200).
            filter: AIP-160 filter, e.g. ``"supports_serverless=true"``.
            control_plane_url: Root of the control-plane API.
            timeout: Overrides the client's timeout for each page request.

        Returns:
            All model records, in server order.
        """
        url = f"{control_plane_url.rstrip('/')}/v1/accounts/{account}/models"
        params: dict[str, Any] = {"pageSize": page_size}
        if filter is not None:
            params["filter"] = filter
        models: builtins.list[FireworksModel] = []
        seen_tokens: set[str] = set()
        while True:
            response = await self._client._request("GET", url, params=params, timeout=timeout)
            page = self._client._parse(response, _FireworksModelPage)
            models.extend(page.models)
            token = page.next_page_token
            # A server repeating a token would otherwise page forever.
            if not token or token in seen_tokens:
                return models
            seen_tokens.add(token)
            params = {**params, "pageToken": token}
