"""Session files and named presets: round trips, validation messages and failing disks."""

from __future__ import annotations

import copy
import errno
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.client import FireplayError
from app.domain import sessions
from app.domain.sessions import (
    PRESETS_FILE,
    PRESETS_VERSION,
    SESSION_SUFFIX,
    SESSION_VERSION,
    Preset,
    PresetStore,
    SessionError,
    read_session,
    session_from_json,
    session_to_json,
    strip_results,
    write_session,
)

CREATED = "2025-01-31T09:00:00+00:00"
LATER = "2025-02-01T10:30:00+00:00"
needs_permissions = pytest.mark.skipif(
    os.name != "posix" or os.geteuid() == 0, reason="needs POSIX permissions that bind the user"
)


def _pane(model: str, result: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "target": {
            "provider": "fireworks",
            "model": model,
            "params": {"temperature": 0.7, "max_tokens": 512},
            "options": {"stream": True},
        },
        "result": result,
    }


def _chat_state() -> dict[str, Any]:
    return {
        "inputs": {"system": "Réponds en français. 日本語も可。🔥", "prompt": "Bonjour"},
        "panes": [
            _pane("gpt-oss-120b", {"text": "Salut ! " * 20_000, "usage": {"total_tokens": 9}}),
            _pane("llama-v3p1-8b", None),
        ],
    }


def _json_state() -> dict[str, Any]:
    return {
        "inputs": {"schema": '{"type": "object"}', "mode": "json_schema"},
        "panes": [_pane("qwen3-235b", {"json": {"a": [1, 2.5, None, True]}})],
    }


def _tabs() -> dict[str, dict[str, Any]]:
    return {
        "chat": _chat_state(),
        "json": _json_state(),
        "embeddings": {"inputs": {"texts": ["a", "b"]}, "panes": []},
    }


def _session(**changes: Any) -> str:
    envelope: dict[str, Any] = {
        "format": "fireplay-session",
        "version": SESSION_VERSION,
        "app_version": "0.1.0",
        "created": CREATED,
        "tabs": {"chat": _chat_state()},
    }
    envelope.update(changes)
    return json.dumps(envelope)


def _preset_file(**changes: Any) -> str:
    envelope: dict[str, Any] = {
        "format": "fireplay-preset",
        "version": PRESETS_VERSION,
        "tab": "json",
        "name": "Invoice",
        "saved_at": CREATED,
        "state": strip_results(_json_state()),
    }
    envelope.update(changes)
    return json.dumps(envelope)


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[Path]:
    """A folder the test user cannot write to (restored afterwards so tmp_path can be removed)."""
    folder = tmp_path / "locked"
    folder.mkdir()
    yield folder
    folder.chmod(0o700)


def _lock(folder: Path) -> None:
    folder.chmod(0o500)


# -- sessions --------------------------------------------------------------------------------------


def test_a_session_round_trips_every_tab_with_unicode_and_big_outputs(tmp_path: Path) -> None:
    path = tmp_path / f"demo{SESSION_SUFFIX}"

    write_session(path, _tabs(), app_version="0.1.0", created=CREATED)

    assert read_session(path) == _tabs()
    assert list(read_session(path)) == ["chat", "json", "embeddings"]
    text = path.read_text(encoding="utf-8")
    assert "日本語" in text  # ensure_ascii=False: the file stays readable
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_session_json_has_the_documented_envelope_and_is_stable() -> None:
    text = session_to_json(_tabs(), app_version="0.1.0", created=CREATED)
    data = json.loads(text)

    assert list(data) == ["format", "version", "app_version", "created", "tabs"]
    assert data["format"] == "fireplay-session"
    assert data["version"] == SESSION_VERSION == 1
    assert (data["app_version"], data["created"]) == ("0.1.0", CREATED)
    assert text.startswith('{\n  "format"')
    assert text == session_to_json(_tabs(), app_version="0.1.0", created=CREATED)
    assert list(data["tabs"]["chat"]["panes"][0]["target"]) == [
        "provider",
        "model",
        "params",
        "options",
    ]


