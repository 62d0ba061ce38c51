"""The window as a whole: registered tabs, command-line flags, screenshots, shutdown."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QDialog, QPlainTextEdit, QTabWidget

import app
from app.main import main
from widgets.tabs.registry import TABS

pytestmark = pytest.mark.usefixtures("qloop")
# Each tab's main input (DESIGN §6): a prompt, except where the tab asks for something else.
_INPUTS = {"embeddings": "textsInput", "audio": "audioDrop"}


@pytest.mark.parametrize("spec", TABS, ids=lambda s: s.id)
def test_every_registered_tab_is_built_with_its_stable_names(
    qtbot: Any, make_app: Any, spec: Any
) -> None:
    window = make_app().window
    tabs = window.findChild(QTabWidget, "mainTabs")
    pages = [tabs.widget(i).objectName() for i in range(tabs.count())]
    assert pages == [f"tab-{s.id}" for s in TABS]
    # Start-up builds the tab shown; the others follow once the event loop runs.
    assert list(window.views) == [TABS[0].id]
    window.started()
    qtbot.waitUntil(lambda: len(window.views) == len(TABS))
    assert tabs.currentIndex() == 0
    page = window.findChild(object, f"tab-{spec.id}")
    for name in (
        _INPUTS.get(spec.id, "promptInput"),
        "sendButton",
        "stopButton",
        "pane-0",
        "modelPicker",
        "output",
        "metrics",
    ):
        assert page.findChild(object, name) is not None, name


def test_provider_flag_accepts_an_id_and_rejects_nonsense(make_app: Any) -> None:
    window = make_app("--provider", "fireworks", "--model", "accounts/fireworks/models/x").window
    chat = window.presenters["chat"].panes[0]
    assert (chat.provider_id, chat.model) == ("fireworks", "accounts/fireworks/models/x")
    with pytest.raises(SystemExit, match="unknown provider"):
        make_app("--provider", "no-such-provider")


@pytest.mark.parametrize(
    ("provider", "model"),
    [("local", "smollm2-135m-instruct"), ("fireworks", "accounts/fireworks/models/gpt-oss-120b")],
)
def test_provider_flag_alone_selects_that_providers_default_model(
    make_app: Any, provider: str, model: str
) -> None:
    chat = make_app("--provider", provider).window.presenters["chat"].panes[0]
    assert (chat.provider_id, chat.model) == (provider, model)


def test_without_a_key_the_default_provider_is_the_built_in_engine(make_app: Any) -> None:
    chat = make_app().window.presenters["chat"].panes[0]
    assert (chat.provider_id, chat.model) == ("local", "smollm2-135m-instruct")


def test_screenshot_flag_writes_a_png(tmp_path: Path, config_dir: Path) -> None:
    target = tmp_path / "shot.png"
    assert main(["--config-dir", str(config_dir), "--screenshot", str(target)]) == 0
    image = QImage(str(target))
    assert not image.isNull() and image.width() >= 800 and image.height() >= 500


def test_version_flag() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "app", "--version"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0 and result.stdout.strip() == f"Fireplay {app.__version__}"


def test_closing_the_window_remembers_its_placement_for_the_next_start(
    make_app: Any, config_dir: Path
) -> None:
    window = make_app().window
    window.resize(640, 480)  # fits the offscreen screen, so restoring does not shrink it
    window.show()
    size = (window.width(), window.height())
    window.close()
    assert '"geometry": "' in (config_dir / "window.json").read_text()

    again = make_app().window
    assert (again.width(), again.height()) == size
    assert again.tabs.currentWidget().objectName() == "tab-chat"


FIRST_PAINT_PROBE = r"""
import json, os, sys
from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QApplication, QWidget

class Probe(QObject):
    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Paint and isinstance(obj, QWidget) and obj.isWindow():
            prompt = obj.findChild(QWidget, "promptInput")
            print(json.dumps({
                "loaded": sorted(m for m in ("pydantic", "asyncio", "qasync") if m in sys.modules),
                "title": obj.windowTitle(),
                "tab_built": prompt is not None,
            }), flush=True)
            os._exit(0)
        return False

qapp = QApplication(sys.argv[:1])
probe = Probe()
qapp.installEventFilter(probe)
from app.main import main
main(["--config-dir", sys.argv[1]])
"""


def _launch(script: str, config_dir: Path) -> subprocess.CompletedProcess[str]:
    """Run Fireplay's ``main`` in a fresh interpreter under ``script``'s event filter."""
    return subprocess.run(
        [sys.executable, "-c", script, str(config_dir)], capture_output=True, text=True, timeout=60
    )


def test_the_window_frame_paints_before_settings_asyncio_and_tabs_load(config_dir: Path) -> None:
    result = _launch(FIRST_PAINT_PROBE, config_dir)
    assert result.returncode == 0, result.stderr
    first_paint = json.loads(result.stdout.strip().splitlines()[-1])
    assert first_paint == {"loaded": [], "title": "Fireplay", "tab_built": False}


CLOSE_AT_FIRST_PAINT = r"""
import sys
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QWidget

class CloseEarly(QObject):
    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Paint and isinstance(obj, QWidget) and obj.isWindow():
            qapp.removeEventFilter(self)
            QTimer.singleShot(0, obj.close)
        return False

qapp = QApplication(sys.argv[:1])
closer = CloseEarly()
qapp.installEventFilter(closer)
from app.main import main
print("exit code", main(["--config-dir", sys.argv[1]]), flush=True)
"""


def test_closing_the_window_before_the_tabs_are_built_quits(config_dir: Path) -> None:
    result = _launch(CLOSE_AT_FIRST_PAINT, config_dir)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "exit code 0"


def test_an_unreadable_settings_file_is_reported_in_the_window(
    make_app: Any, config_dir: Path
) -> None:
    (config_dir / "settings.json").write_text("{ half a file")
    window = make_app().window
    window.started()
    kept = next(config_dir.glob("settings.json.bad-*"))
    message = window.statusBar().currentMessage()
    assert "settings file was invalid" in message and str(kept) in message


@pytest.mark.usefixtures("memory_keyring")
def test_ctrl_comma_opens_the_settings_and_ctrl_q_closes_the_window(
    qtbot: Any, make_app: Any
) -> None:
    window = make_app().window
    with qtbot.waitActive(window):
        window.show()
        window.activateWindow()
    prompt = window.findChild(QPlainTextEdit, "promptInput")
    prompt.setFocus()
    qtbot.keyClick(prompt, Qt.Key.Key_Comma, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.findChild(QDialog) is not None)
    dialog = window.findChild(QDialog)
    assert dialog.isVisible()
    with qtbot.waitActive(window):
        dialog.close()
        window.activateWindow()
    with qtbot.waitSignal(window.closed, timeout=2000):
        qtbot.keyClick(prompt, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)


def test_first_run_with_a_key_in_the_environment_picks_that_provider(
    make_app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIREWORKS_API_KEY", "fw-secret-from-env")
    chat = make_app().window.presenters["chat"].panes[0]
    assert chat.provider_id == "fireworks"
    assert chat.model == "accounts/fireworks/models/gpt-oss-120b"


def test_a_later_run_keeps_the_users_choice(make_app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    make_app("--provider", "local")  # an explicit choice is saved
    monkeypatch.setenv("FIREWORKS_API_KEY", "fw-secret-from-env")
    assert make_app().window.presenters["chat"].panes[0].provider_id == "local"
