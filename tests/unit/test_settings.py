"""Settings persistence and provider profiles."""

from __future__ import annotations

import json
import logging
import os
import stat
from pathlib import Path

import pytest
from keyring.backends import fail
from pydantic import ValidationError

from app.secrets import SecretStore
from app.settings import (
    BUILTIN_PROVIDER_IDS,
    SCHEMA_VERSION,
    AppSettings,
    ProviderProfile,
    TargetSettings,
    WorkbenchSettings,
    default_config_dir,
    load_settings,
    save_settings,
)

FW_KEY = "fw_live_0123456789abcdefWXYZ"
OTHER_KEY = "sk-test-9876543210zyxwvuTSRQ"
posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")


def _fireworks() -> ProviderProfile:
    return AppSettings().provider("fireworks")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --- settings ---------------------------------------------------------------------------------


def test_defaults_list_every_builtin_provider_with_local_active() -> None:
    settings = AppSettings()

    assert [p.id for p in settings.providers] == [
        "local",
        "fireworks",
        "openai",
        "together",
        "groq",
        "openrouter",
        "deepseek",
        "ollama",
        "lmstudio",
        "vllm",
        "llamacpp",
    ]
    assert list(BUILTIN_PROVIDER_IDS) == [p.id for p in settings.providers]
    assert all(p.builtin for p in settings.providers)
    assert settings.active_provider == "local"
    assert settings.active.base_url == ""
    assert settings.active_model is None
    assert settings.workbenches == {}
    assert settings.workbench("json") == WorkbenchSettings()
    assert settings.local_model_files == []


def test_builtin_profiles_carry_keys_urls_and_listing_style() -> None:
    settings = AppSettings()
    env = {p.id: p.api_key_env for p in settings.providers}

    assert env == {
        "local": None,
        "fireworks": "FIREWORKS_API_KEY",
        "openai": "OPENAI_API_KEY",
        "together": "TOGETHER_API_KEY",
        "groq": "GROQ_API_KEY",
        "openrouter": "OPENROUTER_API_KEY",
        "deepseek": "DEEPSEEK_API_KEY",
        "ollama": None,
        "lmstudio": None,
        "vllm": None,
        "llamacpp": None,
    }
    assert {p.id for p in settings.providers if not p.requires_key} == {
        "local",
        "ollama",
        "lmstudio",
        "vllm",
        "llamacpp",
    }
    fireworks = settings.provider("fireworks")
    assert fireworks.base_url == "https://api.fireworks.ai/inference/v1"
    assert fireworks.model_listing == "fireworks"
    assert settings.provider("openai").model_listing == "openai"
    assert fireworks.model_base_urls == {
        "whisper-v3": "https://audio-prod.api.fireworks.ai/v1",
        "whisper-v3-turbo": "https://audio-turbo.api.fireworks.ai/v1",
    }


def test_base_url_for_uses_per_model_override_in_either_id_form() -> None:
    fireworks = _fireworks()

    assert fireworks.base_url_for("whisper-v3-turbo") == "https://audio-turbo.api.fireworks.ai/v1"
    assert (
        fireworks.base_url_for("accounts/fireworks/models/whisper-v3")
        == "https://audio-prod.api.fireworks.ai/v1"
    )
    assert fireworks.base_url_for("accounts/fireworks/models/gpt-oss-120b") == fireworks.base_url


def test_unknown_provider_raises_key_error() -> None:
    with pytest.raises(KeyError):
        AppSettings().provider("nope")


def test_settings_are_immutable() -> None:
    settings = AppSettings()

    with pytest.raises(ValidationError):
        settings.active_provider = "openai"


def test_updated_returns_a_validated_copy() -> None:
    settings = AppSettings()

    changed = settings.updated(active_provider="openai", active_model="gpt-4o")

    assert (changed.active_provider, changed.active_model) == ("openai", "gpt-4o")
    assert settings.active_provider == "local"
    with pytest.raises(ValidationError):
        settings.updated(chat={"layout": "diagonal"})


def test_round_trip_in_tmp_dir(tmp_path: Path) -> None:
    settings, custom = AppSettings().with_custom_provider("Box", "http://10.0.0.2:8000/v1")
    settings = settings.updated(
        active_provider=custom.id,
        active_model="qwen",
        workbenches={
            "chat": WorkbenchSettings(
                targets=[TargetSettings(provider=custom.id, params={"top_k": 40})],
                inputs={"system_prompt": "Be brief."},
            ),
            "json": WorkbenchSettings(layout="grid", inputs={"schema": "{}"}),
        },
        local_model_files=["/models/a.gguf"],
    )

    save_settings(settings, tmp_path)
    loaded = load_settings(tmp_path)

    assert loaded == settings
    assert sorted(p.name for p in tmp_path.iterdir()) == ["settings.json"]


@posix_only
def test_saved_settings_are_private(tmp_path: Path) -> None:
    save_settings(AppSettings(), tmp_path)

    assert _mode(tmp_path / "settings.json") == 0o600