def test_unknown_tabs_are_kept_but_still_checked() -> None:
    future = {"inputs": {}, "panes": [_pane("m")]}

    assert session_from_json(_session(tabs={"chat": _chat_state(), "video": future}))["video"] == (
        future
    )
    with pytest.raises(SessionError, match=r'the "video" tab has no "panes" list'):
        session_from_json(_session(tabs={"video": {"inputs": {}}}))


def test_a_session_starting_with_a_byte_order_mark_opens(tmp_path: Path) -> None:
    path = tmp_path / "notepad.json"
    path.write_bytes(b"\xef\xbb\xbf" + _session().encode("utf-8"))

    assert read_session(path) == {"chat": _chat_state()}


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('{"format": "fireplay-session",\n  "version": 1,,}', r"This file is not JSON \(line 2, "),
        ("   ", "This file is empty."),
        ("[1, 2]", "This file is not a Fireplay session."),
        ('{"format": "something-else", "version": 1}', "This file is not a Fireplay session."),
        (_preset_file(), r"not a Fireplay session\. It is a preset"),
        (_session(version="1"), r"no valid session format version \(\"1\"\)"),
        (_session(version=0), r"no valid session format version \(0\)"),
        (_session(version=True), r"no valid session format version \(true\)"),
        (_session(version=None), r"no valid session format version \(null\)"),
        (_session(tabs=[]), r'This session is damaged: it has no "tabs" object\.'),
        (_session(tabs={"chat": []}), "the Chat tab has no state object"),
        (_session(tabs={"chat": {"panes": []}}), 'the Chat tab has no "inputs" object'),
        (_session(tabs={"tools": {"inputs": {}}}), 'the Tool calling tab has no "panes" list'),
        (
            _session(tabs={"json": {"inputs": {}, "panes": "x"}}),
            'the Structured output tab has no "panes" list',
        ),
        (
            _session(tabs={"vision": {"inputs": {}, "panes": [_pane("m"), 3]}}),
            "pane 2 of the Image questions tab is not an object",
        ),
        (
            _session(tabs={"audio": {"inputs": {}, "panes": [{"result": None}]}}),
            "pane 1 of the Audio tab has no target",
        ),
        (
            _session(
                tabs={
                    "chat": {
                        "inputs": {},
                        "panes": [{"target": {"provider": "fw", "model": 7}, "result": None}],
                    }
                }
            ),
            'the target of pane 1 of the Chat tab has no "model" text',
        ),
        (
            _session(
                tabs={
                    "chat": {
                        "inputs": {},
                        "panes": [{"target": {"model": "m"}, "result": None}],
                    }
                }
            ),
            'the target of pane 1 of the Chat tab has no "provider" text',
        ),
        (
            _session(
                tabs={
                    "embeddings": {
                        "inputs": {},
                        "panes": [
                            {
                                "target": {"provider": "p", "model": "m", "options": {}},
                                "result": None,
                            }
                        ],
                    }
                }
            ),
            'the target of pane 1 of the Embeddings tab has no "params" object',
        ),
        (
            _session(tabs={"chat": {"inputs": {}, "panes": [{"target": _pane("m")["target"]}]}}),
            r'pane 1 of the Chat tab has no "result" \(an object or null\)',
        ),
        (
            _session(
                tabs={
                    "chat": {
                        "inputs": {},
                        "panes": [{"target": _pane("m")["target"], "result": "text"}],
                    }
                }
            ),
            r'pane 1 of the Chat tab has no "result"',
        ),
    ],
    ids=[
        "not-json",
        "empty",
        "not-an-object",
        "other-format",
        "a-preset",
        "version-text",
        "version-zero",
        "version-bool",
        "version-missing",
        "tabs-not-object",
        "state-not-object",
        "no-inputs",
        "no-panes",
        "panes-not-list",
        "pane-not-object",
        "no-target",
        "model-not-text",
        "no-provider",
        "no-params",
        "no-result",
        "result-not-object",
    ],
)
def test_unusable_sessions_are_refused_with_one_sentence(text: str, words: str) -> None:
    with pytest.raises(SessionError, match=words) as caught:
        session_from_json(text)

    message = str(caught.value)
    assert message.endswith(".")
    assert "\n" not in message
    assert "validation error" not in message.lower()


