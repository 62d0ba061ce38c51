"""The run history: every run of every tab, kept in ``history.sqlite3`` (Qt-free, stdlib only).

The UI thread never waits on disk for a write. :meth:`HistoryStore.begin` and the
:class:`RunHandle` methods only queue work (``append_output`` appends to a list under a lock);
one daemon writer thread with its own connection turns the queue into transactions, and writes
the streamed text of every running run once per ``_WRITE_INTERVAL`` as a single
``output = output || ?`` update, so a killed process loses at most the last fraction of a
second. Reads (:meth:`HistoryStore.search`, :meth:`HistoryStore.get`, ...) use a second
connection on the caller's thread; WAL mode lets them run while the writer writes.

Full-text search is an FTS5 table over ``prompt`` and ``output`` with ``runs`` as its external
content. Triggers keep it in step with ``runs``, and index a run only once it is over (any
status but ``"running"``): re-indexing a growing output four times a second would cost more
than the run. Runs left ``"running"`` by a process that died become ``"interrupted"`` on the
next :meth:`HistoryStore.open`, which indexes their partial output.

The schema is versioned with ``PRAGMA user_version``: ``_MIGRATIONS[i]`` takes version ``i`` to
``i + 1``, each in one transaction, so a new version is one function appended to the list.

Nothing here raises for an I/O problem. A file that cannot be created, a damaged file (set aside
and replaced), a full disk or a database written by a newer Fireplay turns history off or
resets it, and the store says so once through ``on_problem`` and :attr:`HistoryStore.problem`.
``on_problem`` is called on the thread that met the problem, the writer thread included, so a
UI must marshal it to its own thread (a queued Qt signal, for instance).

Example:
    >>> store = HistoryStore.open(config_dir / HISTORY_FILE, on_problem=print)
    >>> run = store.begin(RunStart("chat", "fireworks", "gpt-oss-120b", {}, {}, time.time()))
    >>> run.set_request(request, prompt_of(request["body"]))
    >>> run.append_output("Hello")
    >>> run.finish(status="complete", metrics={"ttft_s": 0.21})
    >>> [summary.output_preview for summary in store.search("hello")]
    ['Hello']
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import dataclasses
import errno
import hashlib
import json
import logging
import os
import re
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar

from app.storage import PRIVATE_MODE, keep_aside

__all__ = [
    "HISTORY_FILE",
    "RUN_STATUSES",
    "SCHEMA_VERSION",
    "HistoryError",
    "HistoryStore",
    "RunHandle",
    "RunRecord",
    "RunStart",
    "RunSummary",
    "prompt_of",
    "strip_media",
]

logger = logging.getLogger(__name__)

T = TypeVar("T")

HISTORY_FILE = "history.sqlite3"
RUN_STATUSES = ("running", "complete", "stopped", "failed", "interrupted")
_FINAL_STATUSES = frozenset(RUN_STATUSES) - {"running"}

# Streamed text reaches the disk at least this often; a killed process loses no more than this.
_WRITE_INTERVAL = 0.25
_BUSY_TIMEOUT_MS = 2000
# At quit the writer normally needs milliseconds; a hung disk must not hold the app open.
_CLOSE_TIMEOUT = 3.0
_PROMPT_CHARS = 200
_PREVIEW_CHARS = 300
_BATCH_URLS = {"/chat/completions": "/v1/chat/completions", "/embeddings": "/v1/embeddings"}
_STREAM_KEYS = frozenset({"stream", "stream_options"})

_LOCKED_PROBLEM = "History is waiting: the database is locked by another program."
_DISK_FULL_PROBLEM = "History is off: the disk is full, so new runs are not saved."

# Primary result codes (the low byte of an extended code such as SQLITE_IOERR_WRITE).
_DAMAGE_CODES = frozenset({sqlite3.SQLITE_ERROR, sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB})
_BUSY_CODES = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})
_READ_ONLY_CODES = frozenset(
    {sqlite3.SQLITE_READONLY, sqlite3.SQLITE_PERM, sqlite3.SQLITE_CANTOPEN}
)

# Small columns first: filters and the recovery scan then never read the long texts' pages.
_SCHEMA_V1 = (
    """
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        tab TEXT NOT NULL,
        provider TEXT NOT NULL,
        model TEXT NOT NULL,
        status TEXT NOT NULL,
        started_at REAL NOT NULL,
        finished_at REAL,
        written_at REAL NOT NULL,
        pid INTEGER NOT NULL,
        error TEXT NOT NULL DEFAULT '',
        params TEXT NOT NULL,
        inputs TEXT NOT NULL,
        metrics TEXT,
        result TEXT,
        request TEXT,
        prompt TEXT NOT NULL DEFAULT '',
        output TEXT NOT NULL DEFAULT ''
    )
    """,
    "CREATE INDEX runs_by_start ON runs (started_at)",
    "CREATE INDEX runs_running ON runs (pid) WHERE status = 'running'",
    """
    CREATE VIRTUAL TABLE runs_text USING fts5 (
        prompt, output, content = 'runs', content_rowid = 'id',
        tokenize = 'unicode61 remove_diacritics 2'
    )
    """,
    # An external-content index must be told the exact values it indexed to forget a row, so
    # every change to an indexed row goes through these triggers.
    """
    CREATE TRIGGER runs_text_insert AFTER INSERT ON runs WHEN new.status <> 'running' BEGIN
        INSERT INTO runs_text (rowid, prompt, output) VALUES (new.id, new.prompt, new.output);
    END
    """,
    """
    CREATE TRIGGER runs_text_delete AFTER DELETE ON runs WHEN old.status <> 'running' BEGIN
        INSERT INTO runs_text (runs_text, rowid, prompt, output)
            VALUES ('delete', old.id, old.prompt, old.output);
    END
    """,
    """
    CREATE TRIGGER runs_text_update AFTER UPDATE OF prompt, output, status ON runs BEGIN
        INSERT INTO runs_text (runs_text, rowid, prompt, output)
            SELECT 'delete', old.id, old.prompt, old.output WHERE old.status <> 'running';
        INSERT INTO runs_text (rowid, prompt, output)
            SELECT new.id, new.prompt, new.output WHERE new.status <> 'running';
    END
    """,
)


def _create_schema(conn: sqlite3.Connection) -> None:
    """Version 1: the runs table, its full-text index and the triggers that keep it."""
    for statement in _SCHEMA_V1:
        conn.execute(statement)


_MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (_create_schema,)
SCHEMA_VERSION: int = len(_MIGRATIONS)

_RECORD_COLUMNS = (
    "id, tab, provider, model, params, inputs, request, prompt, output, metrics, error, status,"
    " started_at, finished_at, result"
)
_SUMMARY_COLUMNS = (
    f"id, tab, provider, model, started_at, status, substr(prompt, 1, {_PROMPT_CHARS}),"
    f" substr(output, 1, {_PREVIEW_CHARS}), length(output), error"
)

_DATA_URL = re.compile(r"data:(?P<mime>[^;,]*)(?:;[^;,]*)*;base64,(?P<blob>[A-Za-z0-9+/=\s]*)")


class HistoryError(Exception):
    """The store was misused (a run finished twice, a value that is not JSON...).

    Disk and database problems never raise; they are reported through ``on_problem``.
    """


@dataclass(frozen=True, slots=True)
class RunStart:
    """What is known about a run when it starts.

    Attributes:
        tab: The tab's id: ``"chat"``, ``"tools"``, ``"json"``, ``"vision"``, ``"audio"`` or
            ``"embeddings"``.
        provider: The provider's id.
        model: The model id.
        params: The sampling parameters sent.
        inputs: The tab's inputs, JSON-able: prompt texts, schema, tools, media file names and
            hashes, never media bytes.
        started_at: Epoch seconds.
    """

    tab: str
    provider: str
    model: str
    params: dict[str, Any]
    inputs: dict[str, Any]
    started_at: float


@dataclass(frozen=True, slots=True)
class RunSummary:
    """One row of the history list.

    Attributes:
        id: The run's id.
        tab: The tab's id.
        provider: The provider's id.
        model: The model id.
        started_at: Epoch seconds.
        status: One of :data:`RUN_STATUSES`.
        prompt: The first 200 characters of the prompt (the full text stays stored).
        output_preview: The first 300 characters of the output.
        output_chars: The length of the full output.
        error: The error message, or ``""``.
    """

    id: int
    tab: str
    provider: str
    model: str
    started_at: float
    status: str
    prompt: str
    output_preview: str
    output_chars: int
    error: str


@dataclass(frozen=True, slots=True)
class RunRecord:
    """Everything stored for one run.

    Attributes:
        id: The run's id.
        tab: The tab's id.
        provider: The provider's id.
        model: The model id.
        params: The sampling parameters sent.
        inputs: The tab's inputs (see :class:`RunStart`).
        request: The request as sent, already redacted by the caller: ``method``, ``url``,
            ``path``, ``headers``, ``body``, ``form`` and ``files``.
        prompt: The searchable prompt text.
        output: The full output, never truncated.
        metrics: The run's measurements.
        error: The error message, or ``""``.
        status: One of :data:`RUN_STATUSES`.
        started_at: Epoch seconds.
        finished_at: Epoch seconds; for an interrupted run, when its output was last written.
        result: Tab-specific state for reopening the run, JSON-able.
    """

    id: int
    tab: str
    provider: str
    model: str
    params: dict[str, Any]
    inputs: dict[str, Any]
    request: dict[str, Any] | None
    prompt: str
    output: str
    metrics: dict[str, Any] | None
    error: str
    status: str
    started_at: float
    finished_at: float | None
    result: dict[str, Any] | None


def strip_media(value: Any) -> Any:
    """Copy a JSON-like value with every base64 data URL replaced by its hash and size.

    ``"data:image/png;base64,iVBOR..."`` becomes
    ``"data:image/png;base64,<not stored: sha256 1f2e3d4c5b6a7988, 48213 bytes>"``: media are
    never stored, but two runs on the same image can still be told apart from two on different
    ones. Applying it twice changes nothing.

    Args:
        value: Dicts, lists, tuples and scalars, nested in any way; it is not modified.

    Returns:
        The copy (tuples become lists, as JSON would make them).
    """
    if isinstance(value, str):
        return _strip_data_url(value)
    if isinstance(value, Mapping):
        return {key: strip_media(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [strip_media(item) for item in value]
    return value


def _strip_data_url(text: str) -> str:
    if not text.startswith("data:"):
        return text
    match = _DATA_URL.fullmatch(text)
    if match is None:
        return text
    try:
        data = base64.b64decode(match["blob"])
    except binascii.Error:  # bad padding
        data = match["blob"].encode("ascii")
    digest = hashlib.sha256(data).hexdigest()[:16]
    return f"data:{match['mime']};base64,<not stored: sha256 {digest}, {len(data)} bytes>"


def prompt_of(body: Mapping[str, Any] | None, form: Mapping[str, Any] | None = None) -> str:
    """The searchable prompt text of a request, one text per line.

    Args:
        body: A JSON request body: the text of every message (string content or the text parts
            of a list content, tool results included, roles left out) and the embeddings
            ``input`` (a string or a list of strings).
        form: A multipart form: its ``prompt`` field (the audio endpoints).

    Returns:
        The texts joined by newlines; ``""`` when there are none.
    """
    texts: list[str] = []
    if body:
        messages = body.get("messages")
        if isinstance(messages, list):
            for message in messages:
                if isinstance(message, Mapping):
                    texts.extend(_content_texts(message.get("content")))
        embedded = body.get("input")
        if isinstance(embedded, str):
            texts.append(embedded)
        elif isinstance(embedded, list):
            texts.extend(item for item in embedded if isinstance(item, str))
    if form:
        prompt = form.get("prompt")
        if isinstance(prompt, str):
            texts.append(prompt)
    return "\n".join(text for text in texts if text)


def _content_texts(content: Any) -> list[str]:
    if isinstance(content, str):
        return [content]
    if isinstance(content, list):
        return [
            part["text"]
            for part in content
            if isinstance(part, Mapping) and isinstance(part.get("text"), str)
        ]
    return []


class RunHandle:
    """One run being recorded; every method returns at once and never touches the disk.

    A handle from a store that is off (or closed) accepts every call and does nothing.
    """

    def __init__(self, store: HistoryStore | None) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._pieces: list[str] = []
        # "detached": the store is off or closed, so calls are dropped without complaint.
        self._state: Literal["open", "finished", "detached"] = "open" if store else "detached"
        self._run_id: int | None = None

    @property
    def run_id(self) -> int | None:
        """The run's id, known once the writer has inserted its row (None until then)."""
        return self._run_id

    def set_request(self, request: dict[str, Any], prompt: str) -> None:
        """Record the request as sent and its searchable prompt text.

        Args:
            request: ``{"method", "url", "path", "headers", "body", "form", "files"}``, already
                redacted; data URLs are replaced by :func:`strip_media` in any case.
            prompt: The prompt text, usually :func:`prompt_of` of the body or form.

        Raises:
            HistoryError: The run is finished, or ``request`` is not JSON-able.
        """
        if self._store is not None and self._still_open():
            self._store._enqueue(_SetRequest(self, _dumps(strip_media(request)), prompt))

    def append_output(self, text: str) -> None:
        """Add a streamed piece of the output; cheap enough to call for every piece.

        Raises:
            HistoryError: The run is finished.
        """
        with self._lock:
            if self._state == "open":
                self._pieces.append(text)
                return
            state = self._state
        if state == "finished":
            raise HistoryError("append_output() after finish()")

    def finish(
        self,
        *,
        status: str,
        output: str | None = None,
        metrics: dict[str, Any] | None = None,
        error: str = "",
        result: dict[str, Any] | None = None,
    ) -> None:
        """End the run.

        Args:
            status: Any of :data:`RUN_STATUSES` but ``"running"``.
            output: The final output; None keeps the text given to :meth:`append_output`.
            metrics: The run's measurements, JSON-able.
            error: The error message, if the run failed.
            result: Tab-specific state for reopening the run, JSON-able.

        Raises:
            HistoryError: ``status`` is not a final status, the run was already finished, or
                ``metrics`` or ``result`` is not JSON-able.
        """
        if status not in _FINAL_STATUSES:
            raise HistoryError(f"not a final run status: {status!r}")
        if self._store is None:
            return
        op = _Finish(
            self,
            status,
            output,
            None if metrics is None else _dumps(metrics),
            error,
            None if result is None else _dumps(result),
            time.time(),
        )
        with self._lock:
            state = self._state
            if state == "open":
                self._state = "finished"
        if state == "finished":
            raise HistoryError("finish() called twice")
        if state == "open":
            self._store._enqueue(op)

    def _still_open(self) -> bool:
        with self._lock:
            state = self._state
        if state == "finished":
            raise HistoryError("the run is already finished")
        return state == "open"

    def _pending_count(self) -> int:
        with self._lock:
            return len(self._pieces)

    def _snapshot(self) -> tuple[int, str]:
        """The pieces not yet written; they stay here until :meth:`_consume` after the commit."""
        with self._lock:
            return len(self._pieces), "".join(self._pieces)

    def _consume(self, count: int) -> None:
        with self._lock:
            del self._pieces[:count]

    def _detach(self) -> bool:
        """Stop taking calls; True when the run was still open (its pieces are kept)."""
        with self._lock:
            was_open = self._state == "open"
            self._state = "detached"
        return was_open

    def _drop(self) -> None:
        with self._lock:
            self._state = "detached"
            self._pieces.clear()


