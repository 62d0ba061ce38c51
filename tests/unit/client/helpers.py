"""Helpers for the client tests: run coroutines, build clients, inspect the pool, load schemas."""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import httpx
import jsonschema

from app.client import AsyncClient
from tests.fake_server import FakeServer

P = ParamSpec("P")
T = TypeVar("T")

API_KEY = "sk-test-0123456789abcdef-SECRET"
SCHEMA_PATH = (
    Path(__file__).resolve().parents[3]
    / ".."
    / "shared"
    / "reference"
    / "openai-openapi-subset.json"
)


def async_test(fn: Callable[P, Awaitable[T]]) -> Callable[P, T]:
    """Run an async test body in a fresh event loop, with a safety timeout."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        async def main() -> T:
            return await asyncio.wait_for(fn(*args, **kwargs), timeout=30)

        return asyncio.run(main())

    return wrapper


def make_client(server: FakeServer, **options: Any) -> AsyncClient:
    """A client for the fake server with the test key (options override the defaults)."""
    options.setdefault("api_key", API_KEY)
    options.setdefault("timeout", httpx.Timeout(10.0, connect=2.0))
    return AsyncClient(base_url=server.url, **options)


def _pool_connections(client: AsyncClient) -> list[Any]:
    return list(client.http_client._transport._pool.connections)  # type: ignore[attr-defined]


def open_connections(client: AsyncClient) -> int:
    """Connections the client's pool holds, idle or busy (a closed one is removed)."""
    return len(_pool_connections(client))


def busy_connections(client: AsyncClient) -> int:
    """Connections of the pool that are not idle (an unfinished response keeps one busy)."""
    return sum(not connection.is_idle() for connection in _pool_connections(client))


def _allow_null(node: Any) -> Any:
    # OpenAPI 3.0 `nullable: true` means "or null"; JSON Schema 2020-12 ignores the keyword.
    if isinstance(node, list):
        return [_allow_null(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: _allow_null(value) for key, value in node.items()}
    if converted.get("nullable") is True:
        del converted["nullable"]
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


@functools.cache
def _openapi_document() -> dict[str, Any]:
    if not SCHEMA_PATH.is_file():
        raise FileNotFoundError(
            f"OpenAI schema subset not found at {SCHEMA_PATH}; the tests expect the shared/ "
            "reference directory next to the repository"
        )
    document = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return {"components": _allow_null(document["components"])}


def openai_validator(schema_name: str) -> jsonschema.Draft202012Validator:
    """A validator for ``components.schemas.<schema_name>`` of OpenAI's published spec."""
    document = _openapi_document()
    if schema_name not in document["components"]["schemas"]:
        raise KeyError(schema_name)
    root = {**document, "$ref": f"#/components/schemas/{schema_name}"}
    return jsonschema.Draft202012Validator(root)
