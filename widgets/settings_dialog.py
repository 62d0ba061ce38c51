"""Settings: provider profiles, their endpoints and API keys.

Edits apply as soon as a field is committed; the dialog never writes files itself, it calls the
settings presenter.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.presenters.settings import SettingsPresenter

__all__ = ["SettingsDialog"]


class SettingsDialog(QDialog):
    """Providers on the left, the selected provider's endpoint and key on the right."""

    def __init__(self, presenter: SettingsPresenter, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.presenter = presenter
        self.setObjectName("settingsDialog")
        self.setWindowTitle("Settings")
        self.resize(760, 460)

        self.provider_list = QListWidget()
        self.provider_list.setObjectName("providerList")
        self.provider_list.setMaximumWidth(220)
        self.add_button = QPushButton("Add endpoint…")
        self.add_button.setObjectName("addProviderButton")
        self.remove_button = QPushButton("Remove")
        self.remove_button.setObjectName("removeProviderButton")
        left = QVBoxLayout()
        left.addWidget(self.provider_list, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        left.addLayout(buttons)

        self.name_edit = QLineEdit()
        self.name_edit.setObjectName("providerName")
        self.url_edit = QLineEdit()
        self.url_edit.setObjectName("providerBaseUrl")
        self.url_edit.setPlaceholderText("https://host/v1")
        self.model_edit = QLineEdit()
        self.model_edit.setObjectName("providerDefaultModel")
        self.key_edit = QLineEdit()
        self.key_edit.setObjectName("apiKeyInput")
        self.key_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.key_edit.setPlaceholderText("paste a new key to store it")
        self.save_key_button = QPushButton("Save key")
        self.save_key_button.setObjectName("saveKeyButton")
        self.forget_key_button = QPushButton("Forget key")
        self.forget_key_button.setObjectName("forgetKeyButton")
        self.key_status = QLabel()
        self.key_status.setObjectName("keyStatus")
        self.key_status.setWordWrap(True)
        key_row = QHBoxLayout()
        key_row.addWidget(self.key_edit, 1)
        key_row.addWidget(self.save_key_button)
        key_row.addWidget(self.forget_key_button)

        self.form_box = QGroupBox()
        form = QFormLayout(self.form_box)
        form.addRow("Name", self.name_edit)
        form.addRow("Base URL", self.url_edit)
        form.addRow("Default model", self.model_edit)
        form.addRow("API key", key_row)
        form.addRow("", self.key_status)

        self.model_files_box = QGroupBox("More models for the built-in engine (.gguf files)")
        self.model_files_box.setObjectName("modelFilesBox")
        self.model_file_list = QListWidget()
        self.model_file_list.setObjectName("modelFileList")
        self.model_file_list.setMaximumHeight(90)
        self.add_model_file_button = QPushButton("Add .gguf…")
        self.add_model_file_button.setObjectName("addModelFileButton")
        self.remove_model_file_button = QPushButton("Remove")
        self.remove_model_file_button.setObjectName("removeModelFileButton")
        self.model_file_status = QLabel(
            "Each file becomes a model of the built-in engine, named after the file."
        )
        self.model_file_status.setObjectName("modelFileStatus")
        self.model_file_status.setWordWrap(True)
        file_buttons = QHBoxLayout()
        file_buttons.addWidget(self.add_model_file_button)
        file_buttons.addWidget(self.remove_model_file_button)
        file_buttons.addStretch(1)
        files_layout = QVBoxLayout(self.model_files_box)
        files_layout.addWidget(self.model_file_list)
        files_layout.addLayout(file_buttons)
        files_layout.addWidget(self.model_file_status)

        self.storage_note = QLabel(presenter.secrets_description)
        self.storage_note.setObjectName("keyStorageNote")
        self.storage_note.setWordWrap(True)
        self.storage_note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        right = QVBoxLayout()
        right.addWidget(self.form_box)
        right.addWidget(self.model_files_box)
        right.addStretch(1)
        right.addWidget(self.storage_note)

        body = QHBoxLayout()
        body.addLayout(left)
        body.addLayout(right, 1)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addLayout(body, 1)
        layout.addWidget(close)

        # Adding an endpoint happens inline: the add button turns the form into a "new" form.
        self._adding = False
        self.provider_list.currentItemChanged.connect(self._on_selection_changed)
        self.name_edit.editingFinished.connect(lambda: self._commit("name", self.name_edit))
        self.url_edit.editingFinished.connect(lambda: self._commit("base_url", self.url_edit))
        self.model_edit.editingFinished.connect(
            lambda: self._commit("default_model", self.model_edit)
        )
        self.save_key_button.clicked.connect(self._on_save_key)
        self.forget_key_button.clicked.connect(self._on_forget_key)
        self.add_button.clicked.connect(self._on_add)
        self.remove_button.clicked.connect(self._on_remove)
        self.add_model_file_button.clicked.connect(self._ask_model_file)
        self.remove_model_file_button.clicked.connect(self._on_remove_model_file)
        presenter.providers_changed.connect(self._refresh_key_status)
        self._fill()

    def add_model_file(self, path: str) -> None:
        """Offer the ``.gguf`` file at ``path`` through the built-in engine."""
        problem = self.presenter.add_local_model_file(path)
        self.model_file_status.setText(
            f"Not added: {problem}"
            if problem
            else "Added: the engine restarts with it on next use."
        )
        self._fill_model_files()

    def _ask_model_file(self) -> None:
        dialog = QFileDialog(self, "Add a GGUF model", "", "GGUF models (*.gguf)")
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.fileSelected.connect(self.add_model_file)
        dialog.open()

    def _on_remove_model_file(self) -> None:
        item = self.model_file_list.currentItem()
        if item is not None:
            self.presenter.remove_local_model_file(item.text())
            self._fill_model_files()

    def _fill_model_files(self) -> None:
        self.model_file_list.clear()
        self.model_file_list.addItems(self.presenter.settings.local_model_files)

    def select(self, provider_id: str) -> None:
        """Show the provider ``provider_id``."""
        for row in range(self.provider_list.count()):
            if self.provider_list.item(row).data(Qt.ItemDataRole.UserRole) == provider_id:
                self.provider_list.setCurrentRow(row)

    def _current_id(self) -> str | None:
        item = self.provider_list.currentItem()
        return None if item is None else item.data(Qt.ItemDataRole.UserRole)

    def _fill(self, select: str | None = None) -> None:
        self.provider_list.blockSignals(True)
        self.provider_list.clear()
        for profile in self.presenter.settings.providers:
            item = QListWidgetItem(profile.name)
            item.setData(Qt.ItemDataRole.UserRole, profile.id)
            self.provider_list.addItem(item)
        self.provider_list.blockSignals(False)
        self.select(select or self.presenter.settings.active_provider)
        if self.provider_list.currentItem() is None and self.provider_list.count():
            self.provider_list.setCurrentRow(0)

    def _on_selection_changed(self) -> None:
        provider_id = self._current_id()
        if provider_id is None:
            return
        self._adding = False
        profile = self.presenter.settings.provider(provider_id)
        self.form_box.setTitle(profile.name)
        self.name_edit.setText(profile.name)
        self.url_edit.setText(profile.base_url)
        self.url_edit.setEnabled(profile.id != "local")
        self.url_edit.setPlaceholderText(
            "started automatically on this computer" if profile.id == "local" else "https://host/v1"
        )
        self.name_edit.setEnabled(not profile.builtin)
        self.model_edit.setText(profile.default_model or "")
        self.remove_button.setEnabled(not profile.builtin)
        self.model_files_box.setVisible(profile.id == "local")
        self._fill_model_files()
        self.key_edit.clear()
        # The built-in engine runs on this computer: there is no key to give it.
        takes_key = profile.id != "local"
        self.key_edit.setEnabled(takes_key)
        self.key_edit.setPlaceholderText(
            "paste a new key to store it" if takes_key else "the built-in engine needs no key"
        )
        self.save_key_button.setEnabled(takes_key)
        self._refresh_key_status()

    def _refresh_key_status(self) -> None:
        provider_id = self._current_id()
        known = {p.id for p in self.presenter.settings.providers}
        if provider_id not in known or self._adding:
            return
        status = self.presenter.key_status(provider_id)
        self.key_status.setText(status)
        self.forget_key_button.setEnabled(status.startswith("Stored"))

    def _commit(self, field: str, editor: QLineEdit) -> None:
        provider_id = self._current_id()
        if provider_id is None or self._adding:
            return
        text = editor.text().strip()
        value = (text or None) if field == "default_model" else text
        if field != "default_model" and not value:
            editor.setText(getattr(self.presenter.settings.provider(provider_id), field))
            return
        if getattr(self.presenter.settings.provider(provider_id), field) == value:
            return
        problem = self.presenter.update_provider(provider_id, **{field: value})
        if problem:
            self.key_status.setText(f"Not saved: {problem}")
            editor.setText(getattr(self.presenter.settings.provider(provider_id), field) or "")
        elif field == "name":
            self.provider_list.currentItem().setText(text)

    def _on_save_key(self) -> None:
        key = self.key_edit.text().strip()
        if self._adding:
            self._finish_add(key)
            return
        provider_id = self._current_id()
        if provider_id is None or not key:
            return
        self.presenter.set_api_key(provider_id, key)
        self.key_edit.clear()

    def _on_forget_key(self) -> None:
        provider_id = self._current_id()
        if provider_id is not None:
            self.presenter.delete_api_key(provider_id)

    def _on_add(self) -> None:
        self._adding = True
        self.provider_list.clearSelection()
        self.form_box.setTitle("New OpenAI-compatible endpoint")
        for edit in (self.name_edit, self.url_edit, self.model_edit, self.key_edit):
            edit.clear()
            edit.setEnabled(True)
        self.name_edit.setPlaceholderText("e.g. My vLLM box")
        self.url_edit.setPlaceholderText("http://localhost:8000/v1")
        self.save_key_button.setText("Add")
        self.save_key_button.setEnabled(True)
        self.forget_key_button.setEnabled(False)  # nothing is stored for an endpoint not added
        self.key_status.setText(
            "Fill in a name and base URL, then press Add (the key is optional)."
        )
        self.name_edit.setFocus()

    def _finish_add(self, key: str) -> None:
        try:
            provider_id = self.presenter.add_custom_provider(
                self.name_edit.text(), self.url_edit.text().strip()
            )
        except ValueError as error:
            self.key_status.setText(f"Not added: {error}")
            return
        model = self.model_edit.text().strip()
        if model:
            self.presenter.update_provider(provider_id, default_model=model)
        if key:
            self.presenter.set_api_key(provider_id, key)
        self._adding = False
        self.save_key_button.setText("Save key")
        self._fill(select=provider_id)

    def _on_remove(self) -> None:
        provider_id = self._current_id()
        if provider_id is None:
            return
        self.presenter.remove_provider(provider_id)
        self._fill()
