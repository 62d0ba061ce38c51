"""Settings and provider profiles (Qt-free).

``settings.json`` in the config directory (``--config-dir``, else `default_config_dir`) holds
`AppSettings` as JSON. It never holds a secret: API keys are kept by `app.secrets`, and the
window's placement lives beside it in ``window.json`` (see `app.storage`).

Settings objects are immutable: every change makes a new validated `AppSettings` (``updated``,
``with_custom_provider``, ``with_provider``, ``without_provider``), and whoever owns the current
settings swaps it in and calls `save_settings`. Nested lists and dicts are not deep-frozen; treat
them as read-only too.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from app.storage import atomic_write, default_config_dir, keep_aside

__all__ = [
    "BUILTIN_PROVIDER_IDS",
    "PROVIDER_ID_PATTERN",
    "SCHEMA_VERSION",
    "AppSettings",
    "ProviderProfile",
    "TargetSettings",
    "WorkbenchSettings",
    "default_config_dir",
    "default_providers",
    "load_settings",
    "save_settings",
]

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 2
SETTINGS_FILE = "settings.json"

# Provider ids name keychain entries and settings keys, so they stay plain.
PROVIDER_ID_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# Fields of a built-in profile that the user may change; the rest always comes from the shipped
# profile, so an upgrade can fix a name or add a per-model URL without the user doing anything.
_USER_EDITABLE_BUILTIN_FIELDS = ("base_url", "default_model", "model_base_urls")


def _normalize_url(value: str) -> str:
    url = value.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"not an http(s) URL: {url!r}")
    return url


def _is_loopback_url(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return host in ("localhost", "::1") or host.startswith("127.")


class ProviderProfile(BaseModel):
    """One OpenAI-compatible endpoint the user can send requests to.

    Attributes:
        id: Stable key: a built-in id (see `BUILTIN_PROVIDER_IDS`) or ``custom-<slug>``.
        name: Display name.
        base_url: API base URL without a trailing slash; "" only for ``local``, whose URL is known
            at run time.
        api_key_env: Environment variable that may hold the key.
        requires_key: Whether requests need an API key.
        default_model: Model to preselect.
        model_base_urls: Per-model base URL overrides (Fireworks audio models have their own hosts).
        model_listing: How to list models: OpenAI ``GET /models`` or the Fireworks control plane.
        builtin: True for shipped profiles, which cannot be deleted (their URL stays editable).
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str
    name: str
    base_url: str
    api_key_env: str | None = None
    requires_key: bool
    default_model: str | None = None
    model_base_urls: dict[str, str] = {}
    model_listing: Literal["openai", "fireworks"] = "openai"
    builtin: bool = False

    @field_validator("id")
    @classmethod
    def _check_id(cls, value: str) -> str:
        if not PROVIDER_ID_PATTERN.match(value):
            raise ValueError(f"provider id must be lowercase letters, digits and dashes: {value!r}")
        return value

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("provider name is empty")
        return value.strip()

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        return _normalize_url(value) if value.strip() else ""

    @field_validator("model_base_urls")
    @classmethod
    def _check_model_base_urls(cls, value: dict[str, str]) -> dict[str, str]:
        return {model: _normalize_url(url) for model, url in value.items()}

    @model_validator(mode="after")
    def _only_local_has_no_url(self) -> ProviderProfile:
        if not self.base_url and self.id != "local":
            raise ValueError(f"provider {self.id!r} needs a base URL")
        return self

    def base_url_for(self, model: str) -> str:
        """Base URL to use for ``model``: its override if any, else the profile's URL.

        Overrides match the model id exactly or by its last path segment, so ``whisper-v3`` and
        ``accounts/fireworks/models/whisper-v3`` find the same override.
        """
        url = self.model_base_urls.get(model) or self.model_base_urls.get(model.rsplit("/", 1)[-1])
        return url or self.base_url


def _hosted(
    provider_id: str, name: str, base_url: str, api_key_env: str, default_model: str
) -> ProviderProfile:
    return ProviderProfile(
        id=provider_id,
        name=name,
        base_url=base_url,
        api_key_env=api_key_env,
        requires_key=True,
        default_model=default_model,
        builtin=True,
    )


