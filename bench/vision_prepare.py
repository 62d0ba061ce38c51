"""Vision media preparation: cost per 24-MP photo, and UI stalls while ten are read and prepared.

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/vision_prepare.py [--reps 3] [--images 10]

Ten synthetic 6000×4000 photos (noise over gradients, so they compress like real photographs:
JPEG quality 90, 9-12 MB each) are generated once and cached in the temp directory
(``fireplay-bench-vision``).

1. Cost per image: ``read_image`` (check, orientation, thumbnail; a JPEG is decoded at 1/8
   through ``draft``) and ``prepare`` for Fireworks with the share of a ten-image request
   (10 MB / 10 of base64): the JPEG is decoded again at 1/2 scale, downscaled to 1536 px and
   encoded. Median and max over every image of every repetition. Peak RSS of the process and
   what the ten ``SourceImage`` objects hold (their original bytes and thumbnails) against what
   ten decoded RGB images would hold.
2. UI stall: an offscreen Qt app on the qasync loop (as ``app.main`` runs it) with a 5 ms
   precise QTimer heartbeat that records lateness (actual interval - 5 ms). The ten files are
   read from disk, ``read_image``d and ``prepare``d with ``asyncio.to_thread`` (what the app
   will do) and each thumbnail becomes a QImage on the UI thread as its image is done:
   - with one worker thread (``cores - 1`` on this machine, DESIGN §7), set as the loop's
     default executor;
   - with qasync's own default executor (a ``QThreadExecutor`` of 10 threads), which is what
     ``asyncio.to_thread`` gets when the app sets none;
   - on the UI thread itself, one image per event-loop turn, as the reference;
   - no work at all for 3 s: the floor this machine's other processes set.
   Reported: max and p99 lateness, beats over 16 and 33 ms (§7: at most one over 16, none over
   33), wall time. Medians over the repetitions.

The machine's load average is printed with the figures: other busy processes on a 2-core
machine inflate every one of them.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.domain.media import (
    PreparedImage,
    SourceImage,
    limits_for,
    prepare,
    read_image,
)

SIZE = (6000, 4000)
HEARTBEAT_MS = 5
CACHE = Path(tempfile.gettempdir()) / "fireplay-bench-vision"
LIMITS = limits_for("fireworks")


# -- the photos ------------------------------------------------------------------------------------


def photos(count: int) -> list[Path]:
    """``count`` synthetic 24-MP JPEGs, generated on the first run and reused afterwards."""
    from PIL import Image

    CACHE.mkdir(exist_ok=True)
    paths: list[Path] = []
    for index in range(count):
        path = CACHE / f"photo-{index:02d}-{SIZE[0]}x{SIZE[1]}.jpg"
        if not path.exists():
            ramp = Image.linear_gradient("L").resize(SIZE)
            across = Image.linear_gradient("L").rotate(90 + 17 * index).resize(SIZE)
            bands = [
                Image.blend(Image.effect_noise(SIZE, 28 + 2 * index + band), base, 0.55)
                for band, base in enumerate((ramp, across, Image.blend(ramp, across, 0.5)))
            ]
            partial = path.with_suffix(".part")
            Image.merge("RGB", bands).save(partial, "JPEG", quality=90)
            partial.rename(path)
        paths.append(path)
    return paths


def share() -> int:
    """The base64 budget of one image in a ten-image Fireworks request (as prepare_all gives)."""
    return (LIMITS.max_total_base64 - 1) // 10


def job(path: Path) -> tuple[SourceImage, PreparedImage]:
    """What the app does per dropped file, off the UI thread."""
    source = read_image(path.read_bytes(), path.name)
    return source, prepare(source, LIMITS, budget_bytes=share())


# -- 1. cost per image -----------------------------------------------------------------------------


@dataclass
class Costs:
    """Per image costs in ms, one entry per image per repetition."""

    read: list[float]
    prepare: list[float]
    total: list[float]
    sources: list[SourceImage]
    prepared: list[PreparedImage]
    peak_rss: int = 0  # bytes, after this phase (before any threads run)


def costs(paths: Sequence[Path], reps: int) -> Costs:
    """Time ``read_image`` and ``prepare`` for every photo, ``reps`` times."""
    out = Costs([], [], [], [], [])
    clock = time.perf_counter
    for _ in range(reps):
        out.sources, out.prepared = [], []
        for path in paths:
            data = path.read_bytes()
            gc.collect()
            t0 = clock()
            source = read_image(data, path.name)
            t1 = clock()
            prepared = prepare(source, LIMITS, budget_bytes=share())
            t2 = clock()
            out.read.append((t1 - t0) * 1000)
            out.prepare.append((t2 - t1) * 1000)
            out.total.append((t2 - t0) * 1000)
            out.sources.append(source)
            out.prepared.append(prepared)
    out.peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return out


# -- 2. UI stall -----------------------------------------------------------------------------------


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@dataclass
class Stall:
    """Heartbeat lateness of one run in ms."""

    max: float
    p99: float
    over_16: int
    over_33: int
    seconds: float


class Heartbeat:
    """A 5 ms precise timer whose lateness shows how long the UI thread was unavailable."""

    def __init__(self) -> None:
        from PySide6.QtCore import Qt, QTimer

        self._timer = QTimer()
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(HEARTBEAT_MS)
        self._timer.timeout.connect(self._beat)
        self._stamps: list[float] = []

    def _beat(self) -> None:
        self._stamps.append(time.perf_counter())

    def start(self) -> None:
        """Start recording."""
        self._stamps = [time.perf_counter()]
        self._timer.start()

    def stop(self) -> Stall:
        """Stop recording and summarise the lateness."""
        self._timer.stop()
        self._stamps.append(time.perf_counter())
        late = [
            max(0.0, (b - a) * 1000 - HEARTBEAT_MS)
            for a, b in zip(self._stamps, self._stamps[1:], strict=False)
        ]
        return Stall(
            max(late, default=0.0),
            _percentile(late, 0.99),
            sum(v > 16 for v in late),
            sum(v > 33 for v in late),
            self._stamps[-1] - self._stamps[0],
        )


async def stall(paths: Sequence[Path], where: str) -> Stall:
    """Read and prepare every photo while the heartbeat runs.

    ``where``: "threads" (``asyncio.to_thread``), "ui" (on the UI thread) or "idle" (no work).
    """
    from PySide6.QtGui import QImage

    thumbnails: list[Any] = []

    def show(source: SourceImage) -> None:  # the view's part: a QImage per attachment
        image = QImage.fromData(source.thumbnail, "PNG")
        assert not image.isNull()
        thumbnails.append(image)

    gc.collect()
    heartbeat = Heartbeat()
    await asyncio.sleep(0.05)
    heartbeat.start()
    await asyncio.sleep(0.02)
    if where == "idle":
        await asyncio.sleep(3.0)
    elif where == "ui":
        for path in paths:
            show(job(path)[0])
            await asyncio.sleep(0)
    else:

        async def one(path: Path) -> None:
            source, _ = await asyncio.to_thread(job, path)
            show(source)

        await asyncio.gather(*(one(path) for path in paths))
    await asyncio.sleep(0.02)
    result = heartbeat.stop()
    assert len(thumbnails) == (0 if where == "idle" else len(paths))
    return result


async def stalls(paths: Sequence[Path], reps: int) -> dict[str, list[Stall]]:
    """Every stall case, ``reps`` times, interleaved."""
    import qasync

    loop = asyncio.get_running_loop()
    cores = os.cpu_count() or 2
    one_less = max(1, cores - 1)
    cases: list[tuple[str, str, Callable[[], Executor | None]]] = [
        (
            f"worker threads: {one_less} (cores - 1)",
            "threads",
            lambda: ThreadPoolExecutor(one_less),
        ),
        ("worker threads: qasync default (10)", "threads", lambda: qasync.QThreadExecutor(10)),
        ("UI thread (reference)", "ui", lambda: None),
        ("idle, no work, 3 s (machine noise floor)", "idle", lambda: None),
    ]
    out: dict[str, list[Stall]] = {name: [] for name, _, _ in cases}
    for _ in range(reps):
        for name, where, make in cases:
            executor = make()
            if executor is not None:
                loop.set_default_executor(executor)
            out[name].append(await stall(paths, where))
            if executor is not None:
                executor.shutdown(wait=True)
    loop.set_default_executor(None)  # qasync shuts its default down on close, once only
    return out


# -- report ----------------------------------------------------------------------------------------


def _mb(size: float) -> str:
    return f"{size / 1e6:,.0f} MB"


def report(
    found: Costs, stall_runs: dict[str, list[Stall]], reps: int, load: tuple[float, float]
) -> None:
    """Print the tables."""
    sizes = [path.stat().st_size for path in photos(len(found.sources))]
    print(
        f"\nVision preparation benchmark — offscreen Qt, Python {sys.version.split()[0]}, "
        f"{os.cpu_count()} CPUs, load average {load[0]:.2f} before / {load[1]:.2f} after; "
        f"{reps} repetitions"
    )
    print(
        f"\n{len(sizes)} synthetic {SIZE[0]}×{SIZE[1]} JPEGs (quality 90), "
        f"{min(sizes) / 1e6:.1f}-{max(sizes) / 1e6:.1f} MB; Fireworks limits, "
        f"budget {share():,} characters of base64 each"
    )
    sample = found.prepared[0]
    print(
        f"prepared: {sample.mime} {sample.width}×{sample.height}, "
        f"{statistics.median(p.bytes for p in found.prepared) / 1e3:,.0f} kB median, "
        f"~{sample.estimated_tokens:,} tokens each"
    )
    print("\n1. Cost per image (ms)          median      max")
    for name, values in (
        ("read_image", found.read),
        ("prepare", found.prepare),
        ("read_image + prepare", found.total),
    ):
        print(f"   {name:28} {statistics.median(values):7.0f} {max(values):8.0f}")
    held = sum(len(s.data) + len(s.thumbnail) for s in found.sources)
    decoded = SIZE[0] * SIZE[1] * 3 * len(found.sources)
    print(
        f"   memory: {len(found.sources)} SourceImage hold {_mb(held)} (original bytes + "
        f"thumbnails); decoded RGB would be {_mb(decoded)}; peak RSS {_mb(found.peak_rss)} "
        "(one image decoded at a time)"
    )
    print(
        f"\n2. UI stall while {len(found.sources)} images are read + prepared: lateness of a "
        f"{HEARTBEAT_MS} ms heartbeat (ms), medians"
    )
    print(f"   {'':40} {'max':>7} {'p99':>7} {'>16ms':>6} {'>33ms':>6} {'wall s':>7}")
    for name, runs in stall_runs.items():
        print(
            f"   {name:40} {statistics.median(r.max for r in runs):7.1f} "
            f"{statistics.median(r.p99 for r in runs):7.1f} "
            f"{statistics.median(r.over_16 for r in runs):6.0f} "
            f"{statistics.median(r.over_33 for r in runs):6.0f} "
            f"{statistics.median(r.seconds for r in runs):7.2f}"
        )
    print("   target (DESIGN §7): at most one beat over 16 ms, none over 33 ms")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(f"   peak RSS after part 2: {_mb(peak)} (concurrent workers each hold a decode)")


def main() -> None:
    """Run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--images", type=int, default=10)
    args = parser.parse_args()

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import qasync
    from PySide6.QtGui import QGuiApplication

    from app.runtime import install_asyncgen_hooks

    paths = photos(args.images)
    load_before = os.getloadavg()[0]
    found = costs(paths, args.reps)
    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    with asyncio.Runner(loop_factory=qasync.QEventLoop) as runner:
        install_asyncgen_hooks(runner.get_loop())
        stall_runs = runner.run(stalls(paths, args.reps))
    del app
    report(found, stall_runs, args.reps, (load_before, os.getloadavg()[0]))


if __name__ == "__main__":
    main()
