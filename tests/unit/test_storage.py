"""Window state in window.json and the atomic file writes every stored file relies on."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from app.storage import (
    WINDOW_FILE,
    WindowState,
    atomic_write,
    keep_aside,
    load_window_state,
    save_window_state,
)


def test_window_state_round_trips(tmp_path: Path) -> None:
    state = WindowState(geometry="AdnQywADAAA=", current_tab="audio")

    save_window_state(state, tmp_path)

    assert load_window_state(tmp_path) == state
    assert stat.S_IMODE((tmp_path / WINDOW_FILE).stat().st_mode) == 0o600


def test_a_missing_window_file_gives_the_default_placement(tmp_path: Path) -> None:
    assert load_window_state(tmp_path) == WindowState(geometry=None, current_tab="chat")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"{not json", WindowState()),
        (b"\xff\xfe", WindowState()),
        (b"[1, 2]", WindowState()),
        (b'{"geometry": 5, "current_tab": null}', WindowState()),
        (b'{"geometry": "AQ==", "unknown": 1}', WindowState(geometry="AQ==")),
    ],
    ids=["not-json", "not-utf8", "not-an-object", "wrong-types", "partial"],
)
def test_a_damaged_window_file_never_stops_start_up(
    tmp_path: Path, content: bytes, expected: WindowState
) -> None:
    (tmp_path / WINDOW_FILE).write_bytes(content)

    assert load_window_state(tmp_path) == expected


def test_atomic_write_replaces_whole_files_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "nested" / "file.json"

    atomic_write(target, b"first")
    atomic_write(target, b"second")

    assert target.read_bytes() == b"second"
    assert [p.name for p in target.parent.iterdir()] == ["file.json"]


def test_keep_aside_never_overwrites_an_earlier_copy(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    kept = []
    for text in ("one", "two"):
        path.write_text(text)
        kept.append(keep_aside(path))

    assert not path.exists()
    assert [p.read_text() for p in kept if p is not None] == ["one", "two"]


def test_the_window_state_loads_without_pydantic_or_qt(tmp_path: Path) -> None:
    # Start-up reads this before painting; the heavy libraries must stay out of that path.
    save_window_state(WindowState(geometry="AQ=="), tmp_path)
    code = (
        "import sys, json; from pathlib import Path; from app.storage import load_window_state;"
        f"load_window_state(Path({str(tmp_path)!r}));"
        "heavy = ('pydantic', 'PySide6', 'asyncio');"
        "print(json.dumps(sorted(m for m in heavy if m in sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert json.loads(result.stdout) == []
