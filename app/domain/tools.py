"""Tool calling: checking tool definitions, building the request, and the steps of the loop.

The tools tab sends a prompt with an OpenAI ``tools`` array, shows each call the model makes,
lets the user (or a mock, or a built-in tool) answer it, and sends the answers back until the
model replies in text. Everything here is plain data in, plain data out, so the presenter only
wires it to widgets:

- :func:`check_tools` reads the tools editor's text and points at the first mistake (line and
  JSON pointer), as :func:`app.domain.schema.check_schema` does for a schema;
- :func:`tools_request` builds the ``tools`` / ``tool_choice`` / ``parallel_tool_calls`` part of
  the body, with the changes Fireworks needs (wire reference §2.4);
- :func:`check_arguments` turns a call's arguments into the label shown next to it;
- :func:`render_mock` answers a call from a mock template with ``{{argument}}`` placeholders;
- :func:`calls_from_content` recovers calls a model wrote as text instead of ``tool_calls``;
- :func:`assistant_message`, :func:`tool_message` and :func:`tool_step_messages` build the
  messages of the next request.

``jsonschema`` is imported on first use (through :mod:`app.domain.schema`'s helpers or here), not
at import time: the app's start-up budget is 250 ms.

Example:
    >>> check = check_tools(json.dumps([TEMPLATES["get_weather"]]))
    >>> check.names, check.error
    (('get_weather',), '')
    >>> check_arguments(check.tools, "get_weather", '{"city": 3}').label
    "Invalid: /city: 3 is not of type 'string'"
"""

from __future__ import annotations

import copy
import functools
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any

from app.client import FireplayError
from app.domain.run import ToolCall
from app.domain.schema import (
    _SCHEMA_LISTS,
    _SCHEMA_MAPS,
    _SCHEMA_SINGLES,
    _line_of,
    _locate,
    _resolve_local,
    _subschemas,
    json_pointer,
    strip_wrapping,
    validate_output,
)

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator

__all__ = [
    "MOCKS",
    "TEMPLATES",
    "TOOL_NAME",
    "ArgumentsCheck",
    "ToolError",
    "ToolsCheck",
    "assistant_message",
    "calls_from_content",
    "check_arguments",
    "check_tools",
    "render_mock",
    "tool_message",
    "tool_step_messages",
    "tools_request",
]

_TEMPLATES_PACKAGE = "resources"
_TEMPLATES_DIR = "tools"
_MOCK_SUFFIX = ".mock.txt"
_FIRST_TEMPLATE = "get_weather"

TOOL_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
"""OpenAI's rule for function names (wire reference §2.4); use with ``fullmatch``."""
_TOOL_KEYS = ("type", "function")
_FUNCTION_KEYS = ("name", "description", "parameters", "strict")
_NO_ARGUMENTS: dict[str, Any] = {"type": "object", "properties": {}}
_CHOICE_KEYWORDS = ("auto", "none", "required")
# Keywords that only describe a schema: a $ref next to nothing else is merged with them.
_ANNOTATIONS = frozenset(
    {"title", "description", "default", "examples", "deprecated", "readOnly", "writeOnly"}
)

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_-]+)\s*\}\}")
_WHOLE_PLACEHOLDER = re.compile(r"\A\{\{\s*([A-Za-z0-9_-]+)\s*\}\}\Z")

# Prefixes and wrappers of calls written as text (see calls_from_content).
_MISTRAL_PREFIX = "[TOOL_CALLS]"
_TOOL_CALL_BLOCK = re.compile(r"\s*<tool_call>(?P<body>.*?)</tool_call>\s*", re.DOTALL)
_ARGUMENT_KEYS = ("arguments", "parameters")


class ToolError(FireplayError):
    """A tool definition, call, mock or built-in tool cannot be used; the message says why.

    A :class:`~app.client.FireplayError` beside ``APIError`` (DESIGN §4.2), so a presenter that
    catches only ``FireplayError`` shows it like any other failure.
    """


