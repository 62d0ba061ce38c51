"""Regressions in the Qt binding itself that Fireplay guards against."""

from __future__ import annotations

import sys
from typing import Any

from PySide6.QtWidgets import QLabel


def test_void_qt_calls_do_not_corrupt_none_refcount(qtbot: Any) -> None:
    # PySide6 6.12.0 decremented None's refcount on every void-returning call on Python 3.11,
    # until the interpreter died in none_dealloc (DESIGN.md §8). The pin keeps us below it.
    label = QLabel()
    qtbot.addWidget(label)
    before = sys.getrefcount(None)
    for i in range(20_000):
        label.setText(str(i))
        label.setVisible(False)
    after = sys.getrefcount(None)
    # Immortal None (3.12+) reports a huge constant; on 3.11 the count must not fall.
    assert after >= before - 100