class HistoryStore:
    """The run history in one SQLite file; build it with :meth:`open`.

    Writes are queued for the writer thread; reads run on the caller's thread. A store that is
    off keeps working as a cheap no-op, and :attr:`problem` says why.
    """

    def __init__(self, path: Path, on_problem: Callable[[str], None] | None = None) -> None:
        """Prepare a store that is off until :meth:`open` starts it; use :meth:`open`."""
        self._path = path
        self._on_problem = on_problem
        self._cond = threading.Condition()
        self._ops: list[_Op] = []
        self._active: set[RunHandle] = set()
        self._read_lock = threading.Lock()
        self._reader: sqlite3.Connection | None = None
        self._writer: threading.Thread | None = None
        self._note = ""
        self._off_reason = ""
        self._waiting = False
        self._closed = False
        self._stopping = False
        self._abandoned = False

    @classmethod
    def open(
        cls,
        path: Path,
        on_problem: Callable[[str], None] | None = None,
        *,
        _max_pages: int | None = None,
    ) -> HistoryStore:
        """Open (creating, migrating or repairing) the history at ``path``; never raises.

        Rows left ``"running"`` by a process that is gone become ``"interrupted"`` here. The
        integrity check reads the whole file once, so a very large history costs start-up time.

        Args:
            path: The database file, normally ``<settings folder>/history.sqlite3``.
            on_problem: Called with a one-sentence message whenever history turns off, is set
                back to a new file, or waits for a lock. It is called on the writer thread too:
                a UI must marshal it to its own thread.
            _max_pages: For tests only: caps the file's size in pages to simulate a full disk.

        Returns:
            The store; check :attr:`available` and :attr:`problem`.
        """
        store = cls(path, on_problem)
        store._start(_max_pages)
        return store

    @property
    def available(self) -> bool:
        """False when history is off (unusable folder or file, full disk) or the store closed."""
        return self._accepting()

    @property
    def problem(self) -> str:
        """Why history is off or waiting, or what happened to a damaged file; ``""`` if nothing."""
        if self._off_reason:
            return self._off_reason
        if self._waiting:
            return _LOCKED_PROBLEM
        return self._note

    def begin(self, start: RunStart) -> RunHandle:
        """Start recording a run; its row is inserted by the writer with status ``"running"``.

        Raises:
            HistoryError: ``params`` or ``inputs`` is not JSON-able.
        """
        if not self.available:
            return RunHandle(None)
        row = (
            start.tab,
            start.provider,
            start.model,
            start.started_at,
            start.started_at,
            os.getpid(),
            _dumps(strip_media(start.params)),
            _dumps(strip_media(start.inputs)),
        )
        handle = RunHandle(self)
        with self._cond:
            if not self._accepting():
                return RunHandle(None)
            self._active.add(handle)
            self._ops.append(_Insert(handle, row))
            self._cond.notify()
        return handle

    def search(
        self,
        text: str = "",
        *,
        tab: str | None = None,
        model: str | None = None,
        provider: str | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int = 500,
    ) -> list[RunSummary]:
        """Runs matching every given filter, newest first.

        Args:
            text: Words that must all appear in the prompt or the output (the last one may be
                the start of a word). Any characters are fine; words without a letter or digit
                are ignored. Runs still running are found once they finish.
            tab: Only this tab's runs.
            model: Only this model's runs.
            provider: Only this provider's runs.
            since: Only runs started at or after this epoch time.
            until: Only runs started before this epoch time.
            limit: At most this many runs.
        """
        clauses: list[str] = []
        args: list[Any] = []
        match = _match_expression(text)
        if match:
            clauses.append("id IN (SELECT rowid FROM runs_text WHERE runs_text MATCH ?)")
            args.append(match)
        for column, value in (("tab", tab), ("model", model), ("provider", provider)):
            if value is not None:
                clauses.append(f"{column} = ?")
                args.append(value)
        if since is not None:
            clauses.append("started_at >= ?")
            args.append(since)
        if until is not None:
            clauses.append("started_at < ?")
            args.append(until)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        sql = (
            f"SELECT {_SUMMARY_COLUMNS} FROM runs{where} ORDER BY started_at DESC, id DESC LIMIT ?"
        )
        args.append(max(limit, 0))
        no_rows: list[Any] = []
        rows = self._read(no_rows, lambda conn: conn.execute(sql, args).fetchall())
        return [RunSummary(*row) for row in rows]

    def get(self, run_id: int) -> RunRecord | None:
        """Everything stored for run ``run_id``, or None if there is no such run."""
        sql = f"SELECT {_RECORD_COLUMNS} FROM runs WHERE id = ?"
        row = self._read(None, lambda conn: conn.execute(sql, (run_id,)).fetchone())
        return None if row is None else _record(row)

    def facets(self) -> tuple[list[str], list[str], list[str]]:
        """The distinct tabs, models and providers in the history, each sorted."""

        def distinct(conn: sqlite3.Connection, column: str) -> list[str]:
            rows = conn.execute(f"SELECT DISTINCT {column} FROM runs ORDER BY 1").fetchall()
            return [value for (value,) in rows]

        def query(conn: sqlite3.Connection) -> tuple[list[str], list[str], list[str]]:
            return distinct(conn, "tab"), distinct(conn, "model"), distinct(conn, "provider")

        nothing: tuple[list[str], list[str], list[str]] = ([], [], [])
        return self._read(nothing, query)

    def delete(self, run_id: int) -> None:
        """Delete run ``run_id`` (queued like every write)."""
        self._enqueue(_Delete(run_id))

    def delete_all(self) -> None:
        """Delete every run, then compact the file so that it shrinks (queued)."""
        self._enqueue(_DeleteAll())

    def size_bytes(self) -> int:
        """The size of the database file plus its write-ahead log."""
        total = 0
        for file in (self._path, _side_file(self._path, "-wal")):
            with contextlib.suppress(OSError):
                total += file.stat().st_size
        return total

    def export_jsonl(
        self, path: Path, run_ids: Sequence[int] | None = None, *, batch: bool = False
    ) -> tuple[int, int]:
        """Write runs to a JSON Lines file, one run per line, in UTF-8.

        It reads through a connection of its own, so it may run on a worker thread while the
        UI keeps searching.

        Args:
            path: The file to write (replaced if it exists).
            run_ids: The runs to write, in this order; None writes every run, oldest first.
            batch: False writes each full :class:`RunRecord`. True writes OpenAI Batch API input
                lines (``custom_id``, ``method``, ``url``, ``body``) for the runs whose request
                was a JSON request to ``/chat/completions`` or ``/embeddings``, and skips the
                others (audio uploads, runs without a request).

        Returns:
            How many runs were written and how many were skipped (including unknown ids).

        Raises:
            OSError: ``path`` cannot be written. The history itself never raises.
        """
        if self._reader is None:
            return 0, 0
        written = skipped = 0
        try:
            conn = _connect(self._path)
        except sqlite3.Error as exc:
            logger.warning("cannot read %s for export: %s", self._path, exc)
            return 0, 0
        try:
            conn.execute("PRAGMA query_only = ON")
            with path.open("w", encoding="utf-8", newline="\n") as out:
                for record in _records(conn, run_ids):
                    line = None
                    if record is not None:
                        line = _batch_line(record) if batch else dataclasses.asdict(record)
                    if line is None:
                        skipped += 1
                        continue
                    out.write(json.dumps(line, ensure_ascii=False) + "\n")
                    written += 1
        except sqlite3.Error as exc:
            logger.warning("export from %s stopped: %s", self._path, exc)
        finally:
            conn.close()
        return written, skipped

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until everything queued so far is on disk.

        Returns:
            True once it is; False on timeout or when history is off.
        """
        marker = _Flush()
        if not self._enqueue(marker):
            return False
        return marker.wait(timeout)

    def close(self) -> None:
        """Write what is queued and stop the writer; safe to call more than once.

        Runs still open are stored as ``"interrupted"`` with their output so far; their handles
        ignore later calls. Waits at most a few seconds for the disk.
        """
        with self._cond:
            if self._closed:
                return
            self._closed = True
            now = time.time()
            self._ops.extend(
                _Finish(handle, "interrupted", None, None, "", None, now)
                for handle in self._active
                if handle._detach()
            )
            self._stopping = True
            self._cond.notify()
        if self._writer is not None:
            self._writer.join(_CLOSE_TIMEOUT)
            if self._writer.is_alive():
                logger.warning("history writer still busy after %.0f s; leaving it", _CLOSE_TIMEOUT)
                with self._cond:
                    self._abandoned = True
                    self._cond.notify()
        with self._read_lock:
            if self._reader is not None:
                self._reader.close()
                self._reader = None

    def _start(self, max_pages: int | None) -> None:
        try:
            try:
                writer = _prepare(self._path, max_pages)
            except _DamagedError:
                target = _set_aside(self._path)
                if target is None:
                    raise _OffError(
                        f"History is off: {self._path} is damaged and could not be moved aside."
                    ) from None
                self._note = (
                    f"The history file was damaged; it was set aside as {target.name} and a new"
                    " history was started."
                )
                self._report(self._note)
                try:
                    writer = _prepare(self._path, max_pages)
                except _DamagedError:
                    raise _OffError(f"History is off: {self._path} cannot be used.") from None
            try:
                self._reader = _connect(self._path)
                self._reader.execute("PRAGMA query_only = ON")
            except sqlite3.Error as exc:
                writer.close()
                raise _OffError(f"History is off: {self._path} cannot be read ({exc}).") from exc
        except _OffError as off:
            self._off_reason = off.message
            self._report(off.message)
            return
        self._writer = threading.Thread(
            target=self._write_loop, args=(writer,), name="fireplay-history", daemon=True
        )
        self._writer.start()

    def _accepting(self) -> bool:
        return self._writer is not None and not (self._off_reason or self._closed)

    def _enqueue(self, op: _Op) -> bool:
        with self._cond:
            if not self._accepting():
                return False
            self._ops.append(op)
            self._cond.notify()
        return True

    def _read(self, default: T, query: Callable[[sqlite3.Connection], T]) -> T:
        with self._read_lock:
            if self._reader is None:
                return default
            try:
                return query(self._reader)
            except sqlite3.Error as exc:
                logger.warning("history read failed: %s", exc)
                return default

    def _report(self, message: str) -> None:
        logger.warning("%s", message)
        if self._on_problem is None:
            return
        try:
            self._on_problem(message)
        except Exception:
            # A broken callback must not stop the writer thread.
            logger.exception("history on_problem callback failed")

    def _write_loop(self, conn: sqlite3.Connection) -> None:
        try:
            while True:
                with self._cond:
                    if not self._ops and not self._stopping:
                        # Idle without runs: sleep until something is queued, not on a timer.
                        self._cond.wait(_WRITE_INTERVAL if self._active else None)
                    if self._abandoned or self._off_reason:
                        return
                    stopping = self._stopping
                outcome = self._write_once(conn)
                if outcome == "off":
                    return
                if outcome == "busy":
                    with self._cond:
                        if not self._abandoned:
                            self._cond.wait(_WRITE_INTERVAL)
                    continue
                if stopping:
                    with self._cond:
                        if not self._ops:
                            return
        finally:
            conn.close()

    def _write_once(self, conn: sqlite3.Connection) -> Literal["done", "busy", "off"]:
        """One transaction with the queued operations and every run's new text.

        Nothing leaves the queue or the handles before the commit, so a locked database only
        delays the writes.
        """
        # Operations first, then the pieces: whatever was appended before a flush() is in.
        with self._cond:
            ops = list(self._ops)
            handles = list(self._active)
        if not ops and not any(handle._pending_count() for handle in handles):
            return "done"
        tick = _Tick(conn)
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                for op in ops:
                    op.apply(tick)
                for handle in handles:
                    if handle not in tick.consumed:
                        tick.write_pending(handle)
                conn.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            if _code(exc) in _BUSY_CODES:
                self._start_waiting()
                return "busy"
            self._turn_off(_write_problem(exc, self._path))
            return "off"
        except Exception:
            logger.exception("history writer failed")
            self._turn_off(f"History is off: an internal error stopped writing {self._path}.")
            return "off"
        for handle, run_id in tick.run_ids.items():
            handle._run_id = run_id
        for handle, count in tick.consumed.items():
            handle._consume(count)
        with self._cond:
            del self._ops[: len(ops)]
            self._active.difference_update(tick.finished)
            self._waiting = False
        if tick.vacuum:
            _vacuum(conn)
        for op in ops:
            if isinstance(op, _Flush):
                op.release(True)
        return "done"

    def _start_waiting(self) -> None:
        with self._cond:
            first = not self._waiting
            self._waiting = True
        if first:
            self._report(_LOCKED_PROBLEM)

    def _turn_off(self, message: str) -> None:
        with self._cond:
            if self._off_reason:
                return
            self._off_reason = message
            ops, self._ops = self._ops, []
            handles = list(self._active)
            self._active.clear()
        for op in ops:
            if isinstance(op, _Flush):
                op.release(False)
        for handle in handles:
            handle._drop()
        self._report(message)


class _OffError(Exception):
    """History cannot be used; ``message`` tells the user why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class _DamagedError(Exception):
    """The file is not a usable history database and should be set aside."""


