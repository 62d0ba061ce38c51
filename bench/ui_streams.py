"""UI cost of streaming text: per-token view cost, and UI stalls while 8 panes stream at once.

    .venv/bin/python bench/ui_streams.py [--reps 3] [--tokens 3000] [--part all|view|streams]

Offscreen Qt, real widgets, the window shown (so layout and painting happen as on a screen).

1. View cost in one pane. Deltas go through the real view path (ChatPane signals -> PaneView ->
   MessageView -> StreamView), 25 tokens per simulated 25 ms frame (1,000 tok/s); after each frame
   the buffered text is flushed and Qt's events are processed (layout, scrolling, painting), as the
   flush clock would. Reported: µs per token over the 1,000 tokens ending at 2k, 10k and 50k tokens
   (flat means the cost does not grow with the message), split into the deltas + StreamView flush
   and the rest (the transcript's layout, scrolling and painting); a bare QTextBrowser of the same
   size fed the same frames, as the floor; the final Markdown render of the 50k message; and a
   pathological single 50k-token line without a newline.
2. UI stall through the real app: ``app.main.build``, 8 panes in the grid layout,
   ``ChatPresenter.send``, against a loopback SSE server in a child process (so its threads never
   take this process's GIL). A 5 ms QTimer heartbeat records lateness (actual interval - 5 ms,
   negative values count as 0) from the send until every pane is idle and has rendered its reply.
   The worst lateness is also given per phase: until the first text arrives (the send starts
   building every pane's message widgets), during final Markdown renders, and the streaming in
   between. Streams are offered at 1,000 tok/s per pane, then as fast as the socket takes them.
   Per-pane throughput is tokens received per second between a pane's first and last text.
3. The floor, same run, same server and heartbeat: one bare QPlainTextEdit per stream fed straight
   from httpx (``aiter_lines`` + ``json.loads`` + ``insertPlainText`` per token).

Figures are medians over the repetitions; targets are DESIGN.md §7's. The machine's load average
is printed with them: other busy processes on a 2-core machine inflate every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

FRAME_TOKENS = 25  # tokens per 25 ms frame at 1,000 tok/s
WINDOW = 1_000  # tokens per measured window in part 1
MARKS = (2_000, 10_000, 50_000)
HEARTBEAT_MS = 5
PANES = 8
WINDOW_SIZE = (1440, 900)
MODEL_RE = re.compile(r"bench-r(\d+)-n(\d+)-s(\d+)(-line)?")

# -- text ------------------------------------------------------------------------------------------

_VOCABULARY = (
    "the model streams tokens into a pane while the user reads every line of its answer and "
    "compares it with other targets side by side latency throughput cost quality prompt context "
    "window sampling temperature nucleus seed parameter provider endpoint request response chunk "
    "delta layout paint frame timer event loop widget document cursor block paragraph"
)
_WORDS = _VOCABULARY.split()


def tokens(count: int, seed: int, *, one_line: bool = False) -> list[str]:
    """``count`` deltas shaped like a chat model's Markdown answer (or one endless line)."""
    rng = random.Random(seed)
    out: list[str] = []
    if one_line:
        while len(out) < count:
            out.append(" " + rng.choice(_WORDS))
        return out
    while len(out) < count:
        kind = rng.random()
        if kind < 0.12:  # a fenced code block
            out += ["\n\n", "```", "python", "\n"]
            for _ in range(rng.randint(3, 10)):
                out += ["    ", rng.choice(_WORDS), " =", " ", rng.choice(_WORDS), "(", ")", "\n"]
            out += ["```", "\n\n"]
        elif kind < 0.3:  # a bullet list
            for _ in range(rng.randint(2, 5)):
                out += ["\n", "-", " **", rng.choice(_WORDS), "**:"]
                out += [" " + rng.choice(_WORDS) for _ in range(rng.randint(4, 12))]
            out.append("\n\n")
        else:  # a paragraph
            for _ in range(rng.randint(2, 5)):
                out += [" " + rng.choice(_WORDS) for _ in range(rng.randint(6, 18))]
                out.append(".")
            out.append("\n\n")
    return out[:count]


# -- server (child process) ------------------------------------------------------------------------


