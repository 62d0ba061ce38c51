"""Composition root: parse the command line, build services and the window, run the Qt+asyncio loop.

This is the only module under ``app/`` that may import widgets.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib
import logging
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

import app
from app.presenters.engine import EngineMonitor
from app.presenters.services import Services
from app.presenters.settings import SettingsPresenter
from app.runtime import AsyncRunner, install_asyncgen_hooks

__all__ = ["Built", "build", "main", "parse_args"]

log = logging.getLogger("fireplay")


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """Parse Fireplay's command line."""
    parser = argparse.ArgumentParser(prog="fireplay", description=__doc__)
    parser.add_argument("--config-dir", type=Path, help="settings folder (default: the platform's)")
    parser.add_argument("--provider", help="provider id or name (e.g. fireworks), or a base URL")
    parser.add_argument("--model", help="model id to select")
    parser.add_argument(
        "--screenshot", type=Path, metavar="PATH", help="render the window to a PNG and exit"
    )
    parser.add_argument("--version", action="version", version=f"Fireplay {app.__version__}")
    return parser.parse_args(list(argv))


@dataclass
class Built:
    """Everything :func:`build` made, for ``main``, tests and screenshots."""

    qapp: QApplication
    window: (
        object  # widgets.main_window.MainWindow; typed loosely to keep app/ free of widget imports
    )
    services: Services


def build(argv: Sequence[str] | None = None) -> Built:
    """Create the QApplication (or reuse one), the services and the main window, without running."""
    from app.domain.connections import Connections
    from app.engine.process import EngineProcess
    from app.settings import SecretStore, default_config_dir, load_settings
    from widgets.main_window import MainWindow

    args = parse_args(sys.argv[1:] if argv is None else argv)
    qapp = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "fireplay"])
    assert isinstance(qapp, QApplication)
    qapp.setApplicationName("Fireplay")
    qapp.setApplicationVersion(app.__version__)
    qapp.setQuitOnLastWindowClosed(False)
    qapp.setStyleSheet(_stylesheet())
    qapp.setWindowIcon(_icon())

    config_dir: Path = args.config_dir or default_config_dir()
    first_run = not (config_dir / "settings.json").exists()
    secrets = SecretStore(config_dir)
    settings = SettingsPresenter(load_settings(config_dir), config_dir, secrets)
    if first_run and not args.provider:
        _prefer_a_provider_with_a_key(settings)
    _apply_target_flags(settings, args.provider, args.model)
    runner = AsyncRunner()
    engine = EngineMonitor()
    connections = Connections(
        lambda: settings.settings,
        secrets,
        lambda args: EngineProcess(extra_args=args, on_status=engine.report),
    )
    services = Services(runner=runner, settings=settings, connections=connections, engine=engine)
    window = MainWindow(services)
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
            settings.update_target(profile.id, profile.default_model)
            return


def _icon() -> QIcon:
    from importlib.resources import files

    return QIcon(str(files("resources").joinpath("icons", "fireplay.svg")))


def _apply_target_flags(
    settings: SettingsPresenter, provider: str | None, model: str | None
) -> None:
    if provider:
        settings.update_target(_resolve_provider(settings, provider), model)
    elif model:
        settings.update_target(settings.settings.active_provider, model)


def _resolve_provider(settings: SettingsPresenter, wanted: str) -> str:
    for profile in settings.settings.providers:
        if wanted.lower() in (profile.id.lower(), profile.name.lower()):
            return profile.id
        if wanted.rstrip("/") == profile.base_url.rstrip("/"):
            return profile.id
    if "://" in wanted:
        return settings.add_custom_provider(wanted.split("://", 1)[1].split("/", 1)[0], wanted)
    names = ", ".join(p.id for p in settings.settings.providers)
    raise SystemExit(f"fireplay: unknown provider {wanted!r}; known: {names}, or give a base URL")


def _screenshot(built: Built, path: Path) -> int:
    window = built.window
    window.resize(1280, 800)  # type: ignore[attr-defined]
    window.show()  # type: ignore[attr-defined]
    for _ in range(5):
        built.qapp.processEvents()
    ok = window.grab().save(str(path))  # type: ignore[attr-defined]
    window.close()  # type: ignore[attr-defined]
    return 0 if ok else 1


def main(argv: Sequence[str] | None = None) -> int:
    """Run Fireplay until the user quits."""
    logging.basicConfig(level=os.environ.get("FIREPLAY_LOG", "WARNING").upper())
    os.environ.setdefault("QT_API", "pyside6")
    args = parse_args(sys.argv[1:] if argv is None else argv)
    built = build(argv)
    if args.screenshot:
        return _screenshot(built, args.screenshot)

    import qasync

    with asyncio.Runner(loop_factory=qasync.QEventLoop) as runner:
        return runner.run(_run(built))


def _after_start_up() -> None:
    # httpx and the response models load here, once the window has painted, instead of making
    # the first Send wait for them.
    importlib.import_module("app.client._client")
    importlib.import_module("app.client.types")
    # Start-up objects live as long as the app: keep them out of every later full collection.
    gc.collect()
    gc.freeze()


async def _run(built: Built) -> int:
    install_asyncgen_hooks(asyncio.get_running_loop())
    quit_requested = asyncio.Event()
    built.qapp.aboutToQuit.connect(quit_requested.set)
    built.window.closed.connect(built.qapp.quit)  # type: ignore[attr-defined]
    built.window.show()  # type: ignore[attr-defined]
    QTimer.singleShot(0, built.window.started)  # type: ignore[attr-defined]
    QTimer.singleShot(300, _after_start_up)
    await quit_requested.wait()
    pending = built.services.runner.cancel_all()
    await asyncio.gather(*pending, return_exceptions=True)
    await built.services.connections.aclose()
    return 0