def _local_server(
    provider_id: str, name: str, base_url: str, default_model: str | None = None
) -> ProviderProfile:
    return ProviderProfile(
        id=provider_id,
        name=name,
        base_url=base_url,
        requires_key=False,
        default_model=default_model,
        builtin=True,
    )


def default_providers() -> list[ProviderProfile]:
    """The built-in provider profiles, in display order."""
    fireworks = _hosted(
        "fireworks",
        "Fireworks AI",
        "https://api.fireworks.ai/inference/v1",
        "FIREWORKS_API_KEY",
        "accounts/fireworks/models/gpt-oss-120b",
    ).model_copy(
        update={
            "model_base_urls": {
                "whisper-v3": "https://audio-prod.api.fireworks.ai/v1",
                "whisper-v3-turbo": "https://audio-turbo.api.fireworks.ai/v1",
            },
            "model_listing": "fireworks",
        }
    )
    return [
        # The embedded engine's chat model (app/engine/_catalog.py SMOLLM2_ID).
        _local_server("local", "Local (built-in)", "", "smollm2-135m-instruct"),
        fireworks,
        _hosted("openai", "OpenAI", "https://api.openai.com/v1", "OPENAI_API_KEY", "gpt-4o-mini"),
        _hosted(
            "together",
            "Together AI",
            "https://api.together.xyz/v1",
            "TOGETHER_API_KEY",
            "meta-llama/Llama-3.3-70B-Instruct-Turbo",
        ),
        _hosted(
            "groq",
            "Groq",
            "https://api.groq.com/openai/v1",
            "GROQ_API_KEY",
            "llama-3.3-70b-versatile",
        ),
        _hosted(
            "openrouter",
            "OpenRouter",
            "https://openrouter.ai/api/v1",
            "OPENROUTER_API_KEY",
            "openai/gpt-4o-mini",
        ),
        _hosted(
            "deepseek",
            "DeepSeek",
            "https://api.deepseek.com/v1",
            "DEEPSEEK_API_KEY",
            "deepseek-chat",
        ),
        # 127.0.0.1 rather than localhost: these servers listen on IPv4, and trying ::1 first can
        # cost a connect timeout on some systems.
        _local_server("ollama", "Ollama", "http://127.0.0.1:11434/v1"),
        _local_server("lmstudio", "LM Studio", "http://127.0.0.1:1234/v1"),
        _local_server("vllm", "vLLM", "http://127.0.0.1:8000/v1"),
        _local_server("llamacpp", "llama.cpp server", "http://127.0.0.1:8080/v1"),
    ]


BUILTIN_PROVIDER_IDS: tuple[str, ...] = tuple(profile.id for profile in default_providers())


class TargetSettings(BaseModel):
    """One comparison target: where a pane sends its requests and how.

    Attributes:
        provider: Provider profile id.
        model: Model id ("" until chosen).
        params: Only the sampling parameters the user set for this target.
        system_prompt: This target's own system prompt; None uses the shared one.
        options: The tab's own choices for this target that are not request parameters
            (Structured output: ``mode`` and ``grammar``), JSON values.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    provider: str
    model: str = ""
    params: dict[str, Any] = {}
    system_prompt: str | None = None
    options: dict[str, Any] = {}


class WorkbenchSettings(BaseModel):
    """One tab's workbench as the user left it.

    Attributes:
        targets: The panes' targets, left to right; empty means one target made from
            ``active_provider`` and ``active_model``.
        layout: Panes side by side in ``columns`` or in a ``grid``.
        inputs: The tab's own inputs by name (Chat: ``system_prompt``; Structured output:
            ``schema``, ``prompt``, ``mode``; ...), JSON values.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    targets: list[TargetSettings] = []
    layout: Literal["columns", "grid"] = "columns"
    inputs: dict[str, Any] = {}


def _workbenches_from_chat_block(data: Mapping[str, Any]) -> dict[str, Any]:
    """Settings written before every tab had a workbench kept Chat's in a ``chat`` block."""
    workbenches = dict(data.get("workbenches") or {})
    chat = data.get("chat")
    if "chat" in workbenches or not isinstance(chat, Mapping):
        return workbenches
    targets = list(chat.get("targets") or [])
    if not targets and chat.get("params"):
        # The oldest layout: one target from the active provider with these parameters.
        targets = [
            {
                "provider": data.get("active_provider", "local"),
                "model": data.get("active_model") or "",
                "params": chat["params"],
            }
        ]
    workbenches["chat"] = {
        "targets": targets,
        "layout": chat.get("layout", "columns"),
        "inputs": {"system_prompt": chat.get("system_prompt", "")},
    }
    return workbenches


