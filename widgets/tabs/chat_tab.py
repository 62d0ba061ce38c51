"""Chat tab: one shared input streamed to 1–8 panes side by side, each with its own target."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.presenters.chat import MAX_PANES, ChatPresenter
from app.presenters.pane import ChatPane
from widgets.common.diff_view import DiffDialog
from widgets.common.pane_grid import PaneGrid
from widgets.common.pane_view import PaneView
from widgets.common.param_panel import ParamPanel

__all__ = ["SHORTCUTS", "ChatTab"]

SHORTCUTS: tuple[tuple[str, str], ...] = (
    ("Ctrl+Return", "Send to every pane"),
    ("Esc", "Stop every pane (partial text is kept)"),
    ("Ctrl+R", "Regenerate the last replies"),
    ("Ctrl+E", "Edit and resend the last message"),
    ("Ctrl+L", "New conversation"),
    ("Ctrl+T", "Add a target (pane)"),
    ("Ctrl+D", "Diff two panes' answers"),
)


class ChatTab(QWidget):
    """View of a :class:`ChatPresenter`: a toolbar, the pane grid, the input and a side panel."""

    shortcuts = SHORTCUTS

    def __init__(self, presenter: ChatPresenter, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.presenter = presenter
        self.pane_views: list[PaneView] = []
        self._selected = 0
        self._diff_dialog: DiffDialog | None = None
        self._build()
        for index in range(len(presenter.panes)):
            self._on_pane_added(index)
        self._wire()
        self._select(0)
        self._on_busy_changed(False)

    # -- construction --------------------------------------------------------------------------

    def _build(self) -> None:
        p = self.presenter
        self.add_target_button = QPushButton("+ Add target")
        self.add_target_button.setObjectName("addTargetButton")
        self.add_target_button.setToolTip(
            f"Add a pane answering the same input (up to {MAX_PANES}; Ctrl+T)"
        )
        self.layout_button = QToolButton()
        self.layout_button.setObjectName("layoutButton")
        self.layout_button.setCheckable(True)
        self.layout_button.setText("Grid layout")
        self.layout_button.setToolTip("Arrange panes in a grid instead of columns")
        self.vary_button = QToolButton()
        self.vary_button.setObjectName("varyButton")
        self.vary_button.setText("Same model × N")
        self.vary_button.setToolTip(
            "Replace the panes by copies of the selected pane that differ in seed or temperature"
        )
        self.vary_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        vary_menu = QMenu(self.vary_button)
        for count in (2, 3, 4):
            action = vary_menu.addAction(f"{count} seeds")
            action.triggered.connect(lambda _=False, n=count: self._vary(n, "seed"))
        vary_menu.addSeparator()
        for count in (3, 4, 5):
            action = vary_menu.addAction(f"{count} temperatures (0 → 1.4)")
            action.triggered.connect(lambda _=False, n=count: self._vary(n, "temperature"))
        self.vary_button.setMenu(vary_menu)
        self.diff_button = QPushButton("Diff…")
        self.diff_button.setObjectName("diffButton")
        self.diff_button.setToolTip("Word-level diff of two panes' answers (Ctrl+D)")
        self.export_button = QToolButton()
        self.export_button.setObjectName("exportButton")
        self.export_button.setText("Export")
        self.export_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        export_menu = QMenu(self.export_button)
        export_menu.addAction("As Markdown…").triggered.connect(lambda: self._ask_export("md"))
        export_menu.addAction("As JSON…").triggered.connect(lambda: self._ask_export("json"))
        self.export_button.setMenu(export_menu)
        toolbar = QHBoxLayout()
        toolbar.addWidget(self.add_target_button)
        toolbar.addWidget(self.vary_button)
        toolbar.addWidget(self.layout_button)
        toolbar.addStretch(1)
        toolbar.addWidget(self.diff_button)
        toolbar.addWidget(self.export_button)

        self.grid = PaneGrid()
        self.grid.setObjectName("paneGrid")

        self.prompt = QPlainTextEdit()
        self.prompt.setObjectName("promptInput")
        self.prompt.setPlaceholderText("Message every pane… (Ctrl+Enter to send)")
        self.prompt.setTabChangesFocus(True)
        self.prompt.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.prompt.setFixedHeight(88)
        self.send_button = QPushButton("Send")
        self.send_button.setObjectName("sendButton")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setObjectName("stopButton")
        self.regenerate_button = QPushButton("Regenerate")
        self.regenerate_button.setObjectName("regenerateButton")
        self.edit_button = QPushButton("Edit last")
        self.edit_button.setObjectName("editLastButton")
        self.clear_button = QPushButton("New chat")
        self.clear_button.setObjectName("clearButton")
        for button, tip in (
            (self.send_button, "Send to every pane (Ctrl+Enter)"),
            (self.stop_button, "Stop every pane; the text so far is kept (Esc)"),
            (self.regenerate_button, "Ask every pane again for its last reply (Ctrl+R)"),
            (self.edit_button, "Take back your last message to edit and resend it (Ctrl+E)"),
            (self.clear_button, "Start a new conversation in every pane (Ctrl+L)"),
        ):
            button.setToolTip(tip)
        actions = QHBoxLayout()
        actions.addWidget(self.clear_button)
        actions.addWidget(self.edit_button)
        actions.addWidget(self.regenerate_button)
        actions.addStretch(1)
        actions.addWidget(self.stop_button)
        actions.addWidget(self.send_button)

        main = QWidget()
        main_layout = QVBoxLayout(main)
        main_layout.setContentsMargins(8, 8, 4, 8)
        main_layout.addLayout(toolbar)
        main_layout.addWidget(self.grid, 1)
        main_layout.addWidget(self.prompt)
        main_layout.addLayout(actions)

        self.system_prompt = QPlainTextEdit(p.system_prompt)
        self.system_prompt.setObjectName("systemPrompt")
        self.system_prompt.setPlaceholderText("You are a helpful assistant…")
        self.system_prompt.setTabChangesFocus(True)
        system_box = QGroupBox("System prompt (all panes)")
        system_layout = QVBoxLayout(system_box)
        system_layout.addWidget(self.system_prompt)

        self.params_box = QGroupBox()
        self.params = ParamPanel({})
        self.params.setObjectName("paramPanel")
        self.own_prompt_check = QCheckBox("Own system prompt for this pane")
        self.own_prompt_check.setObjectName("ownSystemPromptCheck")
        self.own_prompt = QPlainTextEdit()
        self.own_prompt.setObjectName("ownSystemPrompt")
        self.own_prompt.setTabChangesFocus(True)
        self.own_prompt.setFixedHeight(70)
        params_note = QLabel("“default” = not sent; the provider's default applies.")
        params_note.setWordWrap(True)
        params_note.setObjectName("hint")
        params_layout = QVBoxLayout(self.params_box)
        params_layout.addWidget(self.params)
        params_layout.addWidget(params_note)
        params_layout.addWidget(self.own_prompt_check)
        params_layout.addWidget(self.own_prompt)

        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(4, 8, 8, 8)
        side_layout.addWidget(system_box, 1)
        side_layout.addWidget(self.params_box)
        side_scroll = QScrollArea()
        side_scroll.setWidgetResizable(True)
        side_scroll.setWidget(side)
        # Never scroll sideways: the panel is at least as wide as its content plus a scroll bar.
        side_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        side_scroll.setMinimumWidth(
            side.minimumSizeHint().width() + side_scroll.verticalScrollBar().sizeHint().width()
        )

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(main)
        splitter.addWidget(side_scroll)
        splitter.setStretchFactor(0, 1)
        splitter.setSizes([900, 300])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)

    def _wire(self) -> None:
        p = self.presenter
        self.send_button.clicked.connect(self._on_send_clicked)
        self.stop_button.clicked.connect(p.stop)
        self.regenerate_button.clicked.connect(p.regenerate)
        self.edit_button.clicked.connect(self._on_edit_clicked)
        self.clear_button.clicked.connect(p.clear)
        self.add_target_button.clicked.connect(self._on_add_target)
        self.layout_button.setChecked(p.layout == "grid")
        self.layout_button.toggled.connect(lambda grid: p.set_layout("grid" if grid else "columns"))
        self.diff_button.clicked.connect(self.open_diff)
        self.system_prompt.textChanged.connect(
            lambda: p.set_system_prompt(self.system_prompt.toPlainText())
        )
        self.params.param_changed.connect(lambda name, value: self._pane().set_param(name, value))
        self.own_prompt_check.toggled.connect(self._on_own_prompt_toggled)
        self.own_prompt.textChanged.connect(self._on_own_prompt_edited)

        p.pane_added.connect(self._on_pane_added)
        p.pane_removed.connect(self._on_pane_removed)
        p.busy_changed.connect(self._on_busy_changed)
        p.layout_changed.connect(lambda _layout: self._arrange())
        p.marks_changed.connect(self._on_marks_changed)
        p.providers_changed.connect(self._on_providers_changed)

        def shortcut(keys: str, slot: Callable[[], object]) -> None:
            QShortcut(
                QKeySequence(keys),
                self,
                slot,
                context=Qt.ShortcutContext.WidgetWithChildrenShortcut,
            )

        shortcut("Ctrl+Return", self._on_send_clicked)
        shortcut("Ctrl+Enter", self._on_send_clicked)
        shortcut("Esc", p.stop)
        shortcut("Ctrl+R", p.regenerate)
        shortcut("Ctrl+E", self._on_edit_clicked)
        shortcut("Ctrl+L", p.clear)
        shortcut("Ctrl+T", self._on_add_target)
        shortcut("Ctrl+D", self.open_diff)

    # -- public --------------------------------------------------------------------------------

    def open_diff(self) -> DiffDialog:
        """Show the diff dialog (non-modal) for the current panes."""
        if self._diff_dialog is None:
            self._diff_dialog = DiffDialog(self.presenter, self)
        self._diff_dialog.reload()
        self._diff_dialog.show()
        return self._diff_dialog

    def export_to(self, path: Path) -> None:
        """Write the comparison to ``path``: Markdown for ``.md``, JSON otherwise."""
        p = self.presenter
        text = p.export_markdown() if path.suffix.lower() == ".md" else p.export_json()
        path.write_text(text, encoding="utf-8")

    # -- user commands -------------------------------------------------------------------------

    def _pane(self) -> ChatPane:
        return self.presenter.panes[self._selected]

    def _on_send_clicked(self) -> None:
        for view in self.pane_views:
            view.commit_model()
        if self.presenter.send(self.prompt.toPlainText()):
            self.prompt.clear()

    def _on_edit_clicked(self) -> None:
        text = self.presenter.edit_last()
        if text is not None:
            self.prompt.setPlainText(text)
            self.prompt.setFocus()
            self.prompt.moveCursor(self.prompt.textCursor().MoveOperation.End)

    def _on_add_target(self) -> None:
        index = self.presenter.add_target()
        if index is not None:
            self._select(index)

    def _vary(self, count: int, what: str) -> None:
        self.presenter.vary(self._selected, count, what)  # type: ignore[arg-type]
        self._select(0)

    def _ask_export(self, kind: str) -> None:
        dialog = QFileDialog(self, "Export comparison")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setDefaultSuffix(kind)
        dialog.setNameFilter("Markdown (*.md)" if kind == "md" else "JSON (*.json)")
        dialog.selectFile(f"comparison.{kind}")
        dialog.fileSelected.connect(lambda path: self.export_to(Path(path)))
        dialog.open()

    def _on_own_prompt_toggled(self, own: bool) -> None:
        self.own_prompt.setVisible(own)
        if own and not self.own_prompt.toPlainText():
            self.own_prompt.setPlainText(self.presenter.system_prompt)
        self._pane().set_own_system_prompt(self.own_prompt.toPlainText() if own else None)

    def _on_own_prompt_edited(self) -> None:
        if self.own_prompt_check.isChecked():
            self._pane().set_own_system_prompt(self.own_prompt.toPlainText())

    # -- presenter events ----------------------------------------------------------------------

    def _on_pane_added(self, index: int) -> None:
        view = PaneView(self.presenter.panes[index], self.presenter.providers())
        view.activated.connect(lambda v=view: self._select(self.pane_views.index(v)))
        view.duplicate_requested.connect(
            lambda v=view: self.presenter.duplicate_target(self.pane_views.index(v))
        )
        view.remove_requested.connect(
            lambda v=view: self.presenter.remove_target(self.pane_views.index(v))
        )
        view.continue_requested.connect(
            lambda v=view: self.presenter.continue_with(self.pane_views.index(v))
        )
        self.pane_views.insert(index, view)
        self._arrange()

    def _on_pane_removed(self, index: int) -> None:
        view = self.pane_views.pop(index)
        view.deleteLater()
        self._arrange()
        self._select(min(self._selected, len(self.pane_views) - 1))

    def _arrange(self) -> None:
        for number, view in enumerate(self.pane_views):
            view.setObjectName(f"pane-{number}")
            view.set_removable(len(self.pane_views) > 1)
            view.set_can_duplicate(self.presenter.can_add)
        self.add_target_button.setEnabled(self.presenter.can_add)
        self.grid.arrange(list(self.pane_views), self.presenter.layout)

    def _select(self, index: int) -> None:
        if not self.pane_views:
            return
        self._selected = max(0, min(index, len(self.pane_views) - 1))
        for number, view in enumerate(self.pane_views):
            view.set_selected(number == self._selected and len(self.pane_views) > 1)
        pane = self._pane()
        self.params_box.setTitle(
            f"Parameters — pane {self._selected + 1}" if len(self.pane_views) > 1 else "Parameters"
        )
        self.params.set_values(pane.params)
        own = pane.own_system_prompt
        for widget in (self.own_prompt_check, self.own_prompt):
            widget.blockSignals(True)
        self.own_prompt_check.setChecked(own is not None)
        self.own_prompt.setPlainText(own or "")
        self.own_prompt.setVisible(own is not None)
        for widget in (self.own_prompt_check, self.own_prompt):
            widget.blockSignals(False)

    def _on_busy_changed(self, busy: bool) -> None:
        has_turns = any(pane.turns for pane in self.presenter.panes)
        self.send_button.setEnabled(not busy)
        self.stop_button.setEnabled(busy)
        self.regenerate_button.setEnabled(not busy and has_turns)
        self.edit_button.setEnabled(not busy and has_turns)
        self.vary_button.setEnabled(not busy)

    def _on_marks_changed(self, fastest: int | None, cheapest: int | None) -> None:
        for number, view in enumerate(self.pane_views):
            view.set_marks(number == fastest, number == cheapest)

    def _on_providers_changed(self) -> None:
        providers = self.presenter.providers()
        for view in self.pane_views:
            view.fill_providers(providers)
