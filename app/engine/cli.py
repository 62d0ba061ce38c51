"""``fireplay-serve``: run the embedded engine as an OpenAI-compatible server.

Prints ``fireplay-serve: listening on http://127.0.0.1:PORT/v1`` once it accepts requests,
then one line per model load (``loading X``, ``loaded X in 0.42 s``, ``failed to load X: ...``);
the app's supervisor reads these lines.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from app.engine._catalog import EngineConfig, default_threads
from app.engine._deps import missing_components

__all__ = ["main"]

_PR_SET_PDEATHSIG = 1
_HARD_EXIT_AFTER = 5.0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fireplay-serve",
        description="Fireplay's local engine: an OpenAI-compatible server over small models.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default loopback)")
    parser.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    parser.add_argument(
        "--model-file",
        action="append",
        default=[],
        type=Path,
        metavar="PATH",
        help="serve this .gguf chat model too (repeatable)",
    )
    parser.add_argument("--threads", type=int, default=default_threads(), help="CPU threads")
    parser.add_argument("--ctx-size", type=int, default=None, help="chat context length")
    parser.add_argument(
        "--load-wait",
        type=float,
        default=15.0,
        help="seconds a request waits for a loading model before a 503 (default 15)",
    )
    parser.add_argument(
        "--preload", action="append", default=[], metavar="MODEL", help="load at start ('all')"
    )
    parser.add_argument("--parent-pid", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--exit-on-stdin-eof", action="store_true", help=argparse.SUPPRESS)
    return parser


def _say(line: str) -> None:
    sys.stdout.write(f"fireplay-serve: {line}\n")
    sys.stdout.flush()


def _complain(line: str) -> None:
    sys.stderr.write(f"fireplay-serve: {line}\n")


def _die_with_parent(parent_pid: int) -> None:
    """Ask Linux to SIGTERM us when the parent dies (no orphan even if the app is killed)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent_pid:
        # The parent died before the request above took effect.
        os._exit(0)


def _watch_stdin(on_eof: Callable[[], None]) -> None:
    """Exit when stdin (a pipe from the parent) closes: the parent is gone or wants us gone."""

    def run() -> None:
        with contextlib.suppress(OSError, ValueError):
            while sys.stdin.buffer.read(65536):
                pass
        on_eof()
        # A generation in a worker thread may hold shutdown up; never outlive the parent long.
        timer = threading.Timer(_HARD_EXIT_AFTER, os._exit, args=(0,))
        timer.daemon = True
        timer.start()

    threading.Thread(target=run, name="stdin-watch", daemon=True).start()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the server until interrupted.

    Args:
        argv: command-line arguments (default: ``sys.argv[1:]``).

    Returns:
        The exit status.
    """
    args = _parser().parse_args(argv)
    if args.parent_pid is not None:
        _die_with_parent(args.parent_pid)
    server_parts = {"starlette", "uvicorn", "python_multipart"}
    missing = [c for c in missing_components() if c.module in server_parts]
    if missing:
        from app.engine.process import install_command

        names = ", ".join(c.requirement for c in missing)
        _complain(f"missing {names}. Install with:\n  {install_command()}")
        return 2

    import uvicorn

    from app.engine._catalog import build_registry
    from app.engine._server import create_app

    config = EngineConfig(
        model_files=tuple(args.model_file),
        threads=max(1, args.threads),
        ctx_size=args.ctx_size,
        load_wait=args.load_wait,
    )
    try:
        registry = build_registry(config, _say)
    except FileNotFoundError as exc:
        _complain(f"{exc}")
        return 2
    unavailable = [c for c in missing_components() if c.module not in server_parts]
    if unavailable:
        names = ", ".join(f"{c.requirement} ({c.purpose})" for c in unavailable)
        _complain(f"not installed, so not served: {names}")

    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    # proto must say TCP: asyncio only turns Nagle off (TCP_NODELAY) on sockets that do, and
    # with Nagle on, each small SSE write waits ~40 ms for the client's delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((args.host, args.port))
    except OSError as exc:
        _complain(f"cannot listen on {args.host}:{args.port}: {exc}")
        return 2
    port = sock.getsockname()[1]
    app = create_app(registry)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            ws="none",
            timeout_graceful_shutdown=2,
        )
    )

    async def serve() -> None:
        loop = asyncio.get_running_loop()
        if args.exit_on_stdin_eof:

            def request_exit() -> None:
                loop.call_soon_threadsafe(setattr, server, "should_exit", True)

            _watch_stdin(request_exit)
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started and not task.done():
            await asyncio.sleep(0.01)
        if server.started:
            host = f"[{args.host}]" if ":" in args.host else args.host
            _say(f"listening on http://{host}:{port}/v1")
            wanted = set(args.preload)
            for slot in registry.slots():
                if "all" in wanted or slot.spec.id in wanted:
                    slot.start_loading()
        try:
            await task
        finally:
            registry.cancel_all()

    asyncio.run(serve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
