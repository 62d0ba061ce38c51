"""API keys: the OS keychain, the private fallback file and the environment."""

from __future__ import annotations

import json
import logging
import os
import stat
from pathlib import Path
from typing import ClassVar

import keyring.errors
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import chainer, fail

from app import secrets as secrets_module
from app.secrets import KEYRING_SERVICE, KeyLocation, ResolvedKey, SecretStore
from app.settings import AppSettings, ProviderProfile

FW_KEY = "fw_live_0123456789abcdefWXYZ"
OTHER_KEY = "sk-test-9876543210zyxwvuTSRQ"
posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")


class MemoryKeyring(KeyringBackend):
    """An OS keychain stand-in that keeps passwords in a dict."""

    # keyring registers every subclass for auto-discovery; never let it pick a test backend.
    viable = False
    priority = 1
    name = "Memory"

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.store.pop((service, username), None) is None:
            raise keyring.errors.PasswordDeleteError("not found")


class LockedKeyring(MemoryKeyring):
    """A keychain that exists but fails on use (e.g. the user dismissed the unlock prompt)."""

    def get_password(self, service: str, username: str) -> str | None:
        raise keyring.errors.KeyringLocked("locked")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise keyring.errors.KeyringLocked("locked")


class EmptyChainer(chainer.ChainerBackend):
    """keyring's chainer when no backend was found."""

    viable = False
    backends: ClassVar[list[KeyringBackend]] = []


def _fireworks() -> ProviderProfile:
    return AppSettings().provider("fireworks")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_keychain_backend_stores_and_finds_keys(tmp_path: Path) -> None:
    backend = MemoryKeyring()
    store = SecretStore(tmp_path, backend=backend, environ={})

    location = store.set("fireworks", FW_KEY)
    found = store.get(_fireworks())

    assert location == KeyLocation("keychain", "Memory")
    assert str(location) == "OS keychain (Memory)"
    assert backend.store == {(KEYRING_SERVICE, "fireworks"): FW_KEY}
    assert found == ResolvedKey(FW_KEY, "keychain", "Memory")
    assert store.keychain_available
    assert store.description == "OS keychain (Memory)"
    assert not (tmp_path / "secrets.json").exists()


