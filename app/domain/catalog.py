"""Offline model catalog: Fireworks models, dated prices and the OpenAI migration map.

The data lives in ``resources/catalog/*.json`` and ships with the app, so the model picker,
capability hints and cost estimates work before (or without) any network call. It is a starting
point, not the truth: providers add and retire models, and the live model listing wins when it
disagrees.

Example:
    >>> info = load_catalog().get("gpt-oss-120b")
    >>> estimate_cost(info, prompt_tokens=1_000, completion_tokens=500)  # doctest: +SKIP
    0.00045
"""

from __future__ import annotations

import functools
import json
import re
from importlib import resources
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "Catalog",
    "ModelInfo",
    "ModelKind",
    "Price",
    "PriceUnit",
    "SourceInfo",
    "estimate_audio_cost",
    "estimate_cost",
    "load_catalog",
]

ModelKind = Literal["chat", "embedding", "audio"]
PriceUnit = Literal["usd_per_1m_tokens", "usd_per_audio_minute"]

_CATALOG_PACKAGE = "resources"
_CATALOG_DIR = "catalog"
_MODELS_FILE = "fireworks_models.json"
_MIGRATION_FILE = "openai_to_fireworks.json"

# Fireworks accepts both the full path and a short alias for its own models.
_FIREWORKS_PREFIXES = ("accounts/fireworks/models/", "fireworks/")
# OpenAI dated snapshots ("gpt-4o-2024-08-06") map like their family name.
_DATED_SNAPSHOT = re.compile(r"-\d{4}-\d{2}-\d{2}$")
_TOKENS_PER_UNIT = 1_000_000


class _Data(BaseModel):
    """Strict base for shipped data: a typo in a JSON key is a bug, not something to ignore."""

    # Built on first use (load_catalog), not at import: start-up never needs the catalog.
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


class SourceInfo(_Data):
    """Where a figure comes from.

    Attributes:
        title: Human-readable description of the source.
        url: Link to the source, when it has one.
        date: When the source was published or captured (``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``).
    """

    title: str
    url: str | None = None
    date: str


class Price(_Data):
    """One dated price of a model.

    Token prices are USD per 1M tokens; audio prices are USD per audio minute (``input`` only).

    Attributes:
        input: Price of uncached input tokens (or of one audio minute), or None when unknown.
        cached_input: Price of input tokens served from the prompt cache, or None when not listed.
        output: Price of generated tokens, or None when unknown or not billed.
        unit: What the figures count.
        source: Key of the source in the catalog's ``sources``.
        as_of: Date of the figure, as precise as the source gives it.
        current: True for the one price the app uses for estimates.
        note: Caveat shown with the price.
    """

    input: float | None = Field(default=None, ge=0)
    cached_input: float | None = Field(default=None, ge=0)
    output: float | None = Field(default=None, ge=0)
    unit: PriceUnit = "usd_per_1m_tokens"
    source: str
    as_of: str
    current: bool = False
    note: str | None = None


class ModelInfo(_Data):
    """What the catalog knows about one model.

    Capability flags are None when no source states them; ask the provider's model listing then.

    Attributes:
        id: The id to send as ``model`` in requests.
        aliases: Other ids that name the same model (e.g. the model-library path of an audio model).
        display_name: Name for people.
        kind: Which API the model serves.
        description: What the model is good at, in a few words.
        context_length: Context window in tokens, or None when unknown.
        dimensions: Embedding size for embedding models.
        supports_tools: Whether the model accepts ``tools``.
        supports_image_input: Whether the model accepts image parts.
        serverless: Whether the model is available pay-per-token, or None when unknown.
        notes: Caveats and conflicts between sources.
        prices: Every dated price found, oldest source first.
    """

    id: str
    aliases: tuple[str, ...] = ()
    display_name: str
    kind: ModelKind
    description: str | None = None
    context_length: int | None = Field(default=None, gt=0)
    dimensions: int | None = Field(default=None, gt=0)
    supports_tools: bool | None = None
    supports_image_input: bool | None = None
    serverless: bool | None = None
    notes: str | None = None
    prices: tuple[Price, ...] = ()

    @model_validator(mode="after")
    def _one_current_price(self) -> ModelInfo:
        if sum(price.current for price in self.prices) > 1:
            raise ValueError(f"{self.id}: more than one price is marked current")
        return self

    @property
    def price(self) -> Price | None:
        """The current price, or None when no price applies (unknown, or not sold per token)."""
        return next((price for price in self.prices if price.current), None)

    @property
    def short_id(self) -> str:
        """The id without the ``accounts/fireworks/models/`` prefix."""
        return _strip_fireworks_prefix(self.id)