# -- checking the tools editor ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ToolsCheck:
    """The outcome of :func:`check_tools`.

    Attributes:
        tools: The tools, each with ``parameters`` filled in (a function without any takes no
            arguments: ``{"type": "object", "properties": {}}``); ``()`` when the array is empty
            or there is an error, so ``not error and not tools`` means "no tools".
        names: The function names, in order.
        error: Why the tools cannot be sent ("" when they can), e.g.
            ``/0/function/name: 'get weather' is not a valid name: ... (line 4)``.
        line: The 1-based line of the text the error is about, when known.
    """

    tools: tuple[dict[str, Any], ...]
    names: tuple[str, ...] = ()
    error: str = ""
    line: int | None = None


class _LocatedError(Exception):
    """The first thing wrong with the tools, at ``path`` (turned into a located error)."""

    def __init__(self, path: Sequence[str | int], message: str) -> None:
        super().__init__(message)
        self.path = list(path)
        self.message = message


def check_tools(text: str) -> ToolsCheck:
    """Parse the tools editor's text and check every tool as OpenAI would.

    Blank text is the same as ``[]``: no tools. Otherwise the text must be a JSON array of
    ``{"type": "function", "function": {...}}`` objects whose names follow OpenAI's rule
    (``[A-Za-z0-9_-]{1,64}``) and differ, with no unknown keys (a misspelt ``paramters`` would
    otherwise silently make a tool without arguments), and whose ``parameters`` are a valid
    Draft 2020-12 object schema. The first problem is reported with its JSON pointer and the line
    where that value starts.
    """
    if not text.strip():
        return ToolsCheck(())
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return ToolsCheck((), (), f"Line {exc.lineno}, column {exc.colno}: {exc.msg}", exc.lineno)
    if not isinstance(value, list):
        hint = " (put a single tool in [ ])" if isinstance(value, dict) else ""
        return ToolsCheck(
            (),
            (),
            f'The tools must be a JSON array of {{"type": "function", ...}} objects{hint}',
            1,
        )
    tools: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    try:
        for index, entry in enumerate(value):
            tool = _checked_tool(entry, index)
            name = tool["function"]["name"]
            if name in seen:
                raise _LocatedError(
                    [index, "function", "name"],
                    f"duplicate name {name!r} (also the name of tool {seen[name]})",
                )
            seen[name] = index
            tools.append(tool)
    except _LocatedError as problem:
        message = f"{json_pointer(problem.path)}: {problem.message}"
        span = _locate(text, problem.path)
        if span is None:
            return ToolsCheck((), (), message)
        line = _line_of(text, span[0])
        return ToolsCheck((), (), f"{message} (line {line})", line)
    return ToolsCheck(tuple(tools), tuple(seen))


def _checked_tool(entry: Any, index: int) -> dict[str, Any]:
    """``entry`` with its parameters filled in; raises :class:`_LocatedError` at a mistake."""
    if not isinstance(entry, dict):
        raise _LocatedError(
            [index], 'a tool must be an object: {"type": "function", "function": {...}}'
        )
    _no_unknown_keys(entry, _TOOL_KEYS, [index], "a tool")
    if entry.get("type") != "function":
        where: list[str | int] = [index, "type"] if "type" in entry else [index]
        raise _LocatedError(where, "'type' must be \"function\"")
    function = entry.get("function")
    if not isinstance(function, dict):
        where = [index, "function"] if "function" in entry else [index]
        raise _LocatedError(
            where, "'function' must be an object with a name, description, parameters"
        )
    path: list[str | int] = [index, "function"]
    _no_unknown_keys(function, _FUNCTION_KEYS, path, "a function")
    name = function.get("name")
    if "name" not in function:
        raise _LocatedError(path, "'name' is missing")
    if not isinstance(name, str) or not TOOL_NAME.fullmatch(name):
        raise _LocatedError(
            [*path, "name"],
            f"{name!r} is not a valid name: use 1 to 64 letters, digits, '_' or '-'",
        )
    if "description" in function and not isinstance(function["description"], str):
        raise _LocatedError([*path, "description"], "'description' must be a string")
    if "strict" in function and not isinstance(function["strict"], bool):
        raise _LocatedError([*path, "strict"], "'strict' must be true or false")
    parameters = function.get("parameters", _NO_ARGUMENTS)
    _check_parameters(parameters, [*path, "parameters"])
    return {"type": "function", "function": {**function, "parameters": copy.deepcopy(parameters)}}


