"""Built-in tools that answer calls for real, safely: a calculator, the time, unit conversion.

With "auto run" the tools tab answers calls without stopping; a mock gives canned answers, these
give true ones, so a demo of a multi-step loop ("how many minutes until 5 pm in Tokyo?") works
out of the box. Each tool is a pure function from the call's parsed arguments to a JSON value,
with its definition taken from :data:`app.domain.tools.TEMPLATES`, so the definition a user
inserts and the one the function honours are the same.

They run on arguments a model wrote, so none of them evaluates anything: the calculator walks
the expression's syntax tree and accepts only numbers and arithmetic operators, with bounds on
the input's length and nesting and on the size of every intermediate number, so ``9**9**9``
fails at once instead of running for hours. Every failure is a :class:`ToolError` whose message
can be shown to the user or sent back to the model as the tool's result.

Example:
    >>> run_builtin("calculator", {"expression": "(17 + 4) * 3 / 2"})
    '{"expression": "(17 + 4) * 3 / 2", "result": 31.5}'
"""

from __future__ import annotations

import ast
import json
import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from app.domain.tools import TEMPLATES, ToolError

__all__ = [
    "BUILTINS",
    "Builtin",
    "calculator",
    "convert_units",
    "current_time",
    "run_builtin",
]

JSONValue = Any
Arguments = Mapping[str, Any]

# -- calculator ------------------------------------------------------------------------------------

_MAX_EXPRESSION = 1000
_MAX_DEPTH = 200
# Integers stay exact up to this size (about 1,200 digits); a power is refused before it is
# computed when its result would certainly be larger.
_MAX_INT_BITS = 4096
_ALLOWED = "numbers, + - * / // % ** and parentheses"

_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {
    ast.UAdd: operator.pos,
    ast.USub: operator.neg,
}


def calculator(arguments: Arguments) -> JSONValue:
    """``{"expression": ..., "result": ...}`` for ``arguments["expression"]``.

    Integers are exact (``2**100`` is every digit of it); ``/`` gives a float, ``//`` and ``%``
    follow Python. Names (``pi``, ``x``), calls, attributes, strings, comparisons and anything
    else are refused, as are an input over 1,000 characters, operations nested over 200 deep,
    integers over 4,096 bits, results too large for a float, division by zero and complex results.

    Raises:
        ToolError: the expression is missing, not arithmetic, or cannot be evaluated.
    """
    expression = _text_argument(arguments, "expression")
    if len(expression) > _MAX_EXPRESSION:
        raise ToolError(f"The expression is longer than {_MAX_EXPRESSION} characters")
    if not expression.strip():
        raise ToolError("The expression is empty")
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError as exc:
        raise ToolError(f"The expression is not arithmetic: {exc.msg}") from None
    except (ValueError, RecursionError, MemoryError):
        raise ToolError("The expression is not arithmetic or is nested too deeply") from None
    for node in ast.walk(tree.body):  # iterative: refuses before any recursion
        _check_node(node, expression)
    return {"expression": expression, "result": _evaluate(tree.body, 0)}


def _check_node(node: ast.AST, expression: str) -> None:
    """Refuse ``node`` unless it is a number or an allowed operation (operators go with it)."""
    if isinstance(node, ast.BinOp):
        if isinstance(node.op, ast.BitXor):
            raise ToolError("^ is not supported; write powers with **")
        allowed = type(node.op) in _BINARY
    elif isinstance(node, ast.UnaryOp):
        allowed = type(node.op) in _UNARY
    elif isinstance(node, ast.Constant):
        value = node.value
        allowed = isinstance(value, int | float) and not isinstance(value, bool)
        if isinstance(value, float) and not math.isfinite(value):
            raise ToolError(f"{_segment(node, expression)} is too large")
    else:
        allowed = isinstance(node, ast.operator | ast.unaryop | ast.expr_context)
    if not allowed:
        raise ToolError(f"Only {_ALLOWED} are allowed, not {_segment(node, expression)!r}")