def _as_dict(item: Any) -> Any:
    return item.model_dump() if isinstance(item, BaseModel) else item


class AppSettings(BaseModel):
    """Everything Fireplay remembers between runs, except secrets.

    Loading is forgiving: unknown keys are ignored (a newer version may have written them), built-in
    providers missing from the data are added, and an unknown ``active_provider`` falls back to
    ``local``.

    Attributes:
        schema_version: Version of this layout.
        providers: Built-in profiles (shipped order) followed by custom ones.
        active_provider: Id of the selected provider.
        active_model: Selected model, or None for the provider's default.
        workbenches: Each tab's targets, layout and inputs, by tab id.
        local_model_files: Extra ``.gguf`` files offered by the embedded engine.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    schema_version: int = SCHEMA_VERSION
    providers: list[ProviderProfile] = []
    active_provider: str = "local"
    active_model: str | None = None
    workbenches: dict[str, WorkbenchSettings] = {}
    local_model_files: list[str] = []

    @model_validator(mode="before")
    @classmethod
    def _merge_providers(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        stored = data.get("providers", [])
        if not isinstance(stored, list):
            return data  # let field validation report it
        shipped = {profile.id: profile.model_dump() for profile in default_providers()}
        builtins = dict(shipped)
        others: list[Any] = []
        for item in map(_as_dict, stored):
            pid = item.get("id") if isinstance(item, Mapping) else None
            if pid in shipped:
                merged = dict(shipped[pid])
                for field in _USER_EDITABLE_BUILTIN_FIELDS:
                    if field in item:
                        merged[field] = item[field]
                if isinstance(item.get("model_base_urls"), Mapping):
                    merged["model_base_urls"] = {
                        **shipped[pid]["model_base_urls"],
                        **item["model_base_urls"],
                    }
                builtins[pid] = merged
            else:
                if isinstance(item, Mapping):
                    item = {**item, "builtin": False}
                others.append(item)
        providers = [*builtins.values(), *others]
        ids = {item.get("id") for item in providers if isinstance(item, Mapping)}
        # The layout written back is always this version's, whatever version wrote the file.
        result = {
            **data,
            "providers": providers,
            "schema_version": SCHEMA_VERSION,
            "workbenches": _workbenches_from_chat_block(data),
        }
        result.pop("chat", None)
        if result.get("active_provider", "local") not in ids:
            result["active_provider"] = "local"
        return result

    @model_validator(mode="after")
    def _unique_provider_ids(self) -> AppSettings:
        ids = [profile.id for profile in self.providers]
        duplicates = sorted({pid for pid in ids if ids.count(pid) > 1})
        if duplicates:
            raise ValueError(f"duplicate provider ids: {duplicates}")
        return self

    def workbench(self, tab_id: str) -> WorkbenchSettings:
        """The tab's workbench as saved (empty for a tab never used)."""
        return self.workbenches.get(tab_id) or WorkbenchSettings()

    def targets(self, tab_id: str) -> list[TargetSettings]:
        """The tab's panes' targets; at least one, with unknown providers replaced by ``local``.

        A tab never used starts with the active provider and model.
        """
        targets = list(self.workbench(tab_id).targets) or [
            TargetSettings(
                provider=self.active_provider,
                model=self.active_model or self.active.default_model or "",
            )
        ]
        known = {p.id for p in self.providers}
        return [
            t if t.provider in known else t.model_copy(update={"provider": "local", "model": ""})
            for t in targets
        ]

    def provider(self, provider_id: str) -> ProviderProfile:
        """Return the profile with this id.

        Raises:
            KeyError: When there is no such provider.
        """
        for profile in self.providers:
            if profile.id == provider_id:
                return profile
        raise KeyError(provider_id)

    @property
    def active(self) -> ProviderProfile:
        """The selected provider's profile."""
        return self.provider(self.active_provider)

    def updated(self, **changes: Any) -> AppSettings:
        """Return a validated copy with some fields replaced.

        Raises:
            pydantic.ValidationError: When the result is not valid.
        """
        return type(self).model_validate({**self.model_dump(), **changes})

    def with_custom_provider(
        self,
        name: str,
        base_url: str,
        *,
        default_model: str | None = None,
        requires_key: bool | None = None,
    ) -> tuple[AppSettings, ProviderProfile]:
        """Add a user-defined OpenAI-compatible provider.

        Args:
            name: Display name; its slug makes the id (``custom-<slug>``, numbered if taken).
            base_url: The API base URL (http or https).
            default_model: Model to preselect.
            requires_key: Whether requests need a key; by default only non-loopback URLs do.

        Returns:
            The new settings and the new profile; ``self`` is unchanged.

        Raises:
            pydantic.ValidationError: When the name is empty or the URL is not http(s).
        """
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "provider"
        taken = {profile.id for profile in self.providers}
        provider_id = f"custom-{slug}"
        counter = 2
        while provider_id in taken:
            provider_id = f"custom-{slug}-{counter}"
            counter += 1
        profile = ProviderProfile(
            id=provider_id,
            name=name,
            base_url=base_url,
            requires_key=(
                requires_key if requires_key is not None else not _is_loopback_url(base_url.strip())
            ),
            default_model=default_model,
        )
        return self.updated(providers=[*self.providers, profile]), profile

    def with_provider(self, profile: ProviderProfile) -> AppSettings:
        """Return a copy with ``profile`` replacing the one with the same id, or added at the end.

        For a built-in id only the user-editable fields (base URL, default model, per-model URLs)
        are taken from ``profile``.
        """
        providers = [p for p in self.providers if p.id != profile.id]
        if len(providers) == len(self.providers):
            providers.append(profile)
        else:
            index = [p.id for p in self.providers].index(profile.id)
            providers.insert(index, profile)
        return self.updated(providers=providers)

    def without_provider(self, provider_id: str) -> AppSettings:
        """Return a copy without a custom provider; the active provider falls back to ``local``.

        Raises:
            KeyError: When there is no such provider.
            ValueError: When the provider is built in.
        """
        if self.provider(provider_id).builtin:
            raise ValueError(f"built-in provider {provider_id!r} cannot be removed")
        return self.updated(providers=[p for p in self.providers if p.id != provider_id])


