"""A tab's presets: the toolbar button and its menu, and the dialog that manages them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QListWidget,
    QMenu,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.domain.sessions import SessionError
from app.presenters.presets import Presets
from app.presenters.workbench import Workbench

__all__ = ["PresetsButton", "PresetsDialog"]


class PresetsButton(QToolButton):
    """``presetsButton``: save the tab's setup as a preset, apply one, or manage them.

    Args:
        confirm: asks before results on screen are replaced (False cancels).
        report: shows a sentence to the user (a failure, or what was done).
    """

    def __init__(
        self,
        workbench: Workbench,
        presets: Presets,
        confirm: Callable[[str], bool],
        report: Callable[[str], None],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.workbench = workbench
        self.presets = presets
        self._confirm = confirm
        self._report = report
        self._dialog: PresetsDialog | None = None
        self.setObjectName("presetsButton")
        self.setText("Presets")
        self.setToolTip("Save this tab's targets, parameters and inputs by name, and reuse them")
        self.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.setMenu(QMenu(self))
        self.menu().aboutToShow.connect(self._fill_menu)

    def save_as(self, name: str) -> bool:
        """Save the tab's setup as ``name`` (an existing preset of that name is replaced)."""
        try:
            saved = self.presets.save(self.workbench, name)
        except SessionError as error:
            self._report(str(error))
            return False
        self._report(f'Saved preset "{saved}".')
        return True

    def apply(self, name: str) -> bool:
        """Set the tab up as preset ``name`` says, after asking when results would be lost."""
        if self.workbench.has_results and not self._confirm(
            f'The preset "{name}" replaces every pane, and their results are lost.'
        ):
            return False
        try:
            self.presets.apply(self.workbench, name)
        except (SessionError, ValueError) as error:
            self._report(str(error))
            return False
        return True

    def manage(self) -> PresetsDialog:
        """Show the dialog that renames, deletes, exports and imports presets."""
        if self._dialog is None:
            self._dialog = PresetsDialog(self.workbench.tab_id, self.presets, self)
        self._dialog.reload()
        self._dialog.show()
        return self._dialog

    def _fill_menu(self) -> None:
        menu = self.menu()
        assert menu is not None
        menu.clear()
        menu.addAction("Save as preset…").triggered.connect(self._ask_name)
        names = self.presets.names(self.workbench.tab_id)
        if names:
            menu.addSeparator()
        for name in names:
            menu.addAction(name).triggered.connect(lambda _=False, n=name: self.apply(n))
        menu.addSeparator()
        menu.addAction("Manage presets…").triggered.connect(self.manage)

    def _ask_name(self) -> None:
        name, ok = QInputDialog.getText(
            self, "Save preset", "Name (targets, parameters and inputs are saved):"
        )
        if ok:
            self.save_as(name)


class PresetsDialog(QDialog):
    """``presetsDialog``: one tab's presets, to rename, delete, export and import."""

    def __init__(self, tab: str, presets: Presets, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tab = tab
        self.presets = presets
        self.setObjectName("presetsDialog")
        self.setWindowTitle("Presets")
        self.resize(460, 360)
        self.list = QListWidget()
        self.list.setObjectName("presetsList")
        self.status = QLabel()
        self.status.setObjectName("presetsStatus")
        self.status.setWordWrap(True)
        buttons = QVBoxLayout()
        for text, name, slot in (
            ("Rename…", "presetRenameButton", self._ask_rename),
            ("Delete", "presetDeleteButton", self.delete_selected),
            ("Export…", "presetExportButton", self._ask_export),
            ("Import…", "presetImportButton", self._ask_import),
        ):
            button = QPushButton(text)
            button.setObjectName(name)
            button.clicked.connect(slot)
            buttons.addWidget(button)
        buttons.addStretch(1)
        close = QPushButton("Close")
        close.clicked.connect(self.close)
        buttons.addWidget(close)
        row = QHBoxLayout()
        row.addWidget(self.list, 1)
        row.addLayout(buttons)
        layout = QVBoxLayout(self)
        layout.addLayout(row, 1)
        layout.addWidget(self.status)
        presets.changed.connect(lambda tab: self.reload() if tab == self.tab else None)

    def reload(self) -> None:
        """List the tab's presets again."""
        selected = self.selected()
        self.list.clear()
        self.list.addItems(self.presets.names(self.tab))
        matches = self.list.findItems(selected or "", Qt.MatchFlag.MatchExactly)
        self.list.setCurrentRow(self.list.row(matches[0]) if matches else 0)
        self.status.setText(self.presets.problem)

    def selected(self) -> str | None:
        """Name of the selected preset."""
        item = self.list.currentItem()
        return item.text() if item is not None else None

    def rename_selected(self, new: str) -> bool:
        """Rename the selected preset to ``new``."""
        old = self.selected()
        return old is not None and self._do(lambda: self.presets.rename(self.tab, old, new))

    def delete_selected(self) -> bool:
        """Delete the selected preset."""
        name = self.selected()
        return name is not None and self._do(lambda: self.presets.delete(self.tab, name))

    def export_selected(self, path: Path) -> bool:
        """Write the selected preset to ``path``."""
        name = self.selected()
        if name is None or not self._do(lambda: self.presets.export_to(self.tab, name, path)):
            return False
        self.status.setText(f'Exported "{name}" to {path.name}.')
        return True

    def import_from(self, path: Path) -> bool:
        """Add the preset in ``path`` to this tab."""
        names: list[str] = []
        if not self._do(lambda: names.append(self.presets.import_from(self.tab, path))):
            return False
        self.status.setText(f'Imported "{names[0]}".')
        return True

    def _do(self, change: Callable[[], object]) -> bool:
        try:
            change()
        except SessionError as error:
            self.status.setText(str(error))
            return False
        return True

    def _ask_rename(self) -> None:
        old = self.selected()
        if old is None:
            return
        new, ok = QInputDialog.getText(self, "Rename preset", "New name:", text=old)
        if ok:
            self.rename_selected(new)

    def _ask_export(self) -> None:
        name = self.selected()
        if name is None:
            return
        dialog = QFileDialog(self, "Export preset")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setDefaultSuffix("json")
        dialog.setNameFilter("Fireplay preset (*.json)")
        dialog.selectFile(f"{name}.fireplay-preset.json")
        dialog.fileSelected.connect(lambda path: self.export_selected(Path(path)))
        dialog.open()

    def _ask_import(self) -> None:
        dialog = QFileDialog(self, "Import preset")
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.setNameFilter("Fireplay preset (*.json);;All files (*)")
        dialog.fileSelected.connect(lambda path: self.import_from(Path(path)))
        dialog.open()
