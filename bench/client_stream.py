"""Per-chunk cost of streaming a chat completion: raw httpx vs app.client vs the openai SDK.

A loopback server in a child process (so it never competes for this process's GIL) streams
20,000 chat chunks as fast as the socket takes them, one HTTP chunk per SSE event, or with
``--events-per-http-chunk N`` N events per HTTP chunk (what a buffering proxy or a reader that
falls behind sees; it leaves mostly the per-event parsing cost). Each client reads the whole
stream and touches every chunk's text:

    raw        httpx ``aiter_lines`` + ``json.loads`` (the reference: DESIGN §7 budget <= 1.1x)
    fireplay   ``AsyncClient`` stream iteration (pydantic chunks)
    +final     the same, then ``get_final_completion()`` (assembly)
    +trace     the same inside ``tracing()``, as a pane runs it (request, attempts and raw
               events recorded for the inspector and View code)
    httpx-sse  httpx-sse's ``aiter_sse`` + pydantic ``model_validate_json`` (the decoder
               ``app.client`` does not use; kept here as the measured reason)
    openai     the official SDK's ``AsyncOpenAI`` stream

Rounds interleave the clients; figures are medians over the rounds of wall time and of this
process's CPU time (the latter is less disturbed by other load on the machine).

Run: ``.venv/bin/python bench/client_stream.py [--chunks N] [--rounds R]
[--events-per-http-chunk N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.client import AsyncClient, ChatCompletionChunk, Trace, tracing

MODEL = "accounts/fireworks/models/llama-v3p1-8b-instruct"
MESSAGES = [{"role": "user", "content": "Count to twenty thousand."}]


# -- server (child process) ------------------------------------------------------------------------


def _body(count: int, per_http_chunk: int) -> list[bytes]:
    """The response body as HTTP chunks, each holding ``per_http_chunk`` SSE events."""

    def event(choices: list[dict[str, object]], **extra: object) -> bytes:
        body = {
            "id": "chatcmpl-8f7b2a4c1d",
            "object": "chat.completion.chunk",
            "created": 1767225600,
            "model": MODEL,
            "choices": choices,
            **extra,
        }
        return b"data: " + json.dumps(body, separators=(",", ":")).encode() + b"\n\n"

    def delta(d: dict[str, object], finish: str | None = None) -> list[dict[str, object]]:
        return [{"index": 0, "delta": d, "finish_reason": finish}]

    events = [event(delta({"role": "assistant", "content": ""}))]
    events += [event(delta({"content": f" token{i}"})) for i in range(count - 2)]
    usage = {"prompt_tokens": 9, "completion_tokens": count, "total_tokens": count + 9}
    events.append(event(delta({}, "stop"), usage=usage))
    events.append(b"data: [DONE]\n\n")
    groups = [
        b"".join(events[i : i + per_http_chunk]) for i in range(0, len(events), per_http_chunk)
    ]
    return [b"%x\r\n%s\r\n" % (len(group), group) for group in groups] + [b"0\r\n\r\n"]


def _read_request(reader: socket.SocketIO) -> bool:
    length = 0
    while True:
        line = reader.readline()
        if not line:
            return False
        if line in (b"\r\n", b"\n"):
            break
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    reader.read(length)
    return True


def _serve(count: int, per_http_chunk: int) -> None:
    events = _body(count, per_http_chunk)
    # Batches of events per write: streamed, but never slower than the clients being measured.
    batches = [b"".join(events[i : i + 32]) for i in range(0, len(events), 32)]
    head = (
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
        b"cache-control: no-cache\r\ntransfer-encoding: chunked\r\n\r\n"
    )

    def handle(conn: socket.socket) -> None:
        reader = socket.SocketIO(conn, "rb")
        try:
            while _read_request(reader):
                conn.sendall(head)
                for batch in batches:
                    conn.sendall(batch)
        except OSError:
            pass
        finally:
            conn.close()

    listener = socket.create_server(("127.0.0.1", 0))
    sys.stdout.write(f"{listener.getsockname()[1]}\n")
    sys.stdout.flush()
    while True:
        conn, _ = listener.accept()
        # Each client keeps its own keep-alive connection open between rounds.
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


# -- clients -------------------------------------------------------------------------------------


async def raw_httpx(http: httpx.AsyncClient, url: str) -> int:
    """Reference: httpx line iteration and json.loads, touching each chunk's text."""
    n = 0
    body = {"model": MODEL, "messages": MESSAGES, "stream": True}
    async with http.stream("POST", f"{url}/chat/completions", json=body) as response:
        async for line in response.aiter_lines():
            if not line.startswith("data: "):
                continue
            data = line[6:]
            if data == "[DONE]":
                break
            chunk = json.loads(data)
            choices = chunk["choices"]
            if choices:
                choices[0]["delta"].get("content")
            n += 1
    return n


async def fireplay(client: AsyncClient, final: bool, traced: bool = False) -> int:
    """app.client stream iteration (and optionally the assembled completion, or traced)."""
    if traced:
        with tracing(Trace()):
            return await fireplay(client, final)
    n = 0
    stream = await client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True)
    async with stream:
        async for chunk in stream:
            if chunk.choices:
                _ = chunk.choices[0].delta.content
            n += 1
    if final:
        completion = await stream.get_final_completion()
        assert completion.usage is not None and completion.choices[0].message.content
    return n


