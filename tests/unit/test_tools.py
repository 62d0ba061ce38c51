"""Tool calling: the tools editor check, request bodies, arguments, mocks, text calls, messages."""

from __future__ import annotations

import json
from typing import Any

import pytest

from app.client import FireplayError
from app.domain.run import ToolCall
from app.domain.tools import (
    MOCKS,
    TEMPLATES,
    ToolError,
    ToolsCheck,
    assistant_message,
    calls_from_content,
    check_arguments,
    check_tools,
    render_mock,
    tool_message,
    tool_step_messages,
    tools_request,
)

WEATHER = TEMPLATES["get_weather"]


def function(name: str, parameters: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"name": name, **extra}
    if parameters is not None:
        body["parameters"] = parameters
    return {"type": "function", "function": body}


def text_of(tools: list[Any]) -> str:
    return json.dumps(tools, indent=2)


# -- templates -------------------------------------------------------------------------------------


def test_templates_are_single_valid_tools_weather_first() -> None:
    assert next(iter(TEMPLATES)) == "get_weather"
    assert {
        "get_weather",
        "calculator",
        "lookup_order",
        "get_user_location",
        "get_current_time",
        "convert_units",
    } <= set(TEMPLATES)
    check = check_tools(text_of(list(TEMPLATES.values())))
    assert check.error == ""
    assert check.names == tuple(TEMPLATES)
    for name, tool in TEMPLATES.items():
        assert tool["function"]["name"] == name


def test_template_contents_match_the_brief() -> None:
    weather = WEATHER["function"]["parameters"]
    assert weather["properties"]["city"]["type"] == "string"
    assert weather["properties"]["unit"]["enum"] == ["c", "f"]
    assert weather["required"] == ["city"]
    status = TEMPLATES["lookup_order"]["function"]["parameters"]["properties"]["status"]
    assert status["enum"] == ["pending", "shipped", "delivered", "cancelled"]
    assert TEMPLATES["get_user_location"]["function"]["parameters"] == {
        "type": "object",
        "properties": {},
    }
    calculator = TEMPLATES["calculator"]["function"]["parameters"]
    assert calculator["properties"] == {"expression": calculator["properties"]["expression"]}


def test_sample_mocks_render_for_a_minimal_valid_call() -> None:
    assert set(MOCKS) == {"get_weather", "lookup_order", "get_user_location"}
    calls = {
        "get_weather": {"city": "Paris"},
        "lookup_order": {"order_id": "A-1042"},
        "get_user_location": {},
    }
    for name, arguments in calls.items():
        check = check_arguments([TEMPLATES[name]], name, json.dumps(arguments))
        assert check.ok, check.label
        json.loads(render_mock(MOCKS[name], arguments))
    rendered = json.loads(render_mock(MOCKS["get_weather"], {"city": "Lyon"}))
    assert rendered["city"] == "Lyon" and "Lyon" in rendered["summary"]


# -- check_tools: valid input ----------------------------------------------------------------------


def test_blank_text_and_empty_array_mean_no_tools() -> None:
    for text in ("", "  \n", "[]", " [ ] "):
        assert check_tools(text) == ToolsCheck((), (), "", None)


def test_valid_tools_are_normalised() -> None:
    text = text_of(
        [
            function("no_args"),
            function("add", {"type": "object", "properties": {"a": {"type": "integer"}}}),
        ]
    )
    check = check_tools(text)
    assert check.error == ""
    assert check.names == ("no_args", "add")
    assert check.tools[0] == {
        "type": "function",
        "function": {"name": "no_args", "parameters": {"type": "object", "properties": {}}},
    }
    assert check.tools[1]["function"]["parameters"]["properties"] == {"a": {"type": "integer"}}


def test_parsed_tools_do_not_share_the_default_parameters() -> None:
    first = check_tools(text_of([function("a")]))
    first.tools[0]["function"]["parameters"]["properties"]["x"] = {}
    again = check_tools(text_of([function("a")]))
    assert again.tools[0]["function"]["parameters"] == {"type": "object", "properties": {}}


def test_name_rule_accepts_the_openai_alphabet_up_to_64() -> None:
    for name in ("a", "get-weather_2", "A" * 64, "0_9"):
        assert check_tools(text_of([function(name)])).error == "", name