def _segment(node: ast.AST, expression: str) -> str:
    text = ast.get_source_segment(expression.strip(), node) or type(node).__name__
    return text if len(text) <= 40 else text[:37] + "..."


def _evaluate(node: ast.expr, depth: int) -> int | float:
    if depth > _MAX_DEPTH:
        raise ToolError(f"The expression is too complex: more than {_MAX_DEPTH} operations deep")
    # Anything but numbers, BinOp and UnaryOp was refused by _check_node; the checks below
    # only keep the types exact.
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return _bounded(node.value)
    if isinstance(node, ast.UnaryOp):
        return _bounded(_UNARY[type(node.op)](_evaluate(node.operand, depth + 1)))
    if not isinstance(node, ast.BinOp):
        raise ToolError(f"Only {_ALLOWED} are allowed")
    left = _evaluate(node.left, depth + 1)
    right = _evaluate(node.right, depth + 1)
    if isinstance(node.op, ast.Pow):
        _check_power(left, right)
    try:
        result = _BINARY[type(node.op)](left, right)
    except ZeroDivisionError:
        raise ToolError("Division by zero") from None
    except OverflowError:
        raise ToolError("The result is too large") from None
    if isinstance(result, complex):
        raise ToolError("The result is not a real number")
    return _bounded(result)


def _check_power(base: int | float, exponent: int | float) -> None:
    """Refuse an integer power whose result is certainly over the size limit, before computing."""
    if (
        isinstance(base, int)
        and isinstance(exponent, int)
        and exponent > 0
        and (abs(base).bit_length() - 1) * exponent > _MAX_INT_BITS
    ):
        raise ToolError(f"The result is too large (over {_MAX_INT_BITS} bits)")


def _bounded(value: int | float) -> int | float:
    if isinstance(value, int) and value.bit_length() > _MAX_INT_BITS:
        raise ToolError(f"The result is too large (over {_MAX_INT_BITS} bits)")
    if isinstance(value, float) and not math.isfinite(value):
        raise ToolError("The result is too large")
    return value


# -- current time ----------------------------------------------------------------------------------

_DEFAULT_ZONE = "UTC"
_MAX_ZONE_NAME = 100


def _utc_now() -> datetime:
    return datetime.now(UTC)


def current_time(arguments: Arguments, *, clock: Callable[[], datetime] = _utc_now) -> JSONValue:
    """The date and time now in ``arguments["timezone"]`` (an IANA name; UTC when left out).

    Args:
        arguments: The call's arguments.
        clock: Returns the current time as an aware datetime; tests pass a fixed one.

    Returns:
        ``{"timezone", "datetime" (ISO 8601 to the second), "weekday", "utc_offset"}``.

    Raises:
        ToolError: the time zone is not a string or not a known IANA zone.
    """
    zone_name = arguments.get("timezone") or _DEFAULT_ZONE
    if not isinstance(zone_name, str):
        raise ToolError(f"'timezone' must be a string, not {zone_name!r}")
    zone_name = zone_name.strip() or _DEFAULT_ZONE
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError  # on first use: not needed at start-up

    try:
        if len(zone_name) > _MAX_ZONE_NAME:
            raise ValueError(zone_name)
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        shown = zone_name if len(zone_name) <= 40 else zone_name[:37] + "..."
        raise ToolError(
            f"Unknown time zone {shown!r}; use an IANA name such as Europe/Paris"
        ) from None
    now = clock().astimezone(zone).replace(microsecond=0)
    stamp = now.isoformat()
    return {
        "timezone": zone_name,
        "datetime": stamp,
        "weekday": now.strftime("%A"),
        "utc_offset": stamp[len("YYYY-MM-DDTHH:MM:SS") :],
    }


# -- unit conversion -------------------------------------------------------------------------------

