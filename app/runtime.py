"""Bridge between Qt and asyncio: start coroutines from Qt code and keep them accountable.

qasync runs asyncio on the Qt event loop. ``AsyncRunner`` replaces ``@asyncSlot``: it keeps a strong
reference to every task it starts (asyncio itself keeps only weak ones), reports any exception that
escapes a task instead of letting it vanish, and cancels everything when the application quits.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Coroutine
from typing import Any

from PySide6.QtCore import QObject, Signal

__all__ = ["AsyncRunner", "install_asyncgen_hooks"]

log = logging.getLogger(__name__)


def install_asyncgen_hooks(loop: asyncio.AbstractEventLoop) -> None:
    """Install the PEP 525 hooks that qasync's ``run_forever`` never sets.

    Without them an async generator left early (an HTTP stream closed on ``[DONE]``) is finalised
    outside the loop and Python prints "async generator ignored GeneratorExit".
    """
    sys.set_asyncgen_hooks(
        firstiter=loop._asyncgen_firstiter_hook,  # type: ignore[attr-defined]
        finalizer=loop._asyncgen_finalizer_hook,  # type: ignore[attr-defined]
    )


class AsyncRunner(QObject):
    """Starts coroutines on the running loop and owns the resulting tasks.

    Signals:
        task_failed(str, object): a task named ``str`` raised the exception ``object``; a bug, since
            presenters turn expected errors into their own ``failed`` signals.
    """

    task_failed = Signal(str, object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._tasks: set[asyncio.Task[Any]] = set()

    def start(self, coro: Coroutine[Any, Any, Any], *, name: str) -> asyncio.Task[Any]:
        """Schedule ``coro`` on the running event loop and keep it alive until it ends."""
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._on_task_done)
        return task

    @property
    def pending(self) -> int:
        """How many started tasks have not finished yet."""
        return len(self._tasks)

    def cancel_all(self) -> list[asyncio.Task[Any]]:
        """Cancel every pending task and return them so the caller can wait for their clean-up."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        return tasks

    def _on_task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        error = task.exception()
        if error is not None:
            log.error("task %s failed", task.get_name(), exc_info=error)
            self.task_failed.emit(task.get_name(), error)
