"""Shared test set-up: headless Qt, no real keychain, no API keys from the developer's shell."""

from __future__ import annotations

import os
import shutil
import subprocess

import keyring
import pytest
from keyring.backend import KeyringBackend

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")
os.environ.setdefault("PYTEST_QT_API", "pyside6")

pytest_plugins = ["tests.fake_server"]

# The sentence speech_wav says (the engine and GUI tests score transcripts against it).
SPEECH = "Please send the quarterly report to the finance team before Friday morning."

KEY_VARIABLES = (
    "FIREWORKS_API_KEY",
    "OPENAI_API_KEY",
    "TOGETHER_API_KEY",
    "GROQ_API_KEY",
    "OPENROUTER_API_KEY",
    "DEEPSEEK_API_KEY",
)


class MemoryKeyring(KeyringBackend):
    """A keychain that lives in memory, so tests never read or write the real one."""

    priority = 1  # type: ignore[assignment]
    viable = False  # never chosen by keyring on its own; tests install it explicitly

    def __init__(self) -> None:
        super().__init__()
        self.passwords: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.passwords.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.passwords[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.passwords.pop((service, username), None)


@pytest.fixture(autouse=True)
def memory_keyring(monkeypatch: pytest.MonkeyPatch) -> MemoryKeyring:
    """Every test gets an empty in-memory keychain and a shell without API keys."""
    backend = MemoryKeyring()
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    for name in KEY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture(scope="session")
def speech_wav(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A spoken sentence (``SPEECH``) as 16-bit WAV, made by espeak-ng."""
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        pytest.fail("espeak-ng is needed to make test speech (apt-get install espeak-ng)")
    path = tmp_path_factory.mktemp("audio") / "speech.wav"
    subprocess.run([espeak, "-v", "en-us", "-s", "140", "-w", str(path), SPEECH], check=True)
    return path.read_bytes()
