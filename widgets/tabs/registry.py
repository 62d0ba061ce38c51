"""The one place that lists Fireplay's tabs, in the order they appear.

Only ids and titles load with this module: the main window paints its frame from them, and each
tab's presenter and view modules are imported when :attr:`TabSpec.build` runs, after that paint.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PySide6.QtCore import QObject
    from PySide6.QtWidgets import QWidget

    from app.presenters.services import Services

__all__ = ["TABS", "TabSpec"]


@dataclass(frozen=True, slots=True)
class TabSpec:
    """A tab: its stable id (objectName ``tab-<id>``), its title, and how to build its two halves.

    Attributes:
        id: Stable id, used in object names and in the saved window state.
        title: Text on the tab.
        build: Makes the tab's presenter and its view (the view shows the presenter).
    """

    id: str
    title: str
    build: Callable[[Services], tuple[QObject, QWidget]]


def _chat(services: Services) -> tuple[QObject, QWidget]:
    from app.presenters.chat import ChatPresenter
    from widgets.tabs.chat_tab import ChatTab

    presenter = ChatPresenter(services)
    return presenter, ChatTab(presenter)


TABS: tuple[TabSpec, ...] = (TabSpec("chat", "Chat", _chat),)
