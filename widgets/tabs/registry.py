"""The one place that lists Fireplay's tabs, in the order they appear."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QWidget

from app.presenters.chat import ChatPresenter
from app.presenters.services import Services
from widgets.tabs.chat_tab import ChatTab

__all__ = ["TABS", "TabSpec"]


@dataclass(frozen=True, slots=True)
class TabSpec:
    """A tab: its stable id (objectName ``tab-<id>``), title, and how to build its two halves."""

    id: str
    title: str
    presenter: Callable[[Services], QObject]
    view: Callable[[QObject], QWidget]


TABS: tuple[TabSpec, ...] = (
    TabSpec("chat", "Chat", ChatPresenter, ChatTab),  # type: ignore[arg-type]
)
