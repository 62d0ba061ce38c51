"""The built-in engine's state as Qt signals, for status lines."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

if TYPE_CHECKING:
    from app.engine.process import EngineStatus

__all__ = ["EngineMonitor"]


class EngineMonitor(QObject):
    """Relays the engine supervisor's status callbacks (on the event loop) as a signal.

    Signals:
        status_changed(str, str): the engine's state (starting, loading, ready, failed,
            restarting, stopped) and a sentence for the user.
    """

    status_changed = Signal(str, str)

    def report(self, status: EngineStatus) -> None:
        """Callback for :class:`app.engine.process.EngineProcess`."""
        self.status_changed.emit(status.state, status.message)