def test_a_session_from_a_newer_fireplay_is_refused() -> None:
    with pytest.raises(SessionError) as caught:
        session_from_json(_session(version=3, tabs={"chat": {"new": "shape"}}))

    assert str(caught.value) == (
        "This session was saved by a newer Fireplay (session format 3); this version opens "
        "format 1. Update Fireplay to open it."
    )


def test_session_errors_are_fireplay_errors_and_value_errors() -> None:
    assert issubclass(SessionError, FireplayError)
    assert issubclass(SessionError, ValueError)


def test_read_session_names_the_file_it_cannot_use(tmp_path: Path) -> None:
    missing = tmp_path / "gone.json"
    binary = tmp_path / "photo.jpg"
    binary.write_bytes(b"\xff\xd8\xff\xe0 not text")
    broken = tmp_path / "broken.json"
    broken.write_text('{"format": ', encoding="utf-8")

    with pytest.raises(SessionError, match=r"Could not open .*gone\.json \("):
        read_session(missing)
    with pytest.raises(SessionError, match=r"Could not open .*"):
        read_session(tmp_path)  # a folder
    with pytest.raises(SessionError, match=r'"photo\.jpg" is not a UTF-8 text file'):
        read_session(binary)
    with pytest.raises(SessionError, match=r'"broken\.json" is not JSON \(line 1, column 12\)\.'):
        read_session(broken)


def test_writing_a_malformed_state_is_refused_before_the_file_is_touched(tmp_path: Path) -> None:
    path = tmp_path / "demo.json"

    with pytest.raises(SessionError, match='cannot be saved: the Chat tab has no "panes" list'):
        write_session(path, {"chat": {"inputs": {}}}, app_version="0.1.0", created=CREATED)

    assert not path.exists()


@needs_permissions
def test_write_session_into_a_read_only_folder_leaves_nothing(read_only: Path) -> None:
    _lock(read_only)
    path = read_only / f"demo{SESSION_SUFFIX}"

    with pytest.raises(SessionError, match=r"Could not save the session to .*demo.* \(") as caught:
        write_session(path, _tabs(), app_version="0.1.0", created=CREATED)

    assert str(read_only) in str(caught.value)
    assert list(read_only.iterdir()) == []


def test_a_full_disk_keeps_the_previous_session(tmp_path: Path, monkeypatch: Any) -> None:
    path = tmp_path / "demo.json"
    write_session(path, _tabs(), app_version="0.1.0", created=CREATED)
    before = path.read_bytes()

    def full(target: Path, payload: bytes) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(sessions, "atomic_write", full)

    with pytest.raises(SessionError, match="No space left on device"):
        write_session(path, {"chat": _chat_state()}, app_version="0.1.0", created=LATER)
    assert path.read_bytes() == before


# -- strip_results ---------------------------------------------------------------------------------


def test_strip_results_copies_without_results_and_leaves_the_original() -> None:
    state = _chat_state()
    original = copy.deepcopy(state)

    stripped = strip_results(state)

    assert [pane["result"] for pane in stripped["panes"]] == [None, None]
    assert stripped["inputs"] == state["inputs"]
    assert [p["target"] for p in stripped["panes"]] == [p["target"] for p in state["panes"]]
    assert list(stripped["panes"][0]) == ["target", "result"]
    stripped["panes"][0]["target"]["params"]["temperature"] = 2
    stripped["inputs"]["system"] = "changed"
    assert state == original