def _no_unknown_keys(
    value: dict[str, Any], known: Sequence[str], path: list[str | int], what: str
) -> None:
    for key in value:
        if key not in known:
            raise _LocatedError(
                [*path, key], f"unknown key {key!r} ({what} has only {', '.join(known)})"
            )


def _check_parameters(parameters: Any, path: list[str | int]) -> None:
    if not isinstance(parameters, dict):
        raise _LocatedError(path, "'parameters' must be a JSON Schema object")
    problem = _best_meta_error(parameters)
    if problem is not None:
        where, message = problem
        raise _LocatedError([*path, *where], message)
    if parameters.get("type") != "object":
        where = [*path, "type"] if "type" in parameters else path
        raise _LocatedError(
            where, '\'parameters\' must be an object schema ({"type": "object", ...})'
        )
    for pointer, sub in _subschemas(parameters):
        ref = sub.get("$ref")
        if isinstance(ref, str) and ref.startswith("#"):
            try:
                _resolve_local(parameters, ref)
            except LookupError:
                parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]
                raise _LocatedError(
                    [*path, *parts, "$ref"], f"cannot resolve {ref!r} in these parameters"
                ) from None


@functools.cache
def _meta_validator() -> Draft202012Validator:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(
        Draft202012Validator.META_SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER
    )


def _best_meta_error(schema: dict[str, Any]) -> tuple[list[str | int], str] | None:
    """The path and message of the most relevant Draft 2020-12 meta-schema error, if any."""
    from jsonschema.exceptions import best_match

    problem = best_match(_meta_validator().iter_errors(schema))
    if problem is None:
        return None
    return list(problem.absolute_path), problem.message


# -- the request -----------------------------------------------------------------------------------


def tools_request(
    tools: Sequence[Mapping[str, Any]],
    tool_choice: str,
    parallel_tool_calls: bool | None,
    provider_id: str,
) -> dict[str, Any]:
    """The ``tools``, ``tool_choice`` and ``parallel_tool_calls`` fields of the request body.

    Args:
        tools: Checked tools (:attr:`ToolsCheck.tools`). Without tools the result is ``{}``:
            OpenAI rejects ``tool_choice`` and ``parallel_tool_calls`` when no tools are sent.
        tool_choice: ``auto``, ``none`` (the tools are still sent, so the model knows them and
            earlier calls in the conversation stay meaningful), ``required``, or the name of one
            of the tools, sent as ``{"type": "function", "function": {"name": ...}}``.
        parallel_tool_calls: Sent only when set; None leaves it to the server's default.
        provider_id: ``fireworks`` gets the changes below; any other provider gets the tools as
            given.

    For Fireworks (wire reference §2.4, following LiteLLM's Fireworks adapter):

    - ``strict`` is dropped from every function;
    - local ``$ref`` s (``#/$defs/...``, ``#/definitions/...`` or any other pointer into the
      parameters) are inlined and ``$defs`` / ``definitions`` removed; a ``$ref`` with siblings
      other than annotations becomes ``allOf``. A recursive ``$ref`` cannot be inlined and
      raises :class:`ToolError` rather than sending a schema cut at an arbitrary depth, which
      would let the model produce arguments the user's schema does not describe. Remote refs
      are left alone.
    - ``required`` is sent as ``required``, not LiteLLM's ``any``: that mapping dates from 2024
      (LiteLLM #4416), when Fireworks rejected ``required``; Fireworks' current documentation
      lists ``required`` (and keeps ``any`` as an alias), so the request and its "view code"
      snippet read the same as for OpenAI.

    Raises:
        ToolError: ``tool_choice`` names no tool, or a Fireworks schema has a recursive or
            unresolvable ``$ref``.
    """
    if not tools:
        return {}
    sent = [copy.deepcopy(dict(tool)) for tool in tools]
    names = [tool["function"]["name"] for tool in sent]
    if provider_id == "fireworks":
        for tool in sent:
            function = tool["function"]
            function.pop("strict", None)
            if "parameters" in function:
                function["parameters"] = _inlined_parameters(
                    function["parameters"], function["name"]
                )
    body: dict[str, Any] = {"tools": sent, "tool_choice": _tool_choice(tool_choice, names)}
    if parallel_tool_calls is not None:
        body["parallel_tool_calls"] = parallel_tool_calls
    return body


