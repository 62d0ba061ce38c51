"""API keys: the OS keychain, or a private file when the OS has none (Qt-free).

Keys never go into ``settings.json``. `SecretStore` keeps them in the OS keychain (keyring)
and, only where no usable keychain exists, in ``secrets.json`` beside the settings with mode
0600; a provider's environment variable is read last. Keys are never logged, and the reprs and
exceptions of this module never contain one.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from app.settings import PROVIDER_ID_PATTERN
from app.storage import PRIVATE_MODE, atomic_write, keep_aside

if TYPE_CHECKING:
    from keyring.backend import KeyringBackend

    from app.settings import ProviderProfile

__all__ = ["KEYRING_SERVICE", "KeyLocation", "ResolvedKey", "SecretStore"]

logger = logging.getLogger(__name__)

KEYRING_SERVICE = "fireplay"
SECRETS_FILE = "secrets.json"


def _mask(value: str) -> str:
    # Short values would be mostly revealed by their last four characters.
    return f"****{value[-4:]}" if len(value) >= 12 else "****"


@dataclass(frozen=True, repr=False)
class ResolvedKey:
    """An API key and where it was found. Its repr and str show only the last four characters.

    Attributes:
        value: The key itself.
        source: Where it came from.
        detail: Keychain name, file path or environment variable name.
    """

    value: str
    source: Literal["keychain", "file", "env"]
    detail: str

    @property
    def masked(self) -> str:
        """The key with all but its last four characters hidden."""
        return _mask(self.value)

    def __repr__(self) -> str:
        """Show the origin and a masked key."""
        return f"ResolvedKey(source={self.source!r}, detail={self.detail!r}, value={self.masked!r})"

    __str__ = __repr__


@dataclass(frozen=True)
class KeyLocation:
    """Where `SecretStore.set` stored a key.

    Attributes:
        source: The OS keychain or the fallback file.
        detail: Keychain name or file path.
    """

    source: Literal["keychain", "file"]
    detail: str

    def __str__(self) -> str:
        """Human text for the UI."""
        if self.source == "keychain":
            return f"OS keychain ({self.detail})"
        return f"{self.detail} (readable only by you)"


# keyring is imported where it is used: importing it costs about 45 ms, and start-up on the
# built-in engine never needs a key.


def _usable(backend: KeyringBackend) -> bool:
    from keyring.backends import chainer, fail, null

    if isinstance(backend, fail.Keyring | null.Keyring):
        return False
    if isinstance(backend, chainer.ChainerBackend):
        return any(_usable(child) for child in backend.backends)
    return True


def _label(backend: KeyringBackend) -> str:
    from keyring.backends import chainer

    if isinstance(backend, chainer.ChainerBackend):
        return ", ".join(_label(child) for child in backend.backends if _usable(child))
    # keyring names read "<module> <Class>", e.g. "SecretService Keyring" or "macOS Keyring".
    return str(backend.name).split(" ", 1)[0]


class SecretStore:
    """API keys in the OS keychain, or in a private file when there is no keychain.

    Lookup order is keychain, then the fallback file, then the provider's environment variable.
    Keys are never logged, and exceptions and reprs never contain them.
    """

    def __init__(
        self,
        config_dir: Path,
        *,
        backend: KeyringBackend | None = None,
        environ: Mapping[str, str] = os.environ,
    ) -> None:
        """Create a store.

        Args:
            config_dir: Where the fallback ``secrets.json`` lives.
            backend: Keyring backend to use; by default keyring's own choice, resolved on first use
                (probing D-Bus or the OS keychain can take a moment, and start-up should not wait).
            environ: Environment to read ``api_key_env`` variables from.
        """
        self._path = config_dir / SECRETS_FILE
        self._backend = backend
        self._environ = environ
        self._keychain_failed = False

    @property
    def secrets_path(self) -> Path:
        """The fallback file."""
        return self._path

    def _resolved_backend(self) -> KeyringBackend:
        if self._backend is None:
            import keyring

            self._backend = keyring.get_keyring()
        return self._backend

    def _keychain(self) -> KeyringBackend | None:
        if self._keychain_failed:
            return None
        backend = self._resolved_backend()
        return backend if _usable(backend) else None

    def _on_keychain_error(self, action: str, exc: Exception) -> None:
        # Only the exception type: a backend's message is outside our control.
        self._keychain_failed = True
        logger.warning(
            "the OS keychain failed to %s a key (%s); using %s from now on",
            action,
            type(exc).__name__,
            self._path,
        )

    @property
    def keychain_available(self) -> bool:
        """Whether keys go to the OS keychain."""
        return self._keychain() is not None

    @property
    def description(self) -> str:
        """Where keys are stored, in words for the settings dialog."""
        backend = self._keychain()
        if backend is not None:
            return f"OS keychain ({_label(backend)})"
        return f"No OS keychain found: keys are saved in {self._path} (readable only by you)"

    def get(self, provider: ProviderProfile) -> ResolvedKey | None:
        """Find the key for ``provider``: keychain, then the fallback file, then its env var."""
        backend = self._keychain()
        if backend is not None:
            try:
                value = backend.get_password(KEYRING_SERVICE, provider.id)
            except Exception as exc:  # any backend failure means "no keychain"
                self._on_keychain_error("read", exc)
            else:
                if value:
                    return ResolvedKey(value, "keychain", _label(backend))
        value = self._read_file().get(provider.id)
        if value:
            return ResolvedKey(value, "file", str(self._path))
        if provider.api_key_env:
            value = self._environ.get(provider.api_key_env, "").strip()
            if value:
                return ResolvedKey(value, "env", provider.api_key_env)
        return None

    def set(self, provider_id: str, api_key: str) -> KeyLocation:
        """Store the key for a provider, in the keychain when possible.

        Surrounding whitespace (a pasted newline) is dropped.

        Raises:
            ValueError: When the id is invalid or the key is empty or spans lines.
            OSError: When the fallback file cannot be written.
        """
        if not PROVIDER_ID_PATTERN.match(provider_id):
            raise ValueError(f"invalid provider id: {provider_id!r}")
        key = api_key.strip()
        if not key:
            raise ValueError("the API key is empty")
        if any(char in key for char in "\r\n\0"):
            raise ValueError("the API key must be a single line")
        backend = self._keychain()
        if backend is not None:
            try:
                backend.set_password(KEYRING_SERVICE, provider_id, key)
            except Exception as exc:  # any backend failure means "no keychain"
                self._on_keychain_error("save", exc)
            else:
                # An older copy in the file would come back after a later delete from the keychain.
                self._remove_from_file(provider_id)
                return KeyLocation("keychain", _label(backend))
        keys = self._read_file(keep_bad=True)
        keys[provider_id] = key
        self._write_file(keys)
        return KeyLocation("file", str(self._path))

    def delete(self, provider_id: str) -> None:
        """Forget the stored key for a provider (keychain and file).

        An environment variable cannot be removed from here; `get` still finds it.

        Raises:
            OSError: When the fallback file cannot be rewritten.
        """
        from keyring.errors import PasswordDeleteError

        backend = self._resolved_backend()
        if _usable(backend):
            # Tried even after a keychain error: a key from a previous session may be there.
            try:
                backend.delete_password(KEYRING_SERVICE, provider_id)
            except PasswordDeleteError:
                pass  # nothing stored
            except Exception as exc:  # any backend failure means "no keychain"
                self._on_keychain_error("delete", exc)
        self._remove_from_file(provider_id)

    def _read_file(self, *, keep_bad: bool = False) -> dict[str, str]:
        try:
            raw = self._path.read_bytes()
        except FileNotFoundError:
            return {}
        except OSError as exc:
            logger.warning("cannot read %s (%s); ignoring it", self._path, type(exc).__name__)
            return {}
        self._tighten_mode()
        try:
            data = json.loads(raw)
        except ValueError:
            data = None
        keys = data.get("keys") if isinstance(data, dict) else None
        if not isinstance(keys, dict):
            # No details: the text of a broken secrets file may contain keys.
            logger.warning("%s is not a valid secrets file; ignoring it", self._path)
            if keep_bad:
                keep_aside(self._path)
            return {}
        return {k: v for k, v in keys.items() if isinstance(k, str) and isinstance(v, str) and v}

    def _tighten_mode(self) -> None:
        if os.name != "posix":
            return
        with contextlib.suppress(OSError):
            mode = self._path.stat().st_mode & 0o777
            if mode & 0o077:
                os.chmod(self._path, PRIVATE_MODE)
                logger.warning("%s was readable by others; made it private (0600)", self._path)

    def _write_file(self, keys: dict[str, str]) -> None:
        if not keys:
            with contextlib.suppress(FileNotFoundError):
                self._path.unlink()
            return
        payload = json.dumps({"version": 1, "keys": keys}, indent=2) + "\n"
        atomic_write(self._path, payload.encode("utf-8"))

    def _remove_from_file(self, provider_id: str) -> None:
        keys = self._read_file()
        if provider_id in keys:
            del keys[provider_id]
            self._write_file(keys)
