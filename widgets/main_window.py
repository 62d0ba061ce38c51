"""The main window: one tab per modality, a menu, and a status bar.

It is built in two steps so that it can paint before the slow part of start-up: the constructor
makes the frame (menus, the tab bar with one empty page per registered tab, restored placement), and
:meth:`MainWindow.attach` builds every tab's presenter and view once the services exist.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMessageBox, QTabWidget, QWidget

import app
from app.storage import WindowState
from widgets.tabs.registry import TABS

if TYPE_CHECKING:
    from PySide6.QtCore import QObject

    from app.presenters.services import Services
    from widgets.settings_dialog import SettingsDialog

__all__ = ["MainWindow"]


class MainWindow(QMainWindow):
    """Fireplay's window: a frame first, then every registered tab (see :meth:`attach`).

    Signals:
        closed(): the user closed the window; the application should quit.
    """

    closed = Signal()

    def __init__(self, state: WindowState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services: Services | None = None
        self.presenters: dict[str, QObject] = {}
        self.setObjectName("mainWindow")
        self.setWindowTitle("Fireplay")
        self.resize(1200, 780)
        if state.geometry:
            self.restoreGeometry(QByteArray.fromBase64(state.geometry.encode()))
        self.tabs = QTabWidget()
        self.tabs.setObjectName("mainTabs")
        self.tabs.setDocumentMode(True)
        for spec in TABS:
            page = QWidget()
            page.setObjectName(f"tab-{spec.id}")
            self.tabs.addTab(page, spec.title)
            if spec.id == state.current_tab:
                self.tabs.setCurrentWidget(page)
        self.setCentralWidget(self.tabs)
        self._settings_dialog: SettingsDialog | None = None
        self._build_menus()

    def attach(self, services: Services) -> None:
        """Build every registered tab's presenter and view in place of its empty page."""
        self.services = services
        current = self.tabs.currentIndex()
        for index, spec in enumerate(TABS):
            presenter, view = spec.build(services)
            presenter.setParent(self)
            view.setObjectName(f"tab-{spec.id}")
            self.presenters[spec.id] = presenter
            frame_page = self.tabs.widget(index)
            self.tabs.insertTab(index, view, spec.title)
            self.tabs.removeTab(index + 1)
            # Owned by Python alone from here on: deleted now, so findChild never finds it.
            frame_page.setParent(None)  # type: ignore[union-attr]
        self.tabs.setCurrentIndex(current)
        # Bound here, not in the frame: the first key sequence makes PySide6 build its large key
        # enums (about 20 ms), and no key press is handled before this point anyway.
        self._settings_action.setShortcut(QKeySequence("Ctrl+,"))
        self._quit_action.setShortcut(QKeySequence("Ctrl+Q"))
        services.runner.task_failed.connect(self._on_task_failed)

    def started(self) -> None:
        """Called once the event loop runs: load what the first paint need not wait for."""
        assert self.services is not None, "attach() comes first"
        settings = self.services.settings
        if settings.load_problem:
            self.statusBar().showMessage(settings.load_problem)  # until something replaces it
        else:
            self.statusBar().showMessage(settings.secrets_description, 8000)
        for presenter in self.presenters.values():
            refresh = getattr(presenter, "refresh_models", None)
            if refresh is not None:
                refresh(include_local=False)

    def open_settings(self) -> SettingsDialog:
        """Show the settings dialog (non-modal) and return it."""
        # Imported here: building its many widget classes costs start-up time it does not need.
        from widgets.settings_dialog import SettingsDialog

        assert self.services is not None, "attach() comes first"
        if self._settings_dialog is None:
            self._settings_dialog = SettingsDialog(self.services.settings, self)
        self._settings_dialog.show()
        self._settings_dialog.raise_()
        return self._settings_dialog

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self._settings_action = QAction("&Settings…", self)
        self._settings_action.setObjectName("settingsAction")
        self._settings_action.triggered.connect(self.open_settings)
        file_menu.addAction(self._settings_action)
        file_menu.addSeparator()
        self._quit_action = QAction("&Quit", self)
        self._quit_action.triggered.connect(self.close)
        file_menu.addAction(self._quit_action)

        help_menu = self.menuBar().addMenu("&Help")
        keys_action = QAction("&Keyboard shortcuts", self)
        keys_action.triggered.connect(self._show_shortcuts)
        help_menu.addAction(keys_action)
        about_action = QAction("&About Fireplay", self)
        about_action.triggered.connect(self._show_about)
        help_menu.addAction(about_action)

    def _show_shortcuts(self) -> None:
        tab_rows = [row for index in range(self.tabs.count()) for row in self._shortcuts_of(index)]
        rows = [*tab_rows, ("Ctrl+,", "Settings"), ("Ctrl+Q", "Quit")]
        text = "".join(f"<tr><td><b>{k}</b></td><td>&nbsp;&nbsp;{v}</td></tr>" for k, v in rows)
        QMessageBox.information(self, "Keyboard shortcuts", f"<table>{text}</table>")

    def _show_about(self) -> None:
        QMessageBox.about(
            self,
            "About Fireplay",
            f"<b>Fireplay {app.__version__}</b><p>A native playground for Fireworks AI and every "
            "OpenAI-compatible inference API.</p>",
        )

    def _shortcuts_of(self, index: int) -> tuple[tuple[str, str], ...]:
        shortcuts: tuple[tuple[str, str], ...] = getattr(self.tabs.widget(index), "shortcuts", ())
        return shortcuts

    def _on_task_failed(self, name: str, error: BaseException) -> None:
        # A bug, not an expected error: say so plainly and keep the app running.
        self.statusBar().showMessage(f"Internal error in {name}: {error!r}", 15000)

    def closeEvent(self, event: QCloseEvent) -> None:
        """Remember geometry and the current tab, then ask the application to quit."""
        if self.services is not None:
            current = self.tabs.currentWidget()
            self.services.settings.update_window(
                WindowState(
                    geometry=bytes(self.saveGeometry().toBase64().data()).decode(),
                    current_tab=current.objectName().removeprefix("tab-"),
                )
            )
        super().closeEvent(event)
        self.closed.emit()
