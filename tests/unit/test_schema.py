"""Structured output: schema checks, response_format bodies, validation labels and comparisons."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from app.domain.schema import (
    MISSING,
    MODES,
    PYDANTIC_SAMPLES,
    SAMPLES,
    FieldAgreement,
    check_schema,
    default_mode,
    field_agreement,
    infer_schema,
    json_pointer,
    provider_problems,
    repeat_stats,
    response_format,
    schema_name,
    strict_adjusted,
    validate_output,
)

WEATHER = json.loads(SAMPLES["weather"])
GOOD_WEATHER = '{"location": "Paris", "temperature": 21.5, "condition": "sunny", "humidity": 40}'


# -- samples ---------------------------------------------------------------------------------------


def test_samples_are_valid_schemas_without_warnings() -> None:
    assert list(SAMPLES)[:1] == ["weather"]
    assert {"weather", "person", "sentiment", "event"} <= set(SAMPLES)
    for name, text in SAMPLES.items():
        check = check_schema(text)
        assert (name, check.error, check.warnings) == (name, "", [])
        assert provider_problems(check.schema, "json_schema", "openai") == []
    assert "class WeatherInfo(BaseModel)" in PYDANTIC_SAMPLES["weather"]


def test_weather_sample_is_the_weather_info_model() -> None:
    assert WEATHER["title"] == "WeatherInfo"
    assert WEATHER["required"] == ["location", "temperature", "condition", "humidity"]
    assert WEATHER["properties"]["humidity"] == {
        "title": "Humidity",
        "type": "integer",
        "minimum": 0,
        "maximum": 100,
    }
    assert [WEATHER["properties"][p]["type"] for p in ("location", "temperature", "condition")] == [
        "string",
        "number",
        "string",
    ]


# -- check_schema ----------------------------------------------------------------------------------


def test_json_syntax_errors_give_line_and_column() -> None:
    check = check_schema('{\n  "type": "object",\n  "properties": {}\n  "required": []\n}')
    assert check.schema is None
    assert check.error == "Line 4, column 3: Expecting ',' delimiter"
    assert check.line == 4


def test_meta_schema_errors_give_the_pointer_and_the_line() -> None:
    text = '{\n  "type": "object",\n  "properties": {\n    "temp": {"type": "strin"}\n  }\n}'
    check = check_schema(text)
    assert check.schema is None
    assert check.error == (
        "/properties/temp/type: 'strin' is not valid under any of the given schemas (line 4)"
    )
    assert check.line == 4


def test_an_invalid_regex_is_a_schema_error() -> None:
    text = '{"properties": {\n"pattern": {"type": "string",\n "pattern": "["}}}'
    assert check_schema(text).error == "/properties/pattern/pattern: '[' is not a 'regex' (line 3)"


def test_unresolvable_local_refs_are_errors() -> None:
    text = '{"type": "object",\n "properties": {"a": {"$ref": "#/$defs/Missing"}}}'
    check = check_schema(text)
    assert (
        check.error
        == "/properties/a/$ref: cannot resolve '#/$defs/Missing' in this schema (line 2)"
    )


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("", "The schema is empty"),
        ("  \n", "The schema is empty"),
        ("[1]", "The schema must be a JSON object"),
    ],
)
def test_empty_or_non_object_text(text: str, error: str) -> None:
    assert check_schema(text).error == error


def test_warnings_for_valid_but_doubtful_schemas() -> None:
    schema = {
        "type": "string",
        "requried": ["a"],
        "properties": {"a": {"type": "integer", "nullable": True}},
        "required": ["b"],
        "$defs": {"X": {"$ref": "https://example.com/x.json"}},
    }
    check = check_schema(json.dumps(schema))
    assert check.error == ""
    assert check.schema == schema
    assert check.warnings == [
        "/: the root is not an object schema; OpenAI's json_schema mode and most providers' JSON "
        "modes need an object at the top level",
        "/requried: unknown keyword 'requried' is ignored",
        "/required: 'b' is required but not listed in 'properties'",
        "/properties/a/nullable: 'nullable' is OpenAPI, not JSON Schema; "
        'use "anyOf": [..., {"type": "null"}]',
        "/$defs/X/$ref: remote reference 'https://example.com/x.json' is not fetched",
    ]


def test_a_root_ref_to_an_object_is_an_object_root() -> None:
    schema = {"$defs": {"Node": {"type": "object", "properties": {}}}, "$ref": "#/$defs/Node"}
    assert check_schema(json.dumps(schema)).warnings == []


def test_keywords_named_like_properties_are_not_keywords() -> None:
    schema = {"type": "object", "properties": {"pattern": {"type": "string"}, "color": {}}}
    assert check_schema(json.dumps(schema)).warnings == []
    assert provider_problems(schema, "json_schema", "fireworks") == []


# -- response_format -------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", ["openai", "fireworks", "local", "together", ""])
def test_default_mode_is_json_schema(provider: str) -> None:
    assert default_mode(provider) == "json_schema"
    assert default_mode(provider) in MODES


def test_response_format_bodies() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}
    assert response_format("json_schema", schema) == {
        "type": "json_schema",
        "json_schema": {"name": "Result", "schema": schema, "strict": True},
    }
    assert response_format("json_schema", WEATHER, strict=False)["json_schema"] == {
        "name": "WeatherInfo",
        "schema": WEATHER,
        "strict": False,
    }
    assert response_format("json_schema", WEATHER, name="my weather")["json_schema"]["name"] == (
        "my_weather"
    )
    assert response_format("json_object_schema", schema) == {
        "type": "json_object",
        "schema": schema,
    }
    assert response_format("json_object", schema) == {"type": "json_object"}
    assert response_format("json_object", None) == {"type": "json_object"}
    assert response_format("grammar", None, grammar='root ::= ("yes" | "no")') == {
        "type": "grammar",
        "grammar": 'root ::= ("yes" | "no")',
    }


@pytest.mark.parametrize(
    ("mode", "schema", "grammar", "message"),
    [
        ("json_schema", None, "", "json_schema mode needs a schema"),
        ("json_object_schema", None, "", "json_object_schema mode needs a schema"),
        ("grammar", None, "  ", "Grammar mode needs a grammar"),
    ],
)
def test_response_format_refuses_missing_parts(
    mode: Any, schema: dict[str, Any] | None, grammar: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        response_format(mode, schema, grammar=grammar)


@pytest.mark.parametrize(
    ("title", "name"),
    [
        ("WeatherInfo", "WeatherInfo"),
        ("Weather info (v2)!", "Weather_info_v2"),
        ("Météo", "M_t_o"),
        ("!!!", "Result"),
        ("x" * 80, "x" * 64),
        (42, "Result"),
    ],
)
def test_schema_name_is_sanitised(title: Any, name: str) -> None:
    assert schema_name({"title": title}) == name


@given(st.text())
def test_schema_name_always_matches_the_openai_pattern(title: str) -> None:
    import re

    assert re.fullmatch(r"[A-Za-z0-9_-]{1,64}", schema_name({"title": title}))


# -- provider_problems -----------------------------------------------------------------------------

FIREWORKS_HOSTILE = {
    "type": "object",
    "properties": {
        "code": {"type": "string", "pattern": "^[A-Z]+$", "minLength": 2, "maxLength": 5},
        "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 3},
        "shape": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
    },
    "$defs": {"Deep": {"type": "object", "properties": {"p": {"pattern": "x"}}}},
}


def test_fireworks_unsupported_keywords_with_pointers() -> None:
    assert provider_problems(FIREWORKS_HOSTILE, "json_schema", "fireworks") == [
        "/properties/code/minLength: Fireworks does not support 'minLength'",
        "/properties/code/maxLength: Fireworks does not support 'maxLength'",
        "/properties/code/pattern: Fireworks does not support 'pattern'",
        "/properties/tags/minItems: Fireworks does not support 'minItems'",
        "/properties/tags/maxItems: Fireworks does not support 'maxItems'",
        "/properties/shape/oneOf: Fireworks does not support 'oneOf'",
        "/$defs/Deep/properties/p/pattern: Fireworks does not support 'pattern'",
    ]
    assert provider_problems(FIREWORKS_HOSTILE, "json_schema", "local") == []


def test_openai_strict_mode_needs_required_and_closed_objects() -> None:
    schema = {
        "type": "object",
        "properties": {
            "a": {"type": "string"},
            "b": {"type": "object", "properties": {"c": {"type": "integer"}}, "required": ["c"]},
        },
        "required": ["a"],
        "additionalProperties": False,
    }
    assert provider_problems(schema, "json_schema", "openai") == [
        "/: OpenAI strict mode needs every property in 'required' (missing: b)",
        '/properties/b: OpenAI strict mode needs "additionalProperties": false',
    ]
    assert provider_problems(schema, "json_schema", "openai", strict=False) == []
    assert provider_problems(strict_adjusted(schema), "json_schema", "openai") == []
    assert provider_problems({"type": "array"}, "json_schema", "openai") == [
        "/: OpenAI strict mode needs an object at the root"
    ]


def test_json_object_modes_remind_that_the_prompt_must_ask_for_json() -> None:
    reminder = provider_problems(None, "json_object", "fireworks")
    assert len(reminder) == 1 and reminder[0].startswith("The prompt must ask for JSON")
    assert provider_problems(None, "json_object", "fireworks", prompt="Answer in JSON.") == []
    assert provider_problems(WEATHER, "json_object_schema", "local", prompt="Give JSON") == []
    assert provider_problems(WEATHER, "json_object_schema", "openai", prompt="json") == [
        "OpenAI ignores a schema in json_object mode; use json_schema"
    ]
    assert provider_problems(None, "json_object_schema", "local", prompt="json") == [
        "json_object_schema mode needs a schema"
    ]


def test_grammar_mode_problems() -> None:
    assert provider_problems(None, "grammar", "fireworks") == ["Grammar mode needs a grammar"]
    assert provider_problems(None, "grammar", "fireworks", grammar="root ::= x") == []
    assert provider_problems(None, "grammar", "openai", grammar="root ::= x") == [
        "OpenAI does not accept grammar response formats"
    ]


def test_strict_adjusted_closes_every_object_and_keeps_the_original() -> None:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {
            "a": {"type": "string", "default": None},
            "list": {"type": "array", "items": {"type": "object", "properties": {"x": {}}}},
            "either": {"anyOf": [{"$ref": "#/$defs/D"}, {"type": "null"}]},
        },
        "$defs": {"D": {"type": "object", "properties": {"y": {}, "z": {}}, "required": ["z"]}},
    }
    original = json.loads(json.dumps(schema))
    adjusted = strict_adjusted(schema)
    assert schema == original
    assert adjusted == {
        "type": "object",
        "properties": {
            "a": {"type": "string"},
            "list": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"x": {}},
                    "required": ["x"],
                    "additionalProperties": False,
                },
            },
            "either": {"anyOf": [{"$ref": "#/$defs/D"}, {"type": "null"}]},
        },
        "$defs": {
            "D": {
                "type": "object",
                "properties": {"y": {}, "z": {}},
                "required": ["y", "z"],
                "additionalProperties": False,
            }
        },
        "required": ["a", "list", "either"],
        "additionalProperties": False,
    }


# -- validate_output -------------------------------------------------------------------------------


def test_valid_output() -> None:
    result = validate_output(GOOD_WEATHER, WEATHER, "stop")
    assert (result.label, result.ok, result.is_json, result.pointer) == ("Valid", True, True, None)
    assert result.value == json.loads(GOOD_WEATHER)
    assert result.pretty == json.dumps(json.loads(GOOD_WEATHER), indent=2)
    assert result.error_span is None


def test_missing_property_is_reported_at_the_root_and_highlights_the_object() -> None:
    text = '{"location": "Paris", "temperature": 21.5, "condition": "sunny"}'
    result = validate_output(text, WEATHER, "stop")
    assert result.label == "Invalid: /: 'humidity' is a required property"
    assert (result.ok, result.is_json, result.pointer) == (False, True, "/")
    assert result.error_span == (0, len(result.pretty))


def test_wrong_value_is_reported_at_its_pointer_and_highlighted() -> None:
    text = '{"location": "Paris", "temperature": "hot", "condition": "sunny", "humidity": 140}'
    result = validate_output(text, WEATHER, None)
    assert result.label == "Invalid: /temperature: 'hot' is not of type 'number'"
    assert result.pointer == "/temperature"
    assert result.error_span is not None
    assert result.pretty[slice(*result.error_span)] == '"hot"'


def test_nested_pointer_and_enum_message() -> None:
    person = json.loads(SAMPLES["person"])
    value = {
        "name": "Ada",
        "age": 36,
        "role": "engineer",
        "address": {"street": "1 Main St", "city": "London", "country": "UK"},
        "skills": [{"name": "math", "years": 20}, {"name": "poetry", "years": "many"}],
    }
    result = validate_output(json.dumps(value), person, "stop")
    assert result.label == "Invalid: /skills/1/years: 'many' is not of type 'integer'"
    assert result.error_span is not None
    assert result.pretty[slice(*result.error_span)] == '"many"'
    value["role"] = "wizard"
    value["skills"] = []
    assert validate_output(json.dumps(value), person, "stop").label == (
        "Invalid: /role: 'wizard' is not one of ['engineer', 'designer', 'manager', 'other']"
    )


def test_formats_are_checked() -> None:
    event = json.loads(SAMPLES["event"])
    good = {"name": "Launch", "date": "2026-03-01", "location": None}
    assert validate_output(json.dumps(good), event, "stop").label == "Valid"
    bad = {**good, "date": "next Tuesday"}
    assert validate_output(json.dumps(bad), event, "stop").label == (
        "Invalid: /date: 'next Tuesday' is not a 'date'"
    )


@pytest.mark.parametrize(
    "text",
    [
        f"<think>The user wants weather.</think>\n{GOOD_WEATHER}",
        f"```json\n{GOOD_WEATHER}\n```",
        f"  <think>\nhmm {{ }}\n</think>\n\n```json\n{GOOD_WEATHER}\n```\n",
        f"```\n{GOOD_WEATHER}```",
        f"\n\n  {GOOD_WEATHER}  \n",
    ],
)
def test_think_blocks_fences_and_whitespace_are_stripped(text: str) -> None:
    result = validate_output(text, WEATHER, "stop")
    assert result.label == "Valid"
    assert result.value == json.loads(GOOD_WEATHER)


@pytest.mark.parametrize(
    ("text", "finish", "label"),
    [
        ('{"location": "Par', "length", "Not JSON (truncated at max_tokens)"),
        ('{"location": "Par', "stop", "Not JSON"),
        ("Sure! Here it is: {}", None, "Not JSON"),
        ("<think>never ends", "length", "Not JSON (truncated at max_tokens)"),
        ("", "stop", "Not JSON"),
        ("{} {}", "stop", "Not JSON"),
    ],
)
def test_not_json(text: str, finish: str | None, label: str) -> None:
    result = validate_output(text, WEATHER, finish)
    assert (result.label, result.ok, result.is_json, result.value) == (label, False, False, None)
    assert result.pretty == text
    assert result.pointer is None and result.error_span is None


def test_without_a_schema_any_json_is_valid() -> None:
    assert validate_output("[1, 2]", None, "stop").label == "Valid"
    assert validate_output("null", None, "stop").is_json
    assert validate_output("nope", None, "stop").label == "Not JSON"


def test_pretty_keeps_non_ascii_text() -> None:
    assert (
        validate_output('{"city": "Z\\u00fcrich"}', None, None).pretty == '{\n  "city": "Zürich"\n}'
    )


def test_json_pointer_escapes() -> None:
    assert json_pointer([]) == "/"
    assert json_pointer(["a/b", "c~d", 0]) == "/a~1b/c~0d/0"
    result = validate_output('{"a/b": 1}', {"properties": {"a/b": {"type": "string"}}}, None)
    assert result.label == "Invalid: /a~1b: 1 is not of type 'string'"
    assert result.error_span is not None
    assert result.pretty[slice(*result.error_span)] == "1"


# -- infer_schema ----------------------------------------------------------------------------------


def test_infer_schema_from_an_example() -> None:
    example = {
        "name": "Ada",
        "age": 36,
        "height": 1.7,
        "member": True,
        "nickname": None,
        "tags": ["a", "b"],
        "scores": [1, 2.5],
        "mixed": [1, "x", None],
        "things": [{"id": 1, "label": "one"}, {"id": 2}, None],
        "empty": [],
        "grid": [[1], [2, 3]],
    }
    assert infer_schema(json.dumps(example)) == {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "age": {"type": "integer"},
            "height": {"type": "number"},
            "member": {"type": "boolean"},
            "nickname": {"type": "null"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "scores": {"type": "array", "items": {"type": "number"}},
            "mixed": {"type": "array", "items": {"type": ["integer", "string", "null"]}},
            "things": {
                "type": "array",
                "items": {
                    "anyOf": [
                        {
                            "type": "object",
                            "properties": {"id": {"type": "integer"}, "label": {"type": "string"}},
                            "required": ["id"],
                        },
                        {"type": "null"},
                    ]
                },
            },
            "empty": {"type": "array"},
            "grid": {"type": "array", "items": {"type": "array", "items": {"type": "integer"}}},
        },
        "required": list(example),
    }


def test_infer_schema_rejects_bad_json_readably() -> None:
    with pytest.raises(ValueError, match=r"^Line 2, column 1: Expecting value$"):
        infer_schema('{"a":\n}')


_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=4), children, max_size=4)
    ),
    max_leaves=20,
)


@given(_json)
def test_an_example_matches_the_schema_inferred_from_it(example: Any) -> None:
    schema = infer_schema(json.dumps(example))
    Draft202012Validator.check_schema(schema)
    assert Draft202012Validator(schema).is_valid(example)


# -- field_agreement -------------------------------------------------------------------------------


def test_field_agreement_per_leaf() -> None:
    panes = [
        {"city": "Paris", "temp": 21, "tags": ["sun"], "extra": {}},
        {"city": "Paris", "temp": 21.0, "tags": ["sun", "wind"], "extra": {}},
        None,
        {"city": "paris", "temp": 21, "tags": ["sun"], "extra": {}},
    ]
    assert field_agreement(panes) == [
        FieldAgreement("/city", ["Paris", "Paris", MISSING, "paris"], False),
        FieldAgreement("/temp", [21, 21.0, MISSING, 21], True),
        FieldAgreement("/tags/0", ["sun", "sun", MISSING, "sun"], True),
        FieldAgreement("/extra", [{}, {}, MISSING, {}], True),
        FieldAgreement("/tags/1", [MISSING, "wind", MISSING, MISSING], False),
    ]


def test_field_agreement_tells_true_from_one_and_handles_scalars() -> None:
    assert field_agreement([{"a": True}, {"a": 1}]) == [FieldAgreement("/a", [True, 1], False)]
    assert field_agreement([5, 5]) == [FieldAgreement("/", [5, 5], True)]
    assert field_agreement([None, None]) == []
    assert repr(MISSING) == "MISSING"


# -- repeat_stats ----------------------------------------------------------------------------------


def test_repeat_stats_validity_and_spread() -> None:
    runs = [
        validate_output(GOOD_WEATHER, WEATHER, "stop"),
        validate_output(GOOD_WEATHER.replace("21.5", "23.5"), WEATHER, "stop"),
        validate_output(
            GOOD_WEATHER.replace('"sunny"', '"cloudy"').replace("40", "400"), WEATHER, "stop"
        ),
        validate_output('{"location": "Par', WEATHER, "length"),
    ]
    stats = repeat_stats(runs)
    assert (stats.total, stats.valid, stats.validity_rate) == (4, 2, 0.5)
    by_pointer = {f.pointer: f for f in stats.fields}
    assert list(by_pointer) == ["/location", "/temperature", "/condition", "/humidity"]
    temperature = by_pointer["/temperature"]
    assert temperature.counts == [(21.5, 2), (23.5, 1)]
    assert (temperature.minimum, temperature.maximum, temperature.mean) == (
        21.5,
        23.5,
        22.166666666666668,
    )
    condition = by_pointer["/condition"]
    assert condition.counts == [("sunny", 2), ("cloudy", 1)]
    assert condition.present == 3
    assert (condition.minimum, condition.maximum, condition.mean) == (None, None, None)
    assert by_pointer["/humidity"].counts == [(40, 2), (400, 1)]


def test_repeat_stats_without_runs() -> None:
    stats = repeat_stats([])
    assert (stats.total, stats.valid, stats.validity_rate, stats.fields) == (0, 0, 0.0, [])
