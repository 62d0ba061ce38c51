"""Audio loading: a 60-minute file to duration and waveform, UI stalls meanwhile, upload speed.

    .venv/bin/python bench/audio_load.py [--reps 3] [--minutes 60]

A 60-minute speech-like signal (a tone whose loudness follows syllables and pauses) is written
once to the temp directory (``fireplay-bench-audio``) as a 16 kHz mono WAV (115 MB) and as a
64 kbit/s MP3 (29 MB).

1. Loading, through the real app (``app.main.build``, the Audio tab, offscreen, 1600×1000): the
   file is dropped (``AudioPresenter.add_files``, what a drop calls) while a 5 ms precise QTimer
   heartbeat records lateness (actual interval - 5 ms). Reported: time until the duration is
   known (``audioInfo`` shows it), time until the waveform is drawn, and the heartbeat's max
   lateness and beats over 16 / 33 ms meanwhile (DESIGN §7: at most one over 16 ms, none over 33).
2. Upload: the WAV posted to ``/v1/audio/transcriptions`` on a loopback server in a child
   process (which reads the whole multipart body, then answers), by Fireplay's client (with its
   progress callback) and by raw httpx with the same file; MB/s and the ratio, same run.

Figures are medians over the repetitions. The machine's load average is printed with them.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import wave
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

HEARTBEAT_MS = 5
CACHE = Path(tempfile.gettempdir()) / "fireplay-bench-audio"
RATE = 16_000


# -- the files -------------------------------------------------------------------------------------


def files(minutes: int) -> tuple[Path, Path]:
    """The WAV and MP3 of ``minutes`` of speech-like sound, made once and reused."""
    import numpy as np

    CACHE.mkdir(exist_ok=True)
    wav = CACHE / f"speech-like-{minutes}min.wav"
    mp3 = wav.with_suffix(".mp3")
    if not wav.exists():
        partial = wav.with_suffix(".part")
        rng = np.random.default_rng(7)
        with wave.open(str(partial), "wb") as writer:
            writer.setnchannels(1)
            writer.setsampwidth(2)
            writer.setframerate(RATE)
            for minute in range(minutes):
                t = np.arange(60 * RATE) / RATE + 60 * minute
                syllables = (np.sin(2 * np.pi * 4 * t) > 0.2) * (rng.random(60 * RATE) > 0.001)
                pauses = np.sin(2 * np.pi * t / 7.0) > -0.6
                tone = np.sin(2 * np.pi * (180 + 40 * np.sin(t)) * t)
                samples = 0.4 * tone * syllables * pauses * 32767
                writer.writeframes(samples.astype("<i2").tobytes())
        partial.rename(wav)
    if not mp3.exists():
        import av

        partial = mp3.with_suffix(".part.mp3")
        with av.open(str(wav)) as source, av.open(str(partial), "w") as target:
            stream = target.add_stream("libmp3lame", rate=RATE)
            stream.bit_rate = 64_000
            for frame in source.decode(audio=0):
                for packet in stream.encode(frame):
                    target.mux(packet)
            for packet in stream.encode(None):
                target.mux(packet)
        partial.rename(mp3)
    return wav, mp3


# -- server (child process) ------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def do_POST(self) -> None:
        """Read the whole upload, then answer like a transcription server."""
        remaining = int(self.headers.get("content-length", 0))
        while remaining:
            remaining -= len(self.rfile.read(min(remaining, 1 << 20)))
        payload = json.dumps({"text": "ok"}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def serve() -> None:
    """Serve on a free loopback port and print it."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


# -- 1. loading ------------------------------------------------------------------------------------


@dataclass
class Load:
    """One drop of one file."""

    duration_ms: float
    waveform_ms: float
    max_late_ms: float
    over_16: int
    over_33: int


async def _load(built: Any, path: Path) -> Load:
    from PySide6.QtCore import QObject, Qt, QTimer

    tab = built.window.findChild(QObject, "tab-audio")
    presenter = tab.presenter
    stamps: list[float] = []
    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.setInterval(HEARTBEAT_MS)
    timer.timeout.connect(lambda: stamps.append(time.perf_counter()))
    known: list[float] = []
    drawn: list[float] = []

    def changed() -> None:
        file = presenter.file
        if file is not None and file.path == path:
            if not known:
                known.append(time.perf_counter())
            if file.peaks is not None and not drawn:
                drawn.append(time.perf_counter())

    presenter.file_changed.connect(changed)
    stamps.append(time.perf_counter())
    timer.start()
    dropped = time.perf_counter()
    presenter.add_files([path])
    while not drawn:
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.1)
    timer.stop()
    presenter.file_changed.disconnect(changed)
    late = [max(0.0, (b - a) * 1000 - HEARTBEAT_MS) for a, b in itertools.pairwise(stamps)]
    return Load(
        duration_ms=(known[0] - dropped) * 1000,
        waveform_ms=(drawn[0] - dropped) * 1000,
        max_late_ms=max(late, default=0.0),
        over_16=sum(v > 16 for v in late),
        over_33=sum(v > 33 for v in late),
    )


