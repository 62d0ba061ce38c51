"""Named presets per tab, and session files that hold the whole window."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path

from PySide6.QtCore import QObject, Signal

import app
from app.domain.sessions import PresetStore, SessionError, read_session, write_session
from app.presenters.workbench import Workbench
from app.settings import TargetSettings

__all__ = ["Presets", "open_session", "save_session"]


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class Presets(QObject):
    """The presets of every tab, kept in ``presets.json`` in the settings folder.

    Every command raises :class:`SessionError` with a sentence for the user when it fails.

    Signals:
        changed(str): the presets of this tab changed.
    """

    changed = Signal(str)

    def __init__(self, config_dir: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._store: PresetStore | None = None
        self._config_dir = config_dir

    @property
    def store(self) -> PresetStore:
        """The store (the file is read on first use, not at start-up)."""
        if self._store is None:
            self._store = PresetStore(self._config_dir)
        return self._store

    @property
    def problem(self) -> str:
        """Why presets cannot be saved ("" when they can)."""
        return self.store.problem

    def names(self, tab: str) -> list[str]:
        """The tab's presets, in the order they were saved."""
        return self.store.names(tab)

    def save(self, workbench: Workbench, name: str) -> str:
        """Save the tab's targets, parameters and inputs (not results) as ``name``."""
        preset = self.store.save(
            workbench.tab_id, name, workbench.state(results=False), saved_at=_now()
        )
        self.changed.emit(workbench.tab_id)
        return preset.name

    def apply(self, workbench: Workbench, name: str) -> None:
        """Set the tab up as the preset says (its panes and inputs are replaced)."""
        preset = self.store.get(workbench.tab_id, name)
        if preset is None:
            raise SessionError(f'There is no preset "{name}" any more.')
        workbench.restore(preset.state)

    def rename(self, tab: str, old: str, new: str) -> None:
        """Give a preset another name."""
        self.store.rename(tab, old, new)
        self.changed.emit(tab)

    def delete(self, tab: str, name: str) -> None:
        """Forget a preset."""
        self.store.delete(tab, name)
        self.changed.emit(tab)

    def export_to(self, tab: str, name: str, path: Path) -> None:
        """Write a preset to a file others can import."""
        text = self.store.export_preset(tab, name)
        try:
            path.write_text(text, encoding="utf-8")
        except OSError as error:
            raise SessionError(f"Could not write {path} ({error.strerror or error}).") from error

    def import_from(self, tab: str, path: Path) -> str:
        """Add the preset in ``path`` to ``tab``; returns the name it got."""
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as error:
            raise SessionError(f"Could not read {path.name} ({error}).") from error
        preset = self.store.import_preset(text, tab=tab)
        self.changed.emit(tab)
        return preset.name


def save_session(path: Path, workbenches: Mapping[str, Workbench]) -> None:
    """Write every tab's targets, inputs and results to ``path``.

    Raises:
        SessionError: the file cannot be written.
    """
    tabs = {tab: workbench.state() for tab, workbench in workbenches.items()}
    write_session(path, tabs, app_version=app.__version__, created=_now())


def open_session(path: Path, workbenches: Mapping[str, Workbench]) -> list[str]:
    """Restore every tab saved in ``path``; returns the ids of saved tabs this version lacks.

    The file is read and checked whole before any tab changes, so a bad file changes nothing.

    Raises:
        SessionError: the file cannot be read, is not a session, or is from a newer version.
    """
    tabs = read_session(path)
    for tab, state in tabs.items():
        try:
            for pane in state["panes"]:
                TargetSettings.model_validate(pane["target"])
        except ValueError as error:
            raise SessionError(f"The {tab} tab in {path.name} is damaged: {error}") from error
    for tab, state in tabs.items():
        if tab in workbenches:
            workbenches[tab].restore(state)
    return [tab for tab in tabs if tab not in workbenches]
