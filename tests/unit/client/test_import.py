"""``import app.client`` stays Qt-free and does not pull in the openai SDK."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


def test_import_is_qt_free_and_sdk_free() -> None:
    code = (
        "import sys, app.client\n"
        "assert 'PySide6' not in sys.modules and 'qasync' not in sys.modules, 'Qt imported'\n"
        "assert 'openai' not in sys.modules, 'openai SDK imported'\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