def _tool_choice(choice: str, names: Sequence[str]) -> str | dict[str, Any]:
    if choice in _CHOICE_KEYWORDS:
        return choice
    if choice in names:
        return {"type": "function", "function": {"name": choice}}
    raise ToolError(
        f"tool_choice {choice!r} is neither auto, none, required nor one of the tools "
        f"({', '.join(names)})"
    )


def _inlined_parameters(parameters: Any, tool_name: str) -> Any:
    """``parameters`` with every local ``$ref`` replaced by what it points at."""
    return _inlined(parameters, parameters, (), tool_name)


def _inlined(node: Any, root: Any, expanding: tuple[str, ...], tool_name: str) -> Any:
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#"):
        if ref in expanding:
            raise ToolError(
                f"Tool {tool_name}: {ref!r} refers to itself; Fireworks needs the parameters "
                "without $ref, and a recursive schema cannot be inlined"
            )
        try:
            target = _resolve_local(root, ref)
        except LookupError:
            raise ToolError(f"Tool {tool_name}: cannot resolve {ref!r}") from None
        if not isinstance(target, dict):
            raise ToolError(f"Tool {tool_name}: {ref!r} does not point at a schema object")
        siblings = {key: value for key, value in node.items() if key != "$ref"}
        if set(siblings) <= _ANNOTATIONS:
            return _inlined({**target, **siblings}, root, (*expanding, ref), tool_name)
        inner = _inlined(target, root, (*expanding, ref), tool_name)
        return {"allOf": [inner], **_inlined(siblings, root, expanding, tool_name)}
    result: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("$defs", "definitions"):
            continue
        if key in _SCHEMA_MAPS and isinstance(value, dict):
            result[key] = {
                name: _inlined(sub, root, expanding, tool_name) for name, sub in value.items()
            }
        elif (key in _SCHEMA_LISTS or key in _SCHEMA_SINGLES) and isinstance(value, list):
            result[key] = [_inlined(sub, root, expanding, tool_name) for sub in value]
        elif key in _SCHEMA_SINGLES:
            result[key] = _inlined(value, root, expanding, tool_name)
        else:
            result[key] = value
    return result


# -- arguments -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ArgumentsCheck:
    """A call's arguments checked against its tool's parameters.

    Attributes:
        value: The parsed arguments (``{}`` for empty text), or None when they are not JSON or
            the tool is not defined.
        label: ``Valid``, ``Invalid: <JSON pointer>: <message>`` (as the json tab's validation
            label), ``Not JSON: <why>`` or ``Tool not defined: '<name>'``.
        ok: The tool exists and the arguments are JSON matching its parameters.
    """

    value: Any
    label: str
    ok: bool


def check_arguments(
    tools: Sequence[Mapping[str, Any]], name: str, arguments_text: str
) -> ArgumentsCheck:
    """Check the arguments of a call to ``name`` (as streamed or as edited by the user).

    Takes the tools rather than one tool, because a model can call a name that is not among
    them, and that is worth its own label. Empty arguments mean ``{}`` (wire reference §2.10).
    """
    tool = next((t for t in tools if t["function"]["name"] == name), None)
    if tool is None:
        return ArgumentsCheck(None, f"Tool not defined: {name!r}", False)
    body = arguments_text.strip() or "{}"
    try:
        json.loads(body)
    except json.JSONDecodeError as exc:
        return ArgumentsCheck(
            None, f"Not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})", False
        )
    validation = validate_output(body, tool["function"].get("parameters", _NO_ARGUMENTS), None)
    return ArgumentsCheck(validation.value, validation.label, validation.ok)


# -- mocks -----------------------------------------------------------------------------------------


