"""Built-in tools: exact arithmetic without eval, time zones with an injected clock, units."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from app.domain.safe_tools import (
    BUILTINS,
    calculator,
    convert_units,
    current_time,
    run_builtin,
)
from app.domain.tools import TEMPLATES, ToolError, check_arguments, check_tools

# -- definitions -----------------------------------------------------------------------------------


def test_every_builtin_has_its_template_as_definition() -> None:
    assert set(BUILTINS) == {"calculator", "get_current_time", "convert_units"}
    for name, builtin in BUILTINS.items():
        assert builtin.tool is TEMPLATES[name]
        assert builtin.tool["function"]["name"] == name
    assert check_tools(json.dumps([b.tool for b in BUILTINS.values()])).error == ""


def test_valid_arguments_of_each_definition_run() -> None:
    samples: dict[str, dict[str, Any]] = {
        "calculator": {"expression": "1 + 2"},
        "get_current_time": {},
        "convert_units": {"value": 1, "from_unit": "km", "to_unit": "m"},
    }
    for name, arguments in samples.items():
        tools = [BUILTINS[name].tool]
        assert check_arguments(tools, name, json.dumps(arguments)).ok
        json.loads(run_builtin(name, arguments))


# -- calculator ------------------------------------------------------------------------------------


def calc(expression: str) -> Any:
    return calculator({"expression": expression})["result"]


@pytest.mark.parametrize(
    ("expression", "result"),
    [
        ("1 + 2", 3),
        ("(17 + 4) * 3 / 2", 31.5),
        ("7 // 2", 3),
        ("-7 // 2", -4),
        ("7 % 3", 1),
        ("-7 % 3", 2),
        ("2 ** 10", 1024),
        ("2 ** -1", 0.5),
        ("2 ** 3 ** 2", 512),
        ("-2 ** 2", -4),
        ("(-2) ** 2", 4),
        ("+-+3", -3),
        ("1.5e3 + 0.5", 1500.5),
        ("1_000 * 3", 3000),
        ("0x10 + 0b11", 19),
        ("  ((((1))))  ", 1),
        ("10 / 4", 2.5),
        ("0.1 + 0.2", 0.30000000000000004),
        ("2 ** 4000 // 2 ** 3999", 2),
    ],
)
def test_arithmetic(expression: str, result: Any) -> None:
    assert calc(expression) == result
    assert type(calc(expression)) is type(result)


def test_big_integers_are_exact() -> None:
    assert calc("2 ** 100") == 1267650600228229401496703205376
    assert calc("3 ** 2000") == 3**2000


def test_result_echoes_the_expression() -> None:
    assert calculator({"expression": "6*7"}) == {"expression": "6*7", "result": 42}


@pytest.mark.parametrize(
    "expression",
    [
        "__import__('os').system('true')",
        "().__class__",
        "().__class__.__bases__[0].__subclasses__()",
        "x",
        "pi",
        "abs(-1)",
        "'a' * 10 ** 9",
        "'a'",
        "lambda: 1",
        "[i for i in range(10)]",
        "{i for i in (1,)}",
        "(i for i in (1,))",
        "[1, 2]",
        "(1, 2)",
        "{1: 2}",
        "1 if 1 else 2",
        "1 < 2",
        "1 and 2",
        "not 1",
        "~1",
        "1 << 4",
        "6 & 3",
        "6 | 3",
        "True + 1",
        "None",
        "1j",
        "...",
        "f'{1}'",
        "b'1'",
        "(y := 2)",
        "x[0]",
        "2 @ 3",
    ],
)
def test_anything_but_arithmetic_is_refused(expression: str) -> None:
    with pytest.raises(ToolError, match=r"^Only numbers, \+ - \* / // % \*\* and parentheses"):
        calc(expression)


def test_refusal_quotes_the_offending_part() -> None:
    with pytest.raises(ToolError, match=r"not 'x'$"):
        calc("1 + x")
    with pytest.raises(ToolError, match=r"not 'abs\(-1\)'$"):
        calc("2 * abs(-1)")


def test_caret_gets_a_hint() -> None:
    with pytest.raises(ToolError, match=r"\^ is not supported; write powers with \*\*"):
        calc("2 ^ 3")


@pytest.mark.parametrize(
    "expression",
    ["9**9**9", "10**100000", "2**4097", "(2**4000) * (2**4000)", "-(2**4096)", "7**10**10"],
)
def test_huge_integers_are_refused_quickly(expression: str) -> None:
    with pytest.raises(ToolError, match=r"The result is too large \(over 4096 bits\)"):
        calc(expression)


@pytest.mark.parametrize(
    "expression", ["2.0 ** 10000", "1e308 * 10", "2 ** 4000 / 3", "(10 ** 400) ** -1", "1e999"]
)
def test_float_overflow_is_refused(expression: str) -> None:
    with pytest.raises(ToolError, match="too large"):
        calc(expression)


def test_powers_of_one_zero_and_minus_one_are_fine() -> None:
    assert calc("1 ** (10 ** 100)") == 1
    assert calc("0 ** (10 ** 100)") == 0
    assert calc("(-1) ** (10 ** 100 + 1)") == -1


@pytest.mark.parametrize("expression", ["1 / 0", "1 // 0", "1 % 0", "5 % 0.0", "0 ** -1"])
def test_division_by_zero(expression: str) -> None:
    with pytest.raises(ToolError, match=r"^Division by zero$"):
        calc(expression)


def test_complex_results_are_refused() -> None:
    with pytest.raises(ToolError, match="not a real number"):
        calc("(-8) ** 0.5")


def test_long_and_deep_input_is_refused() -> None:
    with pytest.raises(ToolError, match="longer than 1000 characters"):
        calc("1+" * 500 + "1")
    with pytest.raises(ToolError, match="too complex: more than 200 operations deep"):
        calc("-" * 500 + "1")
    with pytest.raises(ToolError, match="too complex"):
        calc("1+" * 300 + "1")
    with pytest.raises(ToolError):
        calc("(" * 400 + "1" + ")" * 400)
    assert calc("1+" * 150 + "1") == 151


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({}, "The call has no 'expression' argument"),
        ({"expression": 3}, "'expression' must be a string, not int"),
        ({"expression": "  "}, "The expression is empty"),
        ({"expression": "1 +"}, "The expression is not arithmetic: invalid syntax"),
        ({"expression": "1\0"}, "The expression is not arithmetic"),
    ],
)
def test_bad_calculator_arguments(arguments: dict[str, Any], message: str) -> None:
    with pytest.raises(ToolError, match=f"^{message}"):
        calculator(arguments)


# -- current time ----------------------------------------------------------------------------------


def fixed() -> datetime:
    return datetime(2026, 1, 15, 12, 30, 45, 999, tzinfo=UTC)


def test_time_in_a_zone_with_an_injected_clock() -> None:
    assert current_time({"timezone": "Europe/Paris"}, clock=fixed) == {
        "timezone": "Europe/Paris",
        "datetime": "2026-01-15T13:30:45+01:00",
        "weekday": "Thursday",
        "utc_offset": "+01:00",
    }


def test_summer_time_and_half_hour_zones() -> None:
    summer = current_time(
        {"timezone": "Europe/Paris"}, clock=lambda: datetime(2026, 7, 1, tzinfo=UTC)
    )
    assert summer["utc_offset"] == "+02:00"
    india = current_time({"timezone": "Asia/Kolkata"}, clock=fixed)
    assert india["datetime"] == "2026-01-15T18:00:45+05:30"
    new_york = current_time({"timezone": " America/New_York "}, clock=fixed)
    assert (new_york["timezone"], new_york["utc_offset"]) == ("America/New_York", "-05:00")


def test_utc_when_no_zone_is_given() -> None:
    for arguments in ({}, {"timezone": ""}, {"timezone": "  "}, {"timezone": None}):
        result = current_time(arguments, clock=fixed)
        assert (result["timezone"], result["datetime"]) == ("UTC", "2026-01-15T12:30:45+00:00")


def test_the_real_clock_is_the_default() -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    stamp = datetime.fromisoformat(current_time({})["datetime"])
    assert before <= stamp <= datetime.now(UTC)


@pytest.mark.parametrize(
    "zone", ["Mars/Olympus_Mons", "../../etc/passwd", "/etc/passwd", "Europe/", "x" * 500, "a\0b"]
)
def test_unknown_zones_are_clear_errors(zone: str) -> None:
    with pytest.raises(ToolError, match=r"^Unknown time zone .*; use an IANA name"):
        current_time({"timezone": zone}, clock=fixed)


def test_zone_must_be_a_string() -> None:
    with pytest.raises(ToolError, match="'timezone' must be a string, not 5"):
        current_time({"timezone": 5}, clock=fixed)


# -- unit conversion -------------------------------------------------------------------------------


def convert(value: Any, source: str, target: str) -> Any:
    return convert_units({"value": value, "from_unit": source, "to_unit": target})["result"]


@pytest.mark.parametrize(
    ("value", "source", "target", "result"),
    [
        (1, "km", "m", 1000),
        (1, "mi", "km", 1.609344),
        (12, "in", "ft", 1),
        (1, "nmi", "m", 1852),
        (1, "kg", "lb", 2.20462262185),
        (16, "oz", "lb", 1),
        (1, "gal", "l", 3.785411784),
        (3, "tsp", "tbsp", 1),
        (100, "km/h", "m/s", 27.7777777778),
        (60, "mph", "km/h", 96.56064),
        (1, "kn", "km/h", 1.852),
        (1, "GiB", "MB", 1073.741824),
        (8, "bit", "B", 1),
        (1, "TB", "GB", 1000),
        (100, "c", "f", 212),
        (32, "f", "c", 0),
        (0, "k", "c", -273.15),
        (-40, "f", "c", -40),
        (20.5, "c", "k", 293.65),
        (1, "m", "m", 1),
        (0.1, "m", "cm", 10),
    ],
)
def test_conversions(value: float, source: str, target: str, result: float) -> None:
    assert convert(value, source, target) == result


def test_units_by_name_and_any_case() -> None:
    result = convert_units({"value": 2, "from_unit": "Miles", "to_unit": "KILOMETRES"})
    assert result == {"value": 2, "from_unit": "mi", "to_unit": "km", "result": 3.218688}
    assert convert(1, "Celsius", "°F") == 33.8
    assert convert(1, "kib", "bytes") == 1024
    assert convert(1, "MB", "kb") == 1000


def test_rounding_hides_float_noise_and_keeps_integers_integral() -> None:
    assert convert(0.3, "m", "mm") == 300
    assert type(convert(1, "km", "m")) is int
    assert convert(1e20, "m", "mm") == 1e23


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"value": 1, "from_unit": "km", "to_unit": "kg"}, r"Cannot convert length \(km\) to mass"),
        ({"value": 1, "from_unit": "c", "to_unit": "m"}, r"Cannot convert temperature \(c\)"),
        (
            {"value": 1, "from_unit": "parsec", "to_unit": "m"},
            "Unknown unit 'parsec' in 'from_unit'",
        ),
        ({"value": 1, "from_unit": "m", "to_unit": ""}, "Unknown unit '' in 'to_unit'"),
        ({"value": 1, "to_unit": "m"}, "The call has no 'from_unit' argument"),
        ({"value": 1, "from_unit": 3, "to_unit": "m"}, "'from_unit' must be a string"),
        ({"value": "1", "from_unit": "m", "to_unit": "km"}, "'value' must be a finite number"),
        ({"value": True, "from_unit": "m", "to_unit": "km"}, "'value' must be a finite number"),
        ({"from_unit": "m", "to_unit": "km"}, "'value' must be a finite number, not None"),
        ({"value": -300, "from_unit": "c", "to_unit": "k"}, "-300 C is below absolute zero"),
        ({"value": -1, "from_unit": "k", "to_unit": "c"}, "-1 K is below absolute zero"),
        ({"value": 1e308, "from_unit": "km", "to_unit": "mm"}, "The result is too large"),
        ({"value": 10**400, "from_unit": "km", "to_unit": "m"}, "'value' is too large"),
    ],
)
def test_conversion_errors(arguments: dict[str, Any], message: str) -> None:
    with pytest.raises(ToolError, match=message):
        convert_units(arguments)


# -- run_builtin -----------------------------------------------------------------------------------


def test_run_builtin_returns_json_text() -> None:
    assert run_builtin("calculator", {"expression": "6*7"}) == '{"expression": "6*7", "result": 42}'
    converted = json.loads(
        run_builtin("convert_units", {"value": 5, "from_unit": "c", "to_unit": "f"})
    )
    assert converted["result"] == 41
    assert json.loads(run_builtin("get_current_time", {"timezone": "Asia/Tokyo"}))[
        "utc_offset"
    ] == ("+09:00")


def test_run_builtin_errors() -> None:
    with pytest.raises(ToolError, match="'get_weather' is not a built-in tool"):
        run_builtin("get_weather", {"city": "Paris"})
    with pytest.raises(ToolError, match="The arguments must be a JSON object, not list"):
        run_builtin("calculator", [1])  # type: ignore[arg-type]
    with pytest.raises(ToolError, match="Division by zero"):
        run_builtin("calculator", {"expression": "1/0"})
