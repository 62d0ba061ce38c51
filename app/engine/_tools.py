"""Tool calling: the prompt that offers tools, the grammar that shapes calls, and the parser.

A call is written ``<tool_call>{"name":"NAME","arguments":{...}}</tool_call>`` (several calls
one per line). The grammar forces that shape and the arguments' JSON Schema, so a call is
always valid; the same text is used to put earlier calls back into the prompt, so the model sees
its own format in later turns. Tool results go back to the model in a user turn that names the
tool: unlike llama-cpp-python's function-calling chat format, nothing is dropped.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from app.engine._errors import InvalidRequestError
from app.engine._grammar import BOUND_LEVELS, CompiledGrammar, GrammarBuilder, gbnf_literal

__all__ = [
    "TOOL_CLOSE",
    "TOOL_OPEN",
    "ToolCallParser",
    "ToolSpec",
    "build_tool_grammar",
    "parse_tools",
    "tool_call_text",
    "tool_result_text",
    "tool_system_prompt",
]

TOOL_OPEN = "<tool_call>"
TOOL_CLOSE = "</tool_call>"
_SUFFIX = "}" + TOOL_CLOSE
_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_EMPTY_PARAMS: dict[str, Any] = {"type": "object", "properties": {}, "additionalProperties": False}


@dataclass(frozen=True)
class ToolSpec:
    """A function the model may call.

    Attributes:
        name: the function name.
        description: what it does, for the prompt.
        parameters: the JSON Schema of its arguments.
    """

    name: str
    description: str
    parameters: Mapping[str, Any]


def parse_tools(raw: Sequence[Any]) -> list[ToolSpec]:
    """Validate the request's ``tools`` list.

    Args:
        raw: the ``tools`` field.

    Returns:
        The tools in request order.

    Raises:
        InvalidRequestError: a tool is malformed or a name repeats.
    """
    tools: list[ToolSpec] = []
    for i, item in enumerate(raw):
        if not isinstance(item, Mapping) or item.get("type", "function") != "function":
            raise InvalidRequestError(
                f"tools[{i}]: only function tools are supported.", param=f"tools[{i}]"
            )
        fn = item.get("function")
        if not isinstance(fn, Mapping) or not isinstance(fn.get("name"), str):
            raise InvalidRequestError(
                f"tools[{i}].function.name is required.", param=f"tools[{i}].function"
            )
        name = fn["name"]
        if not _NAME_RE.match(name):
            raise InvalidRequestError(
                f"Invalid tool name {name!r}: use letters, digits, '_' or '-' (at most 64).",
                param=f"tools[{i}].function.name",
            )
        if any(t.name == name for t in tools):
            raise InvalidRequestError(f"Duplicate tool name {name!r}.", param="tools")
        params = fn.get("parameters")
        if params is None or (
            isinstance(params, Mapping)
            and not params.get("properties")
            and "additionalProperties" not in params
            and params.get("type", "object") == "object"
            and not any(k in params for k in ("anyOf", "oneOf", "allOf", "$ref", "required"))
        ):
            # A function without parameters takes "{}", not any object a tiny model invents.
            params = _EMPTY_PARAMS
        if not isinstance(params, Mapping):
            raise InvalidRequestError(
                f"tools[{i}].function.parameters must be a JSON Schema object.",
                param=f"tools[{i}].function.parameters",
            )
        tools.append(ToolSpec(name, str(fn.get("description") or ""), params))
    return tools


def tool_system_prompt(tools: Sequence[ToolSpec], *, required: bool) -> str:
    """The system-prompt section that offers the tools.

    Args:
        tools: the tools offered.
        required: whether a call is mandatory.

    Returns:
        Instructions plus one JSON line per tool.
    """
    lines = [
        json.dumps(
            {"name": t.name, "description": t.description, "parameters": t.parameters},
            ensure_ascii=False,
        )
        for t in tools
    ]
    when = "Call a tool now." if required else "If a tool helps answer, call it."
    return (
        "You can call these tools:\n<tools>\n"
        + "\n".join(lines)
        + "\n</tools>\n"
        + f"{when} To call a tool, reply with exactly:\n"
        + f'{TOOL_OPEN}{{"name": "<tool name>", "arguments": {{...}}}}{TOOL_CLOSE}\n'
        + "Tool results come back in the next message; use them to answer."
    )


def tool_call_text(name: str, arguments: str) -> str:
    """Render one earlier call the way the model writes calls.

    Args:
        name: the function name.
        arguments: the arguments as sent by the client (a JSON string).

    Returns:
        The ``<tool_call>`` line.
    """
    try:
        args_json = json.dumps(json.loads(arguments), ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError):
        args_json = json.dumps(arguments, ensure_ascii=False)
    return f'{TOOL_OPEN}{{"name":{json.dumps(name)},"arguments":{args_json}}}{TOOL_CLOSE}'


def tool_result_text(name: str | None, content: str) -> str:
    """Render a tool result for the next model turn.

    The wording was chosen by measurement (bench/engine.py --tool-eval): with SmolLM2-135M,
    "The NAME tool returned this result: ... Now answer my question using it." led to an
    answer that uses the result in 8 of 10 cases, against 2 of 10 for a bare
    ``<tool_response>`` block, which the model tends to echo.

    Args:
        name: the function that produced it, when known.
        content: the result text.

    Returns:
        The text of the user turn that carries the result.
    """
    source = f"The {name} tool" if name else "The tool"
    return f"{source} returned this result:\n{content}\nNow answer my question using it."


def build_tool_grammar(
    tools: Sequence[ToolSpec],
    *,
    allow_text: bool,
    max_calls: int,
    budget: int | None,
    text_schema: Any = None,
) -> CompiledGrammar:
    """Grammar for one to ``max_calls`` calls of the given tools (or, optionally, a reply).

    Args:
        tools: the callable tools (one tool for a named ``tool_choice``).
        allow_text: ``tool_choice: auto`` — the reply may instead be text (any text that does
            not start with ``<``; the engine drops the grammar once it sees such a start).
        max_calls: how many calls one reply may hold.
        budget: tokens available for the calls, to bound their arguments.
        text_schema: with ``allow_text``, the reply must instead be JSON of this schema
            (``response_format`` together with tools).

    Returns:
        The compiled grammar (``max_bytes`` covers calls and JSON, not free text).

    Raises:
        InvalidRequestError: a parameters schema is invalid or unsatisfiable.
    """
    compiled: CompiledGrammar | None = None
    for level in BOUND_LEVELS:
        builder = GrammarBuilder(None, level)
        alternatives: list[str] = []
        biggest = 0
        for tool in tools:
            node = builder.value(tool.parameters, f"{tool.name}-args", document=tool.parameters)
            head = gbnf_literal(f'{TOOL_OPEN}{{"name":{json.dumps(tool.name)},"arguments":')
            tail = gbnf_literal(_SUFFIX)
            alternatives.append(builder.add_rule(f"call-{tool.name}", f"{head} {node.expr} {tail}"))
            size = len(f'{TOOL_OPEN}{{"name":"{tool.name}","arguments":{_SUFFIX}') + node.max_bytes
            biggest = max(biggest, size)
        call = builder.add_rule("call", " | ".join(alternatives))
        calls = call if max_calls <= 1 else f'{call} ("\\n" {call}){{0,{max_calls - 1}}}'
        max_bytes = max_calls * (biggest + 1)
        root = calls
        if allow_text and text_schema is not None:
            reply = builder.value(text_schema, "reply", document=text_schema)
            root = f"({calls}) | {reply.expr}"
            max_bytes = max(max_bytes, reply.max_bytes)
        elif allow_text:
            root = f"({calls}) | [^<] .*"
        compiled = CompiledGrammar(builder.render(root), max_bytes, level)
        if budget is None or max_bytes + 1 <= budget:
            return compiled
    assert compiled is not None
    return compiled


class ToolCallParser:
    """Turns the text of grammar-shaped calls into OpenAI tool-call deltas as it streams.

    ``feed`` returns delta entries (``{"index", "id", "type", "function": {"name",
    "arguments"}}`` for a new call, then ``{"index", "function": {"arguments": fragment}}``);
    ``id``, ``type`` and ``name`` come once per call, arguments concatenate.
    """

    def __init__(self) -> None:
        self._buf = ""
        self._pos = 0
        self._state = "open"
        self._name = ""
        self._args_start = 0
        self._sent = 0
        self.calls: list[dict[str, Any]] = []

    def feed(self, text: str) -> list[dict[str, Any]]:
        """Consume generated text and return the deltas it completes."""
        self._buf += text
        out: list[dict[str, Any]] = []
        while True:
            step = self._step()
            if step is None:
                break
            out.extend(step)
        return out

    def finish(self) -> list[dict[str, Any]]:
        """Flush what is left when generation ended (e.g. cut by ``max_tokens``)."""
        if self._state == "args" and self._sent < len(self._buf):
            fragment = self._buf[self._sent :]
            self._sent = len(self._buf)
            self.calls[-1]["function"]["arguments"] += fragment
            return [{"index": len(self.calls) - 1, "function": {"arguments": fragment}}]
        return []

    def _step(self) -> list[dict[str, Any]] | None:
        buf = self._buf
        if self._state == "open":
            while buf.startswith("\n", self._pos):
                self._pos += 1
            opener = f'{TOOL_OPEN}{{"name":"'
            if not buf.startswith(opener, self._pos):
                return None
            self._pos += len(opener)
            self._state = "name"
            return []
        if self._state == "name":
            end = buf.find('"', self._pos)
            marker = ',"arguments":'
            if end < 0 or not buf.startswith(marker, end + 1):
                return None
            self._name = buf[self._pos : end]
            self._pos = self._args_start = self._sent = end + 1 + len(marker)
            self._state = "args"
            call_id = f"call_{secrets.token_hex(12)}"
            self.calls.append(
                {
                    "id": call_id,
                    "type": "function",
                    "function": {"name": self._name, "arguments": ""},
                }
            )
            return [
                {
                    "index": len(self.calls) - 1,
                    "id": call_id,
                    "type": "function",
                    "function": {"name": self._name, "arguments": ""},
                }
            ]
        index = len(self.calls) - 1
        args_end = self._args_end()
        if args_end is None:
            safe = len(buf) - len(_SUFFIX)
            if safe <= self._sent:
                return None
            fragment = buf[self._sent : safe]
            self._sent = safe
            self.calls[-1]["function"]["arguments"] += fragment
            return [{"index": index, "function": {"arguments": fragment}}]
        fragment = buf[self._sent : args_end]
        self.calls[-1]["function"]["arguments"] += fragment
        self._pos = args_end + len(_SUFFIX)
        self._sent = self._pos
        self._state = "open"
        return [{"index": index, "function": {"arguments": fragment}}] if fragment else []

    def _args_end(self) -> int | None:
        # The arguments end at the first "}</tool_call>" before which they parse as JSON:
        # an earlier occurrence can only be inside a string, where the prefix does not parse.
        start = self._args_start
        idx = self._buf.find(_SUFFIX, start)
        while idx >= 0:
            try:
                json.loads(self._buf[start:idx])
            except ValueError:
                idx = self._buf.find(_SUFFIX, idx + 1)
                continue
            return idx
        return None