@dataclass(slots=True)
class _Tick:
    """What one writer transaction did, applied to the handles and the queue after its commit."""

    conn: sqlite3.Connection
    run_ids: dict[RunHandle, int] = dataclasses.field(default_factory=dict)
    consumed: dict[RunHandle, int] = dataclasses.field(default_factory=dict)
    finished: list[RunHandle] = dataclasses.field(default_factory=list)
    vacuum: bool = False

    def run_id(self, handle: RunHandle) -> int | None:
        return self.run_ids.get(handle, handle._run_id)

    def write_pending(self, handle: RunHandle) -> None:
        run_id = self.run_id(handle)
        if run_id is None:
            return
        count, text = handle._snapshot()
        if count:
            self.conn.execute(
                "UPDATE runs SET output = output || ?, written_at = ? WHERE id = ?",
                (text, time.time(), run_id),
            )
            self.consumed[handle] = count


class _Op(Protocol):
    def apply(self, tick: _Tick) -> None: ...


@dataclass(frozen=True, slots=True)
class _Insert:
    handle: RunHandle
    row: tuple[Any, ...]

    def apply(self, tick: _Tick) -> None:
        cursor = tick.conn.execute(
            "INSERT INTO runs (tab, provider, model, status, started_at, written_at, pid, params,"
            " inputs) VALUES (?, ?, ?, 'running', ?, ?, ?, ?, ?)",
            self.row,
        )
        if cursor.lastrowid is not None:
            tick.run_ids[self.handle] = cursor.lastrowid