def test_strip_results_adds_a_missing_result() -> None:
    stripped = strip_results({"inputs": {}, "panes": [{"target": _pane("m")["target"]}]})

    assert stripped["panes"][0]["result"] is None


# -- presets ---------------------------------------------------------------------------------------


def test_presets_round_trip_across_two_stores(tmp_path: Path) -> None:
    first = PresetStore(tmp_path)
    saved = first.save("chat", "  Pirate  ", _chat_state(), saved_at=CREATED)
    first.save("chat", "Formal", _chat_state(), saved_at=CREATED)
    first.save("json", "Invoice", _json_state(), saved_at=CREATED)
    first.rename("chat", "Formal", "Très formel 🎩")

    second = PresetStore(tmp_path)

    assert saved == Preset("chat", "Pirate", strip_results(_chat_state()), CREATED)
    assert second.problem == ""
    assert second.names("chat") == ["Pirate", "Très formel 🎩"]
    assert second.names("json") == ["Invoice"]
    assert second.names("vision") == []
    assert second.get("chat", "Pirate") == saved
    assert second.get("chat", "Formal") is None
    assert (tmp_path / PRESETS_FILE).is_file()

    second.delete("chat", "Pirate")
    assert PresetStore(tmp_path).names("chat") == ["Très formel 🎩"]


def test_a_preset_keeps_no_results(tmp_path: Path) -> None:
    store = PresetStore(tmp_path)
    store.save("chat", "Demo", _chat_state(), saved_at=CREATED)

    preset = PresetStore(tmp_path).get("chat", "Demo")

    assert preset is not None
    assert [pane["result"] for pane in preset.state["panes"]] == [None, None]
    assert "Salut" not in (tmp_path / PRESETS_FILE).read_text(encoding="utf-8")


def test_saving_a_name_again_overwrites_in_place(tmp_path: Path) -> None:
    store = PresetStore(tmp_path)
    store.save("chat", "A", _chat_state(), saved_at=CREATED)
    store.save("chat", "B", _chat_state(), saved_at=CREATED)
    changed = _chat_state()
    changed["inputs"]["system"] = "Be brief."

    store.save("chat", "A ", changed, saved_at=LATER)

    assert store.names("chat") == ["A", "B"]
    preset = PresetStore(tmp_path).get("chat", "A")
    assert preset is not None
    assert (preset.state["inputs"]["system"], preset.saved_at) == ("Be brief.", LATER)


def test_presets_handed_out_are_copies(tmp_path: Path) -> None:
    store = PresetStore(tmp_path)
    saved = store.save("chat", "Demo", _chat_state(), saved_at=CREATED)
    saved.state["inputs"]["system"] = "mutated"
    got = store.get("chat", "Demo")
    assert got is not None
    got.state["panes"].clear()

    again = store.get("chat", "Demo")
    assert again is not None
    assert again.state == strip_results(_chat_state())


def test_same_names_in_different_tabs_are_separate(tmp_path: Path) -> None:
    store = PresetStore(tmp_path)
    store.save("chat", "Demo", _chat_state(), saved_at=CREATED)
    store.save("json", "Demo", _json_state(), saved_at=CREATED)

    store.delete("chat", "Demo")

    assert store.names("chat") == []
    assert store.names("json") == ["Demo"]


@pytest.mark.parametrize("name", ["", "   ", "\n\t"])
def test_a_preset_needs_a_name(tmp_path: Path, name: str) -> None:
    store = PresetStore(tmp_path)

    with pytest.raises(SessionError, match=r"A preset needs a name\."):
        store.save("chat", name, _chat_state(), saved_at=CREATED)
    assert not (tmp_path / PRESETS_FILE).exists()


def test_saving_a_malformed_state_is_refused(tmp_path: Path) -> None:
    store = PresetStore(tmp_path)

    with pytest.raises(SessionError, match=r"cannot be saved: pane 1 of its state has no target"):
        store.save("chat", "Bad", {"inputs": {}, "panes": [{"result": None}]}, saved_at=CREATED)
    assert store.names("chat") == []


