"""Where Fireplay keeps its files, how it writes them, and the window state (Qt-free, stdlib only).

This module stays cheap to import: start-up reads the window state from here to place and paint
the window before the settings (pydantic) and the tabs load.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import platformdirs

__all__ = [
    "PRIVATE_MODE",
    "WINDOW_FILE",
    "WindowState",
    "atomic_write",
    "default_config_dir",
    "keep_aside",
    "load_window_state",
    "save_window_state",
]

logger = logging.getLogger(__name__)

PRIVATE_MODE = 0o600
WINDOW_FILE = "window.json"
_FIRST_TAB = "chat"


def default_config_dir() -> Path:
    """Per-user config directory, e.g. ``~/.config/fireplay`` on Linux."""
    return Path(platformdirs.user_config_dir("fireplay", appauthor=False))


def atomic_write(path: Path, payload: bytes) -> None:
    """Write ``payload`` to ``path`` so that readers see the old file or the new one, never half.

    The temporary file is created with mode 0600 in one step (never world-readable, even briefly)
    and with O_EXCL so that a planted file or symlink cannot be written through.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.urandom(6).hex()}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    fd = os.open(tmp, flags, PRIVATE_MODE)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def keep_aside(path: Path, *, label: str = "bad", companions: Sequence[str] = ()) -> Path | None:
    """Rename an unreadable file to ``<name>.<label>-<timestamp>`` so that nothing is lost.

    ``companions`` are suffixes of files that belong with it (a database's ``-wal`` and
    ``-shm``); those that exist move along, so a stale one is never read with a new file.
    """
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.{label}-{stamp}")
    counter = 1
    while target.exists():
        target = path.with_name(f"{path.name}.{label}-{stamp}-{counter}")
        counter += 1
    try:
        os.replace(path, target)
        for suffix in companions:
            with contextlib.suppress(FileNotFoundError):
                os.replace(
                    path.with_name(path.name + suffix), target.with_name(target.name + suffix)
                )
    except OSError as exc:
        logger.warning("could not move %s aside: %s", path, exc)
        return None
    return target


@dataclass(frozen=True, slots=True)
class WindowState:
    """Main window state restored at start-up, kept in ``window.json``.

    Attributes:
        geometry: Base64 of ``QWidget.saveGeometry()``, or None for the default placement.
        current_tab: Id of the selected tab.
    """

    geometry: str | None = None
    current_tab: str = _FIRST_TAB


def load_window_state(config_dir: Path) -> WindowState:
    """Read ``window.json``; never raises. Anything missing or malformed gives the default."""
    path = config_dir / WINDOW_FILE
    try:
        data = json.loads(path.read_bytes())
    except FileNotFoundError:
        return WindowState()
    except (OSError, ValueError) as exc:
        # Only a window position is at stake: say so and start with the default placement.
        logger.warning("ignoring unreadable %s (%s)", path, exc)
        return WindowState()
    if not isinstance(data, dict):
        return WindowState()
    geometry = data.get("geometry")
    current_tab = data.get("current_tab")
    return WindowState(
        geometry=geometry if isinstance(geometry, str) else None,
        current_tab=current_tab if isinstance(current_tab, str) else _FIRST_TAB,
    )


def save_window_state(state: WindowState, config_dir: Path) -> None:
    """Write ``window.json`` atomically.

    Raises:
        OSError: When the file cannot be written; the previous file is then unchanged.
    """
    payload = {"geometry": state.geometry, "current_tab": state.current_tab}
    atomic_write(config_dir / WINDOW_FILE, (json.dumps(payload, indent=2) + "\n").encode("utf-8"))