def test_save_creates_missing_config_dir(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "er"

    save_settings(AppSettings(), target)

    assert load_settings(target) == AppSettings()


def test_missing_file_gives_defaults_and_creates_nothing(tmp_path: Path) -> None:
    assert load_settings(tmp_path) == AppSettings()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b"\xff\xfe\x00garbage",
        b"[1, 2, 3]",
        b'{"providers": "everything"}',
        b'{"providers": [{"id": "custom-x", "name": "X", "base_url": "ftp://x"}]}',
        b'{"chat": {"layout": 17}}',
    ],
    ids=["not-json", "not-utf8", "not-an-object", "wrong-type", "bad-url", "bad-nested"],
)
def test_corrupt_or_invalid_file_is_kept_aside(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, content: bytes
) -> None:
    (tmp_path / "settings.json").write_bytes(content)

    told: list[str] = []
    with caplog.at_level(logging.WARNING, logger="app.settings"):
        settings = load_settings(tmp_path, told.append)

    assert settings == AppSettings()
    kept = list(tmp_path.glob("settings.json.bad-*"))
    assert len(kept) == 1
    assert kept[0].read_bytes() == content
    assert not (tmp_path / "settings.json").exists()
    assert any(kept[0].name in record.getMessage() for record in caplog.records)
    assert len(told) == 1 and f"kept as {kept[0]}" in told[0]


def test_a_missing_or_valid_file_is_no_problem(tmp_path: Path) -> None:
    told: list[str] = []
    load_settings(tmp_path, told.append)
    save_settings(AppSettings(), tmp_path)
    load_settings(tmp_path, told.append)
    assert told == []


def test_second_corrupt_file_in_same_second_gets_its_own_name(tmp_path: Path) -> None:
    for content in (b"{one", b"{two"):
        (tmp_path / "settings.json").write_bytes(content)
        load_settings(tmp_path)

    kept = sorted(p.read_bytes() for p in tmp_path.glob("settings.json.bad-*"))
    assert kept == [b"{one", b"{two"]


def test_upgrade_adds_new_builtins_and_keeps_user_data(tmp_path: Path) -> None:
    old = {
        "schema_version": 1,
        "a_key_from_the_future": {"x": 1},
        "providers": [
            {
                "id": "fireworks",
                "name": "An old name",
                "base_url": "https://proxy.example.com/v1/",
                "api_key_env": "OLD_VAR",
                "requires_key": False,
                "model_base_urls": {"whisper-v3": "https://audio.example.com/v1"},
                "builtin": True,
            },
            {
                "id": "custom-box",
                "name": "Box",
                "base_url": "http://10.0.0.2/v1",
                "requires_key": False,
                "builtin": True,
            },
            {"id": "local", "name": "Local", "base_url": "", "requires_key": False},
        ],
        "active_provider": "custom-box",
        "chat": {"system_prompt": "Hi", "params": {"temperature": 0.1}, "unknown": 1},
    }
    (tmp_path / "settings.json").write_text(json.dumps(old))

    settings = load_settings(tmp_path)

    assert [p.id for p in settings.providers] == [*BUILTIN_PROVIDER_IDS, "custom-box"]
    fireworks = settings.provider("fireworks")
    assert fireworks.base_url == "https://proxy.example.com/v1"  # user edit kept
    assert fireworks.name == "Fireworks AI"  # shipped metadata wins
    assert fireworks.api_key_env == "FIREWORKS_API_KEY"
    assert fireworks.requires_key is True
    assert fireworks.model_base_urls == {
        "whisper-v3": "https://audio.example.com/v1",
        "whisper-v3-turbo": "https://audio-turbo.api.fireworks.ai/v1",
    }
    custom = settings.provider("custom-box")
    assert custom.builtin is False  # a file cannot make a custom provider undeletable
    assert settings.active_provider == "custom-box"
    chat = settings.workbench("chat")
    assert chat.inputs == {"system_prompt": "Hi"}
    assert chat.targets == [TargetSettings(provider="custom-box", params={"temperature": 0.1})]
    assert settings.schema_version == SCHEMA_VERSION
    assert not list(tmp_path.glob("*.bad-*"))


def test_unknown_active_provider_falls_back_to_local(tmp_path: Path) -> None:
    (tmp_path / "settings.json").write_text('{"active_provider": "gone", "active_model": "m"}')

    settings = load_settings(tmp_path)

    assert settings.active_provider == "local"
    assert settings.active_model == "m"


def test_duplicate_custom_ids_are_invalid() -> None:
    entry = {"id": "custom-a", "name": "A", "base_url": "http://a.example", "requires_key": True}

    with pytest.raises(ValidationError, match="duplicate"):
        AppSettings.model_validate({"providers": [entry, entry]})


def test_only_local_may_have_an_empty_url() -> None:
    with pytest.raises(ValidationError, match="needs a base URL"):
        ProviderProfile(id="custom-a", name="A", base_url="  ", requires_key=False)


