"""The main window: one tab per modality, a menu, and a status bar."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMessageBox, QTabWidget, QWidget

import app
from app.presenters.services import Services
from widgets.tabs.chat_tab import SHORTCUTS
from widgets.tabs.registry import TABS

if TYPE_CHECKING:
    from widgets.settings_dialog import SettingsDialog

__all__ = ["MainWindow"]


class MainWindow(QMainWindow):
    """Fireplay's window. Builds every registered tab from its presenter and view factories.

    Signals:
        closed(): the user closed the window; the application should quit.
    """

    closed = Signal()

    def __init__(self, services: Services, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services = services
        self.setObjectName("mainWindow")
        self.setWindowTitle("Fireplay")
        self.resize(1200, 780)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("mainTabs")
        self.tabs.setDocumentMode(True)
        self.presenters = {}
        for spec in TABS:
            presenter = spec.presenter(services)
            presenter.setParent(self)
            view = spec.view(presenter)
            view.setObjectName(f"tab-{spec.id}")
            self.presenters[spec.id] = presenter
            self.tabs.addTab(view, spec.title)
        self.setCentralWidget(self.tabs)
        self._settings_dialog: SettingsDialog | None = None
        self._build_menus()
        self._restore_state()
        services.runner.task_failed.connect(self._on_task_failed)

    def started(self) -> None:
        """Called once the event loop runs: load what the first paint need not wait for."""
        self.statusBar().showMessage(self.services.settings.secrets_description, 8000)
        for presenter in self.presenters.values():
            refresh = getattr(presenter, "refresh_models", None)
            if refresh is not None:
                refresh(include_local=False)

    def open_settings(self) -> SettingsDialog:
        """Show the settings dialog (non-modal) and return it."""
        # Imported here: building its many widget classes costs start-up time it does not need.
        from widgets.settings_dialog import SettingsDialog

        if self._settings_dialog is None:
            self._settings_dialog = SettingsDialog(self.services.settings, self)
        self._settings_dialog.show()
        self._settings_dialog.raise_()
        return self._settings_dialog

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        settings_action = QAction("&Settings…", self)
        settings_action.setObjectName("settingsAction")
        settings_action.setShortcut(QKeySequence.StandardKey.Preferences)
        settings_action.setShortcuts([QKeySequence("Ctrl+,")])
        settings_action.triggered.connect(self.open_settings)
        file_menu.addAction(settings_action)
        file_menu.addSeparator()
        quit_action = QAction("&Quit", self)
        quit_action.setShortcut(QKeySequence("Ctrl+Q"))
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)

        help_menu = self.menuBar().addMenu("&Help")
        keys_action = QAction("&Keyboard shortcuts", self)
        keys_action.triggered.connect(self._show_shortcuts)
        help_menu.addAction(keys_action)
        about_action = QAction("&About Fireplay", self)
        about_action.triggered.connect(self._show_about)
        help_menu.addAction(about_action)

    def _show_shortcuts(self) -> None:
        rows = [*SHORTCUTS, ("Ctrl+,", "Settings"), ("Ctrl+Q", "Quit")]
        text = "".join(f"<tr><td><b>{k}</b></td><td>&nbsp;&nbsp;{v}</td></tr>" for k, v in rows)
        QMessageBox.information(self, "Keyboard shortcuts", f"<table>{text}</table>")

    def _show_about(self) -> None:
        QMessageBox.about(
            self,
            "About Fireplay",
            f"<b>Fireplay {app.__version__}</b><p>A native playground for Fireworks AI and every "
            "OpenAI-compatible inference API.</p>",
        )

    def _restore_state(self) -> None:
        window = self.services.settings.settings.window
        if window.geometry:
            self.restoreGeometry(QByteArray.fromBase64(window.geometry.encode()))
        page = self.tabs.findChild(QWidget, f"tab-{window.current_tab}")
        if page is not None:
            self.tabs.setCurrentWidget(page)

    def _on_task_failed(self, name: str, error: BaseException) -> None:
        # A bug, not an expected error: say so plainly and keep the app running.
        self.statusBar().showMessage(f"Internal error in {name}: {error!r}", 15000)

    def closeEvent(self, event: QCloseEvent) -> None:
        """Remember geometry and the current tab, then ask the application to quit."""
        current = self.tabs.currentWidget()
        self.services.settings.update_window(
            geometry=bytes(self.saveGeometry().toBase64().data()).decode(),
            current_tab=current.objectName().removeprefix("tab-") if current else "chat",
        )
        super().closeEvent(event)
        self.closed.emit()