def _sse_events(model: str, deltas: list[str]) -> list[bytes]:
    """The stream as chunked-encoding HTTP chunks, one SSE event each (as inference servers do)."""

    def event(choices: list[dict[str, Any]], **extra: Any) -> bytes:
        body = {
            "id": "chatcmpl-bench",
            "object": "chat.completion.chunk",
            "created": 1767225600,
            "model": model,
            "choices": choices,
            **extra,
        }
        data = b"data: " + json.dumps(body, separators=(",", ":")).encode() + b"\n\n"
        return b"%x\r\n%s\r\n" % (len(data), data)

    def choice(delta: dict[str, Any], finish: str | None = None) -> list[dict[str, Any]]:
        return [{"index": 0, "delta": delta, "finish_reason": finish}]

    events = [event(choice({"role": "assistant", "content": deltas[0]}))]
    events += [event(choice({"content": d})) for d in deltas[1:]]
    events.append(event(choice({}, "stop")))
    usage = {"prompt_tokens": 9, "completion_tokens": len(deltas), "total_tokens": len(deltas) + 9}
    events.append(event([], usage=usage))
    data = b"data: [DONE]\n\n"
    events.append(b"%x\r\n%s\r\n0\r\n\r\n" % (len(data), data))
    return events


def _read_request(reader: Any) -> tuple[str, bytes] | None:
    line = reader.readline()
    if not line:
        return None
    length = 0
    while True:
        header = reader.readline()
        if header in (b"\r\n", b"\n", b""):
            break
        name, _, value = header.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return line.decode("latin-1"), reader.read(length) if length else b""


def _stream(conn: socket.socket, body: bytes) -> None:
    model = json.loads(body)["model"]
    match = MODEL_RE.fullmatch(model)
    if match is None:
        raise ValueError(f"unknown bench model {model!r}")
    rate, count, seed = (int(g) for g in match.groups()[:3])
    events = _sse_events(model, tokens(count, seed, one_line=bool(match.group(4))))
    conn.sendall(
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
        b"cache-control: no-cache\r\ntransfer-encoding: chunked\r\n\r\n"
    )
    if rate == 0:  # full speed: as fast as the socket takes it, a few events per write
        for i in range(0, len(events), 16):
            conn.sendall(b"".join(events[i : i + 16]))
        return
    # Paced: every event goes out when due; a late wake-up sends what is due in one write.
    start = time.perf_counter()
    sent = 0
    while sent < len(events):
        due = min(len(events), int((time.perf_counter() - start) * rate) + 1)
        if due > sent:
            conn.sendall(b"".join(events[sent:due]))
            sent = due
        time.sleep(0.0005)


def _handle(conn: socket.socket) -> None:
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    reader = conn.makefile("rb")
    try:
        while (request := _read_request(reader)) is not None:
            line, body = request
            if line.startswith("POST") and "/chat/completions" in line:
                _stream(conn, body)
                continue
            data = json.dumps({"object": "list", "data": []}).encode()
            conn.sendall(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                b"content-length: %d\r\n\r\n%s" % (len(data), data)
            )
    except OSError:
        pass
    finally:
        conn.close()


def serve() -> None:
    """Serve streaming chat completions on a free loopback port, printed on stdout."""
    listener = socket.create_server(("127.0.0.1", 0))
    sys.stdout.write(f"{listener.getsockname()[1]}\n")
    sys.stdout.flush()
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=_handle, args=(conn,), daemon=True).start()


# -- measurement helpers ---------------------------------------------------------------------------


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@dataclass
class Stall:
    """Heartbeat lateness of one run in ms, and the worst of it in each phase.

    ``p99_streaming`` and ``max_streaming`` cover the streaming phase only. ``max_send``: until
    the first text arrived (sending the requests, building the panes' message widgets, one per
    event-loop turn, a pane's at once when its text arrives first); ``max_render``: beats during
    which a pane rendered its finished message as Markdown (one per turn after the replies
    end); the streaming phase is all other beats. ``gc_full`` counts the full collections of
    Python's garbage collector, ``gc_full_max`` is the longest.
    """

    p50: float
    p99: float
    p99_streaming: float
    max: float
    max_send: float
    max_streaming: float
    max_render: float
    gc_full: int
    gc_full_max: float