# Each kind's units with their size in the kind's base unit (m, kg, l, m/s, byte). US customary
# volumes; data sizes are bytes ("kB" = 1000 bytes, "KiB" = 1024) unless spelt "bit".
_LINEAR: dict[str, dict[str, float]] = {
    "length": {
        "mm": 0.001,
        "cm": 0.01,
        "m": 1.0,
        "km": 1000.0,
        "in": 0.0254,
        "ft": 0.3048,
        "yd": 0.9144,
        "mi": 1609.344,
        "nmi": 1852.0,
    },
    "mass": {
        "mg": 1e-6,
        "g": 0.001,
        "kg": 1.0,
        "t": 1000.0,
        "oz": 0.028349523125,
        "lb": 0.45359237,
        "st": 6.35029318,
    },
    "volume": {
        "ml": 0.001,
        "l": 1.0,
        "m3": 1000.0,
        "tsp": 0.00492892159375,
        "tbsp": 0.01478676478125,
        "fl_oz": 0.0295735295625,
        "cup": 0.2365882365,
        "pt": 0.473176473,
        "qt": 0.946352946,
        "gal": 3.785411784,
    },
    "speed": {
        "m/s": 1.0,
        "km/h": 1 / 3.6,
        "mph": 0.44704,
        "kn": 1852 / 3600,
        "ft/s": 0.3048,
    },
    "data size": {
        "bit": 0.125,
        "B": 1.0,
        "kB": 1e3,
        "MB": 1e6,
        "GB": 1e9,
        "TB": 1e12,
        "KiB": 1024.0,
        "MiB": 1024.0**2,
        "GiB": 1024.0**3,
        "TiB": 1024.0**4,
    },
}
_TEMPERATURES = ("c", "f", "k")
_ABSOLUTE_ZERO_K = 0.0
_CELSIUS_ZERO_K = 273.15
_ALIASES = {
    **{alias: "m" for alias in ("meter", "meters", "metre", "metres")},
    **{alias: "km" for alias in ("kilometer", "kilometers", "kilometre", "kilometres")},
    **{alias: "cm" for alias in ("centimeter", "centimeters", "centimetre", "centimetres")},
    **{alias: "mm" for alias in ("millimeter", "millimeters", "millimetre", "millimetres")},
    **{alias: "in" for alias in ("inch", "inches")},
    **{alias: "ft" for alias in ("foot", "feet")},
    **{alias: "yd" for alias in ("yard", "yards")},
    **{alias: "mi" for alias in ("mile", "miles")},
    **{alias: "g" for alias in ("gram", "grams")},
    **{alias: "kg" for alias in ("kilogram", "kilograms", "kilo", "kilos")},
    **{alias: "lb" for alias in ("pound", "pounds", "lbs")},
    **{alias: "oz" for alias in ("ounce", "ounces")},
    **{alias: "l" for alias in ("liter", "liters", "litre", "litres")},
    **{alias: "ml" for alias in ("milliliter", "milliliters", "millilitre", "millilitres")},
    **{alias: "gal" for alias in ("gallon", "gallons")},
    "m³": "m3",
    "kph": "km/h",
    **{alias: "kn" for alias in ("knot", "knots")},
    **{alias: "B" for alias in ("byte", "bytes")},
    "bits": "bit",
    **{alias: "c" for alias in ("celsius", "°c")},
    **{alias: "f" for alias in ("fahrenheit", "°f")},
    "kelvin": "k",
}
_SIGNIFICANT_DIGITS = 12
_MAX_EXACT_INT = 1e15


def _unit_names() -> dict[str, tuple[str, str]]:
    """Lower-case spelling -> (kind, canonical unit)."""
    names = {unit.lower(): (kind, unit) for kind, units in _LINEAR.items() for unit in units}
    names.update({unit: ("temperature", unit) for unit in _TEMPERATURES})
    for alias, unit in _ALIASES.items():
        names[alias] = names[unit.lower()]
    return names


_UNITS = _unit_names()


