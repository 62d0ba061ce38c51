"""JSON Schema to GBNF (llama.cpp grammar) conversion with guaranteed termination.

A tiny model constrained only by "this must be JSON" can stay inside an unbounded string until it
runs out of tokens and hand back truncated, invalid JSON. Every grammar built here is therefore
*finite*: strings, arrays, free-form objects and schema recursion all get bounds when the schema
does not give them, and the converter computes the longest output (in bytes) the grammar admits.
:func:`fit_schema_grammar` then picks the most generous bounds whose worst case fits the token
budget. A token always carries at least one byte, so a grammar whose longest output fits the
budget always completes: only an explicitly tiny ``max_tokens`` can cut the JSON short.

Output is compact JSON (no free whitespace): whitespace is where small models loop.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from app.engine._errors import InvalidRequestError

__all__ = [
    "BOUND_LEVELS",
    "BoundLevel",
    "CompiledGrammar",
    "GrammarBuilder",
    "fit_schema_grammar",
    "gbnf_literal",
]

# One character of a JSON string: any code point except '"', '\' and control characters, or a
# short escape. \uXXXX escapes are left out on purpose: models rarely need them and they would
# make the byte bound of a character 6 instead of 4.
_CHAR_RULE = r'[^"\\\x00-\x1F\x7F] | "\\" ["\\/bfnrt]'
_MAX_CHAR_BYTES = 4  # UTF-8 worst case; an escape is 2
_INT_DIGITS = 16  # longest integer part, mirrors llama.cpp's own JSON grammars
_FRAC_DIGITS = 8
_MAX_SAFE = 10**_INT_DIGITS - 1
# A number range holding no integer is narrower than 1: its values at 0.01 steps (at most
# 100) are listed instead.
_NARROW_STEPS = 100


@dataclass(frozen=True)
class BoundLevel:
    """Limits applied where the schema gives none.

    Attributes:
        string_chars: maximum characters of a string without ``maxLength``.
        items: maximum items of an array without ``maxItems`` and of free-form objects.
        depth: nesting depth of values the schema leaves free (``{}``, ``json_object``) and of
            ``$ref`` recursion.
    """

    string_chars: int
    items: int
    depth: int


# From generous to tight; the first level whose worst case fits the budget wins.
BOUND_LEVELS: tuple[BoundLevel, ...] = (
    BoundLevel(1024, 64, 3),
    BoundLevel(512, 32, 3),
    BoundLevel(256, 16, 2),
    BoundLevel(128, 8, 2),
    BoundLevel(64, 8, 1),
    BoundLevel(32, 4, 1),
    BoundLevel(16, 2, 1),
    BoundLevel(8, 1, 0),
)


@dataclass(frozen=True)
class CompiledGrammar:
    """A GBNF grammar and the longest output it admits.

    Attributes:
        gbnf: grammar text; its start rule is ``root``.
        max_bytes: the longest string (in UTF-8 bytes) the grammar accepts.
        level: the bounds that were applied.
    """

    gbnf: str
    max_bytes: int
    level: BoundLevel


@dataclass(frozen=True)
class _Node:
    expr: str  # a GBNF expression usable inside a sequence
    max_bytes: int


def gbnf_literal(text: str) -> str:
    """Quote ``text`` as a GBNF string literal.

    Args:
        text: the exact text to match.

    Returns:
        The literal, with quotes, backslashes and control characters escaped.
    """
    out = ['"']
    for ch in text:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02X}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _nbytes(text: str) -> int:
    return len(text.encode("utf-8"))


class GrammarBuilder:
    """Builds GBNF rules for JSON values from JSON Schema, tracking the longest output.

    One builder accumulates rules; several schemas (e.g. one per tool) can share it.

    Args:
        root_schema: the document that ``$ref`` pointers resolve against.
        level: bounds for whatever the schema leaves unbounded.
    """

    def __init__(self, root_schema: Any, level: BoundLevel) -> None:
        self._root = root_schema
        self.level = level
        self._rules: dict[str, str] = {}
        self._by_body: dict[str, str] = {}
        self._ref_depth: dict[str, int] = {}
        self._counter = 0

    # -- rule bookkeeping -------------------------------------------------------------------

    def add_rule(self, hint: str, body: str) -> str:
        """Register a rule (deduplicated by body) and return its name.

        Args:
            hint: a readable name stem.
            body: the GBNF alternatives of the rule.

        Returns:
            The rule name to reference.
        """
        existing = self._by_body.get(body)
        if existing is not None:
            return existing
        stem = "".join(c if c.isalnum() else "-" for c in hint.lower()).strip("-") or "r"
        name = stem
        while name in self._rules or name == "root":
            self._counter += 1
            name = f"{stem}-{self._counter}"
        self._rules[name] = body
        self._by_body[body] = name
        return name

    def render(self, root_body: str) -> str:
        """Return the full grammar text with ``root ::= root_body`` first.

        Args:
            root_body: the body of the start rule.

        Returns:
            GBNF text.
        """
        lines = [f"root ::= {root_body}"]
        lines.extend(f"{name} ::= {body}" for name, body in self._rules.items())
        return "\n".join(lines) + "\n"

    # -- public entry -----------------------------------------------------------------------

    def value(self, schema: Any, hint: str = "value", *, document: Any = None) -> _Node:
        """Convert a schema to a node.

        Args:
            schema: a JSON Schema (dict or boolean).
            hint: a name stem for the rules created.
            document: what ``$ref`` pointers resolve against, when not the builder's root
                (several tools share one builder, each with its own document).

        Returns:
            The node matching exactly the (bounded) instances of the schema.

        Raises:
            InvalidRequestError: the schema admits no instance the engine can produce.
        """
        if document is not None:
            self._root = document
        node = self._visit(schema, hint, self.level.depth)
        if node is None:
            raise InvalidRequestError(
                "The JSON schema admits no value the local engine can generate "
                "(unsatisfiable or recursion without a base case).",
                param="response_format",
            )
        return node

    # -- conversion -------------------------------------------------------------------------

    def _visit(self, schema: Any, hint: str, depth: int) -> _Node | None:
        if schema is True or schema == {}:
            return self._any(depth)
        if schema is False:
            return None
        if not isinstance(schema, Mapping):
            raise InvalidRequestError(
                f"Invalid JSON schema at {hint!r}: expected an object or a boolean.",
                param="response_format",
            )
        if "$ref" in schema:
            return self._ref(schema, hint, depth)
        if "allOf" in schema:
            return self._visit(self._merge_all_of(schema), hint, depth)
        if schema.get("nullable") is True:
            inner = {k: v for k, v in schema.items() if k != "nullable"}
            return self._alternatives([inner, {"type": "null"}], hint, depth)
        for key in ("anyOf", "oneOf"):
            if key in schema:
                branches = schema[key]
                if not isinstance(branches, Sequence) or not branches:
                    raise InvalidRequestError(
                        f"Invalid JSON schema: {key} must be a non-empty array.",
                        param="response_format",
                    )
                base = {k: v for k, v in schema.items() if k != key}
                merged = [self._merge_all_of({"allOf": [base, b]}) if base else b for b in branches]
                return self._alternatives(merged, hint, depth)
        if "const" in schema:
            return self._literals([schema["const"]])
        if "enum" in schema:
            values = schema["enum"]
            if not isinstance(values, Sequence) or isinstance(values, str) or not values:
                raise InvalidRequestError(
                    "Invalid JSON schema: enum must be a non-empty array.", param="response_format"
                )
            return self._literals(list(values))
        kind = schema.get("type")
        if isinstance(kind, list):
            if not kind:
                return None
            return self._alternatives([{**schema, "type": t} for t in kind], hint, depth)
        if kind is None:
            if "properties" in schema or "additionalProperties" in schema:
                kind = "object"
            elif "items" in schema or "prefixItems" in schema:
                kind = "array"
            else:
                return self._any(depth)
        converters = {
            "string": self._string,
            "integer": self._integer,
            "number": self._number,
            "boolean": lambda s, h, d: _Node('("true" | "false")', 5),
            "null": lambda s, h, d: _Node('"null"', 4),
            "object": self._object,
            "array": self._array,
        }
        convert = converters.get(kind) if isinstance(kind, str) else None
        if convert is None:
            raise InvalidRequestError(
                f"Invalid JSON schema: unknown type {kind!r}.", param="response_format"
            )
        return convert(schema, hint, depth)

    def _ref(self, schema: Mapping[str, Any], hint: str, depth: int) -> _Node | None:
        ref = schema["$ref"]
        target = self._resolve(ref)
        used = self._ref_depth.get(ref, 0)
        # Each pass through the same pointer costs one level: recursion without a base case
        # ends as "impossible", which optional properties, empty arrays and anyOf absorb.
        if used > self.level.depth:
            return None
        self._ref_depth[ref] = used + 1
        try:
            extra = {k: v for k, v in schema.items() if k != "$ref"}
            merged = self._merge_all_of({"allOf": [target, extra]}) if extra else target
            return self._visit(merged, ref.rsplit("/", 1)[-1] or hint, depth)
        finally:
            self._ref_depth[ref] = used

    def _resolve(self, ref: Any) -> Any:
        if not isinstance(ref, str) or not ref.startswith("#"):
            raise InvalidRequestError(
                f"Unsupported $ref {ref!r}: only local references (#/...) are allowed.",
                param="response_format",
            )
        node: Any = self._root
        for raw in ref[1:].split("/")[1:] if ref != "#" else []:
            part = raw.replace("~1", "/").replace("~0", "~")
            if isinstance(node, Mapping) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                raise InvalidRequestError(
                    f"Unresolvable $ref {ref!r} in the JSON schema.", param="response_format"
                )
        return node

    def _merge_all_of(self, schema: Mapping[str, Any]) -> dict[str, Any]:
        merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
        for part in schema.get("allOf", []):
            if isinstance(part, Mapping) and "$ref" in part:
                part = self._resolve(part["$ref"])
            if not isinstance(part, Mapping):
                continue
            part = self._merge_all_of(part) if "allOf" in part else part
            for key, val in part.items():
                if key == "properties" and isinstance(val, Mapping):
                    merged["properties"] = {**merged.get("properties", {}), **val}
                elif key == "required" and isinstance(val, list):
                    merged["required"] = list(dict.fromkeys([*merged.get("required", []), *val]))
                else:
                    merged[key] = val
        return merged

    def _alternatives(self, schemas: Sequence[Any], hint: str, depth: int) -> _Node | None:
        nodes = [self._visit(s, f"{hint}-alt", depth) for s in schemas]
        usable = [n for n in nodes if n is not None]
        if not usable:
            return None
        if len(usable) == 1:
            return usable[0]
        body = " | ".join(dict.fromkeys(n.expr for n in usable))
        return _Node(self.add_rule(hint, body), max(n.max_bytes for n in usable))

    def _literals(self, values: Sequence[Any]) -> _Node:
        texts = list(dict.fromkeys(_json_text(v) for v in values))
        body = " | ".join(gbnf_literal(t) for t in texts)
        expr = body if len(texts) == 1 else f"({body})"
        return _Node(expr, max(_nbytes(t) for t in texts))

    # -- scalars ----------------------------------------------------------------------------

    def _char(self) -> str:
        return self.add_rule("char", _CHAR_RULE)

    def _string(self, schema: Mapping[str, Any], hint: str, depth: int) -> _Node | None:
        fmt = schema.get("format")
        if fmt in _FORMATS:
            body, size = _FORMATS[fmt]
            return _Node(self.add_rule(f"{fmt}-string", f'"\\"" {body} "\\""'), size + 2)
        lo = _as_int(schema.get("minLength"), 0)
        # Stricter than the schema is still valid: an explicit maxLength only lowers the bound.
        hi = min(_as_int(schema.get("maxLength"), _UNBOUNDED), max(lo, self.level.string_chars))
        if hi < lo:
            return None
        return self._bounded_string(lo, hi)

    def _bounded_string(self, lo: int, hi: int) -> _Node:
        char = self._char()
        body = f'"\\"" {char}{{{lo},{hi}}} "\\""' if hi > 0 else '"\\"\\""'
        return _Node(self.add_rule(f"string-{lo}-{hi}", body), hi * _MAX_CHAR_BYTES + 2)

    def _integer(self, schema: Mapping[str, Any], hint: str, depth: int) -> _Node | None:
        lo, hi = _int_bounds(schema)
        if lo > hi:
            return None
        return _Node(self.add_rule(f"int-{hint}", _int_range(lo, hi)), _int_bytes(lo, hi))

    def _number(self, schema: Mapping[str, Any], hint: str, depth: int) -> _Node | None:
        if not any(
            k in schema for k in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")
        ):
            body = (
                f'"-"? ("0" | [1-9] [0-9]{{0,{_INT_DIGITS - 1}}}) '
                f'("." [0-9]{{1,{_FRAC_DIGITS}}})? ([eE] [-+]? [0-9]{{1,2}})?'
            )
            return _Node(self.add_rule("number", body), 1 + _INT_DIGITS + 1 + _FRAC_DIGITS + 4)
        lo_f, hi_f, lo_open, hi_open = _float_bounds(schema)
        lo_i = math.ceil(lo_f) + (1 if lo_open and float(math.ceil(lo_f)) == lo_f else 0)
        hi_i = math.floor(hi_f) - (1 if hi_open and float(math.floor(hi_f)) == hi_f else 0)
        if lo_i > hi_i:
            return self._narrow_decimal(lo_f, hi_f, lo_open, hi_open)
        alts = [_int_range(lo_i, hi_i)]
        # k.fraction with k >= 0 lies in [k, k+1): inside the range whenever k+1 <= hi.
        frac_lo, frac_hi = max(lo_i, 0), hi_i - 1
        if frac_lo <= frac_hi:
            alts.append(f'({_int_range(frac_lo, frac_hi)}) "." [0-9]{{1,{_FRAC_DIGITS}}}')
        size = _int_bytes(lo_i, hi_i) + 1 + _FRAC_DIGITS
        return _Node(self.add_rule(f"num-{hint}", " | ".join(f"({a})" for a in alts)), size)

    def _narrow_decimal(self, lo: float, hi: float, lo_open: bool, hi_open: bool) -> _Node | None:
        def inside(x: float) -> bool:
            above = x > lo if lo_open else x >= lo
            below = x < hi if hi_open else x <= hi
            return above and below

        start = math.ceil(lo * 100)
        values = [v / 100 for v in range(start, start + _NARROW_STEPS + 1) if inside(v / 100)]
        if not values:
            mid = (lo + hi) / 2
            if not inside(mid):
                return None
            values = [mid]
        return self._literals(values)

    # -- containers -------------------------------------------------------------------------

    def _array(self, schema: Mapping[str, Any], hint: str, depth: int) -> _Node | None:
        lo = _as_int(schema.get("minItems"), 0)
        hi = min(_as_int(schema.get("maxItems"), _UNBOUNDED), max(lo, self.level.items))
        prefix: list[_Node] = []
        for i, sub in enumerate(schema.get("prefixItems") or []):
            if len(prefix) == hi:
                break
            node = self._visit(sub, f"{hint}-{i}", depth - 1)
            if node is None:
                break
            prefix.append(node)
        items_schema = schema.get("items", True)
        item = (
            None if items_schema is False else self._visit(items_schema, f"{hint}-item", depth - 1)
        )
        if item is None:
            hi = min(hi, len(prefix))
        if hi < lo:
            return None
        rest_hi = hi - len(prefix)
        rest_lo = max(0, lo - len(prefix))
        if not prefix:
            if item is None or hi == 0:
                return _Node('"[" "]"', 2)
            first = _rep(f'"," {item.expr}', max(0, rest_lo - 1), rest_hi - 1)
            inner = f"{item.expr} {first}".strip()
            body = f'"[" ({inner})? "]"' if rest_lo == 0 else f'"[" {inner} "]"'
            size = 2 + rest_hi * (item.max_bytes + 1) - 1
            return _Node(self.add_rule(f"{hint}-array", body), size)
        # Positional items: an array may stop early only before minItems is reached and only
        # when no further items follow (they would land on the wrong positions).
        required = len(prefix) if rest_hi > 0 else min(lo, len(prefix))
        inner = ""
        for pos in range(len(prefix) - 1, -1, -1):
            expr = prefix[pos].expr if pos == 0 else f'"," {prefix[pos].expr}'
            inner = f"{expr} {inner}".strip()
            if pos >= required:
                inner = f"({inner})?"
        size = 2 + sum(n.max_bytes + 1 for n in prefix) - 1
        if item is not None and rest_hi > 0:
            more = _rep(f'"," {item.expr}', rest_lo, rest_hi)
            inner = f"{inner} {more}"
            size += rest_hi * (item.max_bytes + 1)
        return _Node(self.add_rule(f"{hint}-tuple", f'"[" {inner} "]"'), size)

    def _object(self, schema: Mapping[str, Any], hint: str, depth: int) -> _Node | None:
        props = schema.get("properties") or {}
        if not isinstance(props, Mapping):
            raise InvalidRequestError(
                "Invalid JSON schema: properties must be an object.", param="response_format"
            )
        required = set(schema.get("required") or [])
        # Required keys the schema does not describe may hold any value.
        props = {**props, **{key: True for key in required if key not in props}}
        additional = schema.get("additionalProperties")
        if not props and additional is None:
            additional = True
        # Declared properties close the object unless the schema asks for more, as Fireworks
        # and OpenAI strict mode do: extra keys are where a tiny model wanders off.
        extra_schema = additional if additional not in (None, False) else None
        pairs: list[tuple[str, int, bool]] = []
        for key, sub in props.items():
            node = self._visit(sub, f"{hint}-{key}", depth - 1)
            is_required = key in required
            if node is None:
                if is_required:
                    return None
                continue
            key_lit = _json_text(str(key))
            pairs.append(
                (
                    f"{gbnf_literal(key_lit + ':')} {node.expr}",
                    _nbytes(key_lit) + 1 + node.max_bytes,
                    is_required,
                )
            )
        extra: _Node | None = None
        if extra_schema is not None:
            value = self._visit(extra_schema, f"{hint}-extra", depth - 1)
            if value is not None:
                key = self._bounded_string(1, min(self.level.string_chars, 64))
                extra = _Node(
                    self.add_rule(f"{hint}-kv", f'{key.expr} ":" {value.expr}'),
                    key.max_bytes + 1 + value.max_bytes,
                )
        body, size = self._members(pairs, extra, hint)
        return _Node(self.add_rule(f"{hint}-object", f'"{{" {body} "}}"'), size + 2)

    def _members(
        self, pairs: list[tuple[str, int, bool]], extra: _Node | None, hint: str
    ) -> tuple[str, int]:
        """Members in declared order; optional ones may be left out, extras come last."""
        size = sum(p[1] for p in pairs) + max(0, len(pairs) - 1)
        n_extra = self.level.items if extra is not None else 0
        if extra is not None:
            size += n_extra * (extra.max_bytes + 1)
        memo: dict[tuple[int, bool], str] = {}

        def seq(i: int, comma: bool) -> str:
            # Members i.. given whether a comma must precede the next one written.
            key = (i, comma)
            if key in memo:
                return memo[key]
            sep = '"," ' if comma else ""
            if i == len(pairs):
                if extra is None:
                    result = ""
                elif comma:
                    result = _rep(f'"," {extra.expr}', 0, n_extra)
                else:
                    more = _rep(f'"," {extra.expr}', 0, n_extra - 1)
                    result = f"({extra.expr} {more})?".replace(" )", ")")
            else:
                expr, _, required = pairs[i]
                take = f"{sep}{expr} {seq(i + 1, True)}".strip()
                if required:
                    result = take
                else:
                    skip = seq(i + 1, comma)
                    alt = f"({take})" if not skip else f"({take} | {skip})"
                    result = alt if skip else f"{alt}?"
            if result and i < len(pairs) and len(result) > 80:
                result = self.add_rule(f"{hint}-m{i}{'c' if comma else ''}", result)
            memo[key] = result
            return result

        return seq(0, False), size

    def _any(self, depth: int) -> _Node:
        """A free JSON value, nested at most ``depth`` levels."""
        string = self._bounded_string(0, self.level.string_chars)
        number = self._number({}, "number", 0)
        assert number is not None
        scalars = [string.expr, number.expr, '"true"', '"false"', '"null"']
        size = max(string.max_bytes, number.max_bytes, 5)
        if depth <= 0:
            return _Node(self.add_rule("scalar", " | ".join(scalars)), size)
        inner = self._any(depth - 1)
        n = self.level.items
        key = self._bounded_string(1, min(self.level.string_chars, 64))
        kv = self.add_rule(f"kv-d{depth}", f'{key.expr} ":" {inner.expr}')
        more_kv = _rep(f'"," {kv}', 0, n - 1)
        more_items = _rep(f'"," {inner.expr}', 0, n - 1)
        obj = f'"{{" ({kv} {more_kv})? "}}"'
        arr = f'"[" ({inner.expr} {more_items})? "]"'
        obj_size = 2 + n * (key.max_bytes + 1 + inner.max_bytes) + n - 1
        arr_size = 2 + n * inner.max_bytes + n - 1
        body = " | ".join([self.add_rule(f"object-d{depth}", obj), arr, *scalars])
        return _Node(self.add_rule(f"value-d{depth}", body), max(size, obj_size, arr_size))


def _rep(expr: str, lo: int, hi: int) -> str:
    """``expr`` repeated lo..hi times, written the way llama.cpp parses best."""
    if hi <= 0:
        return ""
    if lo == hi == 1:
        return expr
    if lo == 0 and hi == 1:
        return f"({expr})?"
    return f"({expr}){{{lo},{hi}}}"


# -- numbers ---------------------------------------------------------------------------------


_UNBOUNDED = 1 << 62


def _as_int(value: Any, default: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return default
    return max(0, int(value))


def _int_bounds(schema: Mapping[str, Any]) -> tuple[int, int]:
    lo, hi = -_MAX_SAFE, _MAX_SAFE
    if isinstance(schema.get("minimum"), int | float):
        lo = max(lo, math.ceil(schema["minimum"]))
    if isinstance(schema.get("exclusiveMinimum"), int | float):
        lo = max(lo, math.floor(schema["exclusiveMinimum"]) + 1)
    if isinstance(schema.get("maximum"), int | float):
        hi = min(hi, math.floor(schema["maximum"]))
    if isinstance(schema.get("exclusiveMaximum"), int | float):
        hi = min(hi, math.ceil(schema["exclusiveMaximum"]) - 1)
    return lo, hi


def _float_bounds(schema: Mapping[str, Any]) -> tuple[float, float, bool, bool]:
    lo, hi = float(-_MAX_SAFE), float(_MAX_SAFE)
    lo_open = hi_open = False
    if isinstance(schema.get("minimum"), int | float):
        lo = max(lo, float(schema["minimum"]))
    if isinstance(schema.get("exclusiveMinimum"), int | float):
        v = float(schema["exclusiveMinimum"])
        if v >= lo:
            lo, lo_open = v, True
    if isinstance(schema.get("maximum"), int | float):
        hi = min(hi, float(schema["maximum"]))
    if isinstance(schema.get("exclusiveMaximum"), int | float):
        v = float(schema["exclusiveMaximum"])
        if v <= hi:
            hi, hi_open = v, True
    return lo, hi, lo_open, hi_open


def _int_bytes(lo: int, hi: int) -> int:
    return max(len(str(lo)), len(str(hi)))


def _int_range(lo: int, hi: int) -> str:
    """GBNF matching exactly the decimal integers in [lo, hi] (no leading zeros)."""
    alts: list[str] = []
    if lo < 0:
        neg_hi = -lo
        neg_lo = 1 if hi >= 0 else -hi
        alts.append(f'"-" ({_uint_range(neg_lo, neg_hi)})')
    if hi >= 0:
        alts.append(_uint_range(max(lo, 0), hi))
    return " | ".join(f"({a})" for a in alts) if len(alts) > 1 else alts[0]


def _uint_range(lo: int, hi: int) -> str:
    parts: list[str] = []
    start = lo
    while start <= hi:
        digits = len(str(start))
        end = min(hi, 10**digits - 1)
        parts.extend(_same_length(str(start), str(end)))
        start = end + 1
    return " | ".join(parts)


def _same_length(lo: str, hi: str) -> list[str]:
    """Alternatives matching the digit strings between lo and hi (equal lengths)."""
    if len(lo) == 1:
        return [f"[{lo}-{hi}]" if lo != hi else f'"{lo}"']
    if lo[0] == hi[0]:
        return [f'"{lo[0]}" ({" | ".join(_same_length(lo[1:], hi[1:]))})']
    rest = len(lo) - 1
    out: list[str] = []
    if lo[1:] == "0" * rest:
        first_full = int(lo[0])
    else:
        out.append(f'"{lo[0]}" ({" | ".join(_same_length(lo[1:], "9" * rest))})')
        first_full = int(lo[0]) + 1
    last_full = int(hi[0]) if hi[1:] == "9" * rest else int(hi[0]) - 1
    if first_full <= last_full:
        head = f"[{first_full}-{last_full}]" if first_full != last_full else f'"{first_full}"'
        out.append(f"{head} [0-9]{{{rest}}}")
    if hi[1:] != "9" * rest:
        out.append(f'"{hi[0]}" ({" | ".join(_same_length("0" * rest, hi[1:]))})')
    return out


# -- string formats ----------------------------------------------------------------------------

_DATE = '[0-9]{4} "-" ("0" [1-9] | "1" [0-2]) "-" ("0" [1-9] | [12] [0-9] | "3" [01])'
_TIME = (
    '([01] [0-9] | "2" [0-3]) ":" [0-5] [0-9] ":" [0-5] [0-9] ("." [0-9]{1,6})? '
    '("Z" | [+-] ([01] [0-9] | "2" [0-3]) ":" [0-5] [0-9])'
)
_FORMATS: dict[str, tuple[str, int]] = {
    "date": (_DATE, 10),
    "time": (_TIME, 21),
    "date-time": (f'{_DATE} "T" {_TIME}', 32),
    "uuid": (
        '[0-9a-f]{8} "-" [0-9a-f]{4} "-" [0-9a-f]{4} "-" [0-9a-f]{4} "-" [0-9a-f]{12}',
        36,
    ),
}


def fit_schema_grammar(schema: Any, budget: int | None) -> CompiledGrammar:
    """Compile ``schema`` with the most generous bounds whose longest output fits ``budget``.

    Args:
        schema: the JSON Schema for the whole output.
        budget: the number of tokens left for the output (one more is reserved for the end of
            generation token); ``None`` means no budget, i.e. the first level.

    Returns:
        The compiled grammar. When even the tightest bounds do not fit, the tightest is
        returned: the caller asked for fewer tokens than any valid output needs.

    Raises:
        InvalidRequestError: the schema is invalid or unsatisfiable.
    """
    compiled: CompiledGrammar | None = None
    for level in BOUND_LEVELS:
        builder = GrammarBuilder(schema, level)
        node = builder.value(schema, "root")
        compiled = CompiledGrammar(builder.render(node.expr), node.max_bytes, level)
        if budget is None or node.max_bytes + 1 <= budget:
            return compiled
    assert compiled is not None
    return compiled
