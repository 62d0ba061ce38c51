"""Schema-constrained output: every response_format shape, validated with jsonschema."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest

from tests.engine.helpers import CHAT_MODEL, SYSTEM

pytestmark = pytest.mark.engine

PERSON = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "age": {"type": "integer", "minimum": 0, "maximum": 120},
        "email": {"type": ["string", "null"], "format": "email"},
        "hobbies": {"type": "array", "items": {"type": "string"}, "maxItems": 5},
        "role": {"enum": ["admin", "user", "guest"]},
    },
    "required": ["name", "age", "email", "hobbies", "role"],
    "additionalProperties": False,
}

ORDER = {
    "type": "object",
    "$defs": {
        "line": {
            "type": "object",
            "properties": {
                "item": {"type": "string", "minLength": 1},
                "quantity": {"type": "integer", "minimum": 1, "maximum": 99},
                "price": {"type": "number", "minimum": 0, "exclusiveMaximum": 1000},
            },
            "required": ["item", "quantity", "price"],
            "additionalProperties": False,
        }
    },
    "properties": {
        "lines": {"type": "array", "items": {"$ref": "#/$defs/line"}, "minItems": 1},
        "paid": {"type": "boolean"},
        "note": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        "date": {"type": "string", "format": "date"},
    },
    "required": ["lines", "paid", "date"],
    "additionalProperties": False,
}

TREE = {
    "$defs": {
        "node": {
            "type": "object",
            "properties": {
                "label": {"type": "string"},
                "children": {"type": "array", "items": {"$ref": "#/$defs/node"}},
            },
            "required": ["label"],
            "additionalProperties": False,
        }
    },
    "$ref": "#/$defs/node",
}


def _ask(client: Any, prompt: str, response_format: dict[str, Any], **extra: Any) -> Any:
    return client.chat.completions.create(
        model=CHAT_MODEL,
        messages=[{"role": "system", "content": SYSTEM}, {"role": "user", "content": prompt}],
        response_format=response_format,
        **extra,
    )


@pytest.mark.parametrize(
    ("schema", "prompt"),
    [
        (PERSON, "Invent a user of a web shop."),
        (ORDER, "Write an order for two coffees and a cake."),
        (TREE, "Describe a small family tree."),
    ],
    ids=["person", "order-with-refs", "recursive-tree"],
)
def test_json_schema_output_always_validates(client: Any, schema: Any, prompt: str) -> None:
    # Hot sampling makes a tiny model wander: the grammar must still hold it to the schema
    # and the bounds must let it finish within the default budget.
    for seed in range(3):
        result = _ask(
            client,
            prompt,
            {
                "type": "json_schema",
                "json_schema": {"name": "out", "schema": schema, "strict": True},
            },
            temperature=1.0,
            seed=seed,
        )
        choice = result.choices[0]
        assert choice.finish_reason == "stop"
        jsonschema.validate(json.loads(choice.message.content), schema)


def test_json_object_with_schema(client: Any) -> None:
    result = _ask(
        client, "Invent a user.", {"type": "json_object", "schema": PERSON}, temperature=0.7
    )
    jsonschema.validate(json.loads(result.choices[0].message.content), PERSON)


def test_plain_json_object_is_an_object(client: Any) -> None:
    for seed in range(3):
        result = _ask(
            client,
            "Describe a cat as JSON.",
            {"type": "json_object"},
            temperature=1.0,
            seed=seed,
        )
        assert result.choices[0].finish_reason == "stop"
        assert isinstance(json.loads(result.choices[0].message.content), dict)


def test_json_streams_as_deltas(client: Any) -> None:
    stream = _ask(
        client,
        "Invent a user.",
        {"type": "json_schema", "json_schema": {"name": "person", "schema": PERSON}},
        stream=True,
    )
    pieces = [c.choices[0].delta.content or "" for c in stream if c.choices]
    assert len([p for p in pieces if p]) > 3
    jsonschema.validate(json.loads("".join(pieces)), PERSON)


def test_a_budget_that_fits_still_gives_complete_json(client: Any) -> None:
    # 120 tokens is enough for some valid person: the bounds shrink to fit, JSON completes.
    result = _ask(
        client,
        "Invent a user.",
        {"type": "json_schema", "json_schema": {"name": "person", "schema": PERSON}},
        max_tokens=120,
        temperature=1.0,
        seed=5,
    )
    assert result.choices[0].finish_reason == "stop"
    jsonschema.validate(json.loads(result.choices[0].message.content), PERSON)


def test_only_an_explicitly_tiny_max_tokens_truncates(client: Any) -> None:
    result = _ask(
        client,
        "Invent a user.",
        {"type": "json_schema", "json_schema": {"name": "person", "schema": PERSON}},
        max_tokens=4,
    )
    assert result.choices[0].finish_reason == "length"


@pytest.mark.parametrize(
    ("response_format", "fragment"),
    [
        ({"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "nope"}}}, "type"),
        ({"type": "json_schema", "json_schema": {"name": "x", "schema": {"$ref": "#/x"}}}, "$ref"),
        ({"type": "json_schema", "json_schema": {"name": "x", "schema": False}}, "admits no"),
        ({"type": "xml"}, "response_format"),
    ],
)
def test_invalid_schemas_are_400(client: Any, response_format: Any, fragment: str) -> None:
    import openai

    with pytest.raises(openai.BadRequestError) as err:
        _ask(client, "Hi", response_format)
    assert err.value.status_code == 400
    assert fragment in err.value.message
