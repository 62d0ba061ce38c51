"""Which models each tab offers first: what the server reports, then the catalog, then the id."""

from __future__ import annotations

import pytest

from app.domain.capabilities import model_capabilities, split_by_capability
from app.domain.connections import ModelList


def test_what_the_server_reports_wins_over_the_id() -> None:
    # The built-in engine's entries; "streaming" is not a capability any tab needs.
    assert model_capabilities("whisper-ish-name", ["chat", "streaming", "json_schema"]) == {
        "chat",
        "json",
    }
    assert model_capabilities("smol", ["image_input_ocr", "tools"]) == {"vision", "tools"}
    assert model_capabilities("x", ["transcription", "translation"]) == {"audio"}


@pytest.mark.parametrize(
    ("model_id", "expected"),
    [
        ("accounts/fireworks/models/whisper-v3-turbo", {"audio"}),
        ("accounts/fireworks/models/nomic-ai/nomic-embed-text-v1.5", {"embeddings"}),
        # The catalog says this one cannot call tools.
        ("accounts/fireworks/models/llama-v3p2-11b-vision-instruct", {"chat", "json", "vision"}),
        ("accounts/fireworks/models/firefunction-v2", {"chat", "json", "tools"}),
    ],
)
def test_the_catalog_knows_its_models(model_id: str, expected: set[str]) -> None:
    assert model_capabilities(model_id) == expected


@pytest.mark.parametrize(
    ("model_id", "expected"),
    [
        ("whisper-1", {"audio"}),
        ("gpt-4o-transcribe", {"audio"}),
        ("text-embedding-3-small", {"embeddings"}),
        ("BAAI/bge-small-en", {"embeddings"}),
        ("Qwen/Qwen2.5-VL-7B-Instruct", {"chat", "json", "tools", "vision"}),
        ("llama3.2:1b", {"chat", "json", "tools"}),
    ],
)
def test_unknown_models_are_judged_by_their_id(model_id: str, expected: set[str]) -> None:
    assert model_capabilities(model_id) == expected


def test_split_keeps_the_listed_order_within_each_group() -> None:
    ids = ["b-embed", "a-chat", "whisper-1", "c-chat"]
    assert split_by_capability(ids, "chat") == (["a-chat", "c-chat"], ["b-embed", "whisper-1"])
    assert split_by_capability(ids, "embeddings") == (
        ["b-embed"],
        ["a-chat", "whisper-1", "c-chat"],
    )


def test_a_model_list_splits_by_what_its_server_reported() -> None:
    listing = ModelList(
        ["tiny", "speech"],
        "from the built-in engine",
        reported={"tiny": ["chat"], "speech": ["transcription"]},
    )
    assert listing.split("audio") == (["speech"], ["tiny"])
    assert listing.split("chat") == (["tiny"], ["speech"])
