"""Composition root: parse the command line, build services and the window, run the Qt+asyncio loop.

This is the only module under ``app/`` that may import widgets.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import importlib
import logging
import os
import signal
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QEventLoop, QObject, QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

import app
from app.storage import default_config_dir, load_window_state
from widgets.tabs.registry import TABS

# Start-up paints the window frame first and only then loads asyncio, qasync, pydantic (settings),
# the presenters and the tabs: those imports live in the functions that run after the paint.
if TYPE_CHECKING:
    import asyncio

    from app.presenters.services import Services
    from app.presenters.settings import SettingsPresenter
    from widgets.main_window import MainWindow

__all__ = ["Built", "build", "main", "parse_args"]

log = logging.getLogger("fireplay")

FIRST_PAINT_TIMEOUT_MS = 500

# A provider given as a URL on the command line takes its key from here (a stored key wins).
URL_PROVIDER_KEY_ENV = "FIREPLAY_API_KEY"


DESCRIPTION = """\
Fireplay is a desktop playground for Fireworks AI and every OpenAI-compatible
inference API: chat with models, try structured output, and compare several
models or settings side by side with live metrics. Without an API key it runs
small models on this computer.
"""

EPILOG = """\
examples:
  fireplay
      open the app with the settings and providers you used last
  fireplay --provider fireworks --model accounts/fireworks/models/llama-v3p1-8b-instruct
      start the Chat tab on a Fireworks model (the key comes from Settings or FIREWORKS_API_KEY)
  fireplay --provider http://localhost:8000/v1 --model my-model
      use any OpenAI-compatible server, e.g. vLLM, Ollama or a llama.cpp server

Close the window, press Ctrl+Q, or press Ctrl+C in the terminal to quit.
"""


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """Parse Fireplay's command line; ``config_dir`` is always set (the platform's by default)."""
    parser = argparse.ArgumentParser(
        prog="fireplay",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config-dir", type=Path, help="settings folder (default: the platform's)")
    parser.add_argument(
        "--tab", metavar="ID", help="the tab shown at start: " + ", ".join(t.id for t in TABS)
    )
    parser.add_argument(
        "--provider",
        help="provider id or name (e.g. fireworks), or a base URL, for the first pane of the tab;"
        f" a URL's API key is read from {URL_PROVIDER_KEY_ENV} unless one is stored in Settings",
    )
    parser.add_argument("--model", help="model id for the first pane of the tab")
    parser.add_argument(
        "--screenshot", type=Path, metavar="PATH", help="render the window to a PNG and exit"
    )
    parser.add_argument("--version", action="version", version=f"Fireplay {app.__version__}")
    args = parser.parse_args(list(argv))
    if args.tab is not None and args.tab not in {t.id for t in TABS}:
        parser.error(f"unknown tab {args.tab!r}; choose one of " + ", ".join(t.id for t in TABS))
    args.config_dir = args.config_dir or default_config_dir()
    return args


@dataclass
class Built:
    """Everything :func:`build` made, for ``main``, tests and screenshots."""

    qapp: QApplication
    window: MainWindow
    services: Services


def build(argv: Sequence[str] | None = None) -> Built:
    """Create the QApplication (or reuse one), the main window and its services, without running."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    qapp, window = _open_window(args)
    return _attach_services(args, qapp, window)


def _open_window(args: argparse.Namespace) -> tuple[QApplication, MainWindow]:
    """The QApplication and the window frame: all that the first paint needs."""
    from widgets.main_window import MainWindow

    qapp = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "fireplay"])
    assert isinstance(qapp, QApplication)
    qapp.setApplicationName("Fireplay")
    qapp.setApplicationVersion(app.__version__)
    qapp.setQuitOnLastWindowClosed(False)
    qapp.setStyleSheet(_stylesheet())
    qapp.setWindowIcon(_icon())
    state = load_window_state(args.config_dir)
    if args.tab:
        state = dataclasses.replace(state, current_tab=args.tab)
    return qapp, MainWindow(state)


