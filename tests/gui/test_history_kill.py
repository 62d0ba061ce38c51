"""A run survives the app being killed: its partial output is in the history at the next start."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from app.domain.history import HISTORY_FILE, HistoryStore
from tests.fake_server import FakeServer, Scripted

# The real app, started as `python -m app` would, that types a prompt and clicks Send once its
# window has started.
_DRIVER = """
import sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QPlainTextEdit, QPushButton, QWidget
import widgets.main_window as main_window
from app.main import main

started = main_window.MainWindow.started

def send(window):
    tab = window.findChild(QWidget, "tab-chat")
    tab.findChild(QPlainTextEdit, "promptInput").setPlainText("Count for me")
    tab.findChild(QPushButton, "sendButton").click()

def started_then_send(self):
    started(self)
    QTimer.singleShot(0, lambda: send(self))

main_window.MainWindow.started = started_then_send
sys.exit(main(sys.argv[1:]))
"""

WORDS = [f"word{n} " for n in range(60)]
HELD_AFTER = 40


def _stored_output(path: Path) -> str:
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1) as conn:
            row = conn.execute("SELECT output FROM runs ORDER BY id DESC LIMIT 1").fetchone()
    except sqlite3.Error:
        return ""
    return row[0] if row else ""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_a_run_killed_mid_stream_keeps_its_partial_output(
    fake_server: FakeServer, tmp_path: Path, release: threading.Event
) -> None:
    # By model: the app also lists models, and that request must not take the scripted stream.
    fake_server.by_model["fake-chat"].append(
        Scripted(chunks=WORDS, hold_after=HELD_AFTER, wait_for=release)
    )
    config = tmp_path / "config"
    script = tmp_path / "driver.py"
    script.write_text(_DRIVER, encoding="utf-8")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "NO_PROXY": "127.0.0.1,localhost"}
    env.pop("FIREPLAY_API_KEY", None)
    command = [sys.executable, str(script), "--config-dir", str(config)]
    command += ["--provider", fake_server.url, "--model", "fake-chat"]
    child = subprocess.Popen(
        command,
        env=env,
        cwd=Path(__file__).parents[2],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        # The first event of a stream carries the role, each later one a word.
        streamed = "".join(WORDS[: HELD_AFTER - 1])
        deadline = time.monotonic() + 60
        # The server holds the stream after HELD_AFTER words: once they are all on disk, the
        # history was written while the run streamed, and the run is surely still running.
        while _stored_output(config / HISTORY_FILE) != streamed:
            assert child.poll() is None, "the app exited"
            assert time.monotonic() < deadline, _stored_output(config / HISTORY_FILE)
            time.sleep(0.05)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    store = HistoryStore.open(config / HISTORY_FILE)
    try:
        [run] = store.search(tab="chat")
        record = store.get(run.id)
        assert record is not None
        assert record.status == "interrupted" and record.output == streamed
        assert record.request is not None
        assert record.request["body"]["messages"][-1]["content"] == "Count for me"
        assert [r.id for r in store.search("word38")] == [run.id]
    finally:
        store.close()
