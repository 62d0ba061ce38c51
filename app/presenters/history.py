"""The run history as the window sees it: one store for every tab, its problems as signals."""

from __future__ import annotations

import concurrent.futures
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

from app.domain.history import (
    HISTORY_FILE,
    HistoryStore,
    RunHandle,
    RunRecord,
    RunStart,
    RunSummary,
)

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["OPTIONS_KEY", "SYSTEM_PROMPT_KEY", "History"]

# A run's parameters are stored with the target's other settings under keys no parameter has.
OPTIONS_KEY = "@options"
SYSTEM_PROMPT_KEY = "@system_prompt"


class History(QObject):
    """Records every run of every tab in ``history.sqlite3`` in the settings folder.

    The database is opened in a background thread at start (checking a large file takes a
    while); a run that begins before it is ready waits for it.

    Signals:
        problem_changed(str): history is off or waiting, and why ("" when it works again).
        runs_changed(): a run was recorded, finished or deleted.
    """

    problem_changed = Signal(str)
    runs_changed = Signal()

    def __init__(self, config_dir: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.path = config_dir / HISTORY_FILE
        self._opening = concurrent.futures.Future[HistoryStore]()
        self._problem = ""
        threading.Thread(target=self._open, name="history-open", daemon=True).start()

    @property
    def store(self) -> HistoryStore:
        """The store (waits until it is open)."""
        return self._opening.result()

    @property
    def problem(self) -> str:
        """Why history is off or waiting ("" while it works)."""
        return self._problem

    def begin(self, start: RunStart) -> RunHandle:
        """Record a run that starts now; the handle takes its output and how it ended."""
        handle = self.store.begin(start)
        self.runs_changed.emit()
        return handle

    def finished(self) -> None:
        """A run's record is complete: lists of runs should refresh."""
        self.runs_changed.emit()

    def search(
        self,
        text: str = "",
        *,
        tab: str | None = None,
        model: str | None = None,
        provider: str | None = None,
        since: float | None = None,
    ) -> list[RunSummary]:
        """Runs matching every filter given, newest first (see ``HistoryStore.search``)."""
        return self.store.search(text, tab=tab, model=model, provider=provider, since=since)

    def get(self, run_id: int) -> RunRecord | None:
        """Everything stored for one run."""
        return self.store.get(run_id)

    def facets(self) -> tuple[list[str], list[str], list[str]]:
        """The tabs, models and providers runs were made with, for the filters."""
        return self.store.facets()

    def size_bytes(self) -> int:
        """How much disk the history takes."""
        return self.store.size_bytes()

    def delete(self, run_id: int) -> None:
        """Forget one run."""
        self.store.delete(run_id)
        self.store.flush()
        self.runs_changed.emit()

    def delete_all(self) -> None:
        """Forget every run and give the disk space back."""
        self.store.delete_all()
        self.store.flush()
        self.runs_changed.emit()

    def export(self, path: Path, run_ids: list[int] | None, *, batch: bool) -> tuple[int, int]:
        """Write runs as JSON Lines (full records, or OpenAI batch input); (written, skipped)."""
        self.store.flush()
        return self.store.export_jsonl(path, run_ids, batch=batch)

    @staticmethod
    def tab_state(record: RunRecord) -> dict[str, Any]:
        """The tab state that reopens ``record``: its target, inputs and result in one pane."""
        params = dict(record.params)
        target: dict[str, Any] = {
            "provider": record.provider,
            "model": record.model,
            "options": params.pop(OPTIONS_KEY, {}),
        }
        if SYSTEM_PROMPT_KEY in params:
            target["system_prompt"] = params.pop(SYSTEM_PROMPT_KEY)
        target["params"] = params
        pane = {"target": target, "result": record.result, "answered": True}
        return {"inputs": dict(record.inputs), "panes": [pane]}

    def close(self) -> None:
        """Write what is pending and close the database (at quit)."""
        if self._opening.done():
            self.store.close()

    def _open(self) -> None:
        on_problem: Callable[[str], None] = self._report
        try:
            store = HistoryStore.open(self.path, on_problem=on_problem)
        except BaseException as error:  # a bug must not leave begin() waiting forever
            self._opening.set_exception(error)
            raise
        self._opening.set_result(store)
        if store.problem:
            self._report(store.problem)

    def _report(self, problem: str) -> None:
        # Called from the store's threads; the signal is delivered on the UI thread.
        self._problem = problem
        self.problem_changed.emit(problem)