def test_description_and_strict_are_kept() -> None:
    check = check_tools(text_of([function("a", description="Adds", strict=True)]))
    assert check.error == ""
    assert check.tools[0]["function"]["description"] == "Adds"
    assert check.tools[0]["function"]["strict"] is True


# -- check_tools: errors with pointers and lines --------------------------------------------------


def test_json_syntax_error_gives_line_and_column() -> None:
    check = check_tools('[\n  {"type": "function",\n  }\n]')
    assert check.tools == ()
    assert check.error.startswith("Line 3, column 3: ")
    assert check.line == 3


@pytest.mark.parametrize("text", ['{"type": "function"}', '"tools"', "3", "null"])
def test_not_an_array(text: str) -> None:
    check = check_tools(text)
    assert check.tools == ()
    assert check.error.startswith("The tools must be a JSON array")
    assert check.line == 1


def test_a_single_tool_object_gets_a_hint() -> None:
    assert "put a single tool in [ ]" in check_tools(json.dumps(WEATHER)).error


@pytest.mark.parametrize(
    ("tools", "error"),
    [
        (["get_weather"], '/0: a tool must be an object: {"type": "function", "function": {...}}'),
        ([{"function": {"name": "a"}}], "/0: 'type' must be \"function\""),
        ([{"type": "tool", "function": {"name": "a"}}], "/0/type: 'type' must be \"function\""),
        ([{"type": "function"}], "/0: 'function' must be an object"),
        ([{"type": "function", "function": []}], "/0/function: 'function' must be an object"),
        ([{"type": "function", "function": {}}], "/0/function: 'name' is missing"),
        (
            [{"type": "function", "function": {"name": "a"}, "extra": 1}],
            "/0/extra: unknown key 'extra' (a tool has only type, function)",
        ),
        (
            [function("a", paramters={"type": "object"})],
            "/0/function/paramters: unknown key 'paramters' (a function has only name, "
            "description, parameters, strict)",
        ),
        ([function("a", description=3)], "/0/function/description: 'description' must be a"),
        ([function("a", strict="yes")], "/0/function/strict: 'strict' must be true or false"),
    ],
)
def test_entry_shape_errors(tools: list[Any], error: str) -> None:
    check = check_tools(text_of(tools))
    assert check.tools == ()
    assert check.error.startswith(error), check.error
    assert check.line is not None and f"(line {check.line})" in check.error


@pytest.mark.parametrize("name", ["get weather", "", "a" * 65, "wetter.heute", "météo", 3, None])
def test_invalid_names(name: Any) -> None:
    check = check_tools(text_of([{"type": "function", "function": {"name": name}}]))
    assert check.error.startswith(f"/0/function/name: {name!r} is not a valid name: use 1 to 64")
    assert check.line == 5


def test_duplicate_names_point_at_the_second() -> None:
    text = text_of([function("a"), function("b"), function("a")])
    check = check_tools(text)
    assert check.error == (
        f"/2/function/name: duplicate name 'a' (also the name of tool 0) (line {check.line})"
    )
    assert text.splitlines()[check.line - 1].strip() == '"name": "a"'
    assert check.line > 10


def test_meta_schema_error_points_into_the_parameters() -> None:
    parameters = {"type": "object", "properties": {"city": {"type": "strin"}}}
    text = text_of([WEATHER, function("bad", parameters)])
    check = check_tools(text)
    assert check.error.startswith("/1/function/parameters/properties/city/type: 'strin' is not")
    assert text.splitlines()[check.line - 1].strip() == '"type": "strin"'


def test_meta_schema_errors_in_required_and_enum() -> None:
    required = check_tools(text_of([function("a", {"type": "object", "required": "city"})]))
    assert required.error.startswith(
        "/0/function/parameters/required: 'city' is not of type 'array'"
    )
    enum = check_tools(text_of([function("a", {"type": "object", "minProperties": -1})]))
    assert enum.error.startswith("/0/function/parameters/minProperties: -1 is less than")