def convert_units(arguments: Arguments) -> JSONValue:
    """``arguments["value"]`` converted from ``from_unit`` to ``to_unit``.

    Length, mass, volume (US customary), speed, temperature (``c``, ``f``, ``k``) and data sizes;
    units are matched without regard to case, and common names (``miles``, ``celsius``) work.
    The result is rounded to 12 significant digits, so ``0.1 + 0.2``-style noise does not show.

    Returns:
        ``{"value", "from_unit", "to_unit", "result"}`` with the canonical unit symbols.

    Raises:
        ToolError: a unit is unknown, the units measure different things, the value is not a
            finite number, a temperature is below absolute zero, or the result is too large.
    """
    value = arguments.get("value")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ToolError(f"'value' must be a finite number, not {value!r}")
    try:
        number = float(value)
    except OverflowError:
        raise ToolError("'value' is too large") from None
    if not math.isfinite(number):
        raise ToolError(f"'value' must be a finite number, not {value!r}")
    source_kind, source = _unit(arguments, "from_unit")
    target_kind, target = _unit(arguments, "to_unit")
    if source_kind != target_kind:
        raise ToolError(f"Cannot convert {source_kind} ({source}) to {target_kind} ({target})")
    if source_kind == "temperature":
        result = _from_kelvin(_to_kelvin(number, source), target)
    else:
        result = number * _LINEAR[source_kind][source] / _LINEAR[source_kind][target]
    if not math.isfinite(result):
        raise ToolError("The result is too large")
    return {"value": value, "from_unit": source, "to_unit": target, "result": _rounded(result)}


def _unit(arguments: Arguments, key: str) -> tuple[str, str]:
    name = _text_argument(arguments, key)
    found = _UNITS.get(name.strip().lower())
    if found is None:
        shown = name if len(name) <= 40 else name[:37] + "..."
        raise ToolError(f"Unknown unit {shown!r} in {key!r}")
    return found


def _to_kelvin(value: float, unit: str) -> float:
    if unit == "c":
        kelvin = value + _CELSIUS_ZERO_K
    elif unit == "f":
        kelvin = (value - 32) * 5 / 9 + _CELSIUS_ZERO_K
    else:
        kelvin = value
    if kelvin < _ABSOLUTE_ZERO_K:
        raise ToolError(f"{value:g} {unit.upper()} is below absolute zero")
    return kelvin


def _from_kelvin(kelvin: float, unit: str) -> float:
    if unit == "c":
        return kelvin - _CELSIUS_ZERO_K
    if unit == "f":
        return (kelvin - _CELSIUS_ZERO_K) * 9 / 5 + 32
    return kelvin


def _rounded(value: float) -> int | float:
    rounded = float(f"{value:.{_SIGNIFICANT_DIGITS}g}")
    if rounded.is_integer() and abs(rounded) < _MAX_EXACT_INT:
        return int(rounded)
    return rounded


# -- shared ----------------------------------------------------------------------------------------


def _text_argument(arguments: Arguments, key: str) -> str:
    value = arguments.get(key)
    if not isinstance(value, str):
        if key not in arguments:
            raise ToolError(f"The call has no {key!r} argument")
        raise ToolError(f"{key!r} must be a string, not {type(value).__name__}")
    return value


@dataclass(frozen=True, slots=True)
class Builtin:
    """A built-in tool: its definition (one tool object) and the function that answers it."""

    tool: dict[str, Any]
    function: Callable[[Arguments], JSONValue]


BUILTINS: dict[str, Builtin] = {
    "calculator": Builtin(TEMPLATES["calculator"], calculator),
    "get_current_time": Builtin(TEMPLATES["get_current_time"], current_time),
    "convert_units": Builtin(TEMPLATES["convert_units"], convert_units),
}
"""The built-in tools by tool name."""


def run_builtin(name: str, arguments: Arguments) -> str:
    """Answer a call to built-in tool ``name``: the result as JSON text, for a tool message.

    Raises:
        ToolError: ``name`` is not a built-in tool, the arguments are not an object, or the tool
            refused them.
    """
    builtin = BUILTINS.get(name)
    if builtin is None:
        raise ToolError(f"{name!r} is not a built-in tool (built-ins: {', '.join(BUILTINS)})")
    if not isinstance(arguments, Mapping):
        raise ToolError(f"The arguments must be a JSON object, not {type(arguments).__name__}")
    return json.dumps(builtin.function(arguments), ensure_ascii=False)
