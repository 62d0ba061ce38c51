"""The offline model catalog: lookups, prices, cost estimates and the migration map."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import pytest
from pydantic import ValidationError

from app.domain.catalog import (
    Catalog,
    ModelInfo,
    Price,
    _MigrationFile,
    _ModelsFile,
    estimate_audio_cost,
    estimate_cost,
    load_catalog,
)

FW = "accounts/fireworks/models/"

# Every model the product brief and the wire reference name, by the id sent to the API.
EXPECTED_IDS = [
    f"{FW}llama-v3p1-8b-instruct",
    f"{FW}llama-v3p1-70b-instruct",
    f"{FW}llama-v3p1-405b-instruct",
    f"{FW}llama-v3p3-70b-instruct",
    f"{FW}deepseek-v3",
    f"{FW}deepseek-v3p1",
    f"{FW}deepseek-v3p2",
    f"{FW}qwen3-235b-a22b",
    f"{FW}qwen3-8b",
    f"{FW}qwen2p5-72b-instruct",
    f"{FW}qwen3-coder-30b-a3b-instruct",
    f"{FW}qwen2p5-vl-32b-instruct",
    f"{FW}qwen3-vl-30b-a3b-instruct",
    f"{FW}qwen3-vl-235b-a22b-instruct",
    f"{FW}llama-v3p2-11b-vision-instruct",
    f"{FW}llama-v3p2-90b-vision-instruct",
    f"{FW}phi-3-vision-128k-instruct",
    f"{FW}mixtral-8x22b-instruct",
    f"{FW}firefunction-v2",
    f"{FW}kimi-k2-instruct-0905",
    f"{FW}kimi-k2p5",
    f"{FW}kimi-k2p6",
    f"{FW}gpt-oss-120b",
    f"{FW}gpt-oss-20b",
    f"{FW}glm-4p7",
    "whisper-v3",
    "whisper-v3-turbo",
    "nomic-ai/nomic-embed-text-v1.5",
]


def _raw(name: str) -> dict[str, Any]:
    text = resources.files("resources").joinpath("catalog", name).read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def _model(catalog: Catalog, model_id: str) -> ModelInfo:
    info = catalog.get(model_id)
    assert info is not None, model_id
    return info


def test_catalog_is_loaded_once() -> None:
    assert load_catalog() is load_catalog()


def test_catalog_holds_the_expected_models(catalog: Catalog) -> None:
    assert [m.id for m in catalog.models()] == EXPECTED_IDS


@pytest.mark.parametrize(
    "spelling",
    [
        f"{FW}llama-v3p3-70b-instruct",
        "llama-v3p3-70b-instruct",
        "fireworks/llama-v3p3-70b-instruct",
        "  Accounts/Fireworks/Models/LLAMA-V3P3-70B-INSTRUCT ",
    ],
)
def test_get_accepts_every_id_form(catalog: Catalog, spelling: str) -> None:
    assert _model(catalog, spelling).id == f"{FW}llama-v3p3-70b-instruct"


def test_audio_models_are_found_by_request_id_and_library_path(catalog: Catalog) -> None:
    assert _model(catalog, f"{FW}whisper-v3").id == "whisper-v3"
    assert _model(catalog, "whisper-v3-turbo").id == "whisper-v3-turbo"
    assert _model(catalog, "whisper-v3-turbo").short_id == "whisper-v3-turbo"
    assert _model(catalog, "gpt-oss-20b").short_id == "gpt-oss-20b"


@pytest.mark.parametrize(
    "model_id",
    ["", "gpt-4o", "accounts/someone-else/models/llama-v3p3-70b-instruct", "llama-v3p3-70b"],
)
def test_unknown_ids_are_not_found(catalog: Catalog, model_id: str) -> None:
    assert catalog.get(model_id) is None


def test_models_filter_by_kind(catalog: Catalog) -> None:
    assert [m.id for m in catalog.models("audio")] == ["whisper-v3", "whisper-v3-turbo"]
    assert [m.id for m in catalog.models(kind="embedding")] == ["nomic-ai/nomic-embed-text-v1.5"]
    chat = catalog.models("chat")
    assert len(chat) == len(EXPECTED_IDS) - 3
    assert all(m.kind == "chat" for m in chat)


def test_capabilities_follow_the_sources(catalog: Catalog) -> None:
    vision = {m.short_id for m in catalog.models() if m.supports_image_input}
    assert vision == {
        "qwen2p5-vl-32b-instruct",
        "qwen3-vl-30b-a3b-instruct",
        "qwen3-vl-235b-a22b-instruct",
        "llama-v3p2-11b-vision-instruct",
        "llama-v3p2-90b-vision-instruct",
        "phi-3-vision-128k-instruct",
        "kimi-k2p6",
    }
    assert _model(catalog, "firefunction-v2").supports_tools is True
    assert _model(catalog, "firefunction-v2").serverless is False
    assert _model(catalog, "gpt-oss-120b").context_length == 131072
    assert _model(catalog, "mixtral-8x22b-instruct").context_length == 65536
    assert _model(catalog, "llama-v3p3-70b-instruct").supports_tools is None  # unknown, not false
    nomic = _model(catalog, "nomic-ai/nomic-embed-text-v1.5")
    assert (nomic.dimensions, nomic.context_length) == (768, 8192)


def test_every_price_is_dated_sourced_and_at_most_one_is_current(catalog: Catalog) -> None:
    for model in catalog.models():
        assert sum(p.current for p in model.prices) <= 1, model.id
        for price in model.prices:
            assert price.source in catalog.sources, (model.id, price.source)
            assert price.as_of
            expected_unit = "usd_per_audio_minute" if model.kind == "audio" else "usd_per_1m_tokens"
            assert price.unit == expected_unit


def test_2026_prices_are_current_and_2025_prices_are_kept(catalog: Catalog) -> None:
    gpt_oss = _model(catalog, "gpt-oss-120b").price
    assert gpt_oss is not None
    assert (gpt_oss.input, gpt_oss.cached_input, gpt_oss.output) == (0.15, 0.015, 0.60)
    assert (gpt_oss.source, gpt_oss.as_of) == ("fw-docs-2026", "2026")

    mixtral = _model(catalog, "mixtral-8x22b-instruct")
    assert [(p.as_of, p.input, p.current) for p in mixtral.prices] == [
        ("2025", 0.90, False),
        ("2026-07-24", 1.20, True),
    ]

    whisper = _model(catalog, "whisper-v3")
    brief = next(p for p in whisper.prices if p.source == "brief-2025")
    assert (brief.input, brief.current) == (0.20, False)
    assert whisper.price is not None and whisper.price.input == 0.0015

    kimi = _model(catalog, "kimi-k2p6").price
    assert kimi is not None and (kimi.input, kimi.cached_input, kimi.output) == (0.95, 0.16, 4.00)


def test_model_without_serverless_has_prices_but_none_current(catalog: Catalog) -> None:
    firefunction = _model(catalog, "firefunction-v2")

    assert len(firefunction.prices) == 2
    assert firefunction.price is None
    assert estimate_cost(firefunction, 1000, 1000) is None


def test_estimate_cost_bills_cached_tokens_at_the_cached_rate(catalog: Catalog) -> None:
    info = _model(catalog, "gpt-oss-120b")

    cost = estimate_cost(info, prompt_tokens=1000, completion_tokens=500, cached_tokens=200)

    assert cost == pytest.approx((800 * 0.15 + 200 * 0.015 + 500 * 0.60) / 1_000_000)


def test_estimate_cost_without_cached_price_bills_input_rate(catalog: Catalog) -> None:
    info = _model(catalog, "llama-v3p3-70b-instruct")

    with_cache = estimate_cost(info, 2_000_000, 1_000_000, cached_tokens=1_500_000)

    assert with_cache == pytest.approx(2 * 0.90 + 1 * 0.90)
    assert with_cache == estimate_cost(info, 2_000_000, 1_000_000)


def test_cached_tokens_never_exceed_prompt_tokens(catalog: Catalog) -> None:
    info = _model(catalog, "gpt-oss-120b")

    assert estimate_cost(info, 100, 0, cached_tokens=10_000) == pytest.approx(100 * 0.015 / 1e6)


def test_estimate_cost_for_embeddings_and_edge_cases(catalog: Catalog) -> None:
    nomic = _model(catalog, "nomic-ai/nomic-embed-text-v1.5")

    assert estimate_cost(nomic, 1_000_000, 0) == pytest.approx(0.008)
    assert estimate_cost(nomic, 10, 5) is None  # no output rate to bill generated tokens with
    assert estimate_cost(_model(catalog, "whisper-v3"), 10, 5) is None  # priced per minute
    assert estimate_cost(None, 10, 5) is None
    assert estimate_cost(_model(catalog, "qwen3-8b"), 0, 0) == 0
    with pytest.raises(ValueError, match="prompt_tokens"):
        estimate_cost(nomic, -1, 0)
    with pytest.raises(ValueError, match="cached_tokens"):
        estimate_cost(nomic, 1, 0, cached_tokens=-5)


def test_estimate_audio_cost_uses_per_minute_prices(catalog: Catalog) -> None:
    turbo = _model(catalog, "whisper-v3-turbo")

    assert estimate_audio_cost(turbo, 90) == pytest.approx(1.5 * 0.0009)
    assert estimate_audio_cost(_model(catalog, "gpt-oss-20b"), 90) is None
    assert estimate_audio_cost(None, 90) is None
    with pytest.raises(ValueError, match="seconds"):
        estimate_audio_cost(turbo, -1)


@pytest.mark.parametrize(
    ("openai_model", "expected"),
    [
        ("gpt-4o", f"{FW}llama-v3p3-70b-instruct"),
        ("GPT-4o-2024-08-06", f"{FW}llama-v3p3-70b-instruct"),
        ("openai/gpt-4o-mini", f"{FW}llama-v3p1-8b-instruct"),
        ("gpt-4-turbo", f"{FW}llama-v3p1-405b-instruct"),
        ("text-embedding-3-small", "nomic-ai/nomic-embed-text-v1.5"),
        ("whisper-1", "whisper-v3"),
        ("gpt-5", None),
        ("", None),
    ],
)
def test_fireworks_equivalent(catalog: Catalog, openai_model: str, expected: str | None) -> None:
    assert catalog.fireworks_equivalent(openai_model) == expected


def test_every_migration_target_is_in_the_catalog(catalog: Catalog) -> None:
    for entry in _raw("openai_to_fireworks.json")["map"]:
        target = catalog.fireworks_equivalent(entry["openai"])
        assert target is not None and catalog.get(target) is not None


@pytest.mark.parametrize(
    ("params", "moe", "embedding", "expected"),
    [
        (1.7e9, False, False, 0.10),
        (4e9, False, False, 0.10),
        (8e9, False, False, 0.20),
        (16e9, False, False, 0.20),
        (70e9, False, False, 0.90),
        (405e9, False, False, 0.90),
        (46.7e9, True, False, 0.50),
        (141e9, True, False, 1.20),
        (671e9, True, False, None),
        (137e6, False, True, 0.008),
        (335e6, False, True, 0.016),
        (8e9, False, True, None),
    ],
)
def test_size_bucket_price(
    catalog: Catalog, params: float, moe: bool, embedding: bool, expected: float | None
) -> None:
    price = catalog.size_bucket_price(params, moe=moe, embedding=embedding)

    if expected is None:
        assert price is None
        return
    assert price is not None
    assert price.input == expected
    assert price.output == (None if embedding else expected)
    assert price.source in catalog.sources and price.current


def test_size_bucket_price_needs_a_positive_size(catalog: Catalog) -> None:
    with pytest.raises(ValueError, match="positive"):
        catalog.size_bucket_price(0)


def test_bucket_price_feeds_estimate_cost(catalog: Catalog) -> None:
    price = catalog.size_bucket_price(8e9)
    assert price is not None
    info = ModelInfo(
        id="accounts/me/models/tuned-8b", display_name="Mine", kind="chat", prices=(price,)
    )

    assert estimate_cost(info, 1_000_000, 1_000_000) == pytest.approx(0.40)


def test_two_current_prices_are_rejected() -> None:
    price = Price(input=1, output=1, source="x", as_of="2026", current=True)

    with pytest.raises(ValidationError, match="more than one price"):
        ModelInfo(id="m", display_name="M", kind="chat", prices=(price, price))


def test_malformed_data_is_rejected() -> None:
    data = _raw("fireworks_models.json")
    data["models"][0]["contxt_length"] = 5  # a typo must not be silently dropped
    with pytest.raises(ValidationError):
        _ModelsFile.model_validate(data)

    data = _raw("fireworks_models.json")
    data["models"][0]["prices"][0]["source"] = "nowhere"
    with pytest.raises(ValidationError, match="unknown sources"):
        _ModelsFile.model_validate(data)


def test_inconsistent_data_is_rejected() -> None:
    models = _raw("fireworks_models.json")
    migration = _MigrationFile.model_validate(_raw("openai_to_fireworks.json"))
    models["models"].append({**models["models"][0], "id": "llama-v3p1-8b-instruct"})
    with pytest.raises(ValueError, match="listed twice"):
        Catalog(_ModelsFile.model_validate(models), migration)

    good_models = _ModelsFile.model_validate(_raw("fireworks_models.json"))
    bad = _raw("openai_to_fireworks.json")
    bad["map"].append({"openai": "gpt-x", "fireworks": "no-such-model", "source": "fireplay"})
    with pytest.raises(ValueError, match="not in the catalog"):
        Catalog(good_models, _MigrationFile.model_validate(bad))