@pytest.mark.parametrize(
    ("parameters", "error"),
    [
        ({"type": "string"}, "/0/function/parameters/type: 'parameters' must be an object schema"),
        ({"properties": {}}, "/0/function/parameters: 'parameters' must be an object schema"),
        ([], "/0/function/parameters: 'parameters' must be a JSON Schema object"),
        (True, "/0/function/parameters: 'parameters' must be a JSON Schema object"),
    ],
)
def test_parameters_must_be_an_object_schema(parameters: Any, error: str) -> None:
    text = text_of([{"type": "function", "function": {"name": "a", "parameters": parameters}}])
    assert check_tools(text).error.startswith(error)


def test_unresolvable_local_ref_is_an_error() -> None:
    parameters = {"type": "object", "properties": {"a": {"$ref": "#/$defs/Missing"}}}
    check = check_tools(text_of([function("a", parameters)]))
    assert check.error.startswith(
        "/0/function/parameters/properties/a/$ref: cannot resolve '#/$defs/Missing'"
    )


def test_first_error_wins_in_document_order() -> None:
    text = text_of([function("bad name"), function("a", {"type": "string"})])
    assert check_tools(text).error.startswith("/0/function/name")


# -- tools_request ---------------------------------------------------------------------------------


def test_request_for_a_generic_provider_sends_the_tools_as_given() -> None:
    tool = function("a", {"type": "object", "properties": {}}, strict=True)
    assert tools_request([tool], "auto", None, "openai") == {
        "tools": [tool],
        "tool_choice": "auto",
    }


def test_request_does_not_share_or_change_the_input() -> None:
    tool = function("a", {"type": "object", "properties": {}}, strict=True)
    body = tools_request([tool], "auto", None, "fireworks")
    assert tool["function"]["strict"] is True
    body["tools"][0]["function"]["name"] = "changed"
    assert tool["function"]["name"] == "a"


@pytest.mark.parametrize("choice", ["auto", "none", "required"])
def test_keyword_choices_are_sent_as_they_are(choice: str) -> None:
    for provider in ("openai", "fireworks", "local"):
        body = tools_request([WEATHER], choice, None, provider)
        assert body["tool_choice"] == choice
        assert body["tools"][0]["function"]["name"] == "get_weather"


def test_a_tool_name_choice_uses_the_openai_form() -> None:
    body = tools_request([WEATHER, TEMPLATES["calculator"]], "calculator", None, "fireworks")
    assert body["tool_choice"] == {"type": "function", "function": {"name": "calculator"}}


def test_an_unknown_tool_choice_is_an_error() -> None:
    with pytest.raises(ToolError, match="tool_choice 'nope' is neither auto, none, required"):
        tools_request([WEATHER], "nope", None, "openai")


def test_parallel_tool_calls_only_when_set() -> None:
    assert "parallel_tool_calls" not in tools_request([WEATHER], "auto", None, "openai")
    for value in (True, False):
        body = tools_request([WEATHER], "auto", value, "openai")
        assert body["parallel_tool_calls"] is value


def test_no_tools_means_no_tool_fields() -> None:
    assert tools_request([], "required", True, "openai") == {}


def test_fireworks_drops_strict_and_inlines_refs() -> None:
    parameters = {
        "type": "object",
        "$defs": {
            "Unit": {"type": "string", "enum": ["c", "f"]},
            "Place": {
                "type": "object",
                "properties": {"city": {"type": "string"}, "unit": {"$ref": "#/$defs/Unit"}},
            },
        },
        "definitions": {"Day": {"type": "integer", "minimum": 0}},
        "properties": {
            "place": {"$ref": "#/$defs/Place", "description": "Where"},
            "days": {"type": "array", "items": {"$ref": "#/definitions/Day"}},
            "either": {"anyOf": [{"$ref": "#/$defs/Unit"}, {"type": "null"}]},
            "$defs": {"type": "string"},
        },
        "required": ["place"],
    }
    tool = function("forecast", parameters, strict=True, description="Forecast")
    body = tools_request([tool], "auto", None, "fireworks")
    assert body["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "forecast",
                "description": "Forecast",
                "parameters": {
                    "type": "object",
                    "properties": {
                        "place": {
                            "type": "object",
                            "properties": {
                                "city": {"type": "string"},
                                "unit": {"type": "string", "enum": ["c", "f"]},
                            },
                            "description": "Where",
                        },
                        "days": {"type": "array", "items": {"type": "integer", "minimum": 0}},
                        "either": {
                            "anyOf": [{"type": "string", "enum": ["c", "f"]}, {"type": "null"}]
                        },
                        "$defs": {"type": "string"},
                    },
                    "required": ["place"],
                },
            },
        }
    ]
    assert tools_request([tool], "auto", None, "openai")["tools"] == [tool]


