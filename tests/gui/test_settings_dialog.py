"""Settings dialog: providers, endpoints and keys; keys never reach settings.json."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt

pytestmark = pytest.mark.usefixtures("qloop")

SECRET = "fw-test-0123456789abcdef"


def test_saving_a_key_stores_it_in_the_keychain_not_in_settings(
    qtbot: Any, make_app: Any, config_dir: Path, memory_keyring: Any
) -> None:
    window = make_app().window
    dialog = window.open_settings()
    dialog.select("fireworks")
    assert dialog.key_status.text().startswith("Not set")
    qtbot.keyClicks(dialog.key_edit, SECRET)
    qtbot.mouseClick(dialog.save_key_button, Qt.MouseButton.LeftButton)
    assert memory_keyring.passwords[("fireplay", "fireworks")] == SECRET
    assert dialog.key_status.text() == "Stored in the OS keychain"
    assert dialog.key_edit.text() == ""
    window.services.settings.update_target("chat", "fireworks", None)
    assert SECRET not in (config_dir / "settings.json").read_text()
    qtbot.mouseClick(dialog.forget_key_button, Qt.MouseButton.LeftButton)
    assert ("fireplay", "fireworks") not in memory_keyring.passwords


def test_environment_key_is_reported_as_such(
    qtbot: Any, make_app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIREWORKS_API_KEY", SECRET)
    dialog = make_app().window.open_settings()
    dialog.select("fireworks")
    assert dialog.key_status.text() == "From the environment variable FIREWORKS_API_KEY"
    assert SECRET not in dialog.key_status.text()


def test_adding_and_removing_a_custom_endpoint(qtbot: Any, make_app: Any) -> None:
    window = make_app().window
    dialog = window.open_settings()
    qtbot.mouseClick(dialog.add_button, Qt.MouseButton.LeftButton)
    qtbot.keyClicks(dialog.name_edit, "My vLLM")
    qtbot.keyClicks(dialog.url_edit, "not a url")
    qtbot.mouseClick(dialog.save_key_button, Qt.MouseButton.LeftButton)
    assert "not an http(s) URL" in dialog.key_status.text()
    dialog.url_edit.setText("http://127.0.0.1:8000/v1")
    qtbot.mouseClick(dialog.save_key_button, Qt.MouseButton.LeftButton)
    ids = [p.id for p in window.services.settings.settings.providers]
    assert "custom-my-vllm" in ids
    assert dialog.provider_list.currentItem().text() == "My vLLM"
    chat_picker = window.findChild(object, "providerPicker")
    assert chat_picker.findData("custom-my-vllm") >= 0
    qtbot.mouseClick(dialog.remove_button, Qt.MouseButton.LeftButton)
    assert "custom-my-vllm" not in [p.id for p in window.services.settings.settings.providers]
    assert chat_picker.findData("custom-my-vllm") == -1


def test_built_in_providers_cannot_be_removed_but_their_url_can_change(
    qtbot: Any, make_app: Any
) -> None:
    window = make_app().window
    dialog = window.open_settings()
    dialog.select("vllm")
    assert not dialog.remove_button.isEnabled()
    dialog.url_edit.setText("http://127.0.0.2:8000/v1")
    dialog.url_edit.editingFinished.emit()
    assert window.services.settings.settings.provider("vllm").base_url == "http://127.0.0.2:8000/v1"


def test_gguf_files_can_be_offered_through_the_built_in_engine(
    qtbot: Any, make_app: Any, tmp_path: Path
) -> None:
    window = make_app().window
    dialog = window.open_settings()
    dialog.select("local")
    assert dialog.model_files_box.isVisibleTo(dialog)
    dialog.add_model_file(str(tmp_path / "missing.gguf"))
    assert "does not exist" in dialog.model_file_status.text()
    notes = tmp_path / "notes.txt"
    notes.write_text("not a model")
    dialog.add_model_file(str(notes))
    assert "not a .gguf model file" in dialog.model_file_status.text()
    model = tmp_path / "tiny.gguf"
    model.write_bytes(b"GGUF")
    dialog.add_model_file(str(model))
    assert window.services.settings.settings.local_model_files == [str(model)]
    assert dialog.model_file_list.count() == 1
    dialog.model_file_list.setCurrentRow(0)
    qtbot.mouseClick(dialog.remove_model_file_button, Qt.MouseButton.LeftButton)
    assert window.services.settings.settings.local_model_files == []
    dialog.select("fireworks")
    assert not dialog.model_files_box.isVisibleTo(dialog)


def test_key_buttons_only_act_where_there_is_a_key_to_save_or_forget(
    qtbot: Any, make_app: Any, memory_keyring: Any
) -> None:
    dialog = make_app().window.open_settings()
    dialog.select("local")
    assert not dialog.key_edit.isEnabled() and not dialog.save_key_button.isEnabled()
    assert not dialog.forget_key_button.isEnabled()
    dialog.select("fireworks")
    assert dialog.key_edit.isEnabled() and dialog.save_key_button.isEnabled()
    qtbot.keyClicks(dialog.key_edit, SECRET)
    qtbot.mouseClick(dialog.save_key_button, Qt.MouseButton.LeftButton)
    assert dialog.forget_key_button.isEnabled()
    qtbot.mouseClick(dialog.add_button, Qt.MouseButton.LeftButton)
    assert not dialog.forget_key_button.isEnabled()
    assert dialog.key_edit.isEnabled() and dialog.save_key_button.isEnabled()
