"""Settings and API keys as the UI edits them; the only writer of settings.json and the keychain."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from PySide6.QtCore import QObject, Signal

from app.secrets import SecretStore
from app.settings import AppSettings, ProviderProfile, TargetSettings, save_settings
from app.storage import WindowState, save_window_state

__all__ = ["SettingsPresenter"]

log = logging.getLogger(__name__)

_SOURCE_TEXT = {
    "keychain": "Stored in the OS keychain",
    "file": "Stored in {detail}",
    "env": "From the environment variable {detail}",
}


class SettingsPresenter(QObject):
    """Holds the current :class:`AppSettings`, saves every change, and manages API keys.

    Signals:
        settings_changed(): settings were replaced and saved.
        providers_changed(): a provider was added, removed, edited, or its key changed.
    """

    settings_changed = Signal()
    providers_changed = Signal()

    def __init__(
        self,
        settings: AppSettings,
        config_dir: Path,
        secrets: SecretStore,
        parent: QObject | None = None,
        *,
        load_problem: str | None = None,
    ) -> None:
        super().__init__(parent)
        self._settings = settings
        self._config_dir = config_dir
        self._secrets = secrets
        self._load_problem = load_problem

    @property
    def load_problem(self) -> str | None:
        """Why the stored settings could not be used at start-up, in words for the user."""
        return self._load_problem

    @property
    def settings(self) -> AppSettings:
        """The current settings (treat as read-only; change them through this presenter)."""
        return self._settings

    @property
    def config_dir(self) -> Path:
        """Folder holding settings.json (and the key file where no keychain exists)."""
        return self._config_dir

    @property
    def secrets_description(self) -> str:
        """Where API keys are kept, in words for the user."""
        return self._secrets.description

    def key_status(self, provider_id: str) -> str:
        """Where this provider's key comes from, without revealing it."""
        profile = self._settings.provider(provider_id)
        resolved = self._secrets.get(profile)
        if resolved is None:
            if not profile.requires_key:
                return "Not needed"
            hint = f" (or set {profile.api_key_env})" if profile.api_key_env else ""
            return "Not set" + hint
        return _SOURCE_TEXT[resolved.source].format(detail=resolved.detail)

    def has_key(self, provider_id: str) -> bool:
        """Whether a key is available for this provider from any source."""
        return self._secrets.get(self._settings.provider(provider_id)) is not None

    # -- commands ------------------------------------------------------------------------------

    def update_active(self, provider_id: str, model: str | None) -> None:
        """Make this provider and model the active target, which new tabs start from."""
        self._replace(self._settings.updated(active_provider=provider_id, active_model=model))

    def update_target(self, tab_id: str, provider_id: str, model: str | None) -> None:
        """Point the tab's first pane (and the active target) at this provider and model.

        ``None`` means the provider's default model.
        """
        model = model or self._settings.provider(provider_id).default_model or ""
        targets = self._settings.targets(tab_id)
        targets[0] = targets[0].model_copy(update={"provider": provider_id, "model": model})
        self.update_workbench(tab_id, targets=targets)

    def update_workbench(
        self,
        tab_id: str,
        *,
        targets: list[TargetSettings] | None = None,
        layout: str | None = None,
        inputs: dict[str, Any] | None = None,
    ) -> None:
        """Remember a tab's panes' targets, layout or inputs (merged into those saved).

        The first target of the tab saved last is also the active target, which tabs never used
        start from.
        """
        saved = self._settings.workbench(tab_id)
        changes: dict[str, Any] = {}
        if targets is not None:
            changes["targets"] = targets
        if layout is not None:
            changes["layout"] = layout
        if inputs is not None:
            changes["inputs"] = {**saved.inputs, **inputs}
        workbench = saved.model_copy(update=changes)
        active: dict[str, Any] = {}
        if targets:
            active = {
                "active_provider": targets[0].provider,
                "active_model": targets[0].model or None,
            }
        self._replace(
            self._settings.updated(
                workbenches={**self._settings.workbenches, tab_id: workbench}, **active
            )
        )

    def update_window(self, state: WindowState) -> None:
        """Remember the window's geometry and current tab (in ``window.json``)."""
        try:
            save_window_state(state, self._config_dir)
        except OSError as error:
            log.warning("could not save the window state to %s: %s", self._config_dir, error)

    def update_provider(self, provider_id: str, **changes: Any) -> str | None:
        """Change fields of a provider profile (name, base URL, default model, ...).

        Returns:
            None on success, else why the change was refused (e.g. not an http(s) URL).
        """
        current = self._settings.provider(provider_id)
        try:
            profile = ProviderProfile.model_validate(current.model_dump() | changes)
            settings = self._settings.with_provider(profile)
        except ValidationError as error:
            return _first_problem(error)
        self._replace(settings)
        self.providers_changed.emit()
        return None

    def add_custom_provider(
        self, name: str, base_url: str, *, api_key_env: str | None = None
    ) -> str:
        """Add an OpenAI-compatible endpoint and return its id.

        Args:
            name: Display name (the URL when empty).
            base_url: The API base URL.
            api_key_env: An environment variable that may hold its key (a stored key wins).

        Raises:
            ValueError: the name is empty or the URL is not http(s), with a readable message.
        """
        try:
            settings, profile = self._settings.with_custom_provider(
                name.strip() or base_url, base_url
            )
        except ValidationError as error:
            raise ValueError(_first_problem(error)) from None
        if api_key_env:
            settings = settings.with_provider(
                profile.model_copy(update={"api_key_env": api_key_env})
            )
        self._replace(settings)
        self.providers_changed.emit()
        return profile.id

    def remove_provider(self, provider_id: str) -> None:
        """Remove a custom provider and its stored key; built-in ones cannot be removed."""
        settings = self._settings.without_provider(provider_id)
        self._secrets.delete(provider_id)
        self._replace(settings)
        self.providers_changed.emit()

    def add_local_model_file(self, path: str) -> str | None:
        """Offer a ``.gguf`` file through the built-in engine; returns why not, or None."""
        file = Path(path).expanduser()
        if file.suffix.lower() != ".gguf":
            return f"{file.name} is not a .gguf model file"
        if not file.is_file():
            return f"{file} does not exist"
        files = self._settings.local_model_files
        if str(file) not in files:
            self._replace(self._settings.updated(local_model_files=[*files, str(file)]))
            self.providers_changed.emit()
        return None

    def remove_local_model_file(self, path: str) -> None:
        """Stop offering a ``.gguf`` file (the engine restarts without it on next use)."""
        files = [f for f in self._settings.local_model_files if f != path]
        self._replace(self._settings.updated(local_model_files=files))
        self.providers_changed.emit()

    def set_api_key(self, provider_id: str, api_key: str) -> str:
        """Store a key (keychain, else the private key file) and say where it went."""
        location = self._secrets.set(provider_id, api_key.strip())
        self.providers_changed.emit()
        return str(location)

    def delete_api_key(self, provider_id: str) -> None:
        """Forget the stored key (an environment variable still applies)."""
        self._secrets.delete(provider_id)
        self.providers_changed.emit()

    def _replace(self, settings: AppSettings) -> None:
        self._settings = settings
        try:
            save_settings(settings, self._config_dir)
        except OSError as error:
            log.warning("could not save settings to %s: %s", self._config_dir, error)
        self.settings_changed.emit()


def _first_problem(error: ValidationError) -> str:
    problem = error.errors()[0]
    return str(problem["msg"]).removeprefix("Value error, ")
