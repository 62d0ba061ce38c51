"""Live JSON view cost per streamed chunk: LiveJson.feed vs re-parsing the whole text each chunk.

    .venv/bin/python bench/json_stream.py [--runs 5] [--chunk 8] [--sizes 1000,10000,100000] [--qt]

For one-line JSON documents of about 1 kB, 10 kB and 100 kB (generated deterministically, shaped
like a model's structured reply: a list of records with strings, numbers, booleans, nested
objects and arrays), the text is fed in chunks of ``--chunk`` characters (about 2 tokens) and the
cost of each chunk is timed:

    LiveJson   ``LiveJson.feed(chunk)``: the incremental pretty-printer (returns the text to append)
    reparse    ``pydantic_core.from_json(whole, allow_partial=True)`` + ``json.dumps(indent=2)`` of
               the whole text received so far: what a naive live view does every chunk

Reported: the median cost per chunk over the chunks that start at 3-13 % ("early") and at
85-95 % ("late") of the document, and late/early. DESIGN.md §7 wants late/early <= 2 for the
~100 kB document ("flat"); re-parsing grows with the document. Figures are medians over
``--runs`` runs. For reparse, at most 250 chunks spread evenly over each window are timed.

``--qt`` adds the view: an offscreen QPlainTextEdit gets each LiveJson fragment appended at the
end (``insertPlainText``), and the reparse view gets ``setPlainText`` of the whole pretty text.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import pydantic_core

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.domain.live_json import LiveJson

EARLY = (0.03, 0.13)
LATE = (0.85, 0.95)
REPARSE_SAMPLES = 250
_WORDS = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india")


def document(size: int, seed: int = 7) -> str:
    """A one-line JSON document of about ``size`` characters, the same for the same arguments."""
    rng = random.Random(seed)
    records: list[dict[str, Any]] = []
    text = ""
    while len(text) < size:
        index = len(records)
        records.append(
            {
                "id": index,
                "name": " ".join(rng.choice(_WORDS) for _ in range(rng.randint(1, 4))),
                "score": round(rng.uniform(0, 100), 3),
                "active": rng.random() < 0.5,
                "tags": [rng.choice(_WORDS) for _ in range(rng.randint(0, 3))],
                "address": {
                    "city": rng.choice(_WORDS).title(),
                    "zip": f"{rng.randint(0, 99999):05d}",
                },
                "note": None if rng.random() < 0.3 else f'line "{index}"\twith\\escapes é',
            }
        )
        text = json.dumps({"items": records})
    return text


def chunks(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def window(pieces: list[str], total: int, bounds: tuple[float, float]) -> list[int]:
    """Indices of the chunks that start within ``bounds`` (fractions) of the document."""
    found: list[int] = []
    offset = 0
    for index, piece in enumerate(pieces):
        if bounds[0] * total <= offset < bounds[1] * total:
            found.append(index)
        offset += len(piece)
    return found


class _View:
    """An offscreen QPlainTextEdit, only with --qt."""

    def __init__(self) -> None:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        from PySide6.QtGui import QTextCursor
        from PySide6.QtWidgets import QApplication, QPlainTextEdit

        self._app = QApplication.instance() or QApplication([])
        self._end = QTextCursor.MoveOperation.End
        self.edit = QPlainTextEdit()
        self.edit.resize(800, 600)
        self.edit.show()

    def clear(self) -> None:
        self.edit.clear()

    def append(self, text: str) -> None:
        if text:
            self.edit.moveCursor(self._end)
            self.edit.insertPlainText(text)

    def replace(self, text: str) -> None:
        self.edit.setPlainText(text)


def run_live(pieces: list[str], timed: set[int], view: _View | None) -> dict[int, float]:
    """Feed every chunk; return the cost in µs of the chunks in ``timed``."""
    live = LiveJson()
    costs: dict[int, float] = {}
    if view is not None:
        view.clear()
    clock = time.perf_counter_ns
    for index, piece in enumerate(pieces):
        start = clock()
        fragment = live.feed(piece)
        if view is not None:
            view.append(fragment)
        if index in timed:
            costs[index] = (clock() - start) / 1000
    return costs


def run_reparse(pieces: list[str], timed: list[int], view: _View | None) -> dict[int, float]:
    """Time re-parsing and re-rendering the whole text received up to each chunk in ``timed``."""
    ends: list[int] = []
    offset = 0
    for piece in pieces:
        offset += len(piece)
        ends.append(offset)
    text = "".join(pieces)
    costs: dict[int, float] = {}
    clock = time.perf_counter_ns
    for index in timed:
        received = text[: ends[index]]
        start = clock()
        value = pydantic_core.from_json(received, allow_partial=True)
        pretty = json.dumps(value, indent=2, ensure_ascii=False)
        if view is not None:
            view.replace(pretty)
        costs[index] = (clock() - start) / 1000
    return costs


def sample(indices: list[int], count: int) -> list[int]:
    if len(indices) <= count:
        return indices
    step = len(indices) / count
    return [indices[int(i * step)] for i in range(count)]


def median_of(costs: dict[int, float], indices: list[int]) -> float:
    return statistics.median(costs[i] for i in indices if i in costs)


def measure(size: int, args: argparse.Namespace, view: _View | None) -> dict[str, float]:
    text = document(size)
    pieces = chunks(text, args.chunk)
    early = window(pieces, len(text), EARLY)
    late = window(pieces, len(text), LATE)
    timed = set(early) | set(late)
    reparse_early = sample(early, REPARSE_SAMPLES)
    reparse_late = sample(late, REPARSE_SAMPLES)
    results: dict[str, list[float]] = {k: [] for k in ("le", "ll", "re", "rl")}
    for _ in range(args.runs):
        gc.collect()
        gc.disable()
        try:
            live = run_live(pieces, timed, view)
            reparse = run_reparse(pieces, reparse_early + reparse_late, view)
        finally:
            gc.enable()
        results["le"].append(median_of(live, early))
        results["ll"].append(median_of(live, late))
        results["re"].append(median_of(reparse, reparse_early))
        results["rl"].append(median_of(reparse, reparse_late))
    figures = {k: statistics.median(v) for k, v in results.items()}
    figures["size"] = len(text)
    figures["chunks"] = len(pieces)
    return figures


def _print(rows: list[dict[str, float]], qt: bool) -> None:
    what = "feed + QPlainTextEdit append" if qt else "feed"
    baseline = "from_json + dumps + setPlainText" if qt else "from_json + dumps"
    print(f"µs per chunk (median); LiveJson = {what}; reparse = {baseline} of the whole text")
    header = (
        f"{'document':>10} {'chunks':>7} | {'LiveJson early':>14} {'late':>8} {'late/early':>10} |"
        f" {'reparse early':>13} {'late':>9} {'late/early':>10}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        print(
            f"{int(row['size']):>9,}c {int(row['chunks']):>7,} |"
            f" {row['le']:>14.2f} {row['ll']:>8.2f} {row['ll'] / row['le']:>9.2f}x |"
            f" {row['re']:>13.1f} {row['rl']:>9.1f} {row['rl'] / row['re']:>9.2f}x"
        )
    print("target: LiveJson late/early <= 2x at ~100 kB (DESIGN §7)")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--chunk", type=int, default=8, help="characters per chunk")
    parser.add_argument(
        "--sizes", default="1000,10000,100000", help="document sizes, comma-separated"
    )
    parser.add_argument("--qt", action="store_true", help="include an offscreen QPlainTextEdit")
    args = parser.parse_args()
    view = _View() if args.qt else None
    sizes: list[int] = [int(s) for s in args.sizes.split(",")]
    _print([measure(size, args, view) for size in sizes], args.qt)


if __name__ == "__main__":
    main()
