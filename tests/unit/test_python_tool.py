"""A tool definition from pasted Python: types, defaults, docstrings, and nothing ever runs."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from app.domain.python_tool import tool_from_python
from app.domain.tools import check_tools


def convert(source: str) -> dict[str, Any]:
    return tool_from_python(textwrap.dedent(source))


def parameters(source: str) -> dict[str, Any]:
    result: dict[str, Any] = convert(source)["function"]["parameters"]
    return result


def test_a_full_example() -> None:
    tool = convert(
        '''
        from typing import Literal, Optional

        async def get_weather(
            city: str, unit: Literal["c", "f"] = "c", *, days: Optional[int] = None
        ) -> dict:
            """Get the current weather
            in a city.

            Uses a weather service.

            Args:
                city (str): The city,
                    e.g. Paris.
                unit: Temperature unit.
                days: How many days ahead.

            Returns:
                The weather.
            """
            return {}
        '''
    )
    assert tool == {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Get the current weather in a city.",
            "parameters": {
                "type": "object",
                "properties": {
                    "city": {"type": "string", "description": "The city, e.g. Paris."},
                    "unit": {
                        "enum": ["c", "f"],
                        "type": "string",
                        "description": "Temperature unit.",
                        "default": "c",
                    },
                    "days": {
                        "anyOf": [{"type": "integer"}, {"type": "null"}],
                        "description": "How many days ahead.",
                        "default": None,
                    },
                },
                "required": ["city"],
            },
        },
    }
    assert check_tools(json.dumps([tool])).error == ""


def test_types() -> None:
    props = parameters(
        """
        import typing
        from typing import Any, Dict, List, Literal, Union

        def f(
            a: int, b: float, c: bool, d: list[str], e: dict[str, int], f: str | None,
            g: Literal[1, 2], h: Literal["only"], i: List[int], j: Dict[str, Any],
            k: typing.Optional[float], l: Union[int, str], m: list, n: Any,
        ): ...
        """
    )["properties"]
    assert props == {
        "a": {"type": "integer"},
        "b": {"type": "number"},
        "c": {"type": "boolean"},
        "d": {"items": {"type": "string"}, "type": "array"},
        "e": {"additionalProperties": {"type": "integer"}, "type": "object"},
        "f": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        "g": {"enum": [1, 2], "type": "integer"},
        "h": {"const": "only", "type": "string"},
        "i": {"items": {"type": "integer"}, "type": "array"},
        "j": {"additionalProperties": True, "type": "object"},
        "k": {"anyOf": [{"type": "number"}, {"type": "null"}]},
        "l": {"anyOf": [{"type": "integer"}, {"type": "string"}]},
        "m": {"items": {}, "type": "array"},
        "n": {},
    }


def test_names_without_imports_work_as_in_pasted_snippets() -> None:
    props = parameters("def f(x: Optional[str], y: Literal['a', 'b']): ...")["properties"]
    assert props["x"] == {"anyOf": [{"type": "string"}, {"type": "null"}]}
    assert props["y"] == {"enum": ["a", "b"], "type": "string"}


def test_defaults_make_parameters_optional() -> None:
    schema = parameters(
        "def f(a: int, b: int = -1, c: list[int] = [1, 2], *, d: str, e: bool = False): ..."
    )
    assert schema["required"] == ["a", "d"]
    assert schema["properties"]["b"]["default"] == -1
    assert schema["properties"]["c"]["default"] == [1, 2]
    assert schema["properties"]["e"]["default"] is False
    assert "default" not in schema["properties"]["d"]


def test_positional_only_parameters_count() -> None:
    assert parameters("def f(a: int, /, b: int = 2): ...")["required"] == ["a"]


def test_no_parameters_is_an_empty_object_without_required() -> None:
    tool = convert("def now():\n    'The time.'\n")
    assert tool["function"] == {
        "name": "now",
        "description": "The time.",
        "parameters": {"type": "object", "properties": {}},
    }


def test_no_docstring_means_no_description() -> None:
    assert "description" not in convert("def f(x: int): pass")["function"]


def test_self_and_cls_of_a_pasted_method_are_skipped() -> None:
    assert list(parameters("def f(self, x: int): ...")["properties"]) == ["x"]
    assert list(parameters("def f(cls, x: int): ...")["properties"]) == ["x"]


def test_an_annotated_self_is_a_parameter() -> None:
    assert list(parameters("def f(self: str): ...")["properties"]) == ["self"]


def test_rest_docstring() -> None:
    tool = convert(
        '''
        def area(width: float, height: float = 1.0):
            """Area of a rectangle.

            :param width: The width,
                in metres.
            :param float height: The height.
            :returns: The area.
            """
        '''
    )
    props = tool["function"]["parameters"]["properties"]
    assert tool["function"]["description"] == "Area of a rectangle."
    assert props["width"]["description"] == "The width, in metres."
    assert props["height"]["description"] == "The height."


def test_google_sections_after_args_end_it() -> None:
    props = parameters(
        '''
        def f(a: int, b: int):
            """Summary.

            Returns:
                b: not a parameter description.

            Args:
                a: First.
                *b: Second, starred in the docs.

            Raises:
                ValueError: never.
            """
        '''
    )["properties"]
    assert props["a"]["description"] == "First."
    assert props["b"]["description"] == "Second, starred in the docs."
    assert "ValueError" not in json.dumps(props)


def test_summary_stops_at_a_section_without_a_blank_line() -> None:
    tool = convert('def f(a: int):\n    """Does f.\n    Args:\n        a: The a.\n    """\n')
    assert tool["function"]["description"] == "Does f."
    assert tool["function"]["parameters"]["properties"]["a"]["description"] == "The a."


def test_module_docstring_and_future_import_are_allowed() -> None:
    source = '"""My tools."""\nfrom __future__ import annotations\n\ndef f(x: int): ...\n'
    assert tool_from_python(source)["function"]["name"] == "f"


@pytest.mark.parametrize(
    ("source", "error"),
    [
        ("def f(:\n", "Line 1: "),
        ("", "No function (def ...) found in the source"),
        ("x = 1\ndef f(): ...", "Line 1: only imports and one function (def ...) are allowed"),
        ("def f(): ...\ndef g(): ...", "Line 2: only one function is allowed"),
        ("class A:\n    def f(self): ...", "Line 1: only imports and one function"),
        ("def f(*args: int): ...", "Line 1: *args cannot be a tool argument"),
        ("def f(**kwargs: int): ...", "Line 1: **kwargs cannot be a tool argument"),
        ("def f(x): ...", "Line 1: parameter 'x' needs a type annotation"),
        ("def f(x: tuple[int, int]): ...", "Line 1: unknown type 'tuple[int, int]'"),
        ("def f(x: Path): ...", "Line 1: unknown type 'Path'"),
        ("def f(x: dict[int, str]): ...", "Line 1: dict keys must be str in JSON"),
        ("def f(x: int = y): ...", "Line 1: only literal values are allowed here, not 'y'"),
        ("def f(x: int = 1 + 1): ...", "Line 1: only literal values are allowed here"),
        ("def f(x: str = b'x'): ...", "Line 1: b'x' is not a JSON value"),
        ("def f(x: Literal[int]): ...", "Line 1: Literal[...] takes str, int, bool or None"),
        ("def fonction_été(x: int): ...", "Line 1: 'fonction_été' is not a valid tool name"),
        (f"def {'f' * 65}(x: int): ...", f"Line 1: '{'f' * 65}' is not a valid tool name"),
        ("from os import path\ndef f(): ...", "Line 1: import from 'os' is not allowed"),
        ("from . import x\ndef f(): ...", "Line 1: import from '.' is not allowed"),
    ],
)
def test_errors_name_the_line(source: str, error: str) -> None:
    with pytest.raises(ValueError) as caught:
        tool_from_python(source)
    assert str(caught.value).startswith(error), str(caught.value)


def test_error_lines_count_from_the_top_of_the_paste() -> None:
    source = "from typing import Literal\n\n\ndef f(\n    a: int,\n    b: Literal[x],\n): ..."
    with pytest.raises(ValueError, match=r"^Line 6: Literal\[\.\.\.\] takes"):
        tool_from_python(source)


def test_null_bytes_and_deep_nesting_are_errors_not_crashes() -> None:
    with pytest.raises(ValueError):
        tool_from_python("def f(x: int): ...\0")
    deep = "def f(x: " + "list[" * 5000 + "int" + "]" * 5000 + "): ..."
    with pytest.raises(ValueError):
        tool_from_python(deep)


# -- hostile source: rejected or ignored, and nothing runs -----------------------------------------


def hostile_sources(marker: Path) -> list[str]:
    touch = f"__import__('os').system('touch {marker}')"
    return [
        f"import os; os.system('touch {marker}')\ndef f(): ...",
        f"{touch}\ndef f(): ...",
        f"import os\n@os.system('touch {marker}')\ndef f(): ...",
        f"@(lambda f: {touch})\ndef f(): ...",
        f"def f(x: int = os.system('touch {marker}')): ...",
        f"def f(x: int = {touch}): ...",
        f"def f(x: {touch}): ...",
        f"def f(x: 'int' = (lambda: {touch})()): ...",
        f"def f(x: int) -> {touch}: ...",
        f"def f(x: int):\n    {touch}",
        f"def f(x: int):\n    '''Doc.'''\n    import os\n    os.system('touch {marker}')",
        f"class Evil:\n    {touch}\ndef f(): ...",
        f"def f(): ...\n{touch}",
    ]


def test_hostile_source_never_runs(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    outcomes: list[str] = []
    for source in hostile_sources(marker):
        try:
            tool_from_python(source)
        except ValueError as exc:
            outcomes.append(f"rejected: {exc}")
        else:
            outcomes.append("accepted")
    assert not marker.exists()
    # Only the bodies and the return annotation are ignored; everything that would run is refused.
    assert [o == "accepted" for o in outcomes] == [
        False,
        False,
        False,
        False,
        False,
        False,
        False,
        False,
        True,
        True,
        True,
        False,
        False,
    ]
    assert "import of 'os' is not allowed" in outcomes[2]
    assert "decorators are not allowed (they would run code)" in outcomes[3]
    assert "only literal values are allowed here" in outcomes[4]