def _attach_services(args: argparse.Namespace, qapp: QApplication, window: MainWindow) -> Built:
    """Load the settings, make the services and build every tab into ``window``."""
    from app.domain.connections import Connections
    from app.engine.process import EngineProcess
    from app.presenters.engine import EngineMonitor
    from app.presenters.history import History
    from app.presenters.presets import Presets
    from app.presenters.services import Services
    from app.presenters.settings import SettingsPresenter
    from app.runtime import AsyncRunner
    from app.secrets import SecretStore
    from app.settings import load_settings

    config_dir: Path = args.config_dir
    first_run = not (config_dir / "settings.json").exists()
    secrets = SecretStore(config_dir)
    problems: list[str] = []
    settings = SettingsPresenter(
        load_settings(config_dir, problems.append),
        config_dir,
        secrets,
        load_problem=" ".join(problems) or None,
    )
    if first_run and not args.provider:
        _prefer_a_provider_with_a_key(settings)
    _apply_target_flags(settings, window.current_tab_id(), args.provider, args.model)
    engine = EngineMonitor()
    connections = Connections(
        lambda: settings.settings,
        secrets,
        lambda args: EngineProcess(extra_args=args, on_status=engine.report),
    )
    services = Services(
        runner=AsyncRunner(),
        settings=settings,
        connections=connections,
        engine=engine,
        history=History(config_dir),
        presets=Presets(config_dir),
    )
    window.attach(services)
    return Built(qapp, window, services)


def _stylesheet() -> str:
    from importlib.resources import files

    return files("resources").joinpath("themes", "fireplay.qss").read_text(encoding="utf-8")


def _prefer_a_provider_with_a_key(settings: SettingsPresenter) -> None:
    # The built-in engine is the default only while no API key is configured. A new settings
    # folder has no stored keys, so only the environment can hold one (and the keychain stays
    # unloaded at start-up).
    for profile in settings.settings.providers:
        if profile.requires_key and profile.api_key_env and os.environ.get(profile.api_key_env):
            settings.update_active(profile.id, profile.default_model)
            return


def _icon() -> QIcon:
    from importlib.resources import files

    return QIcon(str(files("resources").joinpath("icons", "fireplay.svg")))


def _apply_target_flags(
    settings: SettingsPresenter, tab_id: str, provider: str | None, model: str | None
) -> None:
    if provider:
        settings.update_target(tab_id, _resolve_provider(settings, provider), model)
    elif model:
        first = settings.settings.targets(tab_id)[0]
        settings.update_target(tab_id, first.provider, model)


def _resolve_provider(settings: SettingsPresenter, wanted: str) -> str:
    for profile in settings.settings.providers:
        if wanted.lower() in (profile.id.lower(), profile.name.lower()):
            return profile.id
        if wanted.rstrip("/") == profile.base_url.rstrip("/"):
            if not profile.builtin and profile.api_key_env is None:
                settings.update_provider(profile.id, api_key_env=URL_PROVIDER_KEY_ENV)
            return profile.id
    if "://" in wanted:
        host = wanted.split("://", 1)[1].split("/", 1)[0]
        return settings.add_custom_provider(host, wanted, api_key_env=URL_PROVIDER_KEY_ENV)
    names = ", ".join(p.id for p in settings.settings.providers)
    raise SystemExit(f"fireplay: unknown provider {wanted!r}; known: {names}, or give a base URL")


def _screenshot(built: Built, path: Path) -> int:
    window = built.window
    window.resize(1280, 800)
    window.show()
    for _ in range(5):
        built.qapp.processEvents()
    ok = window.grab().save(str(path))
    window.close()
    return 0 if ok else 1