@dataclass
class StreamRun:
    """One run of several concurrent streams."""

    stall: Stall
    rates: list[float]  # tokens received per second, per stream
    seconds: float
    cpu: float  # this process's CPU time over wall time


@dataclass
class Results:
    """Everything measured, one list entry per repetition."""

    # case -> mark -> [µs per token, one per repetition]
    per_token: dict[str, dict[int, list[float]]] = field(default_factory=dict)
    markdown_ms: list[float] = field(default_factory=list)
    line_markdown_ms: list[float] = field(default_factory=list)
    streams: dict[str, list[StreamRun]] = field(default_factory=dict)


class Heartbeat:
    """A 5 ms precise timer whose lateness shows how long the UI thread was unavailable.

    It also times the full (generation 2) collections of Python's garbage collector, which
    stop the UI thread too and explain some of the worst stalls.
    """

    def __init__(self) -> None:
        from PySide6.QtCore import Qt, QTimer

        self._timer = QTimer()
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(HEARTBEAT_MS)
        self._timer.timeout.connect(self._beat)
        self._stamps: list[float] = []
        self._gc_started = 0.0
        self._gc_pauses: list[float] = []

    def _beat(self) -> None:
        self._stamps.append(time.perf_counter())

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            self._gc_started = time.perf_counter()
        else:
            self._gc_pauses.append((time.perf_counter() - self._gc_started) * 1000)

    def start(self) -> None:
        """Start recording."""
        self._gc_pauses = []
        gc.callbacks.append(self._on_gc)
        self._stamps = [time.perf_counter()]
        self._timer.start()

    def stop(self, first_text: float = 0.0, renders: Sequence[float] = ()) -> Stall:
        """Stop recording and summarise the lateness; ``first_text`` is when the first text
        arrived, ``renders`` are the times at which final Markdown renders ended."""
        self._timer.stop()
        gc.callbacks.remove(self._on_gc)
        late: list[float] = []
        phases: dict[str, list[float]] = {"send": [], "stream": [], "render": []}
        for a, b in zip(self._stamps, self._stamps[1:], strict=False):
            lateness = max(0.0, (b - a) * 1000 - HEARTBEAT_MS)
            late.append(lateness)
            if b <= first_text:
                phases["send"].append(lateness)
            elif any(a < t <= b for t in renders):
                phases["render"].append(lateness)
            else:
                phases["stream"].append(lateness)
        return Stall(
            _percentile(late, 0.5),
            _percentile(late, 0.99),
            _percentile(phases["stream"], 0.99),
            max(late, default=0.0),
            max(phases["send"], default=0.0),
            max(phases["stream"], default=0.0),
            max(phases["render"], default=0.0),
            len(self._gc_pauses),
            max(self._gc_pauses, default=0.0),
        )


# -- part 1: view cost per token -------------------------------------------------------------------


