"""A process that streams one run into the history until it is killed (test_history's SIGKILL test).

Usage: ``python history_writer.py <history file>``. It appends the piece ``w<6-digit n> `` every
10 ms.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from app.domain.history import HistoryStore, RunStart

PIECE_EVERY_S = 0.01
# Never outlive a test that died before killing it.
GIVE_UP_AFTER_S = 60.0


def piece(index: int) -> str:
    """The ``index``-th appended piece: one searchable word and a space."""
    return f"w{index:06d} "


def main() -> None:
    """Stream into the history at ``sys.argv[1]`` until killed (or a minute has passed)."""
    store = HistoryStore.open(Path(sys.argv[1]))
    run = store.begin(RunStart("chat", "fireworks", "streamer", {}, {}, time.time()))
    run.set_request({"path": "/chat/completions", "body": None}, "stream until killed")
    started = time.monotonic()
    index = 0
    while time.monotonic() - started < GIVE_UP_AFTER_S:
        run.append_output(piece(index))
        index += 1
        time.sleep(PIECE_EVERY_S)
    store.close()


if __name__ == "__main__":
    main()
