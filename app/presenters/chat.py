"""The Chat tab: a workbench whose shared input is a message and whose panes are conversations."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject

from app.presenters.pane import ChatPane, ConversationWorkbench
from app.settings import TargetSettings

if TYPE_CHECKING:
    from app.presenters.services import Services

__all__ = ["ChatPresenter"]


class ChatPresenter(ConversationWorkbench):
    """Owns the shared system prompt, the message being written and the messages sent."""

    tab_id = "chat"

    def __init__(self, services: Services, parent: QObject | None = None) -> None:
        self._system_prompt: str = services.settings.settings.workbench("chat").inputs.get(
            "system_prompt", ""
        )
        # The message box as the user left it: reported with the inputs, never saved on its own.
        self._draft = ""
        super().__init__(services, parent)

    @property
    def panes(self) -> list[ChatPane]:
        """The panes, left to right."""
        return self._conversations()

    @property
    def system_prompt(self) -> str:
        """The system prompt of every pane that has none of its own."""
        return self._system_prompt

    @property
    def draft(self) -> str:
        """The message being written (not sent yet)."""
        return self._draft

    @property
    def has_turns(self) -> bool:
        """Whether any pane has a conversation going."""
        return self.has_results

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

    def set_system_prompt(self, text: str) -> None:
        """Use ``text`` as the shared system prompt and remember it."""
        self._system_prompt = text
        self.remember_input("system_prompt", text)

    def set_draft(self, text: str) -> None:
        """The message box now holds ``text`` (kept in memory only: it changes every keystroke)."""
        self._draft = text

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

    # -- state ---------------------------------------------------------------------------------

    def inputs_state(self) -> dict[str, Any]:
        """The shared system prompt and the message being written."""
        return {"system_prompt": self._system_prompt, "prompt": self._draft}

    def restore_inputs(self, inputs: Mapping[str, Any]) -> None:
        """Put back a system prompt and a message saved by :meth:`inputs_state`."""
        self._system_prompt = str(inputs.get("system_prompt") or "")
        self._draft = str(inputs.get("prompt") or "")
        super().restore_inputs({"system_prompt": self._system_prompt})

    # -- internals -----------------------------------------------------------------------------

    def _make_pane(self, target: TargetSettings) -> ChatPane:
        return ChatPane(self._services, target, lambda: self._system_prompt)