def _windows(times: list[float], marks: Sequence[int]) -> dict[int, float]:
    """µs per token over the WINDOW tokens ending at each mark, from per-frame times."""
    per_frame = WINDOW // FRAME_TOKENS
    return {
        mark: sum(times[mark // FRAME_TOKENS - per_frame : mark // FRAME_TOKENS]) / WINDOW * 1e6
        for mark in marks
    }


def view_cost(
    built: Any, deltas: list[str], marks: Sequence[int]
) -> tuple[dict[int, float], dict[int, float], float]:
    """µs per token in the windows ending at each mark (all, and the part spent in the stream
    view itself), and the final Markdown render in ms."""
    from app.domain.conversation import Role, Turn, TurnStatus

    qapp = built.qapp
    tab = built.window.findChild(object, "tab-chat")
    pane = tab.presenter.panes[0]
    _clear(qapp, pane)
    # Emit what ChatPane emits while a reply streams, minus the network: the view path only.
    pane.turns.append(Turn(Role.USER, "Write a long answer."))
    pane.turn_added.emit(0)
    turn = Turn(Role.ASSISTANT, status=TurnStatus.STREAMING)
    pane.turns.append(turn)
    pane.turn_added.emit(1)
    qapp.processEvents()
    body = tab.pane_views[0].transcript.view(1).body
    gc.collect()
    gc.disable()  # collector pauses are reported in parts 2-3; here they would only add noise
    try:
        frames: list[float] = []
        flushes: list[float] = []
        for start in range(0, len(deltas), FRAME_TOKENS):
            began = time.perf_counter()
            for text in deltas[start : start + FRAME_TOKENS]:
                pane.text_received.emit(1, text)
            body.flush()  # what the flush clock does once per frame
            flushed = time.perf_counter()
            qapp.processEvents()  # the transcript's layout, scrolling, painting
            frames.append(time.perf_counter() - began)
            flushes.append(flushed - began)
        shown = body.toPlainText()
        turn.content = "".join(deltas)
        turn.status = TurnStatus.COMPLETE
        began = time.perf_counter()
        pane.turn_finished.emit(1)
        qapp.processEvents()
        markdown_ms = (time.perf_counter() - began) * 1000
    finally:
        gc.enable()
    if shown.replace("\n", "") != turn.content.replace("\n", ""):
        raise RuntimeError("the view does not show the streamed text")
    _clear(qapp, pane)
    return _windows(frames, marks), _windows(flushes, marks), markdown_ms


def _clear(qapp: Any, pane: Any) -> None:
    """Empty the pane; outside a running event loop, deleteLater needs an explicit nudge."""
    from PySide6.QtCore import QEvent

    pane.clear()
    qapp.processEvents()
    qapp.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)
    qapp.processEvents()


def bare_view_cost(
    deltas: list[str], size: tuple[int, int], marks: Sequence[int]
) -> dict[int, float]:
    """The same frames in a bare QTextBrowser of the pane's size: Qt's own cost of showing them."""
    from PySide6.QtCore import QEvent
    from PySide6.QtGui import QTextCursor
    from PySide6.QtWidgets import QApplication, QTextBrowser

    qapp = QApplication.instance()
    view = QTextBrowser()
    view.resize(*size)
    view.show()
    qapp.processEvents()
    cursor = QTextCursor(view.document())
    bar = view.verticalScrollBar()
    gc.collect()
    gc.disable()
    try:
        frames: list[float] = []
        for start in range(0, len(deltas), FRAME_TOKENS):
            began = time.perf_counter()
            cursor.insertText("".join(deltas[start : start + FRAME_TOKENS]))
            bar.setValue(bar.maximum())
            qapp.processEvents()
            frames.append(time.perf_counter() - began)
    finally:
        gc.enable()
    view.close()
    view.deleteLater()
    qapp.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)
    return _windows(frames, marks)


# -- parts 2 and 3: concurrent streams -------------------------------------------------------------


async def _until(predicate: Callable[[], bool], timeout: float) -> None:
    deadline = time.perf_counter() + timeout
    while not predicate():
        if time.perf_counter() > deadline:
            raise TimeoutError("streams did not finish in time")
        await asyncio.sleep(0.01)


async def app_streams(built: Any, rate: int, count: int, rep: int) -> StreamRun:
    """8 panes of the real app stream ``count`` tokens each at ``rate`` tok/s (0: full speed)."""
    tab = built.window.findChild(object, "tab-chat")
    presenter = tab.presenter
    presenter.clear()
    await asyncio.sleep(0.05)
    first: list[float | None] = [None] * PANES
    last: list[float] = [0.0] * PANES
    rendered: list[float] = []

    def on_rendered() -> None:
        rendered.append(time.perf_counter())

    slots = []
    for k, pane in enumerate(presenter.panes):
        pane.set_model(f"bench-r{rate}-n{count}-s{rep * PANES + k}")

        def on_text(_index: int, _text: str, k: int = k) -> None:
            now = time.perf_counter()
            if first[k] is None:
                first[k] = now
            last[k] = now

        pane.text_received.connect(on_text)
        slots.append((pane, on_text))
    # Finished replies are rendered in the event-loop turns after they end, one per turn.
    transcripts = [view.transcript for view in tab.pane_views]
    for transcript in transcripts:
        transcript.message_rendered.connect(on_rendered)
    heartbeat = Heartbeat()
    gc.collect()
    heartbeat.start()
    began, cpu = time.perf_counter(), time.process_time()
    if not presenter.send("Stream a long answer."):
        raise RuntimeError("the presenter did not send")
    await _until(lambda: not presenter.busy, timeout=120)
    seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
    await _until(lambda: len(rendered) >= PANES, timeout=10)
    await asyncio.sleep(0.03)  # the last flushes and paints
    stall = heartbeat.stop(min(t for t in first if t is not None), rendered)
    for pane, slot in slots:
        pane.text_received.disconnect(slot)
    for transcript in transcripts:
        transcript.message_rendered.disconnect(on_rendered)
    for k, pane in enumerate(presenter.panes):
        expected = "".join(tokens(count, rep * PANES + k))
        if pane.last_reply() != expected:
            raise RuntimeError(
                f"pane {k} received {len(pane.last_reply())} of {len(expected)} chars"
            )
        if pane.turns[-1].status.value != "complete":
            raise RuntimeError(f"pane {k} ended {pane.turns[-1].status}")
    rates = [(count - 1) / (last[k] - (first[k] or last[k]) or float("nan")) for k in range(PANES)]
    return StreamRun(stall, rates, seconds, cpu / seconds)