def test_fireworks_ref_with_constraints_becomes_all_of() -> None:
    parameters = {
        "type": "object",
        "$defs": {"Name": {"type": "string"}},
        "properties": {"name": {"$ref": "#/$defs/Name", "minLength": 2}},
    }
    body = tools_request([function("a", parameters)], "auto", None, "fireworks")
    assert body["tools"][0]["function"]["parameters"]["properties"]["name"] == {
        "allOf": [{"type": "string"}],
        "minLength": 2,
    }


def test_fireworks_keeps_remote_refs_and_ref_free_schemas() -> None:
    parameters = {"type": "object", "properties": {"a": {"$ref": "https://example.com/a.json"}}}
    body = tools_request([function("a", parameters)], "auto", None, "fireworks")
    assert body["tools"][0]["function"]["parameters"] == parameters
    assert tools_request([WEATHER], "auto", None, "fireworks")["tools"] == [WEATHER]


def test_fireworks_recursive_ref_is_a_clear_error() -> None:
    parameters = {
        "type": "object",
        "$defs": {
            "Node": {
                "type": "object",
                "properties": {"children": {"type": "array", "items": {"$ref": "#/$defs/Node"}}},
            }
        },
        "properties": {"tree": {"$ref": "#/$defs/Node"}},
    }
    with pytest.raises(ToolError, match=r"Tool tree: '#/\$defs/Node' refers to itself"):
        tools_request([function("tree", parameters)], "auto", None, "fireworks")
    assert (
        tools_request([function("tree", parameters)], "auto", None, "openai")["tools"][0][
            "function"
        ]["parameters"]
        == parameters
    )


def test_tool_error_is_a_fireplay_error() -> None:
    assert issubclass(ToolError, FireplayError)


# -- check_arguments -------------------------------------------------------------------------------


def test_valid_arguments() -> None:
    check = check_arguments([WEATHER], "get_weather", '{"city": "Paris", "unit": "c"}')
    assert (check.value, check.label, check.ok) == ({"city": "Paris", "unit": "c"}, "Valid", True)


def test_empty_arguments_are_an_empty_object() -> None:
    no_args = check_tools(text_of([function("now")])).tools
    assert check_arguments(no_args, "now", "").value == {}
    assert check_arguments(no_args, "now", "  ").ok
    missing = check_arguments([WEATHER], "get_weather", "")
    assert missing.label == "Invalid: /: 'city' is a required property"
    assert missing.value == {}


def test_invalid_arguments_name_the_pointer() -> None:
    check = check_arguments([WEATHER], "get_weather", '{"city": "Paris", "unit": "kelvin"}')
    assert check.label == "Invalid: /unit: 'kelvin' is not one of ['c', 'f']"
    assert not check.ok and check.value == {"city": "Paris", "unit": "kelvin"}


def test_arguments_that_are_not_an_object() -> None:
    assert check_arguments([WEATHER], "get_weather", "[1]").label.startswith(
        "Invalid: /: [1] is not of type 'object'"
    )


def test_arguments_that_are_not_json() -> None:
    check = check_arguments([WEATHER], "get_weather", '{"city": "Par')
    assert check.label.startswith("Not JSON: Unterminated string")
    assert "(line 1, column 10)" in check.label
    assert (check.value, check.ok) == (None, False)


def test_unknown_tool_has_its_own_label() -> None:
    check = check_arguments([WEATHER], "get_time", "{}")
    assert (check.value, check.label, check.ok) == (None, "Tool not defined: 'get_time'", False)


# -- render_mock -----------------------------------------------------------------------------------


def test_whole_value_placeholders_become_the_arguments_json() -> None:
    template = '{"temp": {{temp}}, "city": "{{city}}", "tags": {{ tags }}, "raw": "{{temp}}"}'
    arguments = {"temp": 21.5, "city": "Paris", "tags": ["a", 1]}
    assert json.loads(render_mock(template, arguments)) == {
        "temp": 21.5,
        "city": "Paris",
        "tags": ["a", 1],
        "raw": 21.5,
    }


