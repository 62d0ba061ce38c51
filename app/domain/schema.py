"""Structured output: checking JSON Schemas, building ``response_format`` and validating replies.

The json tab sends one prompt to several models with a ``response_format`` and shows each reply
validated against the schema. Everything here is plain data in, plain data out, so the presenter
only wires it to widgets:

- :func:`check_schema` reads the schema editor's text (JSON syntax, then the Draft 2020-12
  meta-schema) and points at the first mistake;
- :func:`response_format`, :func:`default_mode` and :func:`provider_problems` build the request
  body and say what a provider will ignore or reject (wire reference §2.3);
- :func:`validate_output` turns a reply into the pane's ``validation`` label and pretty text;
- :func:`infer_schema`, :func:`field_agreement` and :func:`repeat_stats` help write a schema and
  compare replies across panes or repeated runs.

``jsonschema`` is imported on first use, not at import time: it costs about 0.1 s and the app's
start-up budget is 250 ms.

Example:
    >>> check = check_schema('{"type": "object", "required": ["a"]}')
    >>> check.error
    ''
    >>> validate_output('{"b": 1}', check.schema, "stop").label
    "Invalid: /: 'a' is a required property"
"""

from __future__ import annotations

import copy
import json
import json.decoder
import math
import re
import statistics
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from importlib import resources
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError

__all__ = [
    "MISSING",
    "MODES",
    "PYDANTIC_SAMPLES",
    "SAMPLES",
    "FieldAgreement",
    "FieldSpread",
    "Missing",
    "Mode",
    "RepeatStats",
    "SchemaCheck",
    "Validation",
    "check_schema",
    "default_mode",
    "field_agreement",
    "infer_schema",
    "json_pointer",
    "provider_problems",
    "repeat_stats",
    "response_format",
    "schema_name",
    "strict_adjusted",
    "strip_wrapping",
    "validate_output",
]

Mode = Literal["json_schema", "json_object_schema", "json_object", "grammar"]
MODES: tuple[Mode, ...] = ("json_schema", "json_object_schema", "json_object", "grammar")

_SAMPLES_PACKAGE = "resources"
_SAMPLES_DIR = "schemas"
_PYDANTIC_SUFFIX = "_pydantic.py.txt"
_FIRST_SAMPLE = "weather"

_NAME_MAX = 64
_NAME_BAD = re.compile(r"[^A-Za-z0-9_-]+")
_DEFAULT_NAME = "Result"

# The standard library's JSON string scanner (typeshed does not declare it).
_scanstring: Callable[[str, int], tuple[str, int]] = json.decoder.scanstring  # type: ignore[attr-defined]
_WS = re.compile(r"[ \t\n\r]*")
_THINK_OPEN = "<think>"
_THINK_CLOSE = "</think>"
_FENCE = re.compile(r"\A```[A-Za-z0-9_-]*[ \t]*\n?(?P<body>.*?)\n?[ \t]*```\Z", re.DOTALL)

# Keywords whose value is a map of name -> subschema, a list of subschemas, or one subschema.
_SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
_SCHEMA_SINGLES = (
    "items",
    "additionalItems",
    "additionalProperties",
    "unevaluatedItems",
    "unevaluatedProperties",
    "contains",
    "propertyNames",
    "if",
    "then",
    "else",
    "not",
    "contentSchema",
)
_KNOWN_KEYWORDS = frozenset(
    {
        *_SCHEMA_MAPS,
        *_SCHEMA_LISTS,
        *_SCHEMA_SINGLES,
        "$schema",
        "$id",
        "$ref",
        "$anchor",
        "$dynamicRef",
        "$dynamicAnchor",
        "$recursiveRef",
        "$recursiveAnchor",
        "$vocabulary",
        "$comment",
        "dependencies",
        "type",
        "enum",
        "const",
        "multipleOf",
        "maximum",
        "exclusiveMaximum",
        "minimum",
        "exclusiveMinimum",
        "maxLength",
        "minLength",
        "pattern",
        "maxItems",
        "minItems",
        "uniqueItems",
        "maxContains",
        "minContains",
        "maxProperties",
        "minProperties",
        "required",
        "dependentRequired",
        "title",
        "description",
        "default",
        "deprecated",
        "readOnly",
        "writeOnly",
        "examples",
        "format",
        "contentEncoding",
        "contentMediaType",
    }
)
# What Fireworks' JSON mode does not enforce (wire reference §2.3, FW-DOCS-25).
_FIREWORKS_UNSUPPORTED = ("oneOf", "minLength", "maxLength", "minItems", "maxItems", "pattern")
_JSON_REMINDER = (
    "The prompt must ask for JSON, or the model may emit whitespace until max_tokens "
    "(json_object mode does not add the instruction itself)"
)