class _FirstPaint(QObject):
    """Calls ``on_paint`` when ``window`` receives its first paint event."""

    def __init__(self, window: MainWindow, on_paint: Callable[[], None]) -> None:
        super().__init__()
        self._window = window
        self._on_paint = on_paint

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Watch, never consume."""
        if watched is self._window and event.type() == QEvent.Type.Paint:
            self._on_paint()
        return False


def _show_and_paint(window: MainWindow) -> None:
    """Show the window frame and return once it has painted (or after a timeout)."""
    # User input waits in the queue until the tabs exist; paint and expose events do not.
    loop = QEventLoop()
    watch = _FirstPaint(window, loop.quit)
    window.installEventFilter(watch)
    timeout = QTimer()
    timeout.setSingleShot(True)
    timeout.timeout.connect(loop.quit)
    timeout.start(FIRST_PAINT_TIMEOUT_MS)
    window.show()
    loop.exec(QEventLoop.ProcessEventsFlag.ExcludeUserInputEvents)
    timeout.stop()
    window.removeEventFilter(watch)


def main(argv: Sequence[str] | None = None) -> int:
    """Run Fireplay until the user quits."""
    logging.basicConfig(level=os.environ.get("FIREPLAY_LOG", "WARNING").upper())
    os.environ.setdefault("QT_API", "pyside6")
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.screenshot:
        return _screenshot(build(argv), args.screenshot)
    qapp, window = _open_window(args)
    _show_and_paint(window)
    built = _attach_services(args, qapp, window)
    return _run_until_quit(built)


def _run_until_quit(built: Built) -> int:
    """Run the Qt+asyncio loop until :func:`_run` has finished shutting everything down."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    import qasync

    with asyncio.Runner(loop_factory=qasync.QEventLoop) as runner:
        loop = runner.get_loop()
        # Work sent to threads (decoding images, audio) leaves one core to the UI: qasync's own
        # default of ten threads makes the heartbeat miss 16 ms (bench/vision_prepare.py).
        workers = max(1, (os.cpu_count() or 2) - 1)
        loop.set_default_executor(ThreadPoolExecutor(workers, thread_name_prefix="fireplay"))
        session = loop.create_task(_run(built), name="fireplay")
        session.add_done_callback(lambda _task: loop.stop())
        # Qt's event loop also ends when something other than Fireplay quits the application
        # (a desktop session ending, a platform's own Quit menu): it then runs again, so that
        # the shut-down that ``aboutToQuit`` started can finish on a running loop.
        while not session.done():
            loop.run_forever()
        return session.result()


def _after_start_up() -> None:
    # httpx and the response models load here, once the window has painted, instead of making
    # the first Send wait for them.
    importlib.import_module("app.client._client")
    importlib.import_module("app.client.types")
    # Start-up objects live as long as the app: keep them out of every later full collection.
    gc.collect()
    gc.freeze()


async def _run(built: Built) -> int:
    """Show the app until the user quits, then cancel runs, close clients and stop the engine.

    Quitting means closing the main window (the close button, File > Quit, Ctrl+Q), SIGINT
    (Ctrl+C in a terminal), SIGTERM, or the application being told to quit. The loop keeps
    running until the shut-down has finished.
    """
    import asyncio

    from app.runtime import install_asyncgen_hooks

    loop = asyncio.get_running_loop()
    install_asyncgen_hooks(loop)
    quit_requested = asyncio.Event()
    built.qapp.aboutToQuit.connect(quit_requested.set)
    built.window.closed.connect(quit_requested.set)
    handled = _handle_quit_signals(loop, quit_requested.set)
    try:
        if not built.window.isVisible():  # closed while the tabs were being built
            quit_requested.set()
        QTimer.singleShot(0, built.window.started)
        QTimer.singleShot(300, _after_start_up)
        await quit_requested.wait()
        if built.window.isVisible():  # the quit came from elsewhere: save the window state
            built.window.close()
        await _shut_down(built.services)
    finally:
        for signum in handled:
            loop.remove_signal_handler(signum)
    return 0


def _handle_quit_signals(loop: asyncio.AbstractEventLoop, on_quit: Callable[[], None]) -> list[int]:
    """Make SIGINT and SIGTERM quit like closing the window; returns the signals handled."""
    handled = []
    for name in ("SIGINT", "SIGTERM"):
        signum = getattr(signal, name, None)
        if signum is None:
            continue
        try:
            loop.add_signal_handler(signum, on_quit)
        except (NotImplementedError, RuntimeError, ValueError):
            continue  # no asyncio signal support here (Windows): the default behaviour stays
        handled.append(signum)
    return handled


async def _shut_down(services: Services) -> None:
    """Cancel every run, wait for their clean-up, then close the clients and stop the engine."""
    import asyncio

    # A cancelled run may start clean-up tasks of its own; those are cancelled in turn.
    for _ in range(3):
        pending = services.runner.cancel_all()
        if not pending:
            break
        await asyncio.gather(*pending, return_exceptions=True)
    await services.connections.aclose()
    # After the runs: a stopped run's record is complete before the database closes.
    await asyncio.to_thread(services.history.close)