def load_settings(config_dir: Path, on_problem: Callable[[str], None] | None = None) -> AppSettings:
    """Read ``settings.json`` from ``config_dir``; never raises.

    A missing file gives defaults. A corrupt or invalid file also gives defaults: it is renamed to
    ``settings.json.bad-<timestamp>`` and a warning is logged, so the user's data is kept.

    Args:
        config_dir: The config directory.
        on_problem: Told, in words for the user, when the file existed but could not be used.

    Returns:
        The settings, with built-in providers added by newer versions filled in.
    """
    path = config_dir / SETTINGS_FILE
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return AppSettings()
    except OSError as exc:
        logger.warning("cannot read %s (%s); using default settings", path, exc)
        if on_problem is not None:
            on_problem(f"Could not read {path} ({exc.strerror or exc}); using default settings.")
        return AppSettings()
    try:
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise ValueError("the top level is not a JSON object")
        return AppSettings.model_validate(data)
    except ValidationError as exc:
        problem = "; ".join(
            f"{'.'.join(map(str, error['loc'])) or '(root)'}: {error['msg']}"
            for error in exc.errors(include_url=False, include_input=False)
        )
    except ValueError as exc:  # includes json.JSONDecodeError and UnicodeDecodeError
        problem = str(exc)
    kept = keep_aside(path)
    logger.warning(
        "settings file %s is invalid (%s); using defaults. The old file was kept as %s",
        path,
        problem,
        kept if kept is not None else "is (it could not be renamed)",
    )
    if on_problem is not None:
        where = (
            f"The old file was kept as {kept}."
            if kept is not None
            else f"It could not be moved aside: copy {path} now if you need it."
        )
        on_problem(f"Your settings file was invalid ({problem}); using defaults. {where}")
    return AppSettings()


def save_settings(settings: AppSettings, config_dir: Path) -> None:
    """Write ``settings.json`` atomically (mode 0600). It never contains an API key.

    Raises:
        OSError: When the file cannot be written; the previous file is then unchanged.
    """
    payload = json.dumps(settings.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"
    atomic_write(config_dir / SETTINGS_FILE, payload.encode("utf-8"))
