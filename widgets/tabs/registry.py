"""The one place that lists Fireplay's tabs, in the order they appear.

Only ids and titles load with this module: the main window paints its frame from them, and each
tab's presenter and view modules are imported when :attr:`TabSpec.build` runs — for the tab shown
at start after that paint, for the others when they are first opened.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.presenters.services import Services
    from app.presenters.workbench import Workbench
    from widgets.common.workbench_view import WorkbenchView

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
    build: Callable[[Services], tuple[Workbench, WorkbenchView]]


def _chat(services: Services) -> tuple[Workbench, WorkbenchView]:
    from app.presenters.chat import ChatPresenter
    from widgets.tabs.chat_tab import ChatTab

    presenter = ChatPresenter(services)
    return presenter, ChatTab(presenter)


def _json(services: Services) -> tuple[Workbench, WorkbenchView]:
    from app.presenters.structured import JsonPresenter
    from widgets.tabs.json_tab import JsonTab

    presenter = JsonPresenter(services)
    return presenter, JsonTab(presenter)


def _tools(services: Services) -> tuple[Workbench, WorkbenchView]:
    from app.presenters.tools import ToolsPresenter
    from widgets.tabs.tools_tab import ToolsTab

    presenter = ToolsPresenter(services)
    return presenter, ToolsTab(presenter)


def _vision(services: Services) -> tuple[Workbench, WorkbenchView]:
    from app.presenters.vision import VisionPresenter
    from widgets.tabs.vision_tab import VisionTab

    presenter = VisionPresenter(services)
    return presenter, VisionTab(presenter)


def _embeddings(services: Services) -> tuple[Workbench, WorkbenchView]:
    from app.presenters.embeddings import EmbeddingsPresenter
    from widgets.tabs.embeddings_tab import EmbeddingsTab

    presenter = EmbeddingsPresenter(services)
    return presenter, EmbeddingsTab(presenter)


def _audio(services: Services) -> tuple[Workbench, WorkbenchView]:
    from app.presenters.audio import AudioPresenter
    from widgets.tabs.audio_tab import AudioTab

    presenter = AudioPresenter(services)
    return presenter, AudioTab(presenter)


TABS: tuple[TabSpec, ...] = (
    TabSpec("chat", "Chat", _chat),
    TabSpec("tools", "Tool calling", _tools),
    TabSpec("json", "Structured output", _json),
    TabSpec("vision", "Image questions", _vision),
    TabSpec("audio", "Audio", _audio),
    TabSpec("embeddings", "Embeddings", _embeddings),
)
