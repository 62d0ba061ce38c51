"""The view every tab is: a toolbar, the panes side by side, the tab's input, and a side panel.

A tab subclasses :class:`WorkbenchView` with its input widget (:meth:`_build_input`), its pane
view (:meth:`_make_pane_view`), what Send does (:meth:`_send`), and optionally extra buttons,
side-panel boxes and shortcuts. Panes, layout, Stop, Diff, Export, Same model × N and the
parameter box are built here once.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.presenters.workbench import MAX_PANES, Variation, Workbench, WorkbenchPane
from widgets.common.diff_view import DiffDialog
from widgets.common.pane_grid import PaneGrid
from widgets.common.pane_view import PaneView
from widgets.common.param_panel import ParamPanel
from widgets.common.presets import PresetsButton

__all__ = ["WORKBENCH_SHORTCUTS", "WorkbenchView"]

WORKBENCH_SHORTCUTS: tuple[tuple[str, str], ...] = (
    ("Ctrl+Return", "Send to every pane"),
    ("Esc", "Stop every pane (what arrived is kept)"),
    ("Ctrl+T", "Add a target (pane)"),
    ("Ctrl+D", "Diff two panes' results"),
)


class WorkbenchView(QWidget):
    """View of a :class:`Workbench`.

    Attributes:
        shortcuts: (keys, what they do) of this tab, for the Help menu.

    Signals:
        hand_over(str, str): put this text into the input of the tab with this id (the main
            window shows that tab and calls its :meth:`receive_text`).
    """

    hand_over = Signal(str, str)

    shortcuts: ClassVar[tuple[tuple[str, str], ...]] = WORKBENCH_SHORTCUTS

    def __init__(self, presenter: Workbench, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.presenter = presenter
        self.pane_views: list[PaneView] = []
        self._selected = 0
        self._diff_dialog: DiffDialog | None = None
        self._shortcut_keys: set[int] = set()
        self._build()
        for index in range(len(presenter.panes)):
            self._on_pane_added(index)
        self._wire()
        self._select(0)
        self._on_busy_changed(False)
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)

    # -- for subclasses ------------------------------------------------------------------------

    def _build_input(self) -> QWidget:
        """The tab's input area, above the Send row."""
        raise NotImplementedError

    def _make_pane_view(self, pane: Any) -> PaneView:
        raise NotImplementedError

    def _send(self) -> bool:
        """Send the input to every pane; False when nothing was sent."""
        raise NotImplementedError

    def _action_buttons(self) -> list[QWidget]:
        """The tab's own buttons, left of Stop and Send."""
        return []

    def _side_boxes(self) -> list[QWidget]:
        """The tab's own boxes in the side panel, above the parameters."""
        return []

    def _pane_param_widgets(self) -> list[QWidget]:
        """The tab's own per-pane widgets below the parameters (they edit the selected pane)."""
        return []

    def _tab_shortcuts(self) -> list[tuple[str, Callable[[], object]]]:
        """The tab's own (keys, slot) pairs."""
        return []

    def _pane_selected(self, pane: Any) -> None:
        """The side panel now edits ``pane``: show its own settings."""

    def _update_actions(self) -> None:
        """Enable the tab's own buttons for the current state."""

    def receive_text(self, text: str) -> None:
        """Text another tab handed over (e.g. a transcript) for this tab's input; tabs override."""

    # -- construction --------------------------------------------------------------------------

    def _build(self) -> None:
        self.add_target_button = QPushButton("+ Add target")
        self.add_target_button.setObjectName("addTargetButton")
        self.add_target_button.setToolTip(
            f"Add a pane answering the same input (up to {MAX_PANES}; Ctrl+T)"
        )
        self.layout_button = QToolButton()
        self.layout_button.setObjectName("layoutButton")
        self.layout_button.setCheckable(True)
        self.layout_button.setText("Grid")
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
            action.triggered.connect(lambda _=False, n=count: self.vary(n, "seed"))
        vary_menu.addSeparator()
        for count in (3, 4, 5):
            action = vary_menu.addAction(f"{count} temperatures (0 → 1.4)")
            action.triggered.connect(lambda _=False, n=count: self.vary(n, "temperature"))
        self.vary_button.setMenu(vary_menu)
        self.diff_button = QPushButton("Diff…")
        self.diff_button.setObjectName("diffButton")
        self.export_button = QToolButton()
        self.export_button.setObjectName("exportButton")
        self.export_button.setText("Export")
        self.export_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        export_menu = QMenu(self.export_button)
        export_menu.addAction("As Markdown…").triggered.connect(lambda: self._ask_export("md"))
        export_menu.addAction("As JSON…").triggered.connect(lambda: self._ask_export("json"))
        self.export_button.setMenu(export_menu)
        self.presets_button = PresetsButton(
            self.presenter, self.presenter.presets, self.confirm_discard, self.show_message
        )
        toolbar = QHBoxLayout()
        toolbar.addWidget(self.add_target_button)
        toolbar.addWidget(self.vary_button)
        toolbar.addWidget(self.layout_button)
        toolbar.addWidget(self.presets_button)
        toolbar.addStretch(1)
        toolbar.addWidget(self.diff_button)
        toolbar.addWidget(self.export_button)

        self.grid = PaneGrid()
        self.grid.setObjectName("paneGrid")
        # Panes keep a readable width; past what the window holds they scroll, and the window
        # never grows with them (its size is the user's).
        self.grid_scroll = QScrollArea()
        self.grid_scroll.setObjectName("paneScroll")
        self.grid_scroll.setWidgetResizable(True)
        self.grid_scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.grid_scroll.setWidget(self.grid)

        self.send_button = QPushButton("Send")
        self.send_button.setObjectName("sendButton")
        self.send_button.setToolTip("Send to every pane (Ctrl+Enter)")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setObjectName("stopButton")
        self.stop_button.setToolTip("Stop every pane; what arrived so far is kept (Esc)")
        actions = QHBoxLayout()
        for button in self._action_buttons():
            actions.addWidget(button)
        actions.addStretch(1)
        actions.addWidget(self.stop_button)
        actions.addWidget(self.send_button)

        main = QWidget()
        main_layout = QVBoxLayout(main)
        main_layout.setContentsMargins(8, 8, 4, 8)
        main_layout.addLayout(toolbar)
        main_layout.addWidget(self.grid_scroll, 1)
        main_layout.addWidget(self._build_input())
        main_layout.addLayout(actions)

        self.params_box = QGroupBox()
        self.params = ParamPanel({}, self.presenter.param_specs)
        self.params.setObjectName("paramPanel")
        params_note = QLabel("“default” = not sent; the provider's default applies.")
        params_note.setWordWrap(True)
        params_note.setObjectName("hint")
        params_layout = QVBoxLayout(self.params_box)
        params_layout.addWidget(self.params)
        params_layout.addWidget(params_note)
        for widget in self._pane_param_widgets():
            params_layout.addWidget(widget)

        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(4, 8, 8, 8)
        boxes = self._side_boxes()
        for box in boxes:
            side_layout.addWidget(box, 1)
        side_layout.addWidget(self.params_box)
        if not boxes:
            side_layout.addStretch(1)
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
        splitter.setCollapsible(0, False)
        splitter.setSizes([900, 300])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)

    def _wire(self) -> None:
        p = self.presenter
        self.send_button.clicked.connect(self.send)
        self.stop_button.clicked.connect(p.stop)
        self.add_target_button.clicked.connect(self._on_add_target)
        self.layout_button.setChecked(p.layout == "grid")
        self.layout_button.toggled.connect(lambda grid: p.set_layout("grid" if grid else "columns"))
        self.diff_button.clicked.connect(self.open_diff)
        self.params.param_changed.connect(
            lambda name, value: self.selected_pane().set_param(name, value)
        )
        p.pane_added.connect(self._on_pane_added)
        p.pane_removed.connect(self._on_pane_removed)
        p.busy_changed.connect(self._on_busy_changed)
        p.layout_changed.connect(lambda _layout: self._arrange())
        p.marks_changed.connect(self._on_marks_changed)
        p.providers_changed.connect(self._on_providers_changed)
        for keys, slot in [
            ("Ctrl+Return", self.send),
            ("Ctrl+Enter", self.send),
            ("Esc", p.stop),
            ("Ctrl+T", self._on_add_target),
            ("Ctrl+D", self.open_diff),
            *self._tab_shortcuts(),
        ]:
            sequence = QKeySequence(keys)
            QShortcut(sequence, self, slot, context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
            combination = sequence[0]  # type: ignore[index]
            if combination.keyboardModifiers() & Qt.KeyboardModifier.ControlModifier:
                self._shortcut_keys.add(combination.toCombined())

    # -- public --------------------------------------------------------------------------------

    def selected_pane(self) -> Any:
        """The pane the side panel edits."""
        return self.presenter.panes[self._selected]

    def send(self) -> None:
        """Send the tab's input to every pane (the Send button and Ctrl+Enter)."""
        for view in self.pane_views:
            view.commit_model()
        if self.send_button.isEnabled():
            self._send()

    def open_diff(self) -> DiffDialog | None:
        """Show the diff dialog (non-modal) for the current panes, when two have results."""
        if not self.presenter.can_diff:
            return None
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

    def vary(self, count: int, what: Variation) -> None:
        """Same model × N, after asking when it would throw results away."""
        if self.presenter.has_results and not self.confirm_discard(
            "Same model × N replaces every pane, and their results are lost."
        ):
            return
        self.presenter.vary(self._selected, count, what)
        self._select(0)

    def show_message(self, text: str) -> None:
        """Say ``text`` in the window's status bar (a failure, or what a command did)."""
        window = self.window()
        if isinstance(window, QMainWindow):
            window.statusBar().showMessage(text, 10000)

    def confirm_discard(self, what: str) -> bool:
        """Ask before results on screen are thrown away."""
        answer = QMessageBox.question(
            self,
            "Discard results?",
            f"{what}\n\nExport them first (Export menu) if you want to keep them.",
            QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        return answer == QMessageBox.StandardButton.Discard

    # -- events --------------------------------------------------------------------------------

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """The tab's Ctrl shortcuts win over a focused editor's own use of the same keys."""
        # Filtered without being accepted: the shortcut, not the editor, handles the key.
        return (
            event.type() == QEvent.Type.ShortcutOverride
            and isinstance(event, QKeyEvent)
            and isinstance(watched, QWidget)
            and self.isAncestorOf(watched)
            and event.keyCombination().toCombined() in self._shortcut_keys
        )

    # -- user commands -------------------------------------------------------------------------

    def _on_add_target(self) -> None:
        index = self.presenter.add_target()
        if index is not None:
            self._select(index)
            view = self.pane_views[index]
            # After the grid has laid the new pane out: scroll it into sight.
            QTimer.singleShot(0, lambda: self.grid_scroll.ensureWidgetVisible(view))

    def _ask_export(self, kind: str) -> None:
        dialog = QFileDialog(self, "Export comparison")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setDefaultSuffix(kind)
        dialog.setNameFilter("Markdown (*.md)" if kind == "md" else "JSON (*.json)")
        dialog.selectFile(f"comparison.{kind}")
        dialog.fileSelected.connect(lambda path: self.export_to(Path(path)))
        dialog.open()

    # -- presenter events ----------------------------------------------------------------------

    def _on_pane_added(self, index: int) -> None:
        pane: WorkbenchPane = self.presenter.panes[index]
        view = self._make_pane_view(pane)
        view.activated.connect(lambda v=view: self._select(self.pane_views.index(v)))
        view.duplicate_requested.connect(
            lambda v=view: self.presenter.duplicate_target(self.pane_views.index(v))
        )
        view.remove_requested.connect(
            lambda v=view: self.presenter.remove_target(self.pane_views.index(v))
        )
        pane.busy_changed.connect(lambda _busy: self._update_all_actions())
        self.pane_views.insert(index, view)
        self._arrange()

    def _on_pane_removed(self, index: int) -> None:
        view = self.pane_views.pop(index)
        # Out of the tab at once: until deleteLater runs, findChild("pane-N") must not find it.
        view.setObjectName("")
        view.hide()
        view.setParent(None)
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
        self._update_all_actions()

    def _select(self, index: int) -> None:
        if not self.pane_views:
            self._selected = 0  # every pane is being replaced (a restore): start again at the first
            return
        self._selected = max(0, min(index, len(self.pane_views) - 1))
        for number, view in enumerate(self.pane_views):
            view.set_selected(number == self._selected and len(self.pane_views) > 1)
        pane = self.selected_pane()
        self.params_box.setTitle(
            f"Parameters — pane {self._selected + 1}" if len(self.pane_views) > 1 else "Parameters"
        )
        self.params.set_values(pane.params)
        self._pane_selected(pane)

    def _on_busy_changed(self, busy: bool) -> None:
        self.send_button.setEnabled(not busy)
        self.stop_button.setEnabled(busy)
        self.vary_button.setEnabled(not busy)
        self._update_all_actions()

    def _update_all_actions(self) -> None:
        can_diff = self.presenter.can_diff
        self.diff_button.setEnabled(can_diff)
        self.diff_button.setToolTip(
            "Word-level diff of two panes' results (Ctrl+D)"
            if can_diff
            else "Diff needs two panes with results: add a target and send"
        )
        self._update_actions()

    def _on_marks_changed(self, fastest: int | None, cheapest: int | None) -> None:
        for number, view in enumerate(self.pane_views):
            view.set_marks(number == fastest, number == cheapest)

    def _on_providers_changed(self) -> None:
        providers = self.presenter.providers()
        for view in self.pane_views:
            view.fill_providers(providers)