def test_default_backend_is_resolved_lazily(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = MemoryKeyring()
    calls: list[int] = []

    def fake_get_keyring() -> KeyringBackend:
        calls.append(1)
        return backend

    monkeypatch.setattr(keyring, "get_keyring", fake_get_keyring)
    store = SecretStore(tmp_path, environ={})
    assert calls == []

    store.set("openai", OTHER_KEY)
    store.get(AppSettings().provider("openai"))

    assert calls == [1]
    assert backend.store[(KEYRING_SERVICE, "openai")] == OTHER_KEY


@pytest.mark.parametrize(
    "backend", [fail.Keyring(), EmptyChainer()], ids=["fail-backend", "empty-chainer"]
)
def test_without_keychain_keys_go_to_a_private_file(
    tmp_path: Path, backend: KeyringBackend
) -> None:
    store = SecretStore(tmp_path / "cfg", backend=backend, environ={})
    secrets_path = tmp_path / "cfg" / "secrets.json"

    location = store.set("fireworks", FW_KEY)

    assert not store.keychain_available
    assert store.description == (
        f"No OS keychain found: keys are saved in {secrets_path} (readable only by you)"
    )
    assert location == KeyLocation("file", str(secrets_path))
    assert str(location) == f"{secrets_path} (readable only by you)"
    assert store.get(_fireworks()) == ResolvedKey(FW_KEY, "file", str(secrets_path))
    assert json.loads(secrets_path.read_text()) == {"version": 1, "keys": {"fireworks": FW_KEY}}
    if os.name == "posix":
        assert _mode(secrets_path) == 0o600


@posix_only
def test_secrets_file_is_created_private_even_with_a_permissive_umask(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_open = os.open
    modes: list[int] = []

    def spy_open(path: str | os.PathLike[str], flags: int, mode: int = 0o777) -> int:
        modes.append(mode)
        return real_open(path, flags, mode)

    monkeypatch.setattr(secrets_module.os, "open", spy_open)
    old_umask = os.umask(0)
    try:
        SecretStore(tmp_path, backend=fail.Keyring(), environ={}).set("groq", OTHER_KEY)
    finally:
        os.umask(old_umask)

    assert modes == [0o600]  # created with its final mode, then renamed into place
    assert _mode(tmp_path / "secrets.json") == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["secrets.json"]


@posix_only
def test_loose_secrets_file_is_made_private(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "secrets.json"
    path.write_text(json.dumps({"version": 1, "keys": {"fireworks": FW_KEY}}))
    path.chmod(0o644)

    with caplog.at_level(logging.WARNING, logger="app.settings"):
        found = SecretStore(tmp_path, backend=fail.Keyring(), environ={}).get(_fireworks())

    assert found is not None and found.value == FW_KEY
    assert _mode(path) == 0o600
    assert FW_KEY not in caplog.text


def test_keychain_error_falls_back_to_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = SecretStore(tmp_path, backend=LockedKeyring(), environ={})
    available_before_use = store.keychain_available

    with caplog.at_level(logging.WARNING, logger="app.settings"):
        location = store.set("fireworks", FW_KEY)
        found = store.get(_fireworks())

    assert available_before_use
    assert location.source == "file"
    assert found is not None and found.source == "file"
    assert not store.keychain_available
    assert store.description.startswith("No OS keychain found")
    assert "KeyringLocked" in caplog.text
    assert FW_KEY not in caplog.text


def test_lookup_order_is_keychain_then_file_then_env(tmp_path: Path) -> None:
    environ = {"FIREWORKS_API_KEY": "fw-from-the-environment-0001"}
    fireworks = _fireworks()

    env_only = SecretStore(tmp_path / "a", backend=MemoryKeyring(), environ=environ)
    assert env_only.get(fireworks) == ResolvedKey(
        "fw-from-the-environment-0001", "env", "FIREWORKS_API_KEY"
    )

    file_dir = tmp_path / "b"
    SecretStore(file_dir, backend=fail.Keyring(), environ={}).set("fireworks", "fw-from-file")
    file_first = SecretStore(file_dir, backend=MemoryKeyring(), environ=environ)
    resolved = file_first.get(fireworks)
    assert resolved is not None and (resolved.source, resolved.value) == ("file", "fw-from-file")

    keychain = MemoryKeyring()
    keychain.set_password(KEYRING_SERVICE, "fireworks", "fw-from-keychain")
    keychain_first = SecretStore(file_dir, backend=keychain, environ=environ)
    resolved = keychain_first.get(fireworks)
    assert resolved is not None and (resolved.source, resolved.value) == (
        "keychain",
        "fw-from-keychain",
    )


def test_blank_env_var_and_keyless_providers_resolve_to_none(tmp_path: Path) -> None:
    store = SecretStore(tmp_path, backend=fail.Keyring(), environ={"FIREWORKS_API_KEY": "  "})

    assert store.get(_fireworks()) is None
    assert store.get(AppSettings().provider("ollama")) is None


def test_set_strips_and_validates(tmp_path: Path) -> None:
    store = SecretStore(tmp_path, backend=MemoryKeyring(), environ={})

    store.set("fireworks", f"  {FW_KEY}\n")
    found = store.get(_fireworks())
    assert found is not None and found.value == FW_KEY

    for bad in ("", "   \n", "first-line\nsecond-line"):
        with pytest.raises(ValueError) as info:
            store.set("fireworks", bad)
        assert "second-line" not in str(info.value)
    with pytest.raises(ValueError, match="invalid provider id"):
        store.set("Bad Id", FW_KEY)


def test_saving_to_keychain_removes_a_stale_file_copy(tmp_path: Path) -> None:
    SecretStore(tmp_path, backend=fail.Keyring(), environ={}).set("fireworks", "fw-old-file-key")
    SecretStore(tmp_path, backend=fail.Keyring(), environ={}).set("groq", "gsk-file-key")
    backend = MemoryKeyring()
    store = SecretStore(tmp_path, backend=backend, environ={})

    store.set("fireworks", FW_KEY)
    store.delete("fireworks")

    assert store.get(_fireworks()) is None
    remaining = json.loads((tmp_path / "secrets.json").read_text())["keys"]
    assert remaining == {"groq": "gsk-file-key"}


def test_delete_forgets_stored_keys_but_not_the_environment(tmp_path: Path) -> None:
    backend = MemoryKeyring()
    environ = {"FIREWORKS_API_KEY": "fw-from-the-environment-0001"}
    SecretStore(tmp_path, backend=fail.Keyring(), environ={}).set("fireworks", "fw-file-key")
    backend.set_password(KEYRING_SERVICE, "fireworks", FW_KEY)
    store = SecretStore(tmp_path, backend=backend, environ=environ)

    store.delete("fireworks")
    store.delete("fireworks")  # nothing left: still fine

    assert backend.store == {}
    assert not (tmp_path / "secrets.json").exists()  # the last key went with the file
    resolved = store.get(_fireworks())
    assert resolved is not None and resolved.source == "env"


def test_corrupt_secrets_file_is_ignored_then_kept_aside(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "secrets.json"
    path.write_text('{"keys": ["' + FW_KEY)
    store = SecretStore(tmp_path, backend=fail.Keyring(), environ={})

    with caplog.at_level(logging.WARNING, logger="app.settings"):
        assert store.get(_fireworks()) is None
        store.set("groq", OTHER_KEY)

    assert json.loads(path.read_text())["keys"] == {"groq": OTHER_KEY}
    kept = list(tmp_path.glob("secrets.json.bad-*"))
    assert len(kept) == 1 and FW_KEY in kept[0].read_text()
    assert FW_KEY not in caplog.text


def test_resolved_key_never_shows_the_key() -> None:
    key = ResolvedKey(FW_KEY, "env", "FIREWORKS_API_KEY")

    expected = "ResolvedKey(source='env', detail='FIREWORKS_API_KEY', value='****WXYZ')"
    assert repr(key) == expected
    assert str(key) == expected
    assert f"{key}" == expected
    assert FW_KEY not in repr([key]) and FW_KEY not in str({"k": key})
    assert key.masked == "****WXYZ"
    assert ResolvedKey("short-key", "file", "x").masked == "****"


def test_no_key_reaches_logs_or_errors(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    store = SecretStore(tmp_path, backend=LockedKeyring(), environ={"GROQ_API_KEY": OTHER_KEY})
    errors: list[str] = []

    store.set("fireworks", FW_KEY)
    store.get(_fireworks())
    store.get(AppSettings().provider("groq"))
    store.delete("fireworks")
    for bad_id in ("Bad Id", "x y"):
        try:
            store.set(bad_id, FW_KEY)
        except ValueError as exc:
            errors.append(str(exc))

    assert len(errors) == 2
    assert all(FW_KEY not in message for message in errors)
    assert FW_KEY not in caplog.text and OTHER_KEY not in caplog.text
