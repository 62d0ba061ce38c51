"""Cold start of the real app: time from process launch to the main window's first paint, and RSS.

    .venv/bin/python bench/startup.py [--runs 7] [--x11]

Each run is a fresh interpreter (offscreen Qt, an empty settings folder, engine not started).
``--x11`` runs on an X server instead (``$DISPLAY``, or an Xvfb started at 1600×1000 for the run),
where the window has real surfaces and fonts, so its memory is what a desktop user sees. The
DESIGN.md §7 budget is ≤ 250 ms and ≤ 100 MB; a bare QApplication+QWidget is measured in the same
run as the floor. Fireplay paints its window frame first and builds the tabs right after, so a
second pair of columns shows when the Chat tab's input first paints ("ready") and the RSS then.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROBE = r"""
import os, sys, time, json
from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QApplication, QWidget

def rss_mb():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")

class FirstPaint(QObject):
    painted = None

    def eventFilter(self, obj, event):
        if event.type() != QEvent.Type.Paint or not isinstance(obj, QWidget):
            return False
        if self.painted is None and obj.isWindow():
            self.painted = {"painted_at": time.time(), "rss_mb": rss_mb()}
            if sys.argv[1] == "bare":
                self.report({"ready_at": self.painted["painted_at"], "ready_rss_mb": rss_mb()})
        elif self.painted is not None and obj.objectName() == "promptInput":
            self.report({"ready_at": time.time(), "ready_rss_mb": rss_mb()})
        return False

    def report(self, ready):
        print(json.dumps({**self.painted, **ready}), flush=True)
        os._exit(0)

qapp = QApplication(sys.argv[:1])
watcher = FirstPaint()
qapp.installEventFilter(watcher)
if sys.argv[1] == "bare":
    window = QWidget()
    window.resize(1200, 780)
    window.show()
    qapp.exec()
else:
    from app.main import main
    main(["--config-dir", sys.argv[2]])
"""


def launch(mode: str, platform: dict[str, str]) -> tuple[float, float, float, float]:
    with tempfile.TemporaryDirectory() as config:
        env = {**os.environ, **platform}
        started = time.time()
        out = subprocess.run(
            [sys.executable, "-c", PROBE, mode, config],
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            timeout=60,
            check=True,
        ).stdout
    result = json.loads(out.strip().splitlines()[-1])
    return (
        (result["painted_at"] - started) * 1000,
        result["rss_mb"],
        (result["ready_at"] - started) * 1000,
        result["ready_rss_mb"],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument(
        "--x11", action="store_true", help="run on an X server (Xvfb if no DISPLAY)"
    )
    args = parser.parse_args()
    xvfb = None
    platform = {"QT_QPA_PLATFORM": "offscreen"}
    if args.x11:
        display = os.environ.get("DISPLAY")
        if not display:
            display = ":97"
            xvfb = subprocess.Popen(
                ["Xvfb", display, "-screen", "0", "1600x1000x24", "-nolisten", "tcp"],
                stderr=subprocess.DEVNULL,
            )
            time.sleep(1.0)
        platform = {"QT_QPA_PLATFORM": "xcb", "DISPLAY": display}
    try:
        _measure(args.runs, platform)
    finally:
        if xvfb is not None:
            xvfb.terminate()


def _measure(runs_wanted: int, platform: dict[str, str]) -> None:
    launch(
        "app", platform
    )  # warm the OS file cache so every measured run is equally cold for Python
    rows = {}
    # Interleaved, so that a busy spell on the machine slows the floor and the app alike.
    samples: dict[str, list[tuple[float, float, float, float]]] = {"bare": [], "app": []}
    for _ in range(runs_wanted):
        for mode, runs in samples.items():
            runs.append(launch(mode, platform))
    for mode, runs in samples.items():
        rows[mode] = [statistics.median(run[i] for run in runs) for i in range(4)]
    print(f"{'':24}{'first paint (ms)':>18}{'RSS (MB)':>10}{'ready (ms)':>12}{'RSS (MB)':>10}")
    for mode, label in (("bare", "bare Qt window (floor)"), ("app", "Fireplay")):
        paint, rss, ready, ready_rss = rows[mode]
        print(f"{label:24}{paint:>18.0f}{rss:>10.1f}{ready:>12.0f}{ready_rss:>10.1f}")
    where = platform["QT_QPA_PLATFORM"]
    print(f"median of {runs_wanted} runs on {where}; budget: first paint ≤ 250 ms, ≤ 100 MB")


if __name__ == "__main__":
    main()