def render_mock(template: str, arguments: Mapping[str, Any]) -> str:
    """Answer a call from a mock: ``template`` with ``{{name}}`` filled in from the arguments.

    ``name`` is a top-level argument (letters, digits, ``_``, ``-``; spaces inside the braces
    are allowed); nested keys are not supported. The rule depends on where the placeholder is:

    - standing for a whole JSON value, bare (``"temp": {{temp}}``) or as the entire string
      (``"city": "{{city}}"``): replaced by the argument's JSON, so a number stays a number
      and an object stays an object;
    - inside a string with other text (``"In {{city}} today"``): replaced by the argument's
      text (a string as it is, anything else as compact JSON), escaped for the string.

    Raises:
        ToolError: a placeholder names no argument of the call, or the result is not JSON.
    """
    parts: list[str] = []
    pos = 0
    while pos < len(template):
        quote = template.find('"', pos)
        outside = template[pos:] if quote < 0 else template[pos:quote]
        parts.append(_PLACEHOLDER.sub(lambda m: _as_json(m.group(1), arguments), outside))
        if quote < 0:
            break
        end = _string_end(template, quote)
        if end is None:  # unterminated: left as it is for the JSON check to report
            parts.append(template[quote:])
            break
        parts.append(_filled_string(template[quote + 1 : end - 1], arguments))
        pos = end
    rendered = "".join(parts)
    try:
        json.loads(rendered)
    except json.JSONDecodeError as exc:
        raise ToolError(
            f"The mock is not JSON once filled in: line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    return rendered


def _string_end(text: str, quote: int) -> int | None:
    """The index after the closing quote of the JSON string opening at ``quote``, if any."""
    pos = quote + 1
    while pos < len(text):
        if text[pos] == "\\":
            pos += 2
        elif text[pos] == '"':
            return pos + 1
        else:
            pos += 1
    return None


def _argument(name: str, arguments: Mapping[str, Any]) -> Any:
    if name not in arguments:
        known = ", ".join(arguments) or "none"
        raise ToolError(
            f"The mock uses {{{{{name}}}}}, but the call has no argument {name!r} "
            f"(its arguments: {known})"
        )
    return arguments[name]


def _as_json(name: str, arguments: Mapping[str, Any]) -> str:
    return json.dumps(_argument(name, arguments), ensure_ascii=False)


def _filled_string(raw: str, arguments: Mapping[str, Any]) -> str:
    """A JSON string (given without its quotes) with its placeholders filled in."""
    whole = _WHOLE_PLACEHOLDER.match(raw)
    if whole:
        return _as_json(whole.group(1), arguments)

    def text_of(match: re.Match[str]) -> str:
        value = _argument(match.group(1), arguments)
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        return json.dumps(text, ensure_ascii=False)[1:-1]

    return '"' + _PLACEHOLDER.sub(text_of, raw) + '"'


# -- calls written as text -------------------------------------------------------------------------


def calls_from_content(content: str, tool_names: Sequence[str]) -> list[ToolCall]:
    """The tool calls a model wrote into ``content`` instead of ``tool_calls``, or ``[]``.

    Some models on Fireworks return the call as JSON text (LiteLLM #7209, wire reference §2.10
    point 11). The content counts as calls only when, after a ``<think>`` block and a code fence
    are stripped, all of it is one of:

    - a call object, or a JSON array of them: ``{"name": ..., "arguments": {...}}`` with the
      arguments as an object or a JSON string holding one (OpenAI's shape), or
      ``{"name": ..., "parameters": {...}}``, optionally with ``"type": "function"`` (Llama
      3.x's JSON format, the shape LiteLLM's Fireworks fix, PR #10130, converts);
    - the same after Mistral's ``[TOOL_CALLS]`` prefix, which leaks when a server does not parse
      Mistral's output;
    - one or more ``<tool_call>...</tool_call>`` blocks (Hermes and Qwen 2.5 templates, and the
      embedded engine's own format).

    Every call must name one of ``tool_names`` and have no other keys, so an ordinary JSON
    answer is not mistaken for a call. The calls get fresh ``call_...`` ids, unique in the
    conversation (the server never issued any), and are numbered from 0.
    """
    body = strip_wrapping(content)
    if body.startswith(_MISTRAL_PREFIX):
        body = body[len(_MISTRAL_PREFIX) :].strip()
    blocks = _tool_call_blocks(body)
    texts = blocks if blocks is not None else [body]
    found: list[Any] = []
    for text in texts:
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            return []
        found.extend(value if isinstance(value, list) else [value])
    calls: list[ToolCall] = []
    for index, item in enumerate(found):
        parsed = _call_of(item, tool_names)
        if parsed is None:
            return []
        name, arguments = parsed
        calls.append(ToolCall(index, f"call_{os.urandom(12).hex()}", name, arguments))
    return calls


def _tool_call_blocks(body: str) -> list[str] | None:
    """The bodies of ``<tool_call>`` blocks when ``body`` is only such blocks, else None."""
    blocks: list[str] = []
    pos = 0
    while pos < len(body):
        match = _TOOL_CALL_BLOCK.match(body, pos)
        if match is None:
            return None
        blocks.append(match.group("body").strip())
        pos = match.end()
    return blocks or None


def _call_of(item: Any, tool_names: Sequence[str]) -> tuple[str, str] | None:
    """``(name, arguments as JSON text)`` when ``item`` is a call to a known tool."""
    if not isinstance(item, dict) or item.get("name") not in tool_names:
        return None
    if item.get("type", "function") != "function":
        return None
    present = [key for key in _ARGUMENT_KEYS if key in item]
    if len(present) != 1 or set(item) - {"name", "type", present[0]}:
        return None
    arguments = item[present[0]]
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments) if arguments.strip() else {}
        except json.JSONDecodeError:
            return None
    if not isinstance(arguments, dict):
        return None
    return item["name"], json.dumps(arguments, ensure_ascii=False)


