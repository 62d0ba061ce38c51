"""What every presenter may use: the task runner, the settings, the provider connections, the
run history and the presets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.domain.connections import Connections
    from app.presenters.engine import EngineMonitor
    from app.presenters.history import History
    from app.presenters.presets import Presets
    from app.presenters.settings import SettingsPresenter
    from app.runtime import AsyncRunner

__all__ = ["Services"]


@dataclass(frozen=True, slots=True)
class Services:
    """The application's shared services, built once by ``app.main``."""

    runner: AsyncRunner
    settings: SettingsPresenter
    connections: Connections
    engine: EngineMonitor
    history: History
    presets: Presets