def test_rename_refusals(tmp_path: Path) -> None:
    store = PresetStore(tmp_path)
    store.save("chat", "A", _chat_state(), saved_at=CREATED)
    store.save("chat", "B", _chat_state(), saved_at=CREATED)

    with pytest.raises(SessionError, match=r'The Chat tab already has a preset named "B"\.'):
        store.rename("chat", "A", " B ")
    with pytest.raises(SessionError, match=r"A preset needs a name\."):
        store.rename("chat", "A", "  ")
    with pytest.raises(SessionError, match=r'The Chat tab has no preset named "Z"\.'):
        store.rename("chat", "Z", "Y")
    with pytest.raises(SessionError, match=r'The Tool calling tab has no preset named "A"\.'):
        store.rename("tools", "A", "Y")
    store.rename("chat", "A", "A")

    assert store.names("chat") == ["A", "B"]


def test_rename_keeps_place_and_contents(tmp_path: Path) -> None:
    store = PresetStore(tmp_path)
    store.save("chat", "A", _chat_state(), saved_at=CREATED)
    store.save("chat", "B", _chat_state(), saved_at=LATER)

    store.rename("chat", "A", "  Renamed ")

    assert store.names("chat") == ["Renamed", "B"]
    preset = store.get("chat", "Renamed")
    assert preset is not None
    assert (preset.saved_at, preset.state) == (CREATED, strip_results(_chat_state()))


def test_deleting_a_missing_preset_does_nothing(tmp_path: Path) -> None:
    store = PresetStore(tmp_path)

    store.delete("chat", "nothing")

    assert not (tmp_path / PRESETS_FILE).exists()


def test_export_has_the_documented_envelope(tmp_path: Path) -> None:
    store = PresetStore(tmp_path)
    store.save("json", "Invoice", _json_state(), saved_at=CREATED)

    data = json.loads(store.export_preset("json", "Invoice"))

    assert data == {
        "format": "fireplay-preset",
        "version": 1,
        "tab": "json",
        "name": "Invoice",
        "saved_at": CREATED,
        "state": strip_results(_json_state()),
    }
    with pytest.raises(SessionError, match='no preset named "Other"'):
        store.export_preset("json", "Other")


def test_export_then_import_into_another_folder(tmp_path: Path) -> None:
    source = PresetStore(tmp_path / "mine")
    source.save("json", "Invoice", _json_state(), saved_at=CREATED)
    text = source.export_preset("json", "Invoice")

    imported = PresetStore(tmp_path / "theirs").import_preset(text, tab="json")

    assert imported == source.get("json", "Invoice")
    assert PresetStore(tmp_path / "theirs").get("json", "Invoice") == imported


def test_import_appends_a_number_when_the_name_is_taken(tmp_path: Path) -> None:
    store = PresetStore(tmp_path)
    store.save("json", "Invoice", _json_state(), saved_at=CREATED)

    names = [store.import_preset(_preset_file()).name for _ in range(3)]

    assert names == ["Invoice (2)", "Invoice (3)", "Invoice (4)"]
    assert PresetStore(tmp_path).names("json") == [
        "Invoice",
        "Invoice (2)",
        "Invoice (3)",
        "Invoice (4)",
    ]


def test_import_strips_results_and_spaces(tmp_path: Path) -> None:
    store = PresetStore(tmp_path)

    preset = store.import_preset(_preset_file(name="  Shared ", state=_json_state()))

    assert preset.name == "Shared"
    assert preset.state == strip_results(_json_state())


def test_import_for_another_tab_says_which_tab(tmp_path: Path) -> None:
    store = PresetStore(tmp_path)

    with pytest.raises(SessionError) as caught:
        store.import_preset(_preset_file(), tab="chat")

    assert str(caught.value).startswith("This preset is for the Structured output tab")
    assert "Chat" in str(caught.value)
    assert store.names("chat") == store.names("json") == []