def test_placeholders_inside_text_become_the_values_text_escaped() -> None:
    template = '{"summary": "It is {{temp}} in {{city}} ({{info}})"}'
    arguments = {"temp": 3, "city": 'Quote" \\ Town\n', "info": {"k": "v"}}
    assert json.loads(render_mock(template, arguments)) == {
        "summary": 'It is 3 in Quote" \\ Town\n ({"k": "v"})'
    }


def test_whole_string_placeholder_keeps_objects_and_null() -> None:
    assert render_mock('{"a": "{{x}}"}', {"x": None}) == '{"a": null}'
    assert render_mock('["{{x}}"]', {"x": {"b": [1]}}) == '[{"b": [1]}]'


def test_text_around_a_placeholder_outside_strings_is_kept() -> None:
    template = '{\n  "n": {{n}},\n  "label": "n = {{n}}"\n}'
    assert render_mock(template, {"n": 2}) == '{\n  "n": 2,\n  "label": "n = 2"\n}'


def test_escaped_quotes_in_the_template_do_not_end_the_string() -> None:
    template = r'{"a": "say \"{{word}}\" twice"}'
    assert json.loads(render_mock(template, {"word": "hi"})) == {"a": 'say "hi" twice'}


def test_a_template_without_placeholders_is_returned_as_it_is() -> None:
    assert render_mock('{"ok": true}', {"unused": 1}) == '{"ok": true}'


def test_unicode_is_kept() -> None:
    assert render_mock('{"c": "{{c}} 🌧"}', {"c": "Zürich"}) == '{"c": "Zürich 🌧"}'


def test_unknown_placeholder_is_an_error() -> None:
    with pytest.raises(ToolError, match=r"uses \{\{unit\}\}, but the call has no argument 'unit'"):
        render_mock('{"u": "{{unit}}"}', {"city": "Paris"})
    with pytest.raises(ToolError, match=r"\(its arguments: none\)"):
        render_mock('{"u": {{unit}}}', {})


def test_result_that_is_not_json_is_an_error() -> None:
    with pytest.raises(ToolError, match="The mock is not JSON once filled in: line 1"):
        render_mock("It is {{temp}} degrees", {"temp": 3})
    with pytest.raises(ToolError, match="not JSON"):
        render_mock('{"a": "unterminated {{x}}', {"x": 1})
    with pytest.raises(ToolError, match="not JSON"):
        render_mock("", {})


def test_nested_names_are_not_placeholders() -> None:
    with pytest.raises(ToolError, match="not JSON"):
        render_mock('{"a": {{place.city}}}', {"place": {"city": "x"}})


# -- calls_from_content ----------------------------------------------------------------------------

NAMES = ("get_weather", "calculator")


def simple(calls: list[ToolCall]) -> list[tuple[int, str, Any]]:
    return [(c.index, c.name, json.loads(c.arguments)) for c in calls]


@pytest.mark.parametrize(
    "content",
    [
        '{"name": "get_weather", "arguments": {"city": "Paris"}}',
        '{"name": "get_weather", "arguments": "{\\"city\\": \\"Paris\\"}"}',
        '{"name": "get_weather", "parameters": {"city": "Paris"}}',
        '{"type": "function", "name": "get_weather", "parameters": {"city": "Paris"}}',
        '  \n```json\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n```\n',
        '<think>They want weather.</think>{"name": "get_weather", "arguments": {"city": "Paris"}}',
        '[TOOL_CALLS] [{"name": "get_weather", "arguments": {"city": "Paris"}}]',
        '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>',
    ],
)
def test_one_call_in_content(content: str) -> None:
    assert simple(calls_from_content(content, NAMES)) == [(0, "get_weather", {"city": "Paris"})]