# -- the next request's messages -------------------------------------------------------------------


def assistant_message(text: str, calls: Sequence[ToolCall]) -> dict[str, Any]:
    """The assistant turn that made ``calls`` (and said ``text``), to send back with the results.

    ``content`` is ``""`` rather than null when the model said nothing: null is allowed only
    with ``tool_calls`` and some servers reject it anyway (wire reference §2.2), while ``""``
    is accepted everywhere. Empty arguments are sent as ``"{}"`` (§2.10 point 10). Without
    calls the message is a plain assistant turn.
    """
    message: dict[str, Any] = {"role": "assistant", "content": text}
    if calls:
        message["tool_calls"] = [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments.strip() or "{}"},
            }
            for call in calls
        ]
    return message


def tool_message(call_id: str, result_text: str) -> dict[str, Any]:
    """The tool turn answering call ``call_id`` with ``result_text`` (usually JSON)."""
    return {"role": "tool", "tool_call_id": call_id, "content": result_text}


def tool_step_messages(
    history: Sequence[Mapping[str, Any]],
    text: str,
    calls: Sequence[ToolCall],
    results: Sequence[str],
) -> list[dict[str, Any]]:
    """The messages of the request that continues a tool step.

    Args:
        history: The conversation sent with the request that ended in ``calls``.
        text: What the model said along with the calls ("" when nothing).
        calls: The calls, in the order the model made them (arguments as the user left them).
        results: One result per call, in the same order.

    Returns:
        ``history``, then the assistant turn with the calls, then one tool turn per result.

    Raises:
        ToolError: the number of results is not the number of calls.
    """
    if len(results) != len(calls):
        raise ToolError(f"{len(calls)} tool calls but {len(results)} results")
    return [
        *(dict(message) for message in history),
        assistant_message(text, calls),
        *(tool_message(call.id, result) for call, result in zip(calls, results, strict=True)),
    ]


# -- templates -------------------------------------------------------------------------------------


def _load_templates() -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    folder = resources.files(_TEMPLATES_PACKAGE).joinpath(_TEMPLATES_DIR)
    templates: dict[str, dict[str, Any]] = {}
    mocks: dict[str, str] = {}
    for entry in sorted(
        folder.iterdir(), key=lambda e: (e.name.split(".")[0] != _FIRST_TEMPLATE, e.name)
    ):
        if entry.name.endswith(_MOCK_SUFFIX):
            mocks[entry.name[: -len(_MOCK_SUFFIX)]] = entry.read_text(encoding="utf-8").strip()
        elif entry.name.endswith(".json"):
            templates[entry.name[: -len(".json")]] = json.loads(entry.read_text(encoding="utf-8"))
    return templates, mocks


TEMPLATES, MOCKS = _load_templates()
"""Tool templates by name (``get_weather`` first), each one tool object to insert into the array
(one shape for all, so inserting several is appending); and sample mock templates for the
templates that are not built-in tools (:mod:`app.domain.safe_tools`), by tool name."""
