"""The live JSON view: streamed pretty text equals the final pretty text, however it is chunked."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pydantic_core
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.live_json import LiveJson
from app.domain.schema import validate_output

_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
_values = st.recursive(
    _scalars,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=30,
)
_documents = st.one_of(
    st.lists(_values, max_size=6), st.dictionaries(st.text(max_size=8), _values, max_size=6)
)
_styles = st.sampled_from(
    [
        {},
        {"ensure_ascii": False},
        {"separators": (",", ":")},
        {"indent": 4},
        {"indent": "\t", "ensure_ascii": False},
    ]
)


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


def _split(text: str, cuts: list[int]) -> list[str]:
    points = sorted({min(c, len(text)) for c in cuts} | {0, len(text)})
    return [text[a:b] for a, b in itertools.pairwise(points)]


def _feed_all(chunks: list[str]) -> tuple[LiveJson, str]:
    live = LiveJson()
    appended = "".join(live.feed(chunk) for chunk in chunks)
    return live, appended


@settings(max_examples=300, deadline=None)
@given(_documents, _styles, st.lists(st.integers(min_value=0, max_value=2000), max_size=40))
def test_streamed_text_equals_json_dumps_for_any_chunking(
    document: Any, style: dict[str, Any], cuts: list[int]
) -> None:
    text = json.dumps(document, **style)
    live, appended = _feed_all(_split(text, cuts))
    assert appended == live.pretty == _pretty(json.loads(text))
    assert live.state == "done"
    assert live.value == json.loads(text)


@settings(max_examples=200, deadline=None)
@given(_documents, st.integers(min_value=0, max_value=10_000))
def test_partial_value_is_pydantic_cores_partial_parse(document: Any, cut: int) -> None:
    text = json.dumps(document, ensure_ascii=False)
    prefix = text[: min(cut, len(text) - 1)]
    live, _ = _feed_all([prefix])
    if not prefix:
        assert live.value is None
        return
    assert live.state == "json"
    try:
        expected = pydantic_core.from_json(prefix, allow_partial="trailing-strings")
    except ValueError:
        expected = None
    assert live.value == expected


@settings(max_examples=100, deadline=None)
@given(_documents)
def test_one_character_at_a_time(document: Any) -> None:
    text = json.dumps(document)
    _, appended = _feed_all(list(text))
    assert appended == _pretty(document)


def test_pretty_text_as_it_streams() -> None:
    live = LiveJson()
    assert live.feed('{"a": [1, tr') == '{\n  "a": [\n    1,\n    '
    assert live.value == {"a": [1]}
    assert live.feed('ue], "b": {}, "c": []') == 'true\n  ],\n  "b": {},\n  "c": []'
    assert live.feed("}") == "\n}"
    assert live.done
    assert live.value == {"a": [1, True], "b": {}, "c": []}


def test_partial_string_is_shown_in_the_value() -> None:
    live = LiveJson()
    live.feed('{"name": "Ad')
    assert live.value == {"name": "Ad"}
    live.feed('a", "n": 1')
    assert live.value == {"name": "Ada", "n": 1}


@pytest.mark.parametrize(
    ("source", "shown"),
    [
        ('["\\u00e9\\/\\u0041"]', '[\n  "é/A"\n]'),
        ('["\\ud83d\\ude00"]', '[\n  "😀"\n]'),
        ('["\\u000a\\u001f\\""]', '[\n  "\\n\\u001f\\""\n]'),
        ('["\\ud83dx"]', '[\n  "\ud83dx"\n]'),
        ("[1E2, -0, 0.10, 1e400]", "[\n  100.0,\n  0,\n  0.1,\n  Infinity\n]"),
    ],
)
def test_escapes_and_numbers_are_written_as_json_dumps_writes_them(source: str, shown: str) -> None:
    for size in (1, 2, 3, len(source)):
        _, appended = _feed_all([source[i : i + size] for i in range(0, len(source), size)])
        assert appended == shown == _pretty(json.loads(source))


def test_think_block_fence_and_whitespace_are_skipped() -> None:
    text = '<think>Let me {think} about "it"</think>\n\n```json\n{"a": 1}\n```\n'
    for size in (1, 3, 7, len(text)):
        live, appended = _feed_all([text[i : i + size] for i in range(0, len(text), size)])
        assert appended == '{\n  "a": 1\n}'
        assert live.preamble == '<think>Let me {think} about "it"</think>\n\n```json\n'
        assert live.trailing == "\n```\n"
        assert live.value == {"a": 1}
        assert live.done
    assert appended == validate_output(text, None, "stop").pretty


def test_an_unfinished_think_block_shows_nothing_yet() -> None:
    live = LiveJson()
    assert live.feed("<think>still thinking {") == ""
    assert live.state == "waiting"
    assert live.value is None
    assert live.feed("}</thi") == ""
    assert live.feed("nk>[") == "["
    assert live.state == "json"


@pytest.mark.parametrize(
    ("chunks", "shown"),
    [
        (["Sure! Here is ", "the JSON"], "Sure! Here is the JSON"),
        (["  Hello {"], "Hello {"),
        (["<thinking>x"], "<thinking>x"),
        (['{"a": 1', " 2}"], '{\n  "a": 1 2}'),
        (['{"a" 1}'], '{\n  "a" 1}'),
        (['{"a": tru', "th}"], '{\n  "a": truth}'),
        (['{"a": 01}'], '{\n  "a": 01}'),
        (['{"a": "x\\q"}'], '{\n  "a": "x\\q"}'),
        (['{"a": "x\ny"}'], '{\n  "a": "x\ny"}'),
        (["[1]", " and more"], "[\n  1\n] and more"),
        (["[1]\n```\n", "more"], "[\n  1\n]\n```\nmore"),
        (['[1]{"b": 2}'], '[\n  1\n]{"b": 2}'),
        (["[1}"], "[\n  1}"),
    ],
)
def test_not_json_is_passed_through_unchanged_from_where_it_breaks(
    chunks: list[str], shown: str
) -> None:
    live, appended = _feed_all(chunks)
    assert appended == shown
    assert live.state == "not_json"
    assert live.value is None


def test_reset_starts_over() -> None:
    live = LiveJson()
    live.feed("nonsense")
    live.reset()
    assert live.pretty == "" and live.preamble == "" and live.state == "waiting"
    assert live.feed("[true]") == "[\n  true\n]"


def test_value_is_cached_until_more_document_arrives() -> None:
    live = LiveJson()
    live.feed('{"a": [1, 2')
    first = live.value
    assert live.value is first
    live.feed(", 3")
    assert live.value == {"a": [1, 2, 3]}