@dataclass(frozen=True, slots=True)
class _SetRequest:
    handle: RunHandle
    request: str
    prompt: str

    def apply(self, tick: _Tick) -> None:
        tick.conn.execute(
            "UPDATE runs SET request = ?, prompt = ? WHERE id = ?",
            (self.request, self.prompt, tick.run_id(self.handle)),
        )


@dataclass(frozen=True, slots=True)
class _Finish:
    handle: RunHandle
    status: str
    output: str | None
    metrics: str | None
    error: str
    result: str | None
    finished_at: float

    def apply(self, tick: _Tick) -> None:
        count, text = self.handle._snapshot()
        if self.output is None:
            output_sql, output = "output = output || ?", text
        else:
            output_sql, output = "output = ?", self.output
        tick.conn.execute(
            f"UPDATE runs SET status = ?, {output_sql}, metrics = ?, error = ?, result = ?,"
            " finished_at = ?, written_at = ? WHERE id = ?",
            (
                self.status,
                output,
                self.metrics,
                self.error,
                self.result,
                self.finished_at,
                self.finished_at,
                tick.run_id(self.handle),
            ),
        )
        tick.consumed[self.handle] = count
        tick.finished.append(self.handle)


@dataclass(frozen=True, slots=True)
class _Delete:
    run_id: int

    def apply(self, tick: _Tick) -> None:
        tick.conn.execute("DELETE FROM runs WHERE id = ?", (self.run_id,))


