"""The Chat tab: a workbench whose shared input is a message and whose panes are conversations."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject

from app.presenters.pane import ChatPane
from app.presenters.workbench import Workbench
from app.settings import TargetSettings

if TYPE_CHECKING:
    from app.presenters.services import Services

__all__ = ["ChatPresenter"]


class ChatPresenter(Workbench):
    """Owns the shared system prompt and the messages sent to every pane."""

    tab_id = "chat"

    def __init__(self, services: Services, parent: QObject | None = None) -> None:
        self._system_prompt: str = services.settings.settings.workbench("chat").inputs.get(
            "system_prompt", ""
        )
        super().__init__(services, parent)

    @property
    def panes(self) -> list[ChatPane]:
        """The panes, left to right."""
        return list(self._panes)  # type: ignore[arg-type]

    @property
    def system_prompt(self) -> str:
        """The system prompt of every pane that has none of its own."""
        return self._system_prompt

    @property
    def has_turns(self) -> bool:
        """Whether any pane has a conversation going."""
        return any(pane.turns for pane in self.panes)

    @property
    def has_results(self) -> bool:
        """Whether New chat or Same model × N would throw conversations away."""
        return self.has_turns

    # -- shared commands -----------------------------------------------------------------------

    def send(self, text: str) -> bool:
        """Send ``text`` to every pane at once; False when nothing was sent."""
        if self.busy or not text.strip():
            return False
        self._input_sent(text)
        for pane in self.panes:
            pane.send(text)
        return True

    def regenerate(self) -> bool:
        """Ask every pane again for its last reply."""
        if self.busy:
            return False
        if self._inputs_sent:
            self._input_sent(self._inputs_sent.pop())
        started = [pane.regenerate() for pane in self.panes]
        return any(started)

    def edit_last(self) -> str | None:
        """Take back the last shared input from every pane, returning it for editing."""
        if self.busy:
            return None
        texts = [pane.edit_last() for pane in self.panes]
        if self._inputs_sent:
            self._inputs_sent.pop()
        self._new_round()
        return next((t for t in texts if t is not None), None)

    def clear(self) -> None:
        """Start a new conversation in every pane."""
        for pane in self.panes:
            pane.clear()
        self._inputs_sent.clear()
        self._new_round()

    def set_system_prompt(self, text: str) -> None:
        """Use ``text`` as the shared system prompt and remember it."""
        self._system_prompt = text
        self.remember_input("system_prompt", text)

    def continue_with(self, index: int) -> None:
        """Copy pane ``index``'s conversation into every other pane, to go on from it."""
        if self.busy:
            return
        source = self.panes[index].turns
        for i, pane in enumerate(self.panes):
            if i != index:
                pane.replace_turns(source)
        # Copied replies were not run by their panes: nothing to compare until the next input.
        self._new_round()

    # -- internals -----------------------------------------------------------------------------

    def _make_pane(self, target: TargetSettings) -> ChatPane:
        return ChatPane(self._services, target, lambda: self._system_prompt)
