"""Fixtures of the client tests.

The ``fake_server`` fixture comes from ``tests.fake_server`` (registered in tests/conftest.py).
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from app.client import AsyncClient


@pytest.fixture
def retry_delays(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[int, float]]]:
    """Make retries instant; yields (attempt, computed delay) for every retry taken."""
    calls: list[tuple[int, float]] = []
    original = AsyncClient._retry_delay

    def instant(self: AsyncClient, attempt: int, headers: httpx.Headers | None) -> float:
        calls.append((attempt, original(self, attempt, headers)))
        return 0.0

    monkeypatch.setattr(AsyncClient, "_retry_delay", instant)
    yield calls
