"""The Chat tab as a workbench: one shared input sent to 1–8 panes, each with its own target."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, Literal

from PySide6.QtCore import QObject, Signal

import app
from app.domain.compare import (
    ComparisonRecord,
    PaneRecord,
    Segment,
    best_panes,
    comparison_to_json,
    comparison_to_markdown,
    metrics_dict,
    word_diff,
)
from app.domain.conversation import Role
from app.presenters.pane import ChatPane
from app.settings import TargetSettings

if TYPE_CHECKING:
    from app.presenters.services import Services

__all__ = ["MAX_PANES", "ChatPresenter", "Layout", "Variation"]

MAX_PANES = 8
Layout = Literal["columns", "grid"]
Variation = Literal["seed", "temperature"]


class ChatPresenter(QObject):
    """Owns the panes, the shared system prompt and the inputs sent to all of them.

    Signals:
        pane_added(int): a pane was inserted at this index.
        pane_removed(int): the pane at this index was removed.
        busy_changed(bool): whether any pane is running changed.
        layout_changed(str): ``columns`` or ``grid``.
        marks_changed(object, object): index of the fastest and of the cheapest pane, or None.
        providers_changed(): providers were added, removed or edited in Settings.
    """

    pane_added = Signal(int)
    pane_removed = Signal(int)
    busy_changed = Signal(bool)
    layout_changed = Signal(str)
    marks_changed = Signal(object, object)
    providers_changed = Signal()

    def __init__(self, services: Services, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._services = services
        settings = services.settings.settings
        self._system_prompt = settings.chat.system_prompt
        self._layout: Layout = settings.chat.layout
        self._inputs: list[str] = []
        self._panes: list[ChatPane] = []
        for target in settings.chat_targets()[:MAX_PANES]:
            self._insert(len(self._panes), target)
        services.settings.providers_changed.connect(self.providers_changed)

    # -- state read by views -------------------------------------------------------------------

    @property
    def panes(self) -> list[ChatPane]:
        """The panes, left to right."""
        return list(self._panes)

    @property
    def system_prompt(self) -> str:
        """The system prompt of every pane that has none of its own."""
        return self._system_prompt

    @property
    def layout(self) -> Layout:
        """How the panes are arranged."""
        return self._layout

    @property
    def busy(self) -> bool:
        """Whether any pane is running."""
        return any(pane.busy for pane in self._panes)

    @property
    def can_add(self) -> bool:
        """Whether another pane fits."""
        return len(self._panes) < MAX_PANES

    def providers(self) -> list[tuple[str, str]]:
        """(id, display name) of every configured provider."""
        return [(p.id, p.name) for p in self._services.settings.settings.providers]

    # -- shared commands -----------------------------------------------------------------------

    def send(self, text: str) -> bool:
        """Send ``text`` to every pane at once; False when nothing was sent."""
        if self.busy or not text.strip():
            return False
        self._inputs.append(text)
        for pane in self._panes:
            pane.send(text)
        return True

    def stop(self) -> None:
        """Stop every pane; partial replies are kept."""
        for pane in self._panes:
            pane.stop()

    def regenerate(self) -> bool:
        """Ask every pane again for its last reply."""
        if self.busy:
            return False
        started = [pane.regenerate() for pane in self._panes]
        return any(started)

    def edit_last(self) -> str | None:
        """Take back the last shared input from every pane, returning it for editing."""
        if self.busy:
            return None
        texts = [pane.edit_last() for pane in self._panes]
        if self._inputs:
            self._inputs.pop()
        return next((t for t in texts if t is not None), None)

    def clear(self) -> None:
        """Start a new conversation in every pane."""
        self._inputs.clear()
        for pane in self._panes:
            pane.clear()

    def set_system_prompt(self, text: str) -> None:
        """Use ``text`` as the shared system prompt and remember it."""
        self._system_prompt = text
        self._services.settings.update_chat(system_prompt=text)

    def set_layout(self, layout: Layout) -> None:
        """Arrange panes in columns or a grid, and remember it."""
        if layout == self._layout:
            return
        self._layout = layout
        self._services.settings.update_chat(layout=layout)
        self.layout_changed.emit(layout)

    def refresh_models(self, *, include_local: bool = True) -> None:
        """Refresh every pane's model list; ``include_local=False`` skips the built-in engine,
        so that listing models at start-up does not start it."""
        for pane in self._panes:
            if include_local or pane.provider_id != "local":
                pane.refresh_models()

    # -- targets -------------------------------------------------------------------------------

    def add_target(self) -> int | None:
        """Add a pane with the same target as the last one; returns its index."""
        return self.duplicate_target(len(self._panes) - 1)

    def duplicate_target(self, index: int) -> int | None:
        """Insert a copy of pane ``index``'s target right after it; returns the new index."""
        if not self.can_add:
            return None
        self._insert(index + 1, self._panes[index].target)
        self._save_targets()
        return index + 1

    def remove_target(self, index: int) -> bool:
        """Remove pane ``index`` (stopping it); the last pane cannot be removed."""
        if len(self._panes) <= 1:
            return False
        pane = self._panes.pop(index)
        pane.stop()
        pane.deleteLater()
        self.pane_removed.emit(index)
        self._save_targets()
        self._update_marks()
        return True

    def vary(self, index: int, count: int, what: Variation) -> None:
        """Replace all panes by ``count`` copies of pane ``index``'s target that differ in one knob.

        Seeds are 1..count; temperatures are spread evenly from 0.0 to 1.4. Conversations start
        empty, since the panes are new.
        """
        if self.busy:
            return
        count = max(2, min(count, MAX_PANES))
        base = self._panes[index].target
        targets = []
        for n in range(count):
            value: Any = n + 1 if what == "seed" else round(1.4 * n / (count - 1), 2)
            targets.append(base.model_copy(update={"params": {**base.params, what: value}}))
        self._replace_all(targets)

    def continue_with(self, index: int) -> None:
        """Copy pane ``index``'s conversation into every other pane, to go on from it."""
        if self.busy:
            return
        source = self._panes[index].turns
        for i, pane in enumerate(self._panes):
            if i != index:
                pane.replace_turns(source)
        self._update_marks()

    # -- comparison ----------------------------------------------------------------------------

    def diff(self, left: int, right: int) -> list[Segment]:
        """Word-level diff between two panes' newest replies."""
        return word_diff(self._panes[left].last_reply(), self._panes[right].last_reply())

    def comparison(self) -> ComparisonRecord:
        """Everything on screen: inputs, targets, conversations and metrics."""
        panes = []
        for pane in self._panes:
            target = pane.target
            messages: list[dict[str, Any]] = []
            for turn in pane.turns:
                message: dict[str, Any] = {"role": turn.role.value, "content": turn.content}
                if turn.role is Role.ASSISTANT:
                    message["status"] = turn.status.value
                    message["metrics"] = metrics_dict(turn.metrics)
                    if turn.reasoning:
                        message["reasoning"] = turn.reasoning
                    if turn.error:
                        message["error"] = turn.error
                messages.append(message)
            system = (
                target.system_prompt if target.system_prompt is not None else self._system_prompt
            )
            panes.append(
                PaneRecord(
                    provider=target.provider,
                    model=target.model,
                    params=target.params,
                    system_prompt=system,
                    messages=messages,
                    metrics=[m.get("metrics") for m in messages if m["role"] == "assistant"],
                )
            )
        created = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        return ComparisonRecord(
            inputs=list(self._inputs), panes=panes, created=created, app_version=app.__version__
        )

    def export_markdown(self) -> str:
        """The comparison as a Markdown report."""
        return comparison_to_markdown(self.comparison())

    def export_json(self) -> str:
        """The comparison as JSON (see ``app.domain.compare``)."""
        return comparison_to_json(self.comparison())

    # -- internals -----------------------------------------------------------------------------

    def _insert(self, index: int, target: TargetSettings) -> None:
        pane = ChatPane(self._services, target, lambda: self._system_prompt, self)
        self._panes.insert(index, pane)
        pane.busy_changed.connect(self._on_pane_busy_changed)
        pane.target_changed.connect(self._save_targets)
        self.pane_added.emit(index)

    def _replace_all(self, targets: list[TargetSettings]) -> None:
        while self._panes:
            pane = self._panes.pop()
            pane.stop()
            pane.deleteLater()
            self.pane_removed.emit(len(self._panes))
        self._inputs.clear()
        for target in targets:
            self._insert(len(self._panes), target)
        self._save_targets()
        self._update_marks()

    def _save_targets(self) -> None:
        self._services.settings.update_workbench([pane.target for pane in self._panes])

    def _on_pane_busy_changed(self, _busy: bool) -> None:
        self.busy_changed.emit(self.busy)
        if not self.busy:
            self._update_marks()

    def _update_marks(self) -> None:
        fastest, cheapest = best_panes([pane.last_metrics for pane in self._panes])
        self.marks_changed.emit(fastest, cheapest)