# -- JSON pointers and locating values in text -----------------------------------------------------


def json_pointer(path: Sequence[str | int]) -> str:
    """The JSON pointer (RFC 6901) of ``path``; ``/`` for the root, as the labels show it."""
    if not path:
        return "/"
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in path)


def _pointer_join(base: str, *parts: str | int) -> str:
    return base + "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _shown(pointer: str) -> str:
    return pointer or "/"


def _skip_ws(text: str, pos: int) -> int:
    match = _WS.match(text, pos)
    return match.end() if match else pos


def _locate(text: str, path: Sequence[str | int]) -> tuple[int, int] | None:
    """Character range of the value at ``path`` in the JSON ``text``, or None if not found.

    Best effort: walks the text with the standard library's scanner (``raw_decode`` skips the
    values that are not on the path). With duplicate keys the last one wins, as in ``json.loads``.
    """
    decoder = json.JSONDecoder()
    try:
        pos = _skip_ws(text, 0)
        for part in path:
            opener = text[pos]
            pos = _skip_ws(text, pos + 1)
            found: int | None = None
            if opener == "{":
                while text[pos] != "}":
                    key, pos = _scanstring(text, pos + 1)
                    pos = _skip_ws(text, pos)
                    if text[pos] != ":":
                        return None
                    pos = _skip_ws(text, pos + 1)
                    if key == str(part):
                        found = pos
                    pos = _skip_ws(text, decoder.raw_decode(text, pos)[1])
                    if text[pos] == ",":
                        pos = _skip_ws(text, pos + 1)
            elif opener == "[":
                index = 0
                while text[pos] != "]":
                    if str(index) == str(part):
                        found = pos
                        break
                    pos = _skip_ws(text, decoder.raw_decode(text, pos)[1])
                    if text[pos] == ",":
                        pos = _skip_ws(text, pos + 1)
                    index += 1
            if found is None:
                return None
            pos = found
        end = decoder.raw_decode(text, pos)[1]
    except (ValueError, IndexError):
        return None
    return pos, end


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


# -- walking schemas -------------------------------------------------------------------------------


