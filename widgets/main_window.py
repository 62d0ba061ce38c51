"""The main window: one tab per modality, a menu, and a status bar.

It is built in two steps so that it can paint before the slow part of start-up: the constructor
makes the frame (menus, the tab bar with one empty page per registered tab, restored placement), and
:meth:`MainWindow.attach` builds the shown tab's presenter and view once the services exist; the
other tabs follow one per event-loop turn once the loop runs (or at once when opened first), so
neither the first paint nor the first input waits for tabs that are not on screen.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMainWindow, QMessageBox, QTabWidget, QWidget

import app
from app.storage import WindowState
from widgets.tabs.registry import TABS

if TYPE_CHECKING:
    from app.presenters.services import Services
    from app.presenters.workbench import Workbench
    from widgets.common.workbench_view import WorkbenchView
    from widgets.history_dialog import HistoryDialog
    from widgets.settings_dialog import SettingsDialog

__all__ = ["MainWindow"]


class MainWindow(QMainWindow):
    """Fireplay's window: a frame first, then its tabs (see :meth:`attach`).

    Signals:
        closed(): the user closed the window; the application should quit.
    """

    closed = Signal()

    def __init__(self, state: WindowState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services: Services | None = None
        self.presenters: dict[str, Workbench] = {}
        self.views: dict[str, WorkbenchView] = {}
        self._started = False
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
        self._history_dialog: HistoryDialog | None = None
        self._build_menus()

    def attach(self, services: Services) -> None:
        """Build the tab shown now in place of its empty page (the others: :meth:`started`)."""
        self.services = services
        self._build_tab(self.tabs.currentIndex())
        self.tabs.currentChanged.connect(self._build_tab)
        # Bound here, not in the frame: the first key sequence makes PySide6 build its large key
        # enums (about 20 ms), and no key press is handled before this point anyway.
        self._settings_action.setShortcut(QKeySequence("Ctrl+,"))
        self._quit_action.setShortcut(QKeySequence("Ctrl+Q"))
        self._history_action.setShortcut(QKeySequence("Ctrl+H"))
        self._save_session_action.setShortcut(QKeySequence("Ctrl+Shift+S"))
        self._open_session_action.setShortcut(QKeySequence("Ctrl+Shift+O"))
        services.runner.task_failed.connect(self._on_task_failed)
        services.history.problem_changed.connect(self._on_history_problem)

    def current_tab_id(self) -> str:
        """Id of the tab shown."""
        return TABS[max(0, self.tabs.currentIndex())].id

    def started(self) -> None:
        """Called once the event loop runs: load what the first paint need not wait for."""
        assert self.services is not None, "attach() comes first"
        settings = self.services.settings
        if settings.load_problem:
            self.statusBar().showMessage(settings.load_problem)  # until something replaces it
        else:
            self.statusBar().showMessage(settings.secrets_description, 8000)
        self._started = True
        for presenter in self.presenters.values():
            presenter.refresh_models(include_local=False)
        # After the shown tab has painted: building the others must not delay its first frame.
        QTimer.singleShot(0, self, self._build_next_tab)

    def _build_next_tab(self) -> None:
        pending = [i for i, spec in enumerate(TABS) if spec.id not in self.presenters]
        if pending:
            self._build_tab(pending[0])
            QTimer.singleShot(0, self, self._build_next_tab)

    def _build_tab(self, index: int) -> None:
        spec = TABS[index]
        if spec.id in self.presenters or self.services is None:
            return
        presenter, view = spec.build(self.services)
        presenter.setParent(self)
        view.setObjectName(f"tab-{spec.id}")
        self.presenters[spec.id] = presenter
        self.views[spec.id] = view
        view.hand_over.connect(self._hand_over)
        frame_page = self.tabs.widget(index)
        current = self.tabs.currentIndex()
        self.tabs.blockSignals(True)
        self.tabs.insertTab(index, view, spec.title)
        self.tabs.removeTab(index + 1)
        self.tabs.setCurrentIndex(current)
        self.tabs.blockSignals(False)
        # Owned by Python alone from here on: deleted now, so findChild never finds it.
        frame_page.setParent(None)  # type: ignore[union-attr]
        if self._started:
            presenter.refresh_models(include_local=False)

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

    def open_history(self) -> HistoryDialog:
        """Show the history window (non-modal) and return it."""
        from widgets.history_dialog import HistoryDialog

        assert self.services is not None, "attach() comes first"
        if self._history_dialog is None:
            titles = {spec.id: spec.title for spec in TABS}
            self._history_dialog = HistoryDialog(self.services.history, titles, self)
            self._history_dialog.reopen_requested.connect(self.reopen_run)
        self._history_dialog.refresh()
        self._history_dialog.show()
        self._history_dialog.raise_()
        return self._history_dialog

    def reopen_run(self, run_id: int) -> bool:
        """Show a run from the history in its tab: its target, inputs and output."""
        assert self.services is not None, "attach() comes first"
        history = self.services.history
        record = history.get(run_id)
        index = next((i for i, spec in enumerate(TABS) if record and spec.id == record.tab), None)
        if record is None or index is None:
            return False
        self.tabs.setCurrentIndex(index)  # builds the tab if it is not yet
        presenter, view = self.presenters[record.tab], self.views[record.tab]
        if presenter.has_results and not view.confirm_discard(
            "Reopening the run replaces this tab's panes, and their results are lost."
        ):
            return False
        try:
            presenter.restore(history.tab_state(record))
        except ValueError as error:
            self.statusBar().showMessage(f"Could not reopen the run: {error}", 10000)
            return False
        self.statusBar().showMessage(f"Reopened the run of {record.model}.", 5000)
        return True

    def save_session(self, path: Path) -> bool:
        """Write every tab (targets, inputs, results) to ``path``."""
        from app.domain.sessions import SessionError
        from app.presenters.presets import save_session

        self._build_every_tab()
        try:
            save_session(path, self.presenters)
        except SessionError as error:
            QMessageBox.warning(self, "Session not saved", str(error))
            return False
        self.statusBar().showMessage(f"Saved the session to {path}.", 8000)
        return True

    def open_session(self, path: Path) -> bool:
        """Put every tab back as the session in ``path`` has it."""
        from app.domain.sessions import SessionError
        from app.presenters.presets import open_session

        self._build_every_tab()
        if any(p.has_results for p in self.presenters.values()) and not self._confirm_replace():
            return False
        try:
            unknown = open_session(path, self.presenters)
        except SessionError as error:
            QMessageBox.warning(self, "Session not opened", str(error))
            return False
        note = f" (tabs this version lacks were skipped: {', '.join(unknown)})" if unknown else ""
        self.statusBar().showMessage(f"Opened the session {path.name}{note}.", 8000)
        return True

    def _confirm_replace(self) -> bool:
        answer = QMessageBox.question(
            self,
            "Replace every tab?",
            "Opening a session replaces every tab's panes, and their results are lost.\n\n"
            "Save the session first (File → Save session) if you want to keep them.",
            QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        return answer == QMessageBox.StandardButton.Discard

    def _build_every_tab(self) -> None:
        for index in range(len(TABS)):
            self._build_tab(index)

    def _ask_save_session(self) -> None:
        from app.domain.sessions import SESSION_SUFFIX

        dialog = QFileDialog(self, "Save session")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setNameFilter(f"Fireplay session (*{SESSION_SUFFIX});;All files (*)")
        dialog.selectFile(f"demo{SESSION_SUFFIX}")
        dialog.fileSelected.connect(lambda path: self.save_session(Path(path)))
        dialog.open()

    def _ask_open_session(self) -> None:
        from app.domain.sessions import SESSION_SUFFIX

        dialog = QFileDialog(self, "Open session")
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.setNameFilter(f"Fireplay session (*{SESSION_SUFFIX});;All files (*)")
        dialog.fileSelected.connect(lambda path: self.open_session(Path(path)))
        dialog.open()

    def _on_history_problem(self, problem: str) -> None:
        if problem:
            self.statusBar().showMessage(problem, 15000)

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self._open_session_action = QAction("&Open session…", self)
        self._open_session_action.setObjectName("openSessionAction")
        self._open_session_action.triggered.connect(self._ask_open_session)
        file_menu.addAction(self._open_session_action)
        self._save_session_action = QAction("Save &session…", self)
        self._save_session_action.setObjectName("saveSessionAction")
        self._save_session_action.triggered.connect(self._ask_save_session)
        file_menu.addAction(self._save_session_action)
        file_menu.addSeparator()
        self._history_action = QAction("&History…", self)
        self._history_action.setObjectName("historyAction")
        self._history_action.triggered.connect(self.open_history)
        file_menu.addAction(self._history_action)
        file_menu.addSeparator()
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
        from widgets.common.workbench_view import WORKBENCH_SHORTCUTS

        rows = list(WORKBENCH_SHORTCUTS)
        for spec in TABS:
            view = self.views.get(spec.id)
            extra = [row for row in view.shortcuts if row not in rows] if view else []
            rows += [(keys, f"{what} ({spec.title})") for keys, what in extra]
        rows += [
            ("Ctrl+H", "History"),
            ("Ctrl+Shift+S", "Save session"),
            ("Ctrl+Shift+O", "Open session"),
            ("Ctrl+,", "Settings"),
            ("Ctrl+Q", "Quit"),
        ]
        text = "".join(f"<tr><td><b>{k}</b></td><td>&nbsp;&nbsp;{v}</td></tr>" for k, v in rows)
        QMessageBox.information(self, "Keyboard shortcuts", f"<table>{text}</table>")

    def _show_about(self) -> None:
        QMessageBox.about(
            self,
            "About Fireplay",
            f"<b>Fireplay {app.__version__}</b><p>A native playground for Fireworks AI and every "
            "OpenAI-compatible inference API.</p>",
        )

    def _hand_over(self, tab_id: str, text: str) -> None:
        index = next((i for i, spec in enumerate(TABS) if spec.id == tab_id), None)
        if index is None:
            return
        self.tabs.setCurrentIndex(index)  # builds the tab if it is not yet
        self.views[tab_id].receive_text(text)

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