def test_import_refuses_a_tab_this_version_lacks(tmp_path: Path) -> None:
    with pytest.raises(SessionError, match=r'does not have \("video"\)'):
        PresetStore(tmp_path).import_preset(_preset_file(tab="video"))


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("{oops", r"This file is not JSON \(line 1, column 2\)\."),
        ("", "This file is empty."),
        ('"just a string"', "This file is not a Fireplay preset."),
        (_session(), r"not a Fireplay preset\. It is a session: open it with File → Open session"),
        (_preset_file(version="2"), r"no valid preset format version"),
        (_preset_file(version=-1), r"no valid preset format version"),
        (_preset_file(tab=3), r'This preset is damaged: it has no "tab" id\.'),
        (_preset_file(name=" "), r"This preset is damaged: it has no name\."),
        (_preset_file(saved_at=None), r'it has no "saved_at" time'),
        (_preset_file(state=None), "its state has no state object"),
        (_preset_file(state={"inputs": {}}), 'its state has no "panes" list'),
        (
            _preset_file(state={"inputs": {}, "panes": [{"target": {}, "result": None}]}),
            'the target of pane 1 of its state has no "provider" text',
        ),
    ],
    ids=[
        "not-json",
        "empty",
        "not-an-object",
        "a-session",
        "version-text",
        "version-negative",
        "no-tab",
        "no-name",
        "no-saved-at",
        "no-state",
        "no-panes",
        "bad-target",
    ],
)
def test_unusable_preset_files_are_refused(tmp_path: Path, text: str, words: str) -> None:
    store = PresetStore(tmp_path)

    with pytest.raises(SessionError, match=words) as caught:
        store.import_preset(text)

    assert str(caught.value).endswith(".")
    assert not (tmp_path / PRESETS_FILE).exists()


def test_a_preset_from_a_newer_fireplay_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SessionError) as caught:
        PresetStore(tmp_path).import_preset(_preset_file(version=3))

    assert str(caught.value) == (
        "This preset was saved by a newer Fireplay (preset format 3); this version opens "
        "format 1. Update Fireplay to import it."
    )


# -- the presets file ------------------------------------------------------------------------------


