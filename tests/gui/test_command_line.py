"""The command line: what ``fireplay --help`` tells a user, and ``--provider URL`` keys."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from app.main import parse_args
from tests.fake_server import FakeServer


def test_help_describes_the_app_for_its_users(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parse_args(["--help"])
    assert exit_info.value.code == 0
    shown = capsys.readouterr().out
    assert shown.startswith("usage: fireplay")
    assert "desktop playground" in shown and "OpenAI-compatible" in shown
    assert "examples:" in shown and "fireplay --provider" in shown
    # Nothing meant for developers.
    for internal in ("Composition root", "widgets", "qasync", "``"):
        assert internal not in shown


def test_a_provider_given_as_a_url_sends_the_key_from_the_environment(
    make_app: Any,
    qrun: Callable[..., Any],
    fake_server: FakeServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FIREPLAY_API_KEY", "sk-from-the-shell-0123456789")
    app = make_app("--provider", fake_server.url, "--model", "m")
    pane = app.window.findChild(object, "tab-chat").presenter.panes[0]
    assert pane.provider_id.startswith("custom-")
    qrun(app.services.connections.list_models(pane.provider_id))
    assert fake_server.requests[0].path == "/v1/models"
    assert fake_server.requests[0].headers["authorization"] == "Bearer sk-from-the-shell-0123456789"
    # The key stays in the environment: nothing of it is written to the settings folder.
    settings_dir = app.services.settings.config_dir
    for file in settings_dir.iterdir():
        assert "sk-from-the-shell" not in file.read_text(encoding="utf-8", errors="replace")


def test_a_stored_key_wins_over_the_environment(
    make_app: Any,
    qrun: Callable[..., Any],
    fake_server: FakeServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FIREPLAY_API_KEY", "sk-from-the-shell-0123456789")
    app = make_app("--provider", fake_server.url, "--model", "m")
    pane = app.window.findChild(object, "tab-chat").presenter.panes[0]
    app.services.settings.set_api_key(pane.provider_id, "sk-stored-in-settings-42")
    qrun(app.services.connections.list_models(pane.provider_id))
    assert fake_server.requests[0].headers["authorization"] == "Bearer sk-stored-in-settings-42"
