"""Pasted pydantic source to JSON Schema: same output as pydantic itself, and nothing ever runs."""

from __future__ import annotations

import inspect
import json
import re
import textwrap
from enum import Enum, IntEnum, StrEnum
from pathlib import Path
from typing import Any, Dict, List, Literal, Optional, Union  # noqa: UP035 - the subset covers them

import pytest
from pydantic import BaseModel, ConfigDict, Field

from app.domain.pydantic_source import schema_from_pydantic_source
from app.domain.schema import PYDANTIC_SAMPLES, SAMPLES

HEADER = (
    "from enum import Enum, IntEnum, StrEnum\n"
    "from typing import Any, Dict, List, Literal, Optional, Union\n"
    "from pydantic import BaseModel, ConfigDict, Field\n\n"
)


# The classes below are both the reference (pydantic runs them) and the input (their source text
# is read back with inspect.getsource and converted without running it).


class Colour(str, Enum):  # noqa: UP042 - the common way in pasted code
    """A colour."""

    RED = "red"
    GREEN = "green"


class Priority(IntEnum):
    LOW = 1
    HIGH = 2


class Size(StrEnum):
    S = "s"
    M = "m"


class Mixed(Enum):
    ONE = 1
    HALF = 0.5


class Address(BaseModel):
    """Where someone lives.

    Indented second paragraph.
    """

    street: str
    city: str = Field(description="City name", min_length=1, max_length=80)
    zip_code: Optional[str] = Field(default=None, pattern=r"^\d{5}$")  # noqa: UP045


class Person(BaseModel):
    """A person."""

    model_config = ConfigDict(title="A Person", extra="forbid")

    name: str = Field(title="Full name", examples=["Ada"])
    age: int = Field(ge=0, le=150)
    height_m: float = Field(1.7, gt=0, lt=3.5, multiple_of=0.01)
    active: bool = True
    nickname: str | None = None
    tags: list[str] = []
    scores: List[float] = Field(default_factory=list, min_length=0, max_length=10)  # noqa: UP006
    extra_info: dict[str, Any] = {}
    counts: Dict[str, int] = {"a": 1}  # noqa: UP006
    anything: Any = None
    address: Address
    previous: Optional[Address] = None  # noqa: UP045
    others: list[Address] = Field(default_factory=list, description="Other addresses")
    colour: Colour = Colour.RED
    priority: Priority = Field(Priority.HIGH, description="How urgent")
    mixed: Mixed
    size: Size | None = Size.M
    kind: Literal["a", "b"] = "a"
    one: Literal[1]
    maybe: Literal["x", None] = None
    flag: Literal[True, False] = False
    either: Union[int, str]  # noqa: UP007
    either_or_none: int | str | None = None
    model_or_int: Union[Address, int] = 0  # noqa: UP007
    nested: list[list[int]] = [[1, 2], [3]]


class Node(BaseModel):
    value: int
    children: list[Node] = []


class Tree(BaseModel):
    root: Node
    label: str = "tree"


class Base(BaseModel):
    model_config = {"extra": "allow"}

    a: int
    b: str = "x"


class Child(Base):
    """Overrides a and adds c."""

    a: str  # type: ignore[assignment]  # pydantic allows overriding a field type
    c: float = -1.5


def _source(*classes: type) -> str:
    return HEADER + "\n\n".join(textwrap.dedent(inspect.getsource(c)) for c in classes)


def _dumped(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2)


def test_weather_sample_matches_pydantic_and_the_json_sample() -> None:
    class WeatherInfo(BaseModel):
        """Current weather at one place."""

        model_config = {"extra": "forbid"}

        location: str
        temperature: float
        condition: str
        humidity: int = Field(ge=0, le=100)

    schema = schema_from_pydantic_source(PYDANTIC_SAMPLES["weather"])
    assert _dumped(schema) == _dumped(WeatherInfo.model_json_schema())
    assert schema == json.loads(SAMPLES["weather"])


@pytest.mark.parametrize(
    ("classes", "root"),
    [
        ((Colour, Priority, Size, Mixed, Address, Person), Person),
        ((Address,), Address),
        ((Node,), Node),
        ((Node, Tree), Tree),
        ((Base, Child), Child),
        ((Base, Child), Base),
    ],
    ids=[
        "everything",
        "docstring-and-constraints",
        "recursive-root",
        "recursive-def",
        "inherit",
        "parent",
    ],
)
def test_same_schema_as_pydantic(
    classes: tuple[type[BaseModel], ...], root: type[BaseModel]
) -> None:
    schema = schema_from_pydantic_source(_source(*classes), root.__name__)
    assert _dumped(schema) == _dumped(root.model_json_schema())


def test_the_last_model_is_the_root_and_enums_do_not_count() -> None:
    source = _source(Address) + "\n\nclass Later(Enum):\n    A = 'a'\n"
    assert schema_from_pydantic_source(source)["title"] == "Address"


def test_forward_references_and_modules_with_aliases() -> None:
    source = textwrap.dedent(
        '''
        """A module docstring is fine."""
        import pydantic as pd
        import typing

        class Outer(pd.BaseModel):
            inner: "Inner"
            maybe: typing.Optional["Inner"] = None

        class Inner(pd.BaseModel):
            x: int
        '''
    )

    class Inner(BaseModel):
        x: int

    class Outer(BaseModel):
        inner: Inner
        maybe: Optional[Inner] = None  # noqa: UP045

    assert schema_from_pydantic_source(source, "Outer") == Outer.model_json_schema()