async def _loads(built: Any, paths: list[Path], reps: int) -> dict[str, list[Load]]:
    from widgets.tabs.registry import TABS

    built.window.started()
    while len(built.window.presenters) < len(TABS):
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)
    results: dict[str, list[Load]] = {}
    for _ in range(reps):
        for path in paths:
            results.setdefault(path.suffix, []).append(await _load(built, path))
    return results


# -- 2. upload -------------------------------------------------------------------------------------


async def _uploads(url: str, path: Path, reps: int) -> tuple[list[float], list[float]]:
    import httpx

    from app.client import AsyncClient

    size = path.stat().st_size
    ours: list[float] = []
    raw: list[float] = []
    async with (
        AsyncClient(base_url=url, api_key="bench", timeout=600) as client,
        httpx.AsyncClient(timeout=600) as http,
    ):
        for _ in range(reps):
            started = time.perf_counter()
            await client.audio.transcriptions.create(
                model="whisper-1", file=path, progress=lambda _sent, _total: None
            )
            ours.append(size / 1e6 / (time.perf_counter() - started))
            started = time.perf_counter()
            content = await asyncio.to_thread(path.read_bytes)
            response = await http.post(
                f"{url}/audio/transcriptions",
                data={"model": "whisper-1", "response_format": "json"},
                files={"file": (path.name, content, "audio/wav")},
            )
            response.raise_for_status()
            raw.append(size / 1e6 / (time.perf_counter() - started))
    return ours, raw


def main() -> None:
    """Run the benchmark (or, with --serve, be the server child process)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--minutes", type=int, default=60)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve()
        return

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import qasync

    from app.main import build
    from app.runtime import install_asyncgen_hooks

    wav, mp3 = files(args.minutes)
    load_before = os.getloadavg()[0]
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        url = f"http://127.0.0.1:{int(server.stdout.readline())}/v1"
        with tempfile.TemporaryDirectory() as config:
            built = build(["--config-dir", config, "--tab", "audio"])
            built.window.resize(1600, 1000)
            built.window.show()
            built.qapp.processEvents()
            with asyncio.Runner(loop_factory=qasync.QEventLoop) as runner:
                install_asyncgen_hooks(runner.get_loop())
                loads = runner.run(_loads(built, [wav, mp3], args.reps))
                ours, raw = runner.run(_uploads(url, wav, args.reps))
                for task in built.services.runner.cancel_all():
                    task.cancel()
                runner.run(built.services.connections.aclose())
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(f"Audio loading, {args.minutes}-minute files, median of {args.reps}")
    print(f"load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after")
    header = ("file", "MB", "duration", "waveform", "max late", ">16", ">33")
    widths = (6, 6, 9, 9, 9, 4, 4)
    print(" ".join(f"{name:>{width}}" for name, width in zip(header, widths, strict=True)))
    for suffix, runs in loads.items():
        size = (wav if suffix == ".wav" else mp3).stat().st_size / 1e6
        print(
            f"{suffix:>6} {size:>6.0f} {statistics.median(r.duration_ms for r in runs):>7.0f}ms "
            f"{statistics.median(r.waveform_ms for r in runs):>7.0f}ms "
            f"{statistics.median(r.max_late_ms for r in runs):>7.1f}ms "
            f"{statistics.median(r.over_16 for r in runs):>4.0f} "
            f"{statistics.median(r.over_33 for r in runs):>4.0f}"
        )
    ours_speed, raw_speed = statistics.median(ours), statistics.median(raw)
    print(
        f"upload of the {wav.stat().st_size / 1e6:.0f} MB WAV: Fireplay {ours_speed:.0f} MB/s, "
        f"raw httpx {raw_speed:.0f} MB/s ({ours_speed / raw_speed:.2f}×)"
    )
    print("targets (DESIGN §7): while loading at most one beat over 16 ms, none over 33")


if __name__ == "__main__":
    main()