@dataclass(frozen=True, slots=True)
class _DeleteAll:
    def apply(self, tick: _Tick) -> None:
        tick.conn.execute("DELETE FROM runs")
        # The triggers only mark the index entries deleted; this drops them, so the file shrinks.
        tick.conn.execute("INSERT INTO runs_text (runs_text) VALUES ('delete-all')")
        tick.vacuum = True


class _Flush:
    """A marker in the queue, released once everything queued before it is committed."""

    def __init__(self) -> None:
        self._done = threading.Event()
        self._ok = False

    def apply(self, tick: _Tick) -> None:
        """Nothing to write: the commit of the transaction holding it is the point."""

    def release(self, ok: bool) -> None:
        self._ok = ok
        self._done.set()

    def wait(self, timeout: float) -> bool:
        return self._done.wait(timeout) and self._ok


def _connect(path: Path) -> sqlite3.Connection:
    # Autocommit mode: transactions are explicit (BEGIN IMMEDIATE), never opened implicitly.
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
    return conn


def _prepare(path: Path, max_pages: int | None) -> sqlite3.Connection:
    """The writer's connection to a checked, migrated database with crashed runs recovered.

    Raises:
        _DamagedError: The file should be set aside.
        _OffError: History cannot be used.
    """
    _create_private(path)
    try:
        conn = _connect(path)
    except sqlite3.Error as exc:
        raise _open_problem(exc, path) from exc
    try:
        # Read before anything writes: a newer Fireplay's file must stay exactly as it is.
        version = _user_version(conn)
        if version > SCHEMA_VERSION:
            raise _OffError(
                f"History is off: {path} was written by a newer Fireplay (history version"
                f" {version}); update Fireplay to use it."
            )
        if conn.execute("PRAGMA quick_check").fetchall() != [("ok",)]:
            raise _DamagedError
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()
        if mode is None or str(mode[0]).lower() != "wal":
            logger.warning("%s cannot use WAL mode; reads may wait for writes", path)
        conn.execute("PRAGMA synchronous = NORMAL")
        _migrate(conn)
        conn.execute(f"SELECT {_RECORD_COLUMNS}, pid, written_at FROM runs LIMIT 0").fetchall()
        conn.execute("SELECT rowid FROM runs_text WHERE runs_text MATCH 'probe' LIMIT 0")
        _recover_interrupted(conn)
        if max_pages is not None:
            conn.execute(f"PRAGMA max_page_count = {int(max_pages)}")
    except (_OffError, _DamagedError):
        conn.close()
        raise
    except sqlite3.Error as exc:
        conn.close()
        raise _open_problem(exc, path) from exc
    return conn