def test_several_calls_in_content() -> None:
    listed = (
        '[{"name": "get_weather", "arguments": {"city": "Paris"}},'
        ' {"name": "calculator", "arguments": {"expression": "1+1"}}]'
    )
    blocks = (
        '<tool_call>{"name": "get_weather", "arguments": {"city": "Paris"}}</tool_call>\n'
        '<tool_call>{"name": "calculator", "arguments": {"expression": "1+1"}}</tool_call>'
    )
    expected = [(0, "get_weather", {"city": "Paris"}), (1, "calculator", {"expression": "1+1"})]
    for content in (listed, blocks):
        calls = calls_from_content(content, NAMES)
        assert simple(calls) == expected
        assert len({c.id for c in calls}) == 2
        assert all(c.id.startswith("call_") and len(c.id) == 29 for c in calls)


def test_ids_differ_between_steps() -> None:
    content = '{"name": "calculator", "arguments": {}}'
    assert calls_from_content(content, NAMES)[0].id != calls_from_content(content, NAMES)[0].id


def test_empty_string_arguments_are_an_empty_object() -> None:
    assert calls_from_content('{"name": "calculator", "arguments": ""}', NAMES)[0].arguments == "{}"


@pytest.mark.parametrize(
    "content",
    [
        "",
        "The weather in Paris is sunny.",
        '{"name": "get_time", "arguments": {}}',
        '{"name": "get_weather"}',
        '{"name": "get_weather", "arguments": {"city": "Paris"}, "confidence": 0.9}',
        '{"name": "get_weather", "arguments": {}, "parameters": {}}',
        '{"name": "get_weather", "arguments": [1]}',
        '{"name": "get_weather", "arguments": "not json"}',
        '{"name": "get_weather", "arguments": "[1]"}',
        '{"type": "tool", "name": "get_weather", "arguments": {}}',
        '[{"name": "get_weather", "arguments": {}}, {"name": "unknown", "arguments": {}}]',
        '[{"name": "get_weather", "arguments": {}}, "text"]',
        'Sure: {"name": "get_weather", "arguments": {"city": "Paris"}}',
        '<tool_call>{"name": "get_weather", "arguments": {}}</tool_call> and some prose',
        '<tool_call>{"name": "get_weather", "arguments": {}}',
        '{"location": "Paris", "temperature": 21}',
        "[]",
        "42",
    ],
)
def test_content_that_is_not_a_call(content: str) -> None:
    assert calls_from_content(content, NAMES) == []


def test_no_known_tools_means_no_calls() -> None:
    assert calls_from_content('{"name": "get_weather", "arguments": {}}', ()) == []


# -- messages of the next request ------------------------------------------------------------------

CALLS = [
    ToolCall(0, "call_a", "get_weather", '{"city": "Paris"}'),
    ToolCall(1, "call_b", "get_user_location", ""),
]


def test_assistant_message_with_calls() -> None:
    assert assistant_message("", CALLS) == {
        "role": "assistant",
        "content": "",
        "tool_calls": [
            {
                "id": "call_a",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
            },
            {
                "id": "call_b",
                "type": "function",
                "function": {"name": "get_user_location", "arguments": "{}"},
            },
        ],
    }


def test_assistant_message_keeps_text_and_omits_empty_calls() -> None:
    assert assistant_message("Let me check.", CALLS[:1])["content"] == "Let me check."
    assert assistant_message("Done.", []) == {"role": "assistant", "content": "Done."}


def test_tool_message() -> None:
    assert tool_message("call_a", '{"temp": 18}') == {
        "role": "tool",
        "tool_call_id": "call_a",
        "content": '{"temp": 18}',
    }


def test_tool_step_messages_append_in_call_order() -> None:
    history = [{"role": "user", "content": "Weather here?"}]
    messages = tool_step_messages(history, "", CALLS, ['{"temp": 18}', '{"city": "Lyon"}'])
    assert messages == [
        {"role": "user", "content": "Weather here?"},
        assistant_message("", CALLS),
        {"role": "tool", "tool_call_id": "call_a", "content": '{"temp": 18}'},
        {"role": "tool", "tool_call_id": "call_b", "content": '{"city": "Lyon"}'},
    ]
    messages[0]["content"] = "changed"
    assert history[0]["content"] == "Weather here?"


def test_tool_step_messages_need_one_result_per_call() -> None:
    with pytest.raises(ToolError, match="2 tool calls but 1 results"):
        tool_step_messages([], "", CALLS, ["{}"])
