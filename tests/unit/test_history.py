"""The run history store: recording, search, export, migrations and every way the disk can fail.

Each test uses its own history file under ``tmp_path``; waits poll with a timeout, never sleep.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from app.domain.history import (
    HISTORY_FILE,
    RUN_STATUSES,
    SCHEMA_VERSION,
    HistoryError,
    HistoryStore,
    RunRecord,
    RunStart,
    RunSummary,
    prompt_of,
    strip_media,
)
from tests.unit.history_writer import piece

WRITER_SCRIPT = Path(__file__).with_name("history_writer.py")
WAIT_S = 10.0
LOCKED = "History is waiting: the database is locked by another program."


def wait_for(condition: Callable[[], bool], timeout: float = WAIT_S) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def start(
    tab: str = "chat",
    provider: str = "fireworks",
    model: str = "llama",
    started_at: float = 1_000.0,
) -> RunStart:
    return RunStart(tab, provider, model, {"temperature": 0.2}, {"prompt": "hi"}, started_at)


def chat_request(text: str, **extra: Any) -> dict[str, Any]:
    body = {"model": "llama", "messages": [{"role": "user", "content": text}], **extra}
    return {
        "method": "POST",
        "url": "https://api.example.com/v1/chat/completions",
        "path": "/chat/completions",
        "headers": {"Authorization": "Bearer <redacted>"},
        "body": body,
        "form": None,
        "files": [],
    }


def record_run(
    store: HistoryStore,
    prompt: str,
    output: str,
    *,
    run: RunStart | None = None,
    request: dict[str, Any] | None = None,
    status: str = "complete",
) -> int:
    handle = store.begin(run or start())
    handle.set_request(request or chat_request(prompt), prompt)
    handle.append_output(output)
    handle.finish(status=status)
    assert store.flush()
    assert handle.run_id is not None
    return handle.run_id


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / HISTORY_FILE


@pytest.fixture
def store(path: Path) -> Iterator[HistoryStore]:
    opened = HistoryStore.open(path)
    assert opened.available, opened.problem
    yield opened
    opened.close()


def ids(summaries: list[RunSummary]) -> list[int]:
    return [summary.id for summary in summaries]


# --- Recording runs -----------------------------------------------------------------------------


def test_a_run_round_trips_with_everything_it_stored(store: HistoryStore) -> None:
    image = "data:image/png;base64," + base64.b64encode(b"\x89PNG" * 100).decode()
    request = chat_request("Describe it", stream=True)
    request["body"]["messages"][0]["content"] = [
        {"type": "text", "text": "Describe it"},
        {"type": "image_url", "image_url": {"url": image}},
    ]
    handle = store.begin(start(tab="vision", started_at=1_234.5))
    handle.set_request(request, "Describe it")
    for text in ("A cat ", "on a ", "mat."):
        handle.append_output(text)
    handle.finish(status="complete", metrics={"ttft_s": 0.25}, result={"images": ["cat.png"]})

    assert store.flush()
    assert handle.run_id is not None
    record = store.get(handle.run_id)
    assert record is not None
    stored_url = record.request["body"]["messages"][0]["content"][1]["image_url"]["url"]  # type: ignore[index]
    assert stored_url.startswith("data:image/png;base64,<not stored: sha256 ")
    assert dataclasses.replace(record, request=None) == RunRecord(
        id=handle.run_id,
        tab="vision",
        provider="fireworks",
        model="llama",
        params={"temperature": 0.2},
        inputs={"prompt": "hi"},
        request=None,
        prompt="Describe it",
        output="A cat on a mat.",
        metrics={"ttft_s": 0.25},
        error="",
        status="complete",
        started_at=1_234.5,
        finished_at=record.finished_at,
        result={"images": ["cat.png"]},
    )
    assert record.finished_at is not None and record.finished_at > 0


def test_streamed_text_reaches_the_disk_while_the_run_is_still_streaming(
    store: HistoryStore,
) -> None:
    handle = store.begin(start())
    handle.append_output("first ")
    handle.append_output("second")

    def written() -> bool:
        record = store.get(handle.run_id) if handle.run_id is not None else None
        return record is not None and record.output == "first second"

    assert wait_for(written)
    record = store.get(handle.run_id)  # type: ignore[arg-type]
    assert record is not None and record.status == "running"
    handle.finish(status="stopped")


def test_a_final_output_replaces_the_streamed_text(store: HistoryStore) -> None:
    handle = store.begin(start())
    handle.append_output('{"a": ')
    handle.finish(status="failed", output='{"a": 1}', error="Server said 500")

    assert store.flush()
    record = store.get(handle.run_id)  # type: ignore[arg-type]
    assert record is not None
    assert (record.output, record.status, record.error) == ('{"a": 1}', "failed", "Server said 500")


def test_many_small_pieces_are_all_kept(store: HistoryStore) -> None:
    handle = store.begin(start())
    pieces = [f"{index} " for index in range(20_000)]
    for text in pieces:
        handle.append_output(text)
    handle.finish(status="complete")

    assert store.flush()
    record = store.get(handle.run_id)  # type: ignore[arg-type]
    assert record is not None and record.output == "".join(pieces)


def test_a_huge_output_is_stored_in_full_and_only_the_preview_is_cut(
    store: HistoryStore,
) -> None:
    output = ("lorem ipsum " * 1_000)[:10_000] * 500  # 5 MB
    prompt = "summarise " * 100
    handle = store.begin(start())
    handle.set_request(chat_request(prompt), prompt)
    for offset in range(0, len(output), 10_000):
        handle.append_output(output[offset : offset + 10_000])
    handle.finish(status="complete")

    assert store.flush(timeout=30)
    record = store.get(handle.run_id)  # type: ignore[arg-type]
    assert record is not None and record.output == output and record.prompt == prompt
    [summary] = store.search("ipsum")
    assert summary.output_preview == output[:300]
    assert summary.output_chars == 5_000_000
    assert summary.prompt == prompt[:200]


@pytest.mark.parametrize("status", ["running", "done", ""])
def test_a_run_cannot_finish_with_an_unknown_status(store: HistoryStore, status: str) -> None:
    with pytest.raises(HistoryError):
        store.begin(start()).finish(status=status)


def test_misusing_a_run_raises_instead_of_storing_nonsense(store: HistoryStore) -> None:
    with pytest.raises(HistoryError):
        store.begin(RunStart("chat", "p", "m", {"bad": object()}, {}, 1.0))
    handle = store.begin(start())
    with pytest.raises(HistoryError):
        handle.finish(status="complete", metrics={"bad": {1, 2}})
    handle.finish(status="complete")
    with pytest.raises(HistoryError):
        handle.finish(status="complete")
    with pytest.raises(HistoryError):
        handle.append_output("late")
    with pytest.raises(HistoryError):
        handle.set_request(chat_request("late"), "late")
    assert set(RUN_STATUSES) >= {"running", "interrupted"}


def test_closing_stores_open_runs_as_interrupted_and_ignores_them_afterwards(path: Path) -> None:
    store = HistoryStore.open(path)
    handle = store.begin(start())
    handle.append_output("partial answer")

    store.close()
    store.close()
    handle.append_output(" ignored")
    handle.finish(status="complete")

    assert not store.available
    assert store.begin(start()).run_id is None
    reopened = HistoryStore.open(path)
    [summary] = reopened.search("partial")
    assert (summary.status, summary.output_preview) == ("interrupted", "partial answer")
    reopened.close()


# --- Search, facets, delete ---------------------------------------------------------------------


@pytest.fixture
def three_runs(store: HistoryStore) -> dict[str, int]:
    return {
        "report": record_run(
            store,
            "Summarise the quarterly report",
            "Revenue grew (a lot), see col:umn 3",
            run=start(tab="chat", provider="fireworks", model="llama", started_at=100.0),
        ),
        "cafe": record_run(
            store,
            "Translate 'café' to English",
            "coffee shop",
            run=start(tab="json", provider="openai", model="gpt", started_at=300.0),
        ),
        "vector": record_run(
            store,
            "embed these",
            "",
            run=start(tab="embeddings", provider="fireworks", model="nomic", started_at=200.0),
        ),
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("quarterly", ["report"]),
        ("quart", ["report"]),
        ("QUARTERLY revenue", ["report"]),
        ("cafe", ["cafe"]),
        ("coffee quarterly", []),
        ('"coffee', ["cafe"]),
        ("coffee\"'", ["cafe"]),
        ("(lot", ["report"]),
        ("lot)", ["report"]),
        ("-revenue", ["report"]),
        ("revenue*", ["report"]),
        ("col:umn", ["report"]),
        ("NEAR(", []),
        ("AND", []),
        ("embed OR coffee", []),
        ("*", ["cafe", "vector", "report"]),
        ("", ["cafe", "vector", "report"]),
    ],
)
def test_text_search_takes_any_characters_and_lists_newest_first(
    store: HistoryStore, three_runs: dict[str, int], text: str, expected: list[str]
) -> None:
    assert ids(store.search(text)) == [three_runs[name] for name in expected]


def test_search_filters_by_tab_model_provider_and_dates(
    store: HistoryStore, three_runs: dict[str, int]
) -> None:
    report, cafe, vector = three_runs["report"], three_runs["cafe"], three_runs["vector"]

    assert ids(store.search(tab="json")) == [cafe]
    assert ids(store.search(model="nomic")) == [vector]
    assert ids(store.search(provider="fireworks")) == [vector, report]
    assert ids(store.search(since=200.0)) == [cafe, vector]
    assert ids(store.search(until=200.0)) == [report]
    assert ids(store.search(since=150.0, until=250.0)) == [vector]
    assert ids(store.search("embed", provider="fireworks", tab="embeddings")) == [vector]
    assert ids(store.search(limit=1)) == [cafe]
    assert store.search(tab="audio") == []


def test_facets_list_what_the_filters_can_offer(
    store: HistoryStore, three_runs: dict[str, int]
) -> None:
    assert store.facets() == (
        ["chat", "embeddings", "json"],
        ["gpt", "llama", "nomic"],
        ["fireworks", "openai"],
    )


def test_deleting_a_run_removes_it_from_the_list_and_the_text_index(
    store: HistoryStore, three_runs: dict[str, int]
) -> None:
    store.delete(three_runs["report"])

    assert store.flush()
    assert store.get(three_runs["report"]) is None
    assert store.search("quarterly") == []
    assert ids(store.search("coffee")) == [three_runs["cafe"]]


def test_deleting_everything_shrinks_the_file(store: HistoryStore) -> None:
    for index in range(20):
        record_run(store, f"prompt {index}", f"answer {index} " * 10_000)
    before = store.size_bytes()

    store.delete_all()

    assert store.flush(timeout=30)
    assert store.search() == [] and store.search("answer") == []
    assert store.facets() == ([], [], [])
    assert store.size_bytes() < before / 10
    assert record_run(store, "again", "works") > 0


# --- Helpers for callers ------------------------------------------------------------------------


def test_strip_media_keeps_only_the_hash_and_size_of_media() -> None:
    png = b"\x89PNG\r\n" + bytes(range(256)) * 4
    url = "data:image/png;base64," + base64.b64encode(png).decode()
    value = {
        "messages": [{"content": [{"type": "image_url", "image_url": {"url": url}}]}],
        "tiny": "data:audio/wav;base64,UklGRg==",
        "text": "data: not a data URL",
        "raw": "data:text/plain,hello",
        "pair": ("a", 1, None),
    }

    stripped = strip_media(value)

    digest = hashlib.sha256(png).hexdigest()[:16]
    assert stripped == {
        "messages": [
            {
                "content": [
                    {
                        "type": "image_url",
                        "image_url": {
                            "url": f"data:image/png;base64,<not stored: sha256 {digest},"
                            f" {len(png)} bytes>"
                        },
                    }
                ]
            }
        ],
        "tiny": "data:audio/wav;base64,<not stored: sha256 "
        f"{hashlib.sha256(b'RIFF').hexdigest()[:16]}, 4 bytes>",
        "text": "data: not a data URL",
        "raw": "data:text/plain,hello",
        "pair": ["a", 1, None],
    }
    assert value["messages"][0]["content"][0]["image_url"]["url"] == url  # type: ignore[index]
    assert strip_media(stripped) == stripped


def test_prompt_of_collects_every_text_a_request_sends() -> None:
    chat = {
        "messages": [
            {"role": "system", "content": "Be brief."},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is this?"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA=="}},
                ],
            },
            {"role": "assistant", "content": None, "tool_calls": []},
            {"role": "tool", "tool_call_id": "1", "content": '{"temp": 18}'},
        ]
    }

    assert prompt_of(chat) == 'Be brief.\nWhat is this?\n{"temp": 18}'
    assert prompt_of({"input": "one text"}) == "one text"
    assert prompt_of({"input": ["first", "second", 3]}) == "first\nsecond"
    assert prompt_of(None, {"prompt": "Names: Anaïs", "model": "whisper"}) == "Names: Anaïs"
    assert prompt_of(None) == "" and prompt_of({"model": "x"}, {}) == ""


# --- Export -------------------------------------------------------------------------------------


def test_jsonl_export_writes_each_full_run_on_one_line(
    store: HistoryStore, three_runs: dict[str, int], tmp_path: Path
) -> None:
    target = tmp_path / "runs.jsonl"

    assert store.export_jsonl(target) == (3, 0)

    lines = target.read_text(encoding="utf-8").splitlines()
    expected = [store.get(run_id) for run_id in sorted(three_runs.values())]
    assert [json.loads(line) for line in lines] == [dataclasses.asdict(r) for r in expected if r]
    assert "café" in target.read_bytes().decode("utf-8")

    chosen = [three_runs["cafe"], 9_999, three_runs["report"]]
    assert store.export_jsonl(target, chosen) == (2, 1)
    assert [json.loads(line)["id"] for line in target.read_text().splitlines()] == chosen[::2]


def test_batch_export_writes_openai_batch_lines_and_skips_what_it_cannot_replay(
    store: HistoryStore, tmp_path: Path
) -> None:
    chat = record_run(
        store, "hi", "hello", request=chat_request("hi", stream=True, stream_options={})
    )
    embeddings_request: dict[str, Any] = {
        "method": "POST",
        "url": "https://api.example.com/v1/embeddings",
        "path": "/embeddings",
        "headers": {},
        "body": {"model": "nomic", "input": ["a", "b"]},
        "form": None,
        "files": [],
    }
    embeddings = record_run(store, "a\nb", "", request=embeddings_request)
    audio_request: dict[str, Any] = {
        "method": "POST",
        "url": "https://api.example.com/v1/audio/transcriptions",
        "path": "/audio/transcriptions",
        "headers": {},
        "body": None,
        "form": {"model": "whisper", "prompt": "names"},
        "files": [{"name": "talk.ogg", "sha256": "ab"}],
    }
    record_run(store, "names", "transcript", request=audio_request)
    handle = store.begin(start())
    handle.finish(status="failed", error="no connection")
    assert store.flush()
    target = tmp_path / "batch.jsonl"

    assert store.export_jsonl(target, batch=True) == (2, 2)

    lines = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    assert lines == [
        {
            "custom_id": f"fireplay-run-{chat}",
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": {"model": "llama", "messages": [{"role": "user", "content": "hi"}]},
        },
        {
            "custom_id": f"fireplay-run-{embeddings}",
            "method": "POST",
            "url": "/v1/embeddings",
            "body": {"model": "nomic", "input": ["a", "b"]},
        },
    ]


# --- Schema versions ----------------------------------------------------------------------------


def pragma(path: Path, name: str) -> Any:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(f"PRAGMA {name}").fetchone()[0]
    finally:
        conn.close()


def test_a_new_history_is_created_at_the_current_version_in_wal_mode(
    store: HistoryStore, path: Path
) -> None:
    assert SCHEMA_VERSION >= 1
    assert pragma(path, "user_version") == SCHEMA_VERSION
    assert pragma(path, "journal_mode") == "wal"
    assert store.problem == ""


def test_an_empty_file_is_migrated(path: Path) -> None:
    path.write_bytes(b"")

    store = HistoryStore.open(path)

    assert store.available and store.problem == ""
    assert record_run(store, "hello", "world") > 0
    store.close()
    assert pragma(path, "user_version") == SCHEMA_VERSION


def test_a_version_0_database_is_migrated_and_keeps_its_other_tables(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE notes (text TEXT)")
    conn.execute("INSERT INTO notes VALUES ('kept')")
    conn.commit()
    conn.close()

    store = HistoryStore.open(path)

    assert store.available and store.problem == ""
    assert record_run(store, "hello", "world") > 0
    store.close()
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT text FROM notes").fetchall() == [("kept",)]
    assert conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
    conn.close()


def test_a_history_from_a_newer_fireplay_is_left_untouched(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE runs_v9 (id INTEGER PRIMARY KEY)")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    problems: list[str] = []

    store = HistoryStore.open(path, problems.append)

    assert not store.available
    assert "newer Fireplay" in store.problem and problems == [store.problem]
    handle = store.begin(start())
    handle.append_output("dropped")
    handle.finish(status="complete")
    store.delete_all()
    assert store.search() == [] and store.get(1) is None and not store.flush()
    store.close()
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == [HISTORY_FILE]


# --- Damaged files and failing disks ------------------------------------------------------------


def assert_set_aside(path: Path, problem: str, content: bytes | None) -> None:
    [kept] = [p for p in path.parent.iterdir() if p.name.startswith(f"{HISTORY_FILE}.corrupt-")]
    assert problem == (
        f"The history file was damaged; it was set aside as {kept.name} and a new history was"
        " started."
    )
    if content is not None:
        assert kept.read_bytes() == content


def test_a_file_that_is_not_a_database_is_set_aside_and_a_new_history_starts(path: Path) -> None:
    garbage = b"this is not a database, just some bytes\x00\xff" * 200
    path.write_bytes(garbage)
    problems: list[str] = []

    store = HistoryStore.open(path, problems.append)

    assert store.available
    assert problems == [store.problem]
    assert_set_aside(path, store.problem, garbage)
    assert record_run(store, "fresh", "start") > 0
    store.close()


def test_a_database_with_damaged_pages_is_set_aside(path: Path) -> None:
    store = HistoryStore.open(path)
    for index in range(30):
        record_run(store, f"prompt {index}", f"answer {index} " * 500)
    store.close()
    data = bytearray(path.read_bytes())
    page = pragma(path, "page_size")
    data[2 * page : len(data) - page] = os.urandom(len(data) - 3 * page)
    path.write_bytes(bytes(data))

    reopened = HistoryStore.open(path)

    assert reopened.available
    assert_set_aside(path, reopened.problem, bytes(data))
    assert reopened.search() == []
    reopened.close()


def test_a_database_without_the_history_tables_is_set_aside(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    conn.commit()
    conn.close()

    store = HistoryStore.open(path)

    assert store.available
    assert_set_aside(path, store.problem, None)
    assert record_run(store, "fresh", "start") > 0
    store.close()


def assert_off_and_harmless(store: HistoryStore, tmp_path: Path) -> None:
    assert not store.available and store.problem.startswith("History is off: ")
    handle = store.begin(start())
    assert handle.run_id is None
    handle.set_request(chat_request("x"), "x")
    handle.append_output("x")
    handle.finish(status="complete")
    store.delete(1)
    store.delete_all()
    assert store.search("x") == [] and store.get(1) is None
    assert store.facets() == ([], [], [])
    assert store.export_jsonl(tmp_path / "out.jsonl") == (0, 0)
    assert not store.flush(timeout=0.1)
    store.close()


def test_a_history_that_cannot_be_created_is_off_and_every_method_is_a_no_op(
    tmp_path: Path,
) -> None:
    (tmp_path / "blocked").write_text("a file where the folder should be")
    problems: list[str] = []

    store = HistoryStore.open(tmp_path / "blocked" / HISTORY_FILE, problems.append)

    assert problems == [store.problem]
    assert "cannot be created" in store.problem
    assert_off_and_harmless(store, tmp_path)


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root ignores file permissions"
)
def test_a_read_only_folder_turns_history_off(tmp_path: Path) -> None:
    folder = tmp_path / "settings"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        store = HistoryStore.open(folder / HISTORY_FILE)

        assert store.problem == f"History is off: {folder} is read-only."
        assert_off_and_harmless(store, tmp_path)
    finally:
        folder.chmod(0o700)


def test_a_full_disk_turns_history_off_once_without_raising(path: Path) -> None:
    problems: list[str] = []
    reported = threading.Event()

    def on_problem(message: str) -> None:
        problems.append(message)
        reported.set()

    store = HistoryStore.open(path, on_problem, _max_pages=1)
    handle = store.begin(start())
    handle.append_output("x" * 200_000)
    handle.finish(status="complete")

    assert reported.wait(WAIT_S)
    assert not store.flush(timeout=1)
    assert not store.available
    assert problems == [store.problem] and "the disk is full" in store.problem
    for _ in range(3):
        later = store.begin(start())
        later.append_output("more")
        later.finish(status="complete")
        store.delete_all()
    assert not store.flush(timeout=0.1)
    assert problems == [store.problem]
    store.close()


@pytest.mark.parametrize("lock", ["BEGIN IMMEDIATE", "BEGIN EXCLUSIVE"])
def test_a_locked_database_delays_writes_without_losing_them(path: Path, lock: str) -> None:
    problems: list[str] = []
    store = HistoryStore.open(path, problems.append)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute(lock)
    try:
        handle = store.begin(start())
        handle.set_request(chat_request("locked out"), "locked out")
        for index in range(50):
            handle.append_output(f"{index} ")
        handle.finish(status="complete")

        assert wait_for(lambda: problems == [LOCKED])
        assert store.problem == LOCKED and store.available
        assert not store.flush(timeout=0.1)
    finally:
        other.execute("ROLLBACK")
        other.close()

    assert store.flush(timeout=WAIT_S)
    record = store.get(handle.run_id)  # type: ignore[arg-type]
    assert record is not None
    assert record.output == "".join(f"{index} " for index in range(50))
    assert (record.status, record.prompt) == ("complete", "locked out")
    assert store.problem == "" and problems == [LOCKED]
    assert ids(store.search("locked")) == [handle.run_id]
    store.close()


# --- A killed process ---------------------------------------------------------------------------


def _stored_pieces(path: Path) -> int:
    """How many pieces the newest run has on disk, read as another program would."""
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1) as conn:
            row = conn.execute("SELECT output FROM runs ORDER BY id DESC LIMIT 1").fetchone()
    except sqlite3.Error:
        return 0
    return len(row[0]) // len(piece(0)) if row and row[0] else 0


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_a_killed_process_keeps_what_it_had_written_while_streaming(path: Path) -> None:
    with subprocess.Popen(
        [sys.executable, str(WRITER_SCRIPT), str(path)], stdout=subprocess.DEVNULL
    ) as child:
        try:
            # Several batches on disk while the run still streams: written as it goes.
            assert wait_for(lambda: _stored_pieces(path) >= 30, timeout=60)
            seen = _stored_pieces(path)
            assert child.poll() is None, "the writer stopped before it was killed"
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait(WAIT_S)

    store = HistoryStore.open(path)
    [summary] = store.search(tab="chat")
    assert summary.status == "interrupted"
    record = store.get(summary.id)
    assert record is not None and record.output
    stored = len(record.output) // len(piece(0))
    assert record.output == "".join(piece(index) for index in range(stored))
    assert stored >= seen
    assert ids(store.search(piece(seen - 1).strip())) == [summary.id]
    assert ids(store.search("killed")) == [summary.id]
    store.close()