async def floor_streams(
    window: Any, edits: list[Any], url: str, rate: int, count: int, rep: int
) -> StreamRun:
    """Bare QPlainTextEdits fed from httpx, one insertPlainText per token."""
    import httpx

    for edit in edits:
        edit.clear()
    await asyncio.sleep(0.05)
    first: list[float] = [0.0] * PANES
    last: list[float] = [0.0] * PANES

    async def one(http: httpx.AsyncClient, k: int) -> None:
        edit = edits[k]
        body = {
            "model": f"bench-r{rate}-n{count}-s{rep * PANES + k}",
            "messages": [{"role": "user", "content": "Stream a long answer."}],
            "stream": True,
        }
        received = 0
        async with http.stream("POST", f"{url}/chat/completions", json=body) as response:
            async for line in response.aiter_lines():
                if not line.startswith("data: "):
                    continue
                if line == "data: [DONE]":
                    break
                choices = json.loads(line[6:])["choices"]
                text = choices[0]["delta"].get("content") if choices else None
                if text:
                    now = time.perf_counter()
                    if not received:
                        first[k] = now
                    last[k] = now
                    received += 1
                    edit.insertPlainText(text)
        if received != count:
            raise RuntimeError(f"floor stream {k} got {received} of {count} tokens")

    heartbeat = Heartbeat()
    async with httpx.AsyncClient(timeout=60) as http:
        gc.collect()
        heartbeat.start()
        began, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(one(http, k) for k in range(PANES)))
        seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
        await asyncio.sleep(0.03)
        stall = heartbeat.stop(min(first))
    rates = [(count - 1) / (last[k] - first[k] or float("nan")) for k in range(PANES)]
    return StreamRun(stall, rates, seconds, cpu / seconds)