async def httpx_sse(http: httpx.AsyncClient, url: str) -> int:
    """httpx-sse's decoder feeding the same pydantic chunk model."""
    from httpx_sse import aconnect_sse

    n = 0
    body = {"model": MODEL, "messages": MESSAGES, "stream": True}
    validate = ChatCompletionChunk.model_validate_json
    async with aconnect_sse(http, "POST", f"{url}/chat/completions", json=body) as source:
        async for event in source.aiter_sse():
            if event.data == "[DONE]":
                break
            chunk = validate(event.data)
            if chunk.choices:
                _ = chunk.choices[0].delta.content
            n += 1
    return n


async def openai_sdk(client: object) -> int:
    """The official SDK (imported only here)."""
    n = 0
    stream = await client.chat.completions.create(  # type: ignore[attr-defined]
        model=MODEL, messages=MESSAGES, stream=True
    )
    async for chunk in stream:
        if chunk.choices:
            _ = chunk.choices[0].delta.content
        n += 1
    return n


async def _measure(fn: Callable[[], Awaitable[int]], expected: int) -> tuple[float, float]:
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    n = await fn()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    if n != expected:
        raise RuntimeError(f"received {n} chunks, expected {expected}")
    return wall, cpu


async def _run(url: str, count: int, rounds: int) -> dict[str, tuple[list[float], list[float]]]:
    import openai  # only the benchmark compares against the SDK

    results: dict[str, tuple[list[float], list[float]]] = {}
    async with (
        httpx.AsyncClient(timeout=60) as http,
        AsyncClient(base_url=url, api_key="bench-key", timeout=60) as client,
        openai.AsyncOpenAI(base_url=url, api_key="bench-key", timeout=60) as sdk,
    ):
        cases: dict[str, Callable[[], Awaitable[int]]] = {
            "raw httpx + json.loads": lambda: raw_httpx(http, url),
            "fireplay AsyncStream": lambda: fireplay(client, final=False),
            "fireplay + get_final_completion": lambda: fireplay(client, final=True),
            "fireplay traced (as a pane runs)": lambda: fireplay(client, final=True, traced=True),
            "httpx-sse + model_validate_json": lambda: httpx_sse(http, url),
            "openai SDK": lambda: openai_sdk(sdk),
        }
        for fn in cases.values():  # warm-up: connections, imports, caches
            await _measure(fn, count)
        names = list(cases)
        for round_number in range(rounds):
            # Rotate the order so no client always runs right after the same other one.
            shift = round_number % len(names)
            for name in names[shift:] + names[:shift]:
                fn = cases[name]
                wall, cpu = await _measure(fn, count)
                walls, cpus = results.setdefault(name, ([], []))
                walls.append(wall)
                cpus.append(cpu)
    return results


def _report(
    results: dict[str, tuple[list[float], list[float]]], count: int, rounds: int, per_chunk: int
) -> None:
    raw_walls, raw_cpus = results["raw httpx + json.loads"]
    base = {
        "wall": statistics.median(raw_walls),
        "cpu": statistics.median(raw_cpus),
        "best": min(raw_walls),
    }
    print(
        f"{count} chunks per stream, {per_chunk} SSE event(s) per HTTP chunk, "
        f"{rounds} rounds (Python {sys.version.split()[0]})"
    )
    header = (
        f"{'client':34} {'chunks/s':>9} {'µs/chunk':>9} {'ratio':>6}"
        f" {'CPU µs':>7} {'ratio':>6} {'best µs':>8} {'ratio':>6}"
    )
    print(header)
    print("-" * len(header))
    for name, (walls, cpus) in results.items():
        wall, cpu, best = statistics.median(walls), statistics.median(cpus), min(walls)
        print(
            f"{name:34} {count / wall:9,.0f} {wall / count * 1e6:9.2f} {wall / base['wall']:5.2f}x"
            f" {cpu / count * 1e6:7.2f} {cpu / base['cpu']:5.2f}x"
            f" {best / count * 1e6:8.2f} {best / base['best']:5.2f}x"
        )
    print("target: fireplay AsyncStream <= 1.10x raw (DESIGN §7)")
    print(
        "chunks/s, µs/chunk: median wall time; CPU µs: median CPU time of this process only; "
        "best µs: the least disturbed round"
    )


def main() -> None:
    """Run the benchmark (or, with --serve, be the server child process)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument(
        "--events-per-http-chunk",
        type=int,
        default=1,
        help="1 (default) is how inference servers stream: one HTTP chunk per flushed event; "
        "larger values batch events, leaving mostly parsing cost",
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        _serve(args.chunks, args.events_per_http_chunk)
        return
    server = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--serve",
            "--chunks",
            str(args.chunks),
            "--events-per-http-chunk",
            str(args.events_per_http_chunk),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        url = f"http://127.0.0.1:{int(server.stdout.readline())}/v1"
        results = asyncio.run(_run(url, args.chunks, args.rounds))
    finally:
        server.terminate()
        server.wait(timeout=10)
    _report(results, args.chunks, args.rounds, args.events_per_http_chunk)


if __name__ == "__main__":
    main()