def _subschemas(schema: Any, pointer: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every subschema of ``schema`` (itself first) with its JSON pointer ("" for the root)."""
    if not isinstance(schema, dict):
        return
    yield pointer, schema
    for key in _SCHEMA_MAPS:
        value = schema.get(key)
        if isinstance(value, dict):
            for name, sub in value.items():
                yield from _subschemas(sub, _pointer_join(pointer, key, name))
    for key in _SCHEMA_LISTS:
        value = schema.get(key)
        if isinstance(value, list):
            for index, sub in enumerate(value):
                yield from _subschemas(sub, _pointer_join(pointer, key, index))
    for key in _SCHEMA_SINGLES:
        value = schema.get(key)
        if isinstance(value, list):  # "items" as a list: drafts before 2020-12
            for index, sub in enumerate(value):
                yield from _subschemas(sub, _pointer_join(pointer, key, index))
        else:
            yield from _subschemas(value, _pointer_join(pointer, key))


def _is_object_schema(schema: Mapping[str, Any]) -> bool:
    kind = schema.get("type")
    return (
        kind == "object"
        or (isinstance(kind, list) and "object" in kind)
        or ("properties" in schema)
    )


def _resolve_local(root: Any, ref: str) -> Any:
    """The value a local ``$ref`` ("#/...") points at; raises LookupError when there is none."""
    node = root
    for raw in ref[1:].split("/")[1:] if ref != "#" else []:
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise LookupError(ref)
    return node


# -- checking a schema -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SchemaCheck:
    """The outcome of :func:`check_schema`.

    Attributes:
        schema: The parsed schema, or None when the text is not JSON or not a valid schema.
        error: Why the schema cannot be used ("" when it can), e.g.
            ``/properties/temp/type: 'strin' is not valid under any of the given schemas (line 4)``.
        warnings: Things that are allowed but probably not meant (unknown keywords, a root that
            is not an object, required names that are not properties).
        line: The 1-based line of the text the error is about, when known.
    """

    schema: dict[str, Any] | None
    error: str = ""
    warnings: list[str] = field(default_factory=list)
    line: int | None = None


def check_schema(text: str) -> SchemaCheck:
    """Parse ``text`` as JSON and check it against the Draft 2020-12 meta-schema.

    Any valid schema is accepted; a boolean schema is not, since no provider takes one. The first
    problem is reported with its JSON pointer into the schema and the line where that value
    starts in ``text``.
    """
    if not text.strip():
        return SchemaCheck(None, "The schema is empty")
    try:
        schema = json.loads(text)
    except json.JSONDecodeError as exc:
        return SchemaCheck(
            None, f"Line {exc.lineno}, column {exc.colno}: {exc.msg}", [], exc.lineno
        )
    if not isinstance(schema, dict):
        return SchemaCheck(None, "The schema must be a JSON object", [], 1)

    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import best_match

    meta = Draft202012Validator(
        Draft202012Validator.META_SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER
    )
    problem = best_match(meta.iter_errors(schema))
    if problem is not None:
        path = list(problem.absolute_path)
        return _located_error(text, path, f"{json_pointer(path)}: {problem.message}")
    for pointer, sub in _subschemas(schema):
        ref = sub.get("$ref")
        if isinstance(ref, str) and ref.startswith("#"):
            try:
                _resolve_local(schema, ref)
            except LookupError:
                path = [*_split_pointer(pointer), "$ref"]
                return _located_error(
                    text, path, f"{json_pointer(path)}: cannot resolve {ref!r} in this schema"
                )
    return SchemaCheck(schema, "", _warnings(schema))


def _split_pointer(pointer: str) -> list[str]:
    if not pointer or pointer == "/":
        return []
    return [p.replace("~1", "/").replace("~0", "~") for p in pointer[1:].split("/")]


def _located_error(text: str, path: Sequence[str | int], message: str) -> SchemaCheck:
    span = _locate(text, path)
    if span is None:
        return SchemaCheck(None, message)
    line = _line_of(text, span[0])
    return SchemaCheck(None, f"{message} (line {line})", [], line)


def _warnings(schema: dict[str, Any]) -> list[str]:
    found: list[str] = []
    root = schema
    if isinstance(schema.get("$ref"), str) and schema["$ref"].startswith("#"):
        target = _resolve_local(schema, schema["$ref"])
        root = target if isinstance(target, dict) else schema
    kind = root.get("type")
    if (kind is None and "properties" not in root) or (
        kind is not None and kind != "object" and not (isinstance(kind, list) and "object" in kind)
    ):
        found.append(
            "/: the root is not an object schema; OpenAI's json_schema mode and most "
            "providers' JSON modes need an object at the top level"
        )
    for pointer, sub in _subschemas(schema):
        for key in sub:
            if key == "nullable":
                found.append(
                    f"{_pointer_join(pointer, key)}: 'nullable' is OpenAPI, not JSON Schema; "
                    'use "anyOf": [..., {"type": "null"}]'
                )
            elif key not in _KNOWN_KEYWORDS:
                found.append(f"{_pointer_join(pointer, key)}: unknown keyword {key!r} is ignored")
        ref = sub.get("$ref")
        if isinstance(ref, str) and not ref.startswith("#"):
            found.append(
                f"{_pointer_join(pointer, '$ref')}: remote reference {ref!r} is not fetched"
            )
        properties = sub.get("properties")
        required = sub.get("required")
        if isinstance(properties, dict) and isinstance(required, list):
            for name in required:
                if name not in properties:
                    found.append(
                        f"{_pointer_join(pointer, 'required')}: {name!r} is required but not "
                        "listed in 'properties'"
                    )
    return found


# -- response_format -------------------------------------------------------------------------------


def default_mode(provider_id: str) -> Mode:
    """The ``response_format`` mode to start with for a provider.

    Every provider gets ``json_schema``, the OpenAI form:

    - ``openai``: the only structured form OpenAI accepts besides plain ``json_object``, sent with
      ``strict: true`` so the schema is enforced.
    - ``fireworks``: Fireworks accepts the OpenAI form and enforces the same subset of JSON
      Schema as with its older ``json_object`` + ``schema`` form (wire reference §2.3), so the
      request, and the "view code" snippet, read the same as for OpenAI and port unchanged.
    - ``local``: the built-in engine accepts all four modes; ``json_schema`` is grammar-constrained.
    - any other OpenAI-compatible server: ``json_schema`` is the form the OpenAI spec defines, so
      it is the one such servers (vLLM, llama.cpp, Together, Groq, ...) implement first.
    """
    del provider_id  # the same for every provider today; kept so callers need not change
    return "json_schema"


def schema_name(schema: Mapping[str, Any] | None, fallback: str = _DEFAULT_NAME) -> str:
    """A ``json_schema.name`` (``[A-Za-z0-9_-]{1,64}``) from the schema's ``title``."""
    title = schema.get("title") if schema else None
    candidate = title if isinstance(title, str) else fallback
    name = _NAME_BAD.sub("_", candidate.strip()).strip("_")[:_NAME_MAX]
    if name:
        return name
    return _NAME_BAD.sub("_", fallback).strip("_")[:_NAME_MAX] or _DEFAULT_NAME


def response_format(
    mode: Mode,
    schema: Mapping[str, Any] | None,
    *,
    name: str | None = None,
    strict: bool = True,
    grammar: str = "",
) -> dict[str, Any]:
    """The request's ``response_format`` body for ``mode`` (wire reference §2.3).

    Args:
        mode: Which variant to build.
        schema: The JSON Schema; needed by ``json_schema`` and ``json_object_schema``.
        name: ``json_schema.name``; by default the schema's sanitised ``title``, else ``Result``.
        strict: ``json_schema.strict``.
        grammar: The GBNF grammar text of ``grammar`` mode.

    Raises:
        ValueError: the mode needs a schema or grammar that is missing.
    """
    if mode == "json_object":
        return {"type": "json_object"}
    if mode == "grammar":
        if not grammar.strip():
            raise ValueError("Grammar mode needs a grammar")
        return {"type": "grammar", "grammar": grammar}
    if schema is None:
        raise ValueError(f"{mode} mode needs a schema")
    if mode == "json_object_schema":
        return {"type": "json_object", "schema": dict(schema)}
    if mode != "json_schema":
        raise ValueError(f"unknown response_format mode {mode!r}")
    chosen = schema_name(schema) if name is None else schema_name(None, name)
    return {
        "type": "json_schema",
        "json_schema": {"name": chosen, "schema": dict(schema), "strict": strict},
    }


def provider_problems(
    schema: Mapping[str, Any] | None,
    mode: Mode,
    provider_id: str,
    *,
    strict: bool = True,
    grammar: str = "",
    prompt: str | None = None,
) -> list[str]:
    """What ``provider_id`` will not do with this schema and mode, one readable line each.

    Args:
        schema: The checked schema (None when there is none).
        mode: The ``response_format`` mode.
        provider_id: ``fireworks``, ``openai``, ``local`` or any other (a generic server).
        strict: Whether ``json_schema`` is sent with ``strict: true``.
        grammar: The grammar text of ``grammar`` mode.
        prompt: The prompt, when known: the json_object reminder is left out if it mentions JSON.
    """
    problems: list[str] = []
    if mode == "grammar":
        if not grammar.strip():
            problems.append("Grammar mode needs a grammar")
        if provider_id == "openai":
            problems.append("OpenAI does not accept grammar response formats")
        return problems
    if mode in ("json_object", "json_object_schema"):
        if prompt is None or "json" not in prompt.lower():
            problems.append(_JSON_REMINDER)
        if mode == "json_object_schema" and provider_id == "openai":
            problems.append("OpenAI ignores a schema in json_object mode; use json_schema")
    if mode == "json_object" or (mode == "json_object_schema" and provider_id == "openai"):
        return problems
    if schema is None:
        problems.append(f"{mode} mode needs a schema")
        return problems
    if provider_id == "fireworks":
        for pointer, sub in _subschemas(schema):
            for keyword in _FIREWORKS_UNSUPPORTED:
                if keyword in sub:
                    problems.append(
                        f"{_pointer_join(pointer, keyword)}: Fireworks does not support {keyword!r}"
                    )
    if provider_id == "openai" and mode == "json_schema" and strict:
        problems.extend(_openai_strict_problems(schema))
    return problems


def _openai_strict_problems(schema: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    if schema.get("type") != "object" and "$ref" not in schema:
        problems.append("/: OpenAI strict mode needs an object at the root")
    for pointer, sub in _subschemas(dict(schema)):
        if not _is_object_schema(sub):
            continue
        properties = sub.get("properties", {})
        required = sub.get("required", [])
        if isinstance(properties, dict) and isinstance(required, list):
            missing = [name for name in properties if name not in required]
            if missing:
                problems.append(
                    f"{_shown(pointer)}: OpenAI strict mode needs every property in 'required' "
                    f"(missing: {', '.join(missing)})"
                )
        if sub.get("additionalProperties") is not False:
            problems.append(
                f'{_shown(pointer)}: OpenAI strict mode needs "additionalProperties": false'
            )
    return problems


def strict_adjusted(schema: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``schema`` that OpenAI's strict mode accepts.

    Every object schema (in properties, items, ``$defs``, ``anyOf`` and the other subschema
    keywords) lists all its properties in ``required`` and gets ``additionalProperties: false``;
    ``"default": null`` is dropped, as strict mode rejects it. A property that was optional
    becomes required: make it nullable (``anyOf`` with ``{"type": "null"}``) to let the model
    leave it out. An object used as a map (``additionalProperties`` with a schema) becomes a
    closed object, since strict mode has no maps.
    """
    adjusted = copy.deepcopy(dict(schema))
    for _, sub in _subschemas(adjusted):
        if sub.get("default", 0) is None:
            del sub["default"]
        if _is_object_schema(sub):
            properties = sub.get("properties", {})
            if isinstance(properties, dict):
                sub["required"] = list(properties)
            sub["additionalProperties"] = False
    return adjusted


# -- validating a reply ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Validation:
    """A reply checked against the schema.

    Attributes:
        label: ``Valid``, ``Invalid: <JSON pointer>: <message>`` for the first error, ``Not JSON``
            or ``Not JSON (truncated at max_tokens)``.
        ok: The reply is JSON and matches the schema.
        is_json: The reply (after stripping a think block and a code fence) is JSON.
        value: The parsed JSON, or None when it is not JSON.
        pointer: The JSON pointer of the first error in the reply, or None.
        pretty: The JSON indented by 2, or the raw text when it is not JSON.
        error_span: The ``(start, end)`` character range in ``pretty`` of the value at
            ``pointer`` (for a missing property: the object that lacks it), when found.
    """

    label: str
    ok: bool
    is_json: bool
    value: Any
    pointer: str | None
    pretty: str
    error_span: tuple[int, int] | None = None


def strip_wrapping(text: str) -> str:
    """``text`` without a leading ``<think>…</think>`` block, surrounding space and a code fence."""
    body = text.strip()
    if body.startswith(_THINK_OPEN):
        end = body.find(_THINK_CLOSE)
        body = "" if end < 0 else body[end + len(_THINK_CLOSE) :].strip()
    fenced = _FENCE.match(body)
    if fenced:
        body = fenced.group("body").strip()
    return body


def validate_output(
    text: str, schema: Mapping[str, Any] | None, finish_reason: str | None
) -> Validation:
    """Check a reply against ``schema`` (or only that it is JSON when there is no schema).

    Args:
        text: The reply's content as streamed.
        schema: The schema the request carried, or None.
        finish_reason: The reply's finish reason; ``length`` marks a reply cut at max_tokens.
    """
    body = strip_wrapping(text)
    try:
        value = json.loads(body)
    except ValueError:
        label = "Not JSON (truncated at max_tokens)" if finish_reason == "length" else "Not JSON"
        return Validation(label, False, False, None, None, text)
    pretty = json.dumps(value, indent=2, ensure_ascii=False)
    if schema is None:
        return Validation("Valid", True, True, value, None, pretty)
    problem = _first_error(schema, value)
    if problem is None:
        return Validation("Valid", True, True, value, None, pretty)
    if isinstance(problem, str):
        return Validation(f"Schema error: {problem}", False, True, value, None, pretty)
    path = list(problem.absolute_path)
    pointer = json_pointer(path)
    return Validation(
        f"Invalid: {pointer}: {problem.message}",
        False,
        True,
        value,
        pointer,
        pretty,
        _locate(pretty, path),
    )


def _first_error(schema: Mapping[str, Any], value: Any) -> ValidationError | str | None:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError, best_match
    from referencing.exceptions import Unresolvable

    try:
        validator = Draft202012Validator(
            dict(schema), format_checker=Draft202012Validator.FORMAT_CHECKER
        )
        return best_match(validator.iter_errors(value))
    except SchemaError as exc:
        return exc.message
    except Unresolvable as exc:
        return f"cannot resolve {exc}"


# -- inferring a schema from an example ------------------------------------------------------------


def infer_schema(example_text: str) -> dict[str, Any]:
    """A JSON Schema that the example document matches, to start a schema from.

    Objects list all their properties as required; an array's items are merged from all its
    elements (a property missing in some elements is not required); integers and numbers
    together are numbers; mixed types become a ``type`` list, or ``anyOf`` when objects or
    arrays are among them.

    Raises:
        ValueError: the example is not JSON (the message gives line and column).
    """
    try:
        example = json.loads(strip_wrapping(example_text))
    except json.JSONDecodeError as exc:
        raise ValueError(f"Line {exc.lineno}, column {exc.colno}: {exc.msg}") from exc
    return _infer(example)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _infer(value: Any) -> dict[str, Any]:
    kind = _json_type(value)
    if kind == "object":
        return {
            "type": "object",
            "properties": {key: _infer(item) for key, item in value.items()},
            "required": list(value),
        }
    if kind == "array":
        result: dict[str, Any] = {"type": "array"}
        if value:
            result["items"] = _merge([_infer(item) for item in value])
        return result
    return {"type": kind}


def _merge(schemas: list[dict[str, Any]]) -> dict[str, Any]:
    groups: dict[str, list[dict[str, Any]]] = {}
    singles: list[dict[str, Any]] = []
    for schema in schemas:  # merged schemas come back as anyOf or type lists: split them again
        if "anyOf" in schema:
            singles.extend(schema["anyOf"])
        elif isinstance(schema["type"], list):
            singles.extend({"type": kind} for kind in schema["type"])
        else:
            singles.append(schema)
    for schema in singles:
        kind = schema["type"]
        if kind == "integer" and "number" in groups:
            kind = "number"
        elif kind == "number" and "integer" in groups:
            groups = {("number" if k == "integer" else k): v for k, v in groups.items()}
        groups.setdefault(kind, []).append(schema)
    merged: list[dict[str, Any]] = []
    for kind, members in groups.items():
        if kind == "object":
            merged.append(_merge_objects(members))
        elif kind == "array":
            items = [m["items"] for m in members if "items" in m]
            merged.append({"type": "array", "items": _merge(items)} if items else {"type": "array"})
        else:
            merged.append({"type": kind})
    if len(merged) == 1:
        return merged[0]
    if all(len(m) == 1 for m in merged):
        return {"type": [m["type"] for m in merged]}
    return {"anyOf": merged}


def _merge_objects(members: list[dict[str, Any]]) -> dict[str, Any]:
    names: dict[str, list[dict[str, Any]]] = {}
    for member in members:
        for name, sub in member["properties"].items():
            names.setdefault(name, []).append(sub)
    required = [n for n in names if all(n in m["required"] for m in members)]
    return {
        "type": "object",
        "properties": {name: _merge(subs) for name, subs in names.items()},
        "required": required,
    }


# -- comparing replies -----------------------------------------------------------------------------


class Missing(Enum):
    """Marks a pane or run that has no value at a pointer."""

    MISSING = "MISSING"

    def __repr__(self) -> str:
        return "MISSING"


MISSING = Missing.MISSING


def _leaves(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """``(pointer, value)`` of every scalar (and empty container) in document order."""
    if isinstance(value, dict) and value:
        for key, item in value.items():
            yield from _leaves(item, _pointer_join(path, key))
    elif isinstance(value, list) and value:
        for index, item in enumerate(value):
            yield from _leaves(item, _pointer_join(path, index))
    else:
        yield _shown(path), value


def _same_key(value: Any) -> str:
    """A key under which two JSON values are equal: 1 and 1.0 match, true and 1 do not."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class FieldAgreement:
    """One leaf of the replies and whether the panes agree on it.

    Attributes:
        pointer: The leaf's JSON pointer.
        values: One value per pane, :data:`MISSING` where the pane has none.
        agree: Every pane that produced JSON has this leaf, with the same value.
    """

    pointer: str
    values: list[Any]
    agree: bool


def field_agreement(values: Sequence[Any]) -> list[FieldAgreement]:
    """Compare the parsed replies of N panes leaf by leaf.

    Args:
        values: Each pane's parsed JSON, None for a pane without valid JSON (it is shown as
            :data:`MISSING` everywhere and does not count against agreement).

    Returns:
        One entry per leaf pointer, in document order of the first reply that has it.
    """
    leaves = [dict(_leaves(value)) if value is not None else None for value in values]
    order: dict[str, None] = {}
    for pane in leaves:
        if pane is not None:
            order.update(dict.fromkeys(pane))
    result: list[FieldAgreement] = []
    for pointer in order:
        row = [MISSING if pane is None else pane.get(pointer, MISSING) for pane in leaves]
        present = [v for v, pane in zip(row, leaves, strict=True) if pane is not None]
        agree = MISSING not in present and len({_same_key(v) for v in present}) == 1
        result.append(FieldAgreement(pointer, row, agree))
    return result


@dataclass(frozen=True, slots=True)
class FieldSpread:
    """How one leaf varied over repeated runs.

    Attributes:
        pointer: The leaf's JSON pointer.
        counts: Each distinct value with how many runs gave it, most frequent first.
        present: How many runs had the leaf.
        minimum: The smallest value, when every value is a number.
        maximum: The largest value, when every value is a number.
        mean: The mean, when every value is a number.
    """

    pointer: str
    counts: list[tuple[Any, int]]
    present: int
    minimum: float | None = None
    maximum: float | None = None
    mean: float | None = None


@dataclass(frozen=True, slots=True)
class RepeatStats:
    """Validity and spread of values over the runs of "Repeat × N".

    Attributes:
        total: How many runs.
        valid: How many were valid.
        validity_rate: ``valid / total`` (0.0 without runs).
        fields: The spread of each leaf, in document order of the first reply that has it.
    """

    total: int
    valid: int
    validity_rate: float
    fields: list[FieldSpread]


def repeat_stats(values: Sequence[Validation]) -> RepeatStats:
    """Summarise repeated runs: how often the reply was valid and how each leaf varied.

    Leaves come from every run whose reply was JSON, valid or not.
    """
    total = len(values)
    valid = sum(1 for v in values if v.ok)
    seen: dict[str, list[Any]] = {}
    for run in values:
        if run.is_json:
            for pointer, leaf in _leaves(run.value):
                seen.setdefault(pointer, []).append(leaf)
    fields: list[FieldSpread] = []
    for pointer, leaves in seen.items():
        counted: dict[str, list[Any]] = {}
        for leaf in leaves:
            counted.setdefault(_same_key(leaf), [leaf, 0])[1] += 1
        counts = sorted(((v, n) for v, n in counted.values()), key=lambda pair: -pair[1])
        numbers = [
            float(v) for v in leaves if isinstance(v, int | float) and not isinstance(v, bool)
        ]
        if len(numbers) == len(leaves) and all(math.isfinite(n) for n in numbers):
            fields.append(
                FieldSpread(
                    pointer,
                    counts,
                    len(leaves),
                    min(numbers),
                    max(numbers),
                    statistics.fmean(numbers),
                )
            )
        else:
            fields.append(FieldSpread(pointer, counts, len(leaves)))
    return RepeatStats(total, valid, valid / total if total else 0.0, fields)


# -- sample schemas --------------------------------------------------------------------------------


def _load_samples() -> tuple[dict[str, str], dict[str, str]]:
    folder = resources.files(_SAMPLES_PACKAGE).joinpath(_SAMPLES_DIR)
    schemas: dict[str, str] = {}
    sources: dict[str, str] = {}
    for entry in sorted(
        folder.iterdir(), key=lambda e: (e.name.split(".")[0] != _FIRST_SAMPLE, e.name)
    ):
        if entry.name.endswith(_PYDANTIC_SUFFIX):
            sources[entry.name[: -len(_PYDANTIC_SUFFIX)]] = entry.read_text(encoding="utf-8")
        elif entry.name.endswith(".json"):
            schemas[entry.name[: -len(".json")]] = entry.read_text(encoding="utf-8")
    return schemas, sources


SAMPLES, PYDANTIC_SAMPLES = _load_samples()
"""Sample schemas by name (``weather`` first), as JSON text; and sample pydantic sources."""