class _SizeBucket(_Data):
    max_params_b: float | None  # None = no upper bound
    price: float = Field(ge=0)


class _SizeBuckets(_Data):
    source: str
    note: str | None = None
    dense: tuple[_SizeBucket, ...]
    moe: tuple[_SizeBucket, ...]
    embedding: tuple[_SizeBucket, ...]


class _ModelsFile(_Data):
    schema_version: int
    provider: str
    policy: str
    sources: dict[str, SourceInfo]
    size_buckets: _SizeBuckets
    models: tuple[ModelInfo, ...]

    @model_validator(mode="after")
    def _sources_exist(self) -> _ModelsFile:
        used = {price.source for model in self.models for price in model.prices}
        used.add(self.size_buckets.source)
        missing = used - self.sources.keys()
        if missing:
            raise ValueError(f"prices cite unknown sources: {sorted(missing)}")
        return self


class _MigrationEntry(_Data):
    openai: str
    fireworks: str
    source: str


class _MigrationFile(_Data):
    schema_version: int
    note: str
    sources: dict[str, str]
    map: tuple[_MigrationEntry, ...]


def _strip_fireworks_prefix(model_id: str) -> str:
    for prefix in _FIREWORKS_PREFIXES:
        if model_id.startswith(prefix):
            return model_id[len(prefix) :]
    return model_id


def _lookup_key(model_id: str) -> str:
    return _strip_fireworks_prefix(model_id.strip().lower())


def _openai_key(model_id: str) -> str:
    key = model_id.strip().lower().removeprefix("openai/")
    return _DATED_SNAPSHOT.sub("", key)


class Catalog:
    """Read-only lookup over the shipped model data. Get the shared instance with `load_catalog`."""

    def __init__(self, models_file: _ModelsFile, migration_file: _MigrationFile) -> None:
        """Index the parsed data files.

        Raises:
            ValueError: When two models share an id or alias, or a migration target is unknown.
        """
        self._data = models_file
        self._models = models_file.models
        self._index: dict[str, ModelInfo] = {}
        for model in self._models:
            for name in (model.id, *model.aliases):
                key = _lookup_key(name)
                if self._index.setdefault(key, model) is not model:
                    raise ValueError(f"model id {name!r} is listed twice")
        self._migration: dict[str, str] = {}
        for entry in migration_file.map:
            if self.get(entry.fireworks) is None:
                raise ValueError(f"migration target {entry.fireworks!r} is not in the catalog")
            self._migration[_openai_key(entry.openai)] = entry.fireworks

    @property
    def sources(self) -> dict[str, SourceInfo]:
        """The sources prices cite, by key."""
        return dict(self._data.sources)

    def get(self, model_id: str) -> ModelInfo | None:
        """Find a model by id.

        Both ``accounts/fireworks/models/x`` and ``x`` (or ``fireworks/x``) find the same model,
        case does not matter, and aliases work too. Models of other accounts are not Fireworks'
        models and are not found.

        Args:
            model_id: The model id as a user or a server wrote it.

        Returns:
            The model, or None when the catalog does not know it.
        """
        return self._index.get(_lookup_key(model_id))

    def models(self, kind: ModelKind | None = None) -> list[ModelInfo]:
        """List the models in catalog order, optionally only those of one kind."""
        return [model for model in self._models if kind is None or model.kind == kind]

    def fireworks_equivalent(self, openai_model: str) -> str | None:
        """Suggest the Fireworks model to use instead of an OpenAI one.

        Dated snapshots (``gpt-4o-2024-08-06``) and router prefixes (``openai/gpt-4o``) map like the
        plain name.

        Returns:
            The Fireworks model id, or None when there is no suggestion.
        """
        return self._migration.get(_openai_key(openai_model))

    def size_bucket_price(
        self, parameter_count: float, *, moe: bool = False, embedding: bool = False
    ) -> Price | None:
        """Fireworks' size-based serverless price for a model without a price of its own.

        The parameter count is what the Fireworks model listing reports
        (``baseModelDetails.parameterCount``), e.g. ``31_000_000_000``.

        Args:
            parameter_count: Total number of parameters.
            moe: Whether the model is a mixture of experts (priced by total size, in other buckets).
            embedding: Whether the model is an embedding model (input tokens only).

        Returns:
            The bucket price (same for input and output; output None for embeddings), or None when
            the size falls outside every published bucket.

        Raises:
            ValueError: When ``parameter_count`` is not positive.
        """
        if parameter_count <= 0:
            raise ValueError("parameter_count must be positive")
        table = self._data.size_buckets
        buckets = table.embedding if embedding else table.moe if moe else table.dense
        billions = parameter_count / 1e9
        for bucket in buckets:
            if bucket.max_params_b is None or billions <= bucket.max_params_b:
                source = self._data.sources[table.source]
                return Price(
                    input=bucket.price,
                    output=None if embedding else bucket.price,
                    source=table.source,
                    as_of=source.date,
                    current=True,
                    note=table.note,
                )
        return None