def test_a_newer_presets_file_is_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / PRESETS_FILE
    content = json.dumps({"format": "fireplay-presets", "version": 2, "presets": {"x": 1}}).encode()
    path.write_bytes(content)

    store = PresetStore(tmp_path)

    assert "newer Fireplay (presets format 2)" in store.problem
    assert store.names("chat") == []
    with pytest.raises(SessionError, match="newer Fireplay"):
        store.save("chat", "Demo", _chat_state(), saved_at=CREATED)
    with pytest.raises(SessionError, match="newer Fireplay"):
        store.import_preset(_preset_file())
    store.delete("chat", "Demo")
    assert path.read_bytes() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == [PRESETS_FILE]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"{not json", r"not JSON \(line 1, column 2\)"),
        (b"\xff\xfe\x00", "not UTF-8 text"),
        (b"[]", "not a Fireplay presets file"),
        (b'{"format": "fireplay-presets", "version": "one", "presets": []}', "format version"),
        (b'{"format": "fireplay-presets", "version": 1, "presets": {}}', 'no "presets" list'),
        (
            b'{"format": "fireplay-presets", "version": 1, "presets": [{"tab": "chat"}]}',
            "preset 1 has no name",
        ),
    ],
    ids=["not-json", "not-utf8", "not-an-object", "bad-version", "no-list", "bad-entry"],
)
def test_a_damaged_presets_file_is_set_aside(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / PRESETS_FILE
    path.write_bytes(content)

    store = PresetStore(tmp_path)

    kept = [p for p in tmp_path.iterdir() if p.name.startswith(f"{PRESETS_FILE}.bad-")]
    assert not path.exists()
    assert len(kept) == 1
    assert kept[0].read_bytes() == content
    assert store.problem.startswith("Your presets file was damaged (")
    assert str(kept[0]) in store.problem
    assert re.search(reason, store.problem)
    store.save("chat", "Fresh", _chat_state(), saved_at=CREATED)
    assert PresetStore(tmp_path).names("chat") == ["Fresh"]


def test_duplicate_names_in_the_presets_file_count_as_damage(tmp_path: Path) -> None:
    entry = {"tab": "chat", "name": "A", "saved_at": CREATED, "state": _json_state()}
    data = {"format": "fireplay-presets", "version": 1, "presets": [entry, entry]}
    (tmp_path / PRESETS_FILE).write_text(json.dumps(data), encoding="utf-8")

    store = PresetStore(tmp_path)

    assert 'two presets of the Chat tab are named "A"' in store.problem


@needs_permissions
def test_an_unreadable_presets_file_is_not_overwritten(tmp_path: Path) -> None:
    path = tmp_path / PRESETS_FILE
    path.write_text("secret presets", encoding="utf-8")
    path.chmod(0)
    try:
        store = PresetStore(tmp_path)

        assert store.problem.startswith("Could not read your presets file")
        with pytest.raises(SessionError, match="cannot be changed until it can be read"):
            store.save("chat", "Demo", _chat_state(), saved_at=CREATED)
    finally:
        path.chmod(0o600)
    assert path.read_text(encoding="utf-8") == "secret presets"


@needs_permissions
def test_a_damaged_file_that_cannot_be_moved_aside_is_not_overwritten(read_only: Path) -> None:
    path = read_only / PRESETS_FILE
    path.write_text("{damaged", encoding="utf-8")
    _lock(read_only)

    store = PresetStore(read_only)

    assert "could not be moved aside" in store.problem
    with pytest.raises(SessionError, match="could not be moved aside"):
        store.save("chat", "Demo", _chat_state(), saved_at=CREATED)
    assert path.read_text(encoding="utf-8") == "{damaged"


@needs_permissions
def test_a_read_only_folder_leaves_the_presets_as_they_were(read_only: Path) -> None:
    store = PresetStore(read_only)
    store.save("chat", "A", _chat_state(), saved_at=CREATED)
    store.save("json", "Invoice", _json_state(), saved_at=CREATED)
    before = (read_only / PRESETS_FILE).read_bytes()
    _lock(read_only)

    with pytest.raises(SessionError, match=r"Could not save your presets to .*presets\.json \("):
        store.save("chat", "B", _chat_state(), saved_at=CREATED)
    with pytest.raises(SessionError, match="Could not save your presets"):
        store.save("chat", "A", _json_state(), saved_at=LATER)
    with pytest.raises(SessionError, match="Could not save your presets"):
        store.rename("chat", "A", "C")
    with pytest.raises(SessionError, match="Could not save your presets"):
        store.delete("chat", "A")
    with pytest.raises(SessionError, match="Could not save your presets"):
        store.import_preset(_preset_file())

    assert store.names("chat") == ["A"]
    assert store.names("json") == ["Invoice"]
    preset = store.get("chat", "A")
    assert preset is not None
    assert preset.saved_at == CREATED
    assert (read_only / PRESETS_FILE).read_bytes() == before
    assert sorted(p.name for p in read_only.iterdir()) == [PRESETS_FILE]


def test_a_full_disk_leaves_the_presets_as_they_were(tmp_path: Path, monkeypatch: Any) -> None:
    store = PresetStore(tmp_path)
    store.save("chat", "A", _chat_state(), saved_at=CREATED)

    def full(target: Path, payload: bytes) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(sessions, "atomic_write", full)

    with pytest.raises(SessionError, match="No space left on device"):
        store.rename("chat", "A", "B")
    with pytest.raises(SessionError, match="No space left on device"):
        store.delete("chat", "A")

    assert store.names("chat") == ["A"]
    monkeypatch.undo()
    assert PresetStore(tmp_path).names("chat") == ["A"]
