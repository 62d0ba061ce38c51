"""Quitting the real app (``python -m app`` through ``app.main.main``) in a child process.

Whatever the app was doing, quitting cancels the runs, closes the HTTP clients (and stops the
built-in engine) and exits with status 0 and no traceback: through the window (what Ctrl+Q and
the close button do) and through SIGTERM or SIGINT (a session ending, Ctrl+C in the terminal).
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fake_server import FakeServer, Scripted

ROOT = Path(__file__).resolve().parents[2]

# Runs the real ``main()``; it only plays the user: once the Chat tab is built it types a
# prompt and clicks Send, prints what it sees happen ("sent"; "streaming" once reply text has
# arrived; "finished"), and closes the window (or quits the application) when the file named
# by its first argument appears.
DRIVER = r"""
import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QPlainTextEdit, QPushButton

from app.main import main

close_when = Path(sys.argv[1])
qapp = QApplication(["fireplay"])
said = []


def say(word):
    if word not in said:
        said.append(word)
        print(word, flush=True)


def replied(tab):
    output = tab.findChild(object, "pane-0").findChild(object, "output")
    return bool(output.text().replace("Hello?", "").strip())


def poll():
    window = next((w for w in qapp.topLevelWidgets() if w.objectName() == "mainWindow"), None)
    tab = window.findChild(QPlainTextEdit, "promptInput") if window is not None else None
    tab = window.findChild(object, "tab-chat") if tab is not None else None
    if tab is not None and "closing" not in said:
        send = tab.findChild(QPushButton, "sendButton")
        if "sent" not in said:
            if send is not None and send.isEnabled():
                tab.findChild(QPlainTextEdit, "promptInput").setPlainText("Hello?")
                send.click()
                say("sent")
        elif replied(tab):
            say("streaming" if tab.presenter.busy else "finished")
        if close_when.exists():
            said.append("closing")
            # "close" is what Ctrl+Q and the close button do; "quit" is a quit that does not
            # come from Fireplay (a desktop session ending).
            if close_when.read_text() == "quit":
                qapp.quit()
            else:
                window.close()
    QTimer.singleShot(20, poll)


QTimer.singleShot(0, poll)
raise SystemExit(main(sys.argv[2:]))
"""


class App:
    """The child process and the lines it prints."""

    def __init__(self, tmp_path: Path, *args: str) -> None:
        self.close_file = tmp_path / "close-now"
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONUNBUFFERED="1")
        env.pop("FIREPLAY_LOG", None)
        config = tmp_path / "config"
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                DRIVER,
                str(self.close_file),
                "--config-dir",
                str(config),
                *args,
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._lines: queue.Queue[str] = queue.Queue()
        self.printed: list[str] = []
        self._stderr: list[str] = []
        assert self.proc.stdout is not None and self.proc.stderr is not None
        threading.Thread(target=self._read, args=(self.proc.stdout,), daemon=True).start()
        self._err = threading.Thread(target=self._stderr.extend, args=(self.proc.stderr,))
        self._err.start()

    def _read(self, stream: Iterator[str]) -> None:
        for line in stream:
            self._lines.put(line.strip())

    def wait_for(self, word: str, timeout: float = 60) -> None:
        """Wait until the driver prints ``word``."""
        while True:
            try:
                line = self._lines.get(timeout=timeout)
            except queue.Empty:
                pytest.fail(
                    f"the app printed {self.printed}, never {word!r}; stderr:\n{self.stderr}"
                )
            self.printed.append(line)
            if line == word:
                return

    def quit(self, how: str) -> None:
        """Close the window, quit the application, or send the process a signal."""
        if how in ("close", "quit"):
            self.close_file.write_text(how)
        else:
            self.proc.send_signal(getattr(signal, how))

    def wait(self, timeout: float = 30) -> int:
        """The exit status, once the process has exited."""
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            self._err.join(5)
            pytest.fail(f"the app did not exit; stderr:\n{self.stderr}")
        self._err.join(5)
        return code

    @property
    def stderr(self) -> str:
        """Everything the app wrote to stderr."""
        return "".join(self._stderr)

    def kill(self) -> None:
        """Make sure the process is gone and its pipes are closed."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._err.join(5)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture
def release() -> Iterator[threading.Event]:
    """Lets a held fake-server stream go on; set when the test ends."""
    event = threading.Event()
    yield event
    event.set()


QUIT_WAYS = ["close", "quit", "SIGTERM", "SIGINT"]
if sys.platform == "win32":  # no POSIX signals to send
    QUIT_WAYS = ["close", "quit"]


@pytest.mark.parametrize("how", QUIT_WAYS)
def test_quitting_mid_stream_exits_cleanly(
    tmp_path: Path, fake_server: FakeServer, release: threading.Event, how: str
) -> None:
    fake_server.by_model["m"].append(
        Scripted(chunks=["one", " two", " three"], hold_after=2, wait_for=release)
    )
    app = App(tmp_path, "--provider", fake_server.url, "--model", "m")
    try:
        app.wait_for("streaming")
        assert fake_server.wait_until(
            lambda: any(r.path.endswith("/chat/completions") for r in fake_server.requests)
        )
        app.quit(how)
        code = app.wait()
    finally:
        app.kill()
    assert "Traceback" not in app.stderr, app.stderr
    assert code == 0, app.stderr
    # The held stream was closed by the app, not left to die with the process.
    chat = next(r for r in fake_server.requests if r.path.endswith("/chat/completions"))
    assert fake_server.wait_until(lambda: chat.client_disconnected)


@pytest.mark.parametrize("how", QUIT_WAYS)
def test_quitting_after_a_finished_request_exits_cleanly(
    tmp_path: Path, fake_server: FakeServer, how: str
) -> None:
    app = App(tmp_path, "--provider", fake_server.url, "--model", "m")
    try:
        app.wait_for("finished")
        app.quit(how)
        code = app.wait()
    finally:
        app.kill()
    assert "Traceback" not in app.stderr, app.stderr
    assert code == 0, app.stderr


@pytest.mark.engine
def test_quitting_while_the_built_in_engine_streams_stops_it(tmp_path: Path) -> None:
    pytest.importorskip("llama_cpp")
    app = App(tmp_path, "--provider", "local")
    try:
        app.wait_for("streaming", timeout=180)
        app.quit("close")
        code = app.wait(timeout=60)
    finally:
        app.kill()
    assert "Traceback" not in app.stderr, app.stderr
    assert code == 0, app.stderr