def test_works_without_imports_and_ignores_private_attributes() -> None:
    source = "class A(BaseModel):\n    x: List[int]\n    _cache: dict = {}\n"
    assert schema_from_pydantic_source(source) == {
        "properties": {"x": {"items": {"type": "integer"}, "title": "X", "type": "array"}},
        "required": ["x"],
        "title": "A",
        "type": "object",
    }


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("import os\nclass A(BaseModel):\n    x: int\n", "Line 1: import of 'os' is not allowed"),
        ("from os import path\n", "Line 1: import from 'os' is not allowed"),
        ("from pydantic import validator\n", "Line 1: import of pydantic.validator is not allowed"),
        ("def f():\n    pass\n", "Line 1: only imports and classes are allowed, not a function"),
        ("x = 1\n", "Line 1: only imports and classes are allowed, not an assignment"),
        ("print('hi')\n", "Line 1: only imports and classes are allowed, not an expression"),
        ("class A(BaseModel):\n    x: int\n    y = 2\n", "Line 3: class A: only annotated fields"),
        (
            "class A(BaseModel):\n    x: int\n    def f(self):\n        pass\n",
            "Line 3: class A: only annotated fields",
        ),
        (
            "class A(BaseModel):\n    class Config:\n        extra = 'forbid'\n",
            "Line 2: class A: only annotated fields",
        ),
        ("@dataclass\nclass A(BaseModel):\n    x: int\n", "Line 1: decorators are not allowed"),
        (
            "class A(BaseModel, metaclass=M):\n    x: int\n",
            "Line 1: class A: class keywords are not allowed",
        ),
        ("class A(Thing):\n    x: int\n", "Line 1: class A: unknown base class 'Thing'"),
        ("class A(BaseModel):\n    x: Foo\n", "Line 2: unknown type 'Foo'"),
        ("class A(BaseModel):\n    x: os.PathLike\n", "Line 2: unknown type 'os.PathLike'"),
        ("class A(BaseModel):\n    x: set[int]\n", "Line 2: unknown type 'set[int]'"),
        ("class A(BaseModel):\n    x: dict[int, str]\n", "Line 2: dict keys must be str"),
        ("class A(BaseModel):\n    x: int = len('a')\n", "Line 2: only literal values"),
        ("class A(BaseModel):\n    x: int = y\n", "Line 2: only literal values"),
        (
            "class A(BaseModel):\n    x: int = Field(alias='y')\n",
            "Line 2: Field(alias=...) is not supported",
        ),
        ("class A(BaseModel):\n    x: str = Field(ge=1)\n", "Line 2: Field(ge=...) does not apply"),
        (
            "class A(BaseModel):\n    x: list = Field(default_factory=lambda: [1])\n",
            "Line 2: default_factory must be",
        ),
        (
            "class A(BaseModel):\n    model_config = dict(extra='forbid')\n",
            "Line 2: model_config must be",
        ),
        ("class A(BaseModel):\n    x: Literal[len]\n", "Line 2: Literal[...] takes"),
        ("class E(Enum):\n    A = auto()\n", "Line 2: only literal values"),
        ("class E(str, Enum):\n    A = 1\n", "Line 2: enum E: value 1 is not a str"),
        (
            "class A(BaseModel):\n    x: int\nclass A(BaseModel):\n    y: int\n",
            "Line 3: class A is defined twice",
        ),
        ("class A(BaseModel)\n    x: int\n", "Line 1: "),
        ("class E(Enum):\n    A = 'a'\n", "No pydantic model"),
    ],
)
def test_rejects_anything_outside_the_subset(source: str, message: str) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        schema_from_pydantic_source(source)


def test_unknown_root_names_the_models() -> None:
    with pytest.raises(ValueError, match="No model named 'B'; the source defines A"):
        schema_from_pydantic_source("class A(BaseModel):\n    x: int\n", "B")


def test_nothing_in_the_source_ever_runs(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    attempts = [
        f"class A(BaseModel):\n    import os; os.system('touch {marker}')\n    x: int\n",
        f"import os\nos.system('touch {marker}')\n",
        f"@(lambda c: open('{marker}', 'w'))\nclass A(BaseModel):\n    x: int\n",
        "class A(BaseModel):\n"
        f"    x: int = Field(default=__import__('os').system('touch {marker}'))\n",
        f"class A(BaseModel):\n    x: str = open('{marker}', 'w').name\n",
        f"class A(BaseModel):\n    x: str = Field(description=open('{marker}', 'w').name)\n",
        f'class A(BaseModel):\n    x: \'open("{marker}", "w")\'\n',
        f"class A(BaseModel):\n    x: Literal[open('{marker}', 'w')]\n",
        f"class A(BaseModel):\n    model_config = {{'title': open('{marker}', 'w').name}}\n",
        f"class A(BaseModel, metaclass=open('{marker}', 'w')):\n    x: int\n",
        f"class A(open('{marker}', 'w').__class__):\n    x: int\n",
        f"class E(Enum):\n    A = open('{marker}', 'w')\n",
    ]
    for source in attempts:
        with pytest.raises(ValueError, match=r"^Line \d+: "):
            schema_from_pydantic_source(source)
    assert not marker.exists()


def test_syntax_errors_give_the_line() -> None:
    with pytest.raises(ValueError, match=r"^Line 3: "):
        schema_from_pydantic_source("class A(BaseModel):\n    x: int\n    y: = 2\n")