def _read_json(name: str) -> bytes:
    return resources.files(_CATALOG_PACKAGE).joinpath(_CATALOG_DIR, name).read_bytes()


@functools.cache
def load_catalog() -> Catalog:
    """Load the shipped catalog once and share it.

    Raises:
        pydantic.ValidationError: When the shipped data is malformed (a packaging bug).
        ValueError: When the shipped data is inconsistent (a packaging bug).
    """
    models = _ModelsFile.model_validate(json.loads(_read_json(_MODELS_FILE)))
    migration = _MigrationFile.model_validate(json.loads(_read_json(_MIGRATION_FILE)))
    return Catalog(models, migration)


def _check_count(name: str, value: float) -> None:
    if value < 0:
        raise ValueError(f"{name} must not be negative")


def estimate_cost(
    model_info: ModelInfo | None,
    prompt_tokens: int,
    completion_tokens: int,
    cached_tokens: int = 0,
) -> float | None:
    """Estimate the USD cost of one request from its token usage.

    Cached tokens are part of ``prompt_tokens`` (as in OpenAI-style ``usage``); they are billed at
    the cached price when the price lists one and at the input price otherwise, so the estimate is
    never below what a provider without a cache discount would charge.

    Args:
        model_info: The model, or None (then there is no estimate).
        prompt_tokens: Input tokens, cached ones included.
        completion_tokens: Generated tokens.
        cached_tokens: Input tokens served from the prompt cache.

    Returns:
        The cost in USD, or None when the model has no current per-token price or a needed rate is
        unknown.

    Raises:
        ValueError: When a count is negative.
    """
    _check_count("prompt_tokens", prompt_tokens)
    _check_count("completion_tokens", completion_tokens)
    _check_count("cached_tokens", cached_tokens)
    price = model_info.price if model_info is not None else None
    if price is None or price.unit != "usd_per_1m_tokens" or price.input is None:
        return None
    cached = min(cached_tokens, prompt_tokens)
    cached_rate = price.cached_input if price.cached_input is not None else price.input
    total = (prompt_tokens - cached) * price.input + cached * cached_rate
    if completion_tokens:
        # Embedding prices have no output rate, which is fine as long as nothing was generated.
        if price.output is None:
            return None
        total += completion_tokens * price.output
    return total / _TOKENS_PER_UNIT


def estimate_audio_cost(model_info: ModelInfo | None, seconds: float) -> float | None:
    """Estimate the USD cost of transcribing or translating ``seconds`` of audio.

    Returns:
        The cost in USD, or None when the model has no current per-minute price.

    Raises:
        ValueError: When ``seconds`` is negative.
    """
    _check_count("seconds", seconds)
    price = model_info.price if model_info is not None else None
    if price is None or price.unit != "usd_per_audio_minute" or price.input is None:
        return None
    return seconds / 60 * price.input