def make_floor_window() -> tuple[Any, list[Any]]:
    """A window with 8 bare QPlainTextEdits in the same 3-column grid as the app's panes."""
    from PySide6.QtWidgets import QGridLayout, QPlainTextEdit, QWidget

    window = QWidget()
    layout = QGridLayout(window)
    edits = [QPlainTextEdit() for _ in range(PANES)]
    for number, edit in enumerate(edits):
        edit.setReadOnly(True)
        layout.addWidget(edit, number // 3, number % 3)
    window.resize(*WINDOW_SIZE)
    window.show()
    return window, edits


# -- report ----------------------------------------------------------------------------------------


def _med(values: list[float]) -> float:
    return statistics.median(values)


def report(results: Results, reps: int, count: int, load: tuple[float, float]) -> None:
    """Print the table."""
    print(
        f"\nUI streaming benchmark — offscreen Qt, Python {sys.version.split()[0]}, "
        f"{os.cpu_count()} CPUs, load average {load[0]:.2f} before / {load[1]:.2f} after; "
        f"medians of {reps} repetitions"
    )
    if results.per_token:
        print(
            "\n1. View cost, one pane, real PaneView -> MessageView -> StreamView, "
            f"{FRAME_TOKENS} tokens per 25 ms frame (1,000 tok/s)"
        )
        head = f"   {'µs per token, 1,000 tokens ending at':44} {'2k':>7} {'10k':>7} {'50k':>7}"
        print(f"{head} {'50k/2k':>7}   target")
        print("   " + "-" * (len(head) + 28))
        rows = (
            ("Markdown answer, all", "answer", "flat, ≤ 20 amortized"),
            ("  of which deltas + StreamView flush", "answer flush", ""),
            ("  the rest: transcript layout, scroll, paint", None, ""),
            ("one line without newline, all", "line", "flat"),
            ("  of which deltas + StreamView flush", "line flush", ""),
            ("floor: bare QTextBrowser of the same size", "bare", ""),
        )
        for name, case, target in rows:
            if case is None:
                meds = [
                    _med(results.per_token["answer"][m])
                    - _med(results.per_token["answer flush"][m])
                    for m in MARKS
                ]
            else:
                meds = [_med(results.per_token[case][m]) for m in MARKS]
            print(
                f"   {name:44} {meds[0]:7.1f} {meds[1]:7.1f} {meds[2]:7.1f} "
                f"{meds[2] / meds[0]:6.2f}x   {target}"
            )
        print(f"   {'final Markdown render, 50k answer':44} {_med(results.markdown_ms):7.1f} ms")
        print(
            f"   {'final Markdown render, 50k-token line':44} "
            f"{_med(results.line_markdown_ms):7.1f} ms"
        )
    if results.streams:
        print(
            f"\n2./3. UI stall while {PANES} streams × {count:,} tokens arrive: lateness of a "
            f"{HEARTBEAT_MS} ms heartbeat (ms); tok/s received per stream (slowest, median); "
            "CPU time of this process / wall time"
        )
        head = (
            f"   {'case':38} {'p50':>5} {'p99':>6} {'max':>6} │ {'p99':>6} {'max':>6} │"
            f" {'send':>6} {'render':>6} │ {'slowest':>8} {'median':>8} {'offered':>8} {'CPU':>5}"
            f" {'GC':>9}"
        )
        print(
            f"   {'':38} {'all beats':^19} │ {'streaming':^13} │ {'worst in':^13} │"
            f" {'tok/s per stream':^17}"
        )
        print(f"{head}   target")
        print("   " + "-" * (len(head) + 38))
        targets = {
            "app, 8 × 1,000 tok/s": "p99 ≤ 5, max ≤ 16, ≥ 95%",
            "floor QPlainTextEdit, 8 × 1,000 tok/s": "(reference: p99 ≈ 3, max ≈ 14)",
            "app, 8 × full speed": "max ≤ 20",
        }
        for name, runs in results.streams.items():
            p50 = _med([r.stall.p50 for r in runs])
            p99 = _med([r.stall.p99 for r in runs])
            worst = _med([r.stall.max for r in runs])
            send = _med([r.stall.max_send for r in runs])
            p99_stream = _med([r.stall.p99_streaming for r in runs])
            in_stream = _med([r.stall.max_streaming for r in runs])
            render = (
                f"{_med([r.stall.max_render for r in runs]):6.1f}" if "app" in name else "     -"
            )
            low = _med([min(r.rates) for r in runs])
            mid = _med([statistics.median(r.rates) for r in runs])
            cpu = _med([r.cpu for r in runs])
            share = f"{low / 1000:8.1%}" if "1,000" in name else f"{'-':>8}"
            collections = sum(r.stall.gc_full for r in runs)
            gc_max = max(r.stall.gc_full_max for r in runs)
            gc_cell = f"{collections}×{gc_max:.0f}ms" if collections else "0"
            print(
                f"   {name:38} {p50:5.2f} {p99:6.2f} {worst:6.1f} │ {p99_stream:6.2f}"
                f" {in_stream:6.1f} │ {send:6.1f} {render} │ {low:8,.0f} {mid:8,.0f} {share}"
                f" {cpu:5.0%} {gc_cell:>9}   {targets.get(name, '')}"
            )
        print("\n   each repetition, all beats p99 / max, streaming p99 / max (ms):")
        for name, runs in results.streams.items():
            cells = "   ".join(
                f"{r.stall.p99:5.1f} / {r.stall.max:5.1f}, {r.stall.p99_streaming:4.1f} / "
                f"{r.stall.max_streaming:4.1f}"
                for r in runs
            )
            print(f"   {name:38} {cells}")
        print(
            "   Phases: send = until the first text arrived (the send starts the requests and "
            "the building of every pane's message widgets);\n   render = beats during a final "
            "Markdown render; streaming = all other beats.\n"
            "   GC: full collections of Python's garbage collector in all repetitions (count × "
            "longest pause); they stop the UI thread like any other work."
        )


# -- main ------------------------------------------------------------------------------------------


async def _streams(built: Any, url: str, results: Results, reps: int, count: int) -> None:
    window, edits = make_floor_window()
    tab = built.window.findChild(object, "tab-chat")
    # Eight columns need a window ~3,600 px wide; a grid fits them on a laptop screen.
    tab.presenter.set_layout("grid")
    while len(tab.presenter.panes) < PANES:
        tab.presenter.add_target()
    built.window.resize(*WINDOW_SIZE)
    await asyncio.sleep(0.2)
    await app_streams(built, 1000, 200, 99)  # warm-up: connections, imports, caches
    await floor_streams(window, edits, url, 1000, 200, 99)
    cases: list[tuple[str, Callable[[int], Any]]] = [
        ("app, 8 × 1,000 tok/s", lambda rep: app_streams(built, 1000, count, rep)),
        (
            "floor QPlainTextEdit, 8 × 1,000 tok/s",
            lambda rep: floor_streams(window, edits, url, 1000, count, rep),
        ),
        ("app, 8 × full speed", lambda rep: app_streams(built, 0, count, rep)),
        (
            "floor QPlainTextEdit, 8 × full speed",
            lambda rep: floor_streams(window, edits, url, 0, count, rep),
        ),
    ]
    for rep in range(reps):
        for name, run in cases:
            results.streams.setdefault(name, []).append(await run(rep))
    window.close()
    for task in built.services.runner.cancel_all():
        await asyncio.wait([task])
    await built.services.connections.aclose()


def _view_costs(built: Any, results: Results, reps: int) -> None:
    answer = tokens(MARKS[-1], 1)
    line = tokens(MARKS[-1], 2, one_line=True)
    view_cost(built, answer[:2_000], (2_000,))  # warm-up
    transcript = built.window.findChild(object, "tab-chat").pane_views[0].transcript
    size = transcript.viewport().size().toTuple()

    def keep(case: str, costs: dict[int, float]) -> None:
        for mark, value in costs.items():
            results.per_token.setdefault(case, {}).setdefault(mark, []).append(value)

    for _ in range(reps):
        costs, flushes, render_ms = view_cost(built, answer, MARKS)
        keep("answer", costs)
        keep("answer flush", flushes)
        results.markdown_ms.append(render_ms)
        costs, flushes, render_ms = view_cost(built, line, MARKS)
        keep("line", costs)
        keep("line flush", flushes)
        results.line_markdown_ms.append(render_ms)
        keep("bare", bare_view_cost(answer, size, MARKS))


def main() -> None:
    """Run the benchmark (or, with --serve, be the server child process)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=3000, help="tokens per stream, parts 2-3")
    parser.add_argument("--part", choices=("all", "view", "streams"), default="all")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve()
        return

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import qasync

    from app.main import build
    from app.runtime import install_asyncgen_hooks

    server = subprocess.Popen(
        [sys.executable, __file__, "--serve"], stdout=subprocess.PIPE, text=True
    )
    results = Results()
    load_before = os.getloadavg()[0]
    try:
        assert server.stdout is not None
        url = f"http://127.0.0.1:{int(server.stdout.readline())}/v1"
        with tempfile.TemporaryDirectory() as config:
            built = build(["--config-dir", config, "--provider", url, "--model", "bench-r0-n1-s0"])
            built.window.resize(*WINDOW_SIZE)
            built.window.show()
            built.qapp.processEvents()
            if args.part in ("all", "view"):
                _view_costs(built, results, args.reps)
            if args.part in ("all", "streams"):
                with asyncio.Runner(loop_factory=qasync.QEventLoop) as runner:
                    install_asyncgen_hooks(runner.get_loop())
                    runner.run(_streams(built, url, results, args.reps, args.tokens))
    finally:
        server.terminate()
        server.wait(timeout=10)
    report(results, args.reps, args.tokens, (load_before, os.getloadavg()[0]))


if __name__ == "__main__":
    main()