def _create_private(path: Path) -> None:
    """Create the file with mode 0600 if missing; SQLite gives its -wal and -shm the same mode."""
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if not os.access(folder, os.W_OK | os.X_OK):
            raise _OffError(f"History is off: {folder} is read-only.")
        if path.exists() and not os.access(path, os.R_OK | os.W_OK):
            raise _OffError(f"History is off: {path} is read-only.")
        os.close(os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0), PRIVATE_MODE))
    except OSError as exc:
        if isinstance(exc, PermissionError) or exc.errno == errno.EROFS:
            raise _OffError(f"History is off: {folder} is read-only.") from exc
        reason = exc.strerror or str(exc)
        raise _OffError(f"History is off: {path} cannot be created ({reason}).") from exc


def _user_version(conn: sqlite3.Connection) -> int:
    row = conn.execute("PRAGMA user_version").fetchone()
    return int(row[0]) if row else 0


def _migrate(conn: sqlite3.Connection) -> None:
    while _user_version(conn) < SCHEMA_VERSION:
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Read again under the write lock: another Fireplay may have migrated meanwhile.
            version = _user_version(conn)
            if version < SCHEMA_VERSION:
                _MIGRATIONS[version](conn)
                conn.execute(f"PRAGMA user_version = {version + 1}")
            conn.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise


def _recover_interrupted(conn: sqlite3.Connection) -> None:
    """Mark the runs of processes that are gone as interrupted (which indexes their text)."""
    pids = [
        pid for (pid,) in conn.execute("SELECT DISTINCT pid FROM runs WHERE status = 'running'")
    ]
    dead = [(pid,) for pid in pids if not _pid_alive(pid)]
    if not dead:
        return
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.Error as exc:
        if _code(exc) not in _BUSY_CODES:
            raise
        # Another program holds the lock: the next start will recover them.
        logger.warning("history locked; interrupted runs are recovered next time")
        return
    try:
        conn.executemany(
            "UPDATE runs SET status = 'interrupted', finished_at = written_at"
            " WHERE status = 'running' AND pid = ?",
            dead,
        )
        conn.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
        raise


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    if pid == os.getpid():
        return True
    if sys.platform == "win32":
        return _windows_pid_alive(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, it is just someone else's
    return True


if sys.platform == "win32":
    import ctypes

    def _windows_pid_alive(pid: int) -> bool:
        # os.kill(pid, 0) would terminate the process on Windows.
        kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return ctypes.get_last_error() == 5  # ERROR_ACCESS_DENIED: it exists
        try:
            code = ctypes.c_ulong()
            if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
                return True
            return code.value == 259  # STILL_ACTIVE
        finally:
            kernel32.CloseHandle(handle)


def _code(exc: sqlite3.Error) -> int:
    return int(getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF


def _open_problem(exc: sqlite3.Error, path: Path) -> _OffError | _DamagedError:
    code = _code(exc)
    if code in _DAMAGE_CODES:
        return _DamagedError()
    if code in _BUSY_CODES:
        return _OffError("History is off: the database is locked by another program.")
    if code == sqlite3.SQLITE_FULL:
        return _OffError(_DISK_FULL_PROBLEM)
    if code in _READ_ONLY_CODES:
        return _OffError(f"History is off: {path} is read-only.")
    return _OffError(f"History is off: {path} cannot be opened ({exc}).")


def _write_problem(exc: sqlite3.Error, path: Path) -> str:
    code = _code(exc)
    if code == sqlite3.SQLITE_FULL:
        return _DISK_FULL_PROBLEM
    if code == sqlite3.SQLITE_READONLY:
        return f"History is off: {path} is read-only."
    return f"History is off: {path} could not be written ({exc})."


def _side_file(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


def _set_aside(path: Path) -> Path | None:
    """Rename a damaged database (and its -wal and -shm) to ``<name>.corrupt-<timestamp>``."""
    # A stale log left in place would be replayed into the new database.
    return keep_aside(path, label="corrupt", companions=("-wal", "-shm"))


def _vacuum(conn: sqlite3.Connection) -> None:
    try:
        conn.execute("VACUUM")
        # VACUUM writes the compacted pages to the log; the checkpoint shrinks the files.
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    except sqlite3.Error as exc:
        logger.warning("could not compact the history: %s", exc)


def _match_expression(text: str) -> str:
    """An FTS5 query for ``text`` where no character is an operator.

    Each word becomes a quoted string (so quotes, ``-``, ``*``, ``:`` and parentheses are plain
    text), the words are AND-ed, and the last one matches as a prefix, for search as you type.
    """
    words = [word for word in text.split() if any(char.isalnum() for char in word)]
    phrases = ['"' + word.replace('"', '""') + '"' for word in words]
    if phrases:
        phrases[-1] += "*"
    return " ".join(phrases)


def _dumps(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise HistoryError(f"history values must be JSON-able: {exc}") from exc


def _loads(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def _loads_dict(text: str | None) -> dict[str, Any] | None:
    value = _loads(text)
    return value if isinstance(value, dict) else None


def _record(row: Sequence[Any]) -> RunRecord:
    (
        run_id,
        tab,
        provider,
        model,
        params,
        inputs,
        request,
        prompt,
        output,
        metrics,
        error,
        status,
        started_at,
        finished_at,
        result,
    ) = row
    return RunRecord(
        id=run_id,
        tab=tab,
        provider=provider,
        model=model,
        params=_loads_dict(params) or {},
        inputs=_loads_dict(inputs) or {},
        request=_loads_dict(request),
        prompt=prompt,
        output=output,
        metrics=_loads_dict(metrics),
        error=error,
        status=status,
        started_at=started_at,
        finished_at=finished_at,
        result=_loads_dict(result),
    )


def _records(conn: sqlite3.Connection, run_ids: Sequence[int] | None) -> Iterator[RunRecord | None]:
    """Runs one at a time, so that exporting a large history never holds it all in memory."""
    if run_ids is None:
        for row in conn.execute(f"SELECT {_RECORD_COLUMNS} FROM runs ORDER BY id"):
            yield _record(row)
        return
    for run_id in run_ids:
        row = conn.execute(f"SELECT {_RECORD_COLUMNS} FROM runs WHERE id = ?", (run_id,)).fetchone()
        yield None if row is None else _record(row)


def _batch_line(record: RunRecord) -> dict[str, Any] | None:
    """The OpenAI Batch API input line for a JSON chat or embeddings run, else None."""
    request = record.request or {}
    url = _BATCH_URLS.get(str(request.get("path")))
    body = request.get("body")
    if url is None or not isinstance(body, dict):
        return None
    return {
        "custom_id": f"fireplay-run-{record.id}",
        "method": "POST",
        "url": url,
        "body": {key: value for key, value in body.items() if key not in _STREAM_KEYS},
    }
