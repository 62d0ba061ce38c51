"""pytest-qt with a qasync loop: tests stay synchronous while qtbot's waits drive asyncio."""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest
import qasync

from app.main import Built, build
from app.runtime import install_asyncgen_hooks


@pytest.fixture(scope="session")
def _qasync_loop(qapp: Any) -> Iterator[asyncio.AbstractEventLoop]:
    # Never stop() this loop mid-session: QEventLoop.stop() quits the QApplication.
    loop = qasync.QEventLoop(qapp)
    yield loop
    loop.close()


@pytest.fixture
def qloop(
    _qasync_loop: asyncio.AbstractEventLoop, qtbot: Any
) -> Iterator[asyncio.AbstractEventLoop]:
    """The qasync loop, marked running for the test; fails the test if it leaks tasks."""
    old_hooks = sys.get_asyncgen_hooks()
    asyncio._set_running_loop(_qasync_loop)
    install_asyncgen_hooks(_qasync_loop)
    try:
        yield _qasync_loop
        leaked = [t for t in asyncio.all_tasks(_qasync_loop) if not t.done()]
        for task in leaked:
            task.cancel()
        qtbot.waitUntil(lambda: all(t.done() for t in leaked), timeout=3000)
        assert not leaked, f"leaked tasks: {leaked}"
    finally:
        qtbot.wait(0)
        sys.set_asyncgen_hooks(*old_hooks)
        asyncio._set_running_loop(None)


@pytest.fixture
def qrun(qtbot: Any, qloop: asyncio.AbstractEventLoop) -> Callable[..., Any]:
    """Run a coroutine to completion from synchronous test code."""

    def run(coro: Coroutine[Any, Any, Any], timeout: int = 5000) -> Any:
        task = qloop.create_task(coro)
        qtbot.waitUntil(task.done, timeout=timeout)
        return task.result()

    return run


@pytest.fixture
def release() -> Iterator[threading.Event]:
    """The event that held fake-server streams wait for (``hold_after``); set when the test ends."""
    event = threading.Event()
    yield event
    event.set()


@pytest.fixture(autouse=True)
def discard_answer(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Answer "Discard" to every "Discard results?" question; the list holds what was asked.

    The real question is a modal dialog that would wait for a click no test makes; its own test
    answers it through the dialog itself.
    """
    from widgets.common.workbench_view import WorkbenchView

    asked: list[str] = []

    def confirm(_view: WorkbenchView, what: str) -> bool:
        asked.append(what)
        return True

    monkeypatch.setattr(WorkbenchView, "confirm_discard", confirm)
    return asked


@pytest.fixture
def no_retry_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries of 429 and 5xx answers happen at once instead of after a backoff."""
    from app.client import AsyncClient

    monkeypatch.setattr(AsyncClient, "_retry_delay", lambda *a, **k: 0.0)


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    """An empty settings folder for one test."""
    path = tmp_path / "config"
    path.mkdir()
    return path


@pytest.fixture
def make_app(
    qtbot: Any, qloop: asyncio.AbstractEventLoop, qrun: Callable[..., Any], config_dir: Path
) -> Iterator[Callable[..., Built]]:
    """Build the real main window with its services, closing every client afterwards."""
    built: list[Built] = []

    def make(*args: str) -> Built:
        app = build(["--config-dir", str(config_dir), *args])
        qtbot.addWidget(app.window)
        built.append(app)
        return app

    yield make
    for app in built:
        for task in app.services.runner.cancel_all():
            qtbot.waitUntil(task.done, timeout=3000)
        qrun(app.services.connections.aclose())
        app.services.history.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Any Qt warning fails a GUI test. Set per item, not in the ini, so that the Qt-free unit tests
    # still run with pytest-qt disabled (-p no:pytest-qt) under --strict-config.
    for item in items:
        if "/tests/gui/" in str(item.path).replace("\\", "/"):
            item.add_marker(pytest.mark.qt_log_level_fail("WARNING"))
            # The offscreen platform plugin says this about window-manager calls; it is not ours.
            item.add_marker(pytest.mark.qt_log_ignore("This plugin does not support"))
