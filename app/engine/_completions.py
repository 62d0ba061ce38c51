"""``/v1/chat/completions``: request validation, the generation plan, and OpenAI chunks.

The request is checked on the event loop; the prompt is rendered, tokenized and the grammar
built in the model's worker thread (so a queued request costs nothing until its turn). The
worker sends ``("ready", prompt_tokens)`` once everything is valid: only then does the server
commit to ``200`` and start the stream, so a bad schema or an over-long prompt still gets a
proper error status.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.engine._chat import ChatModel, GenerationResult, Sampling, random_seed
from app.engine._errors import InvalidRequestError
from app.engine._grammar import fit_schema_grammar
from app.engine._registry import Job
from app.engine._tools import (
    TOOL_OPEN,
    ToolCallParser,
    ToolSpec,
    build_tool_grammar,
    parse_tools,
    tool_system_prompt,
)

__all__ = [
    "ChatPlan",
    "ChatRequest",
    "ChoiceState",
    "CompletionIds",
    "ModelDefaults",
    "build_plan",
    "chunk",
    "iter_choice_deltas",
    "parse_chat_request",
    "run_plan",
    "usage_of",
]

_MAX_PARALLEL_CALLS = 4
# Without max_tokens a tiny model that loops would fill the whole context (minutes on two
# cores); Fireworks also defaults to about 2k. Grammars are bounded to fit this budget.
DEFAULT_MAX_TOKENS = 2048


class ChatRequest(BaseModel):
    """The fields of a chat request the engine acts on (others are accepted and ignored)."""

    model_config = ConfigDict(extra="allow")

    model: str
    messages: list[dict[str, Any]] = Field(min_length=1)
    stream: bool = False
    stream_options: dict[str, Any] | None = None
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    top_k: int | None = Field(default=None, ge=0)
    min_p: float | None = Field(default=None, ge=0, le=1)
    typical_p: float | None = Field(default=None, gt=0, le=1)
    repetition_penalty: float | None = Field(default=None, gt=0, le=2)
    presence_penalty: float | None = Field(default=None, ge=-2, le=2)
    frequency_penalty: float | None = Field(default=None, ge=-2, le=2)
    seed: int | None = None
    stop: str | list[str] | None = None
    n: int = Field(default=1, ge=1, le=8)
    logit_bias: dict[str, float] | None = None
    logprobs: bool | None = None
    response_format: dict[str, Any] | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    ignore_eos: bool = False


def parse_chat_request(body: Any) -> ChatRequest:
    """Validate a request body.

    Raises:
        InvalidRequestError: the body does not match the chat request shape.
    """
    try:
        return ChatRequest.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InvalidRequestError(f"{where}: {first['msg']}", param=where or None) from None


@dataclass(frozen=True)
class ModelDefaults:
    """Sampling defaults of a model when the request leaves them out."""

    temperature: float = 0.8
    top_p: float = 0.95
    top_k: int = 40
    min_p: float = 0.05


@dataclass
class ChatPlan:
    """Everything the worker thread needs to run a chat request."""

    turns: list[dict[str, str]]
    sampling: Sampling
    seed: int | None
    max_tokens: int | None
    stops: list[str]
    n: int
    ignore_eos: bool
    logit_bias: dict[int, float]
    json_schema: Any = None
    raw_grammar: str | None = None
    tools: list[ToolSpec] = field(default_factory=list)
    tool_mode: Literal["none", "auto", "required"] = "none"
    max_calls: int = 1


def _schema_of(response_format: Mapping[str, Any] | None) -> tuple[Any, str | None]:
    """(JSON schema, raw grammar) requested by ``response_format``."""
    if not response_format:
        return None, None
    kind = response_format.get("type")
    if kind in (None, "text"):
        return None, None
    if kind == "json_object":
        schema = response_format.get("schema")
        return (schema if schema is not None else {"type": "object"}), None
    if kind == "json_schema":
        spec = response_format.get("json_schema")
        if not isinstance(spec, Mapping):
            raise InvalidRequestError(
                "response_format.json_schema is required.", param="response_format.json_schema"
            )
        schema = spec.get("schema")
        return (schema if schema is not None else {"type": "object"}), None
    if kind == "grammar":
        grammar = response_format.get("grammar")
        if not isinstance(grammar, str) or not grammar.strip():
            raise InvalidRequestError(
                "response_format.grammar must be GBNF text.", param="response_format.grammar"
            )
        return None, grammar
    raise InvalidRequestError(
        f"Unsupported response_format type {kind!r}.", param="response_format.type"
    )


def _tool_choice(
    req: ChatRequest, tools: list[ToolSpec]
) -> tuple[Literal["none", "auto", "required"], list[ToolSpec]]:
    choice = req.tool_choice
    if choice is None:
        return ("auto" if tools else "none"), tools
    if isinstance(choice, str):
        if choice == "none":
            return "none", []
        if choice == "auto":
            return ("auto" if tools else "none"), tools
        if choice in ("required", "any"):
            if not tools:
                raise InvalidRequestError(
                    "tool_choice 'required' needs tools.", param="tool_choice"
                )
            return "required", tools
        raise InvalidRequestError(f"Invalid tool_choice {choice!r}.", param="tool_choice")
    fn = choice.get("function")
    name = fn.get("name") if isinstance(fn, Mapping) else choice.get("name")
    named = [t for t in tools if t.name == name]
    if not named:
        raise InvalidRequestError(
            f"tool_choice names {name!r}, which is not among the tools.", param="tool_choice"
        )
    return "required", named


def build_plan(req: ChatRequest, turns_of: Any, defaults: ModelDefaults) -> ChatPlan:
    """Turn a validated request into a plan.

    Args:
        req: the request.
        turns_of: called with the tool prompt (or None); returns the normalised turns.
        defaults: the model's sampling defaults.

    Returns:
        The plan.

    Raises:
        InvalidRequestError: unsupported or inconsistent options.
    """
    if req.logprobs:
        raise InvalidRequestError("logprobs are not supported by the local engine.", "logprobs")
    schema, raw_grammar = _schema_of(req.response_format)
    tools = parse_tools(req.tools or [])
    mode, callable_tools = _tool_choice(req, tools)
    instructions: list[str] = []
    if mode != "none":
        instructions.append(tool_system_prompt(callable_tools, required=mode == "required"))
    if schema is not None:
        text = json.dumps(schema, ensure_ascii=False)
        prefix = "Otherwise reply" if mode == "auto" else "Reply"
        instructions.append(f"{prefix} with a JSON value that follows this JSON Schema: {text}")
    turns = turns_of("\n\n".join(instructions) or None)
    stops = [req.stop] if isinstance(req.stop, str) else list(req.stop or [])
    if len(stops) > 16:
        raise InvalidRequestError("stop accepts at most 16 strings.", param="stop")
    try:
        bias = {int(k): float(v) for k, v in (req.logit_bias or {}).items()}
    except ValueError:
        raise InvalidRequestError("logit_bias keys must be token ids.", "logit_bias") from None
    if any(not -100 <= v <= 100 for v in bias.values()):
        raise InvalidRequestError("logit_bias values must be in [-100, 100].", "logit_bias")
    # Several calls per reply only on request: small models given the chance repeat the same
    # call until the limit (measured with SmolLM2: 3-4 copies of one call).
    named = len(callable_tools) == 1 and req.tool_choice not in (None, "auto")
    max_calls = _MAX_PARALLEL_CALLS if req.parallel_tool_calls is True and not named else 1
    sampling = Sampling(
        temperature=req.temperature if req.temperature is not None else defaults.temperature,
        top_p=req.top_p if req.top_p is not None else defaults.top_p,
        top_k=req.top_k if req.top_k is not None else defaults.top_k,
        min_p=req.min_p if req.min_p is not None else defaults.min_p,
        typical_p=req.typical_p if req.typical_p is not None else 1.0,
        repeat_penalty=req.repetition_penalty if req.repetition_penalty is not None else 1.0,
        presence_penalty=req.presence_penalty or 0.0,
        frequency_penalty=req.frequency_penalty or 0.0,
    )
    return ChatPlan(
        turns=turns,
        sampling=sampling,
        seed=req.seed,
        max_tokens=req.max_completion_tokens or req.max_tokens,
        stops=stops,
        n=req.n,
        ignore_eos=req.ignore_eos,
        logit_bias=bias,
        json_schema=schema,
        raw_grammar=raw_grammar,
        tools=callable_tools,
        tool_mode=mode,
        max_calls=max_calls,
    )


def run_plan(
    chat: ChatModel, job: Job[list[GenerationResult]], plan: ChatPlan
) -> list[GenerationResult]:
    """Worker-thread side: prepare, then generate ``n`` choices, emitting events.

    Events: ``("ready", prompt_tokens)`` once the prompt and grammar are valid, then
    ``("text", choice, text)`` deltas and ``("done", choice, GenerationResult)``.
    """
    tokens = chat.render(plan.turns)
    room = chat.n_ctx - len(tokens)
    if room <= 0:
        raise InvalidRequestError(
            f"The prompt is {len(tokens)} tokens; the model's context holds {chat.n_ctx}.",
            param="messages",
            code="context_length_exceeded",
        )
    bad = [t for t in plan.logit_bias if not 0 <= t < chat.n_vocab]
    if bad:
        raise InvalidRequestError(f"logit_bias has unknown token ids {bad[:5]}.", "logit_bias")
    budget = min(plan.max_tokens or DEFAULT_MAX_TOKENS, room)
    grammar: str | None = None
    keep_grammar = None
    if plan.tool_mode != "none":
        compiled = build_tool_grammar(
            plan.tools,
            allow_text=plan.tool_mode == "auto",
            max_calls=plan.max_calls,
            budget=budget,
            text_schema=plan.json_schema,
        )
        grammar = compiled.gbnf
        if plan.tool_mode == "auto" and plan.json_schema is None:

            def keep_grammar(first: str) -> bool:
                return first.startswith("<")

    elif plan.json_schema is not None:
        grammar = fit_schema_grammar(plan.json_schema, budget).gbnf
    elif plan.raw_grammar is not None:
        grammar = plan.raw_grammar
    if grammar is not None:
        chat.check_grammar(grammar)
    job.emit(("ready", len(tokens)))
    results: list[GenerationResult] = []

    def relay(index: int) -> Callable[[str], None]:
        return lambda text: job.emit(("text", index, text))

    for index in range(plan.n):
        seed = plan.seed + index if plan.seed is not None else random_seed()
        sampling = replace(plan.sampling, seed=seed, grammar=grammar, logit_bias=plan.logit_bias)
        result = chat.generate(
            tokens,
            sampling,
            max_tokens=budget,
            stops=plan.stops,
            ignore_eos=plan.ignore_eos,
            keep_grammar=keep_grammar,
            cancel=job.cancel,
            on_text=relay(index),
        )
        results.append(result)
        job.emit(("done", index, result))
        if result.finish_reason == "cancelled":
            break
    return results


class ChoiceState:
    """Turns one choice's text deltas into OpenAI message deltas (text or tool calls).

    Args:
        index: the choice index.
        tool_mode: the request's tool mode.
    """

    def __init__(self, index: int, tool_mode: str) -> None:
        self.index = index
        self._tool_mode = tool_mode
        self.mode: Literal["text", "tools"] | None = None
        self.parser = ToolCallParser()
        self.content: list[str] = []
        self._role_sent = False

    def feed(self, text: str) -> list[dict[str, Any]]:
        """Return the deltas for new text."""
        if self.mode is None:
            calls = self._tool_mode == "required" or (
                self._tool_mode == "auto" and text.startswith(TOOL_OPEN[0])
            )
            self.mode = "tools" if calls else "text"
        if self.mode == "text":
            self.content.append(text)
            return [self._with_role({"content": text})]
        entries = self.parser.feed(text)
        return [self._with_role({"tool_calls": entries})] if entries else []

    def finish(self, result: GenerationResult) -> tuple[list[dict[str, Any]], str]:
        """Return the last deltas and the finish reason."""
        deltas: list[dict[str, Any]] = []
        if self.mode == "tools":
            entries = self.parser.finish()
            if entries:
                deltas.append(self._with_role({"tool_calls": entries}))
        if not self._role_sent:
            deltas.append(self._with_role({"content": ""}))
        if result.finish_reason == "length":
            return deltas, "length"
        return deltas, "tool_calls" if self.mode == "tools" and self.parser.calls else "stop"

    def message(self) -> dict[str, Any]:
        """The assembled message for a non-streaming response."""
        message: dict[str, Any] = {"role": "assistant", "content": None, "refusal": None}
        if self.mode == "tools" and self.parser.calls:
            message["tool_calls"] = self.parser.calls
        else:
            message["content"] = "".join(self.content)
        return message

    def _with_role(self, delta: dict[str, Any]) -> dict[str, Any]:
        if not self._role_sent:
            self._role_sent = True
            delta = {"role": "assistant", **delta}
            if "tool_calls" in delta:
                delta["content"] = None
        return delta


@dataclass
class CompletionIds:
    """Identity fields shared by all chunks of one response."""

    id: str = field(default_factory=lambda: f"chatcmpl-{secrets.token_hex(12)}")
    created: int = field(default_factory=lambda: int(time.time()))


def chunk(
    ids: CompletionIds,
    model: str,
    choices: list[dict[str, Any]],
    *,
    usage: dict[str, int] | None = None,
    with_usage_key: bool = False,
) -> bytes:
    """One SSE event holding a ``chat.completion.chunk``."""
    body: dict[str, Any] = {
        "id": ids.id,
        "object": "chat.completion.chunk",
        "created": ids.created,
        "model": model,
        "choices": choices,
    }
    if with_usage_key or usage is not None:
        body["usage"] = usage
    return (
        b"data: " + json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode() + b"\n\n"
    )


def usage_of(prompt_tokens: int, results: list[GenerationResult]) -> dict[str, int]:
    """The ``usage`` object."""
    completion = sum(r.completion_tokens for r in results)
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion,
        "total_tokens": prompt_tokens + completion,
    }


def iter_choice_deltas(
    states: dict[int, ChoiceState], event: tuple[Any, ...]
) -> Iterator[dict[str, Any]]:
    """Stream choices for one worker event (``text`` or ``done``)."""
    kind, index = event[0], event[1]
    state = states[index]
    if kind == "text":
        for delta in state.feed(event[2]):
            yield {"index": index, "delta": delta, "finish_reason": None}
    elif kind == "done":
        deltas, reason = state.finish(event[2])
        for delta in deltas:
            yield {"index": index, "delta": delta, "finish_reason": None}
        yield {"index": index, "delta": {}, "finish_reason": reason}