def test_with_custom_provider_adds_a_copy() -> None:
    settings = AppSettings()

    changed, profile = settings.with_custom_provider(
        "  My vLLM Box!  ", " http://192.168.1.20:8000/v1/ "
    )

    assert profile.id == "custom-my-vllm-box"
    assert profile.name == "My vLLM Box!"
    assert profile.base_url == "http://192.168.1.20:8000/v1"
    assert profile.builtin is False
    assert profile.api_key_env is None
    assert profile.requires_key is True  # not loopback: assume a key is needed
    assert changed.providers[-1] == profile
    assert changed.provider(profile.id) == profile
    assert len(settings.providers) == len(BUILTIN_PROVIDER_IDS)  # original untouched


def test_custom_provider_ids_stay_unique_and_loopback_needs_no_key() -> None:
    settings, first = AppSettings().with_custom_provider("Box", "http://127.0.0.1:9000/v1")
    settings, second = settings.with_custom_provider("box", "http://localhost:9001")
    settings, third = settings.with_custom_provider("本地", "http://[::1]:9002/v1")

    assert (first.id, second.id, third.id) == ("custom-box", "custom-box-2", "custom-provider")
    assert not first.requires_key and not second.requires_key and not third.requires_key
    _, explicit = settings.with_custom_provider("Proxy", "http://127.0.0.1:1", requires_key=True)
    assert explicit.requires_key


@pytest.mark.parametrize(
    ("name", "url"),
    [("", "http://x.example"), ("X", "ftp://x.example"), ("X", "not a url"), ("X", "")],
)
def test_custom_provider_rejects_bad_input(name: str, url: str) -> None:
    with pytest.raises(ValidationError):
        AppSettings().with_custom_provider(name, url)


def test_without_provider_removes_custom_and_resets_active() -> None:
    settings, profile = AppSettings().with_custom_provider("Box", "http://10.0.0.2/v1")
    settings = settings.updated(active_provider=profile.id)

    removed = settings.without_provider(profile.id)

    assert profile.id not in [p.id for p in removed.providers]
    assert removed.active_provider == "local"
    with pytest.raises(ValueError, match="cannot be removed"):
        removed.without_provider("fireworks")
    with pytest.raises(KeyError):
        removed.without_provider(profile.id)


def test_with_provider_edits_a_builtin_url_but_not_its_identity() -> None:
    settings = AppSettings()
    edited = _fireworks().model_copy(
        update={"base_url": "https://gateway.example.com/v1", "name": "Mine", "builtin": False}
    )

    changed = settings.with_provider(edited)

    fireworks = changed.provider("fireworks")
    assert fireworks.base_url == "https://gateway.example.com/v1"
    assert fireworks.name == "Fireworks AI"
    assert fireworks.builtin is True
    assert [p.id for p in changed.providers] == [p.id for p in settings.providers]


def test_default_config_dir_is_per_user() -> None:
    path = default_config_dir()

    assert path.is_absolute()
    assert path.name == "fireplay"


def test_settings_never_store_keys(tmp_path: Path) -> None:
    (tmp_path / "settings.json").write_text(
        json.dumps(
            {
                "providers": [
                    {
                        "id": "custom-a",
                        "name": "A",
                        "base_url": "http://a.example",
                        "requires_key": True,
                        "api_key": FW_KEY,
                    }
                ]
            }
        )
    )
    store = SecretStore(tmp_path, backend=fail.Keyring(), environ={})
    store.set("fireworks", OTHER_KEY)

    save_settings(load_settings(tmp_path), tmp_path)

    text = (tmp_path / "settings.json").read_text()
    assert FW_KEY not in text
    assert OTHER_KEY not in text
    assert '"api_key"' not in text


def test_a_settings_file_written_before_every_tab_had_a_workbench_loses_nothing(
    tmp_path: Path,
) -> None:
    # Written by the release whose Chat kept its workbench in a "chat" block (schema 1).
    written = Path(__file__).with_name("data") / "settings-schema-1.json"
    old = json.loads(written.read_text())
    (tmp_path / "settings.json").write_text(written.read_text())

    settings = load_settings(tmp_path)

    chat = settings.workbench("chat")
    assert chat.layout == "grid"
    assert chat.inputs == {"system_prompt": "Answer in one sentence."}
    assert [t.model_dump(exclude={"options"}) for t in chat.targets] == old["chat"]["targets"]
    assert settings.targets("chat") == chat.targets
    assert [p.model_dump() for p in settings.providers] == old["providers"]
    assert (settings.active_provider, settings.active_model) == (
        "fireworks",
        "accounts/fireworks/models/llama-v3p1-8b-instruct",
    )
    assert settings.local_model_files == ["/home/me/models/tiny.gguf"]
    # Saved again in the new layout, it reads back the same.
    save_settings(settings, tmp_path)
    assert load_settings(tmp_path) == settings
    assert json.loads((tmp_path / "settings.json").read_text())["schema_version"] == SCHEMA_VERSION
