"""JSON Schema from pasted pydantic v2 source, read with ``ast`` and never run.

Users paste a ``class WeatherInfo(BaseModel): ...`` from their own code to get the schema their
app will validate with. Running pasted code would let any paste do anything, so the source is
only parsed: :func:`schema_from_pydantic_source` walks the syntax tree, accepts a small,
declarative subset of pydantic and rejects everything else with the line it found it on. Nothing
is imported, executed or evaluated; defaults are read with ``ast.literal_eval`` from nodes that
were first checked to be plain literals.

The supported subset, whose output matches pydantic's own ``model_json_schema()``:

- ``class X(BaseModel)`` (also ``pydantic.BaseModel`` or another model of the same source), with
  a docstring (the description), annotated fields and ``model_config`` as a literal dict or
  ``ConfigDict(...)`` with literal arguments (``title``, ``extra`` and ``json_schema_extra`` are
  reflected in the schema);
- ``class E(Enum)`` (also ``str, Enum``, ``IntEnum``, ``StrEnum``) with literal values;
- types ``str``, ``int``, ``float``, ``bool``, ``None``, ``Any``, ``list[...]``/``List[...]``,
  ``dict[str, ...]``/``Dict[str, ...]``, ``Optional[...]``, ``Union[...]``, ``X | Y``,
  ``Literal[...]``, the models and enums of the source (as ``$defs`` + ``$ref``), and string
  forward references to them;
- defaults that are literals or members of the source's enums, and ``Field(...)`` with
  ``default``, ``default_factory`` (``list``, ``dict`` or a class of the source), ``title``,
  ``description``, ``examples``, ``ge``, ``le``, ``gt``, ``lt``, ``multiple_of``,
  ``min_length``, ``max_length`` and ``pattern``;
- imports of those names from ``pydantic``, ``typing`` and ``enum`` (they are only names here).

Example:
    >>> schema = schema_from_pydantic_source("class A(BaseModel):\\n    x: int = 1\\n")
    >>> schema["properties"]
    {'x': {'default': 1, 'title': 'X', 'type': 'integer'}}

Keys come in pydantic's order too (sorted, except properties and defaults), so the JSON text of
the schema is the same as pydantic's, not only its value.
"""

from __future__ import annotations

import ast
import inspect
from dataclasses import dataclass, field
from typing import Any

__all__ = ["AnnotationReader", "literal_value", "schema_from_pydantic_source"]

# What each importable module may provide; the canonical name of each is "module.name".
_MODULE_NAMES: dict[str, frozenset[str]] = {
    "pydantic": frozenset({"BaseModel", "Field", "ConfigDict"}),
    "typing": frozenset({"Any", "Dict", "List", "Literal", "Optional", "Union"}),
    "typing_extensions": frozenset({"Any", "Dict", "List", "Literal", "Optional", "Union"}),
    "enum": frozenset({"Enum", "IntEnum", "StrEnum"}),
    "__future__": frozenset({"annotations"}),
}
# Names usable without an import (pasted snippets often leave the imports out).
_BARE_NAMES: dict[str, str] = {
    "str": "builtins.str",
    "int": "builtins.int",
    "float": "builtins.float",
    "bool": "builtins.bool",
    "list": "builtins.list",
    "dict": "builtins.dict",
    **{
        name: f"{module}.{name}"
        for module in ("pydantic", "typing", "enum")
        for name in _MODULE_NAMES[module]
    },
}
_PRIMITIVES = {
    "builtins.str": "string",
    "builtins.int": "integer",
    "builtins.float": "number",
    "builtins.bool": "boolean",
}
_ENUM_BASES = {"enum.Enum": None, "enum.IntEnum": int, "enum.StrEnum": str}
_MIXINS = {"builtins.str": str, "builtins.int": int, "builtins.float": float}
_FIELD_KEYWORDS = frozenset(
    {
        "default",
        "default_factory",
        "title",
        "description",
        "examples",
        "ge",
        "le",
        "gt",
        "lt",
        "multiple_of",
        "min_length",
        "max_length",
        "pattern",
    }
)
_NUMERIC_CONSTRAINTS = {
    "ge": "minimum",
    "le": "maximum",
    "gt": "exclusiveMinimum",
    "lt": "exclusiveMaximum",
    "multiple_of": "multipleOf",
}
_LENGTH_CONSTRAINTS = {
    "string": ("minLength", "maxLength"),
    "array": ("minItems", "maxItems"),
    "object": ("minProperties", "maxProperties"),
}
# model_config keys that would change the schema in ways this reader does not reproduce.
_UNSUPPORTED_CONFIG = frozenset(
    {
        "use_attribute_docstrings",
        "json_schema_mode_override",
        "json_schema_serialization_defaults_required",
        "alias_generator",
        "field_title_generator",
        "model_title_generator",
    }
)
_ENUM_DEFAULT_DOC = "An enumeration."


def _fail(node: ast.AST | None, message: str) -> ValueError:
    line = getattr(node, "lineno", None)
    return ValueError(f"Line {line}: {message}" if line else message)


# -- types ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Type:
    """A field's type as a small tree.

    ``kind`` is ``prim`` (``name`` is the JSON type, or ``any``), ``list``/``dict`` (``args``
    holds the item type, empty for bare ``list``/``dict``), ``ref`` (``name`` is a class of the
    source), ``literal`` (``values``) or ``union`` (``args``, flattened, ``None`` last).
    """

    kind: str
    name: str = ""
    args: tuple[_Type, ...] = ()
    values: tuple[Any, ...] = ()


_NULL = _Type("prim", "null")


def _union(members: list[_Type]) -> _Type:
    flat: list[_Type] = []
    for member in members:
        for item in member.args if member.kind == "union" else (member,):
            if item not in flat:
                flat.append(item)
    if _NULL in flat:
        flat = [m for m in flat if m != _NULL] + [_NULL]
    return flat[0] if len(flat) == 1 else _Type("union", args=tuple(flat))


def _nullable_inner(kind: _Type) -> _Type | None:
    """The X of ``Optional[X]`` (one type besides None), else None."""
    if kind.kind == "union" and len(kind.args) == 2 and kind.args[1] == _NULL:
        return kind.args[0]
    return None


# -- the reader -----------------------------------------------------------------------------------


@dataclass
class _Field:
    name: str
    kind: _Type
    node: ast.AST
    required: bool = True
    default: Any = None
    has_default: bool = False
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Model:
    name: str
    node: ast.ClassDef
    fields: dict[str, _Field] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    description: str | None = None


@dataclass
class _Enum:
    name: str
    node: ast.ClassDef
    members: dict[str, Any] = field(default_factory=dict)
    description: str | None = None


class _Reader:
    """Walks a module's syntax tree and collects its models and enums."""

    def __init__(self, class_names: frozenset[str]) -> None:
        self.class_names = class_names  # every class of the source, so fields may refer ahead
        self.names: dict[str, str] = dict(_BARE_NAMES)
        self.modules: dict[str, str] = {}
        self.models: dict[str, _Model] = {}
        self.enums: dict[str, _Enum] = {}
        self.order: list[str] = []

    # -- module level ---------------------------------------------------------------------------

    def read(self, tree: ast.Module) -> None:
        for index, statement in enumerate(tree.body):
            if isinstance(statement, ast.Import):
                self._import(statement)
            elif isinstance(statement, ast.ImportFrom):
                self._import_from(statement)
            elif isinstance(statement, ast.ClassDef):
                self._class(statement)
            elif index == 0 and _is_docstring(statement):
                continue
            else:
                raise _fail(
                    statement, f"only imports and classes are allowed, not {_what(statement)}"
                )

    def _import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.name not in _MODULE_NAMES or alias.name == "__future__":
                raise _fail(node, f"import of {alias.name!r} is not allowed")
            self.modules[alias.asname or alias.name] = alias.name

    def _import_from(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        allowed = _MODULE_NAMES.get(module)
        if allowed is None or node.level:
            raise _fail(node, f"import from {module or '.'!r} is not allowed")
        for alias in node.names:
            if alias.name not in allowed:
                raise _fail(node, f"import of {module}.{alias.name} is not allowed")
            target = "typing" if module == "typing_extensions" else module
            self.names[alias.asname or alias.name] = f"{target}.{alias.name}"

    def _canonical(self, node: ast.expr) -> str | None:
        """The canonical name of a Name/Attribute node, or None when it is not a known name."""
        if isinstance(node, ast.Name):
            if node.id in self.class_names:
                return f"local.{node.id}"
            return self.names.get(node.id)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            module = self.modules.get(node.value.id)
            if module is not None:
                if node.attr not in _MODULE_NAMES[module]:
                    raise _fail(node, f"{node.value.id}.{node.attr} is not supported")
                return f"{'typing' if module == 'typing_extensions' else module}.{node.attr}"
        return None

    # -- classes --------------------------------------------------------------------------------

    def _class(self, node: ast.ClassDef) -> None:
        if node.decorator_list:
            raise _fail(node.decorator_list[0], "decorators are not allowed")
        if node.keywords:
            raise _fail(node, f"class {node.name}: class keywords are not allowed")
        if getattr(node, "type_params", None):
            raise _fail(node, f"class {node.name}: generic classes are not supported")
        if node.name in self.models or node.name in self.enums:
            raise _fail(node, f"class {node.name} is defined twice")
        if node.name in self.names or node.name in self.modules:
            raise _fail(node, f"class {node.name} shadows a built-in or imported name")
        bases = [self._canonical(base) for base in node.bases]
        for base, name in zip(node.bases, bases, strict=True):
            if name is None:
                raise _fail(base, f"class {node.name}: unknown base class {ast.unparse(base)!r}")
        if any(b in _ENUM_BASES for b in bases):
            self._enum(node, [b for b in bases if b is not None])
        elif bases and all(b == "pydantic.BaseModel" or _local_model(b, self) for b in bases):
            self._model(node, [b for b in bases if b is not None])
        else:
            raise _fail(node, f"class {node.name} must derive from BaseModel or Enum")
        self.order.append(node.name)

    def _enum(self, node: ast.ClassDef, bases: list[str]) -> None:
        mixin: type | None = None
        for base in bases:
            if base in _ENUM_BASES:
                mixin = _ENUM_BASES[base] or mixin
            elif base in _MIXINS:
                mixin = _MIXINS[base]
            else:
                raise _fail(node, f"enum {node.name}: unsupported base {base.split('.')[-1]}")
        enum = _Enum(node.name, node, description=_docstring(node))
        for index, statement in enumerate(node.body):
            if index == 0 and _is_docstring(statement):
                continue
            if (
                not isinstance(statement, ast.Assign)
                or len(statement.targets) != 1
                or not isinstance(statement.targets[0], ast.Name)
            ):
                raise _fail(statement, f"enum {node.name}: only NAME = literal members are allowed")
            value = literal_value(statement.value)
            if mixin is not None and type(value) is not mixin:
                raise _fail(
                    statement, f"enum {node.name}: value {value!r} is not a {mixin.__name__}"
                )
            if isinstance(value, dict | list):
                raise _fail(statement, f"enum {node.name}: member values must be scalars")
            enum.members[statement.targets[0].id] = value
        if not enum.members:
            raise _fail(node, f"enum {node.name} has no members")
        self.enums[node.name] = enum

    def _model(self, node: ast.ClassDef, bases: list[str]) -> None:
        model = _Model(node.name, node, description=_docstring(node))
        for base in bases:
            if base.startswith("local."):
                parent = self.models[base[len("local.") :]]
                model.fields.update(parent.fields)
                model.config.update(parent.config)
        for index, statement in enumerate(node.body):
            if index == 0 and _is_docstring(statement):
                continue
            target = _assigned_name(statement)
            if target == "model_config":
                value = (
                    statement.value if isinstance(statement, ast.Assign | ast.AnnAssign) else None
                )
                model.config.update(self._config(value, statement))
            elif isinstance(statement, ast.AnnAssign) and target is not None:
                parsed = self._field(target, statement)
                if not target.startswith("_"):  # private attributes are not fields
                    model.fields[target] = parsed
            else:
                raise _fail(
                    statement,
                    f"class {node.name}: only annotated fields, a docstring and model_config "
                    f"are allowed, not {_what(statement)}",
                )
        self.models[node.name] = model

    def _config(self, value: ast.expr | None, statement: ast.stmt) -> dict[str, Any]:
        if isinstance(value, ast.Call):
            if self._canonical(value.func) != "pydantic.ConfigDict" or value.args:
                raise _fail(value, "model_config must be a literal dict or ConfigDict(key=literal)")
            config = {}
            for keyword in value.keywords:
                if keyword.arg is None:
                    raise _fail(keyword.value, "** is not allowed in ConfigDict(...)")
                config[keyword.arg] = literal_value(keyword.value)
        elif value is not None:
            config = literal_value(value)
            if not isinstance(config, dict):
                raise _fail(value, "model_config must be a dict")
        else:
            raise _fail(statement, "model_config needs a value")
        for key in config:
            if key in _UNSUPPORTED_CONFIG:
                raise _fail(value, f"model_config[{key!r}] is not supported")
        extra = config.get("json_schema_extra")
        if extra is not None and not isinstance(extra, dict):
            raise _fail(value, "json_schema_extra must be a dict")
        return dict(config)

    # -- fields ---------------------------------------------------------------------------------

    def _field(self, name: str, node: ast.AnnAssign) -> _Field:
        kind = self._type(node.annotation)
        result = _Field(name, kind, node)
        value = node.value
        if value is None:
            return result
        if isinstance(value, ast.Call) and self._canonical(value.func) == "pydantic.Field":
            self._field_call(result, value)
        else:
            result.required = False
            result.has_default = True
            result.default = self._default(value)
        return result

    def _field_call(self, result: _Field, call: ast.Call) -> None:
        if len(call.args) > 1:
            raise _fail(call, "Field(...) takes at most one positional argument (the default)")
        arguments: dict[str, ast.expr] = {}
        if call.args:
            arguments["default"] = call.args[0]
        for keyword in call.keywords:
            if keyword.arg is None:
                raise _fail(keyword.value, "** is not allowed in Field(...)")
            if keyword.arg not in _FIELD_KEYWORDS:
                raise _fail(keyword.value, f"Field({keyword.arg}=...) is not supported")
            if keyword.arg in arguments:
                raise _fail(keyword.value, f"Field: {keyword.arg} is given twice")
            arguments[keyword.arg] = keyword.value
        default = arguments.pop("default", None)
        if default is not None and not (
            isinstance(default, ast.Constant) and default.value is Ellipsis
        ):
            result.required = False
            result.has_default = True
            result.default = self._default(default)
        factory = arguments.pop("default_factory", None)
        if factory is not None:
            if result.has_default:
                raise _fail(factory, "Field: default and default_factory are both given")
            if self._canonical(factory) not in ("builtins.list", "builtins.dict") and not (
                isinstance(factory, ast.Name) and factory.id in self.models
            ):
                raise _fail(factory, "default_factory must be list, dict or a class of this source")
            result.required = False
        for key, node in arguments.items():
            result.options[key] = literal_value(node)

    def _default(self, node: ast.expr) -> Any:
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            enum = self.enums.get(node.value.id)
            if enum is not None:
                if node.attr not in enum.members:
                    raise _fail(node, f"{node.value.id} has no member {node.attr}")
                return enum.members[node.attr]
        return literal_value(node)

    def _type(self, node: ast.expr) -> _Type:
        if isinstance(node, ast.Constant):
            if node.value is None:
                return _NULL
            if isinstance(node.value, str):
                return self._forward(node)
            raise _fail(node, f"{node.value!r} is not a type")
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            return _union([self._type(node.left), self._type(node.right)])
        if isinstance(node, ast.Subscript):
            return self._generic(node)
        name = self._canonical(node)
        if name is None:
            raise _fail(node, f"unknown type {ast.unparse(node)!r}")
        if name in _PRIMITIVES:
            return _Type("prim", _PRIMITIVES[name])
        if name == "typing.Any":
            return _Type("prim", "any")
        if name in ("builtins.list", "typing.List"):
            return _Type("list")
        if name in ("builtins.dict", "typing.Dict"):
            return _Type("dict")
        if name.startswith("local."):
            return _Type("ref", name[len("local.") :])
        raise _fail(node, f"{ast.unparse(node)} is not a type")

    def _forward(self, node: ast.Constant) -> _Type:
        try:
            inner = ast.parse(str(node.value).strip(), mode="eval").body
        except SyntaxError:
            raise _fail(node, f"forward reference {node.value!r} is not a type") from None
        for child in ast.walk(inner):
            ast.copy_location(child, node)
        return self._type(inner)

    def _generic(self, node: ast.Subscript) -> _Type:
        name = self._canonical(node.value)
        args = list(node.slice.elts) if isinstance(node.slice, ast.Tuple) else [node.slice]
        if name == "typing.Literal":
            values: list[Any] = []
            for arg in args:
                if not isinstance(arg, ast.Constant) or not isinstance(
                    arg.value, str | int | bool | type(None)
                ):
                    raise _fail(arg, "Literal[...] takes str, int, bool or None values")
                if (type(arg.value), arg.value) not in [(type(v), v) for v in values]:
                    values.append(arg.value)
            return _Type("literal", values=tuple(values))
        if name == "typing.Optional":
            if len(args) != 1:
                raise _fail(node, "Optional[...] takes one type")
            return _union([self._type(args[0]), _NULL])
        if name == "typing.Union":
            return _union([self._type(arg) for arg in args])
        if name in ("builtins.list", "typing.List"):
            if len(args) != 1:
                raise _fail(node, "list[...] takes one type")
            return _Type("list", args=(self._type(args[0]),))
        if name in ("builtins.dict", "typing.Dict"):
            if len(args) != 2:
                raise _fail(node, "dict[...] takes a key type and a value type")
            if self._type(args[0]) != _Type("prim", "string"):
                raise _fail(args[0], "dict keys must be str in JSON")
            return _Type("dict", args=(self._type(args[1]),))
        raise _fail(node, f"unknown type {ast.unparse(node)!r}")


def _local_model(name: str | None, reader: _Reader) -> bool:
    return name is not None and name.startswith("local.") and name[6:] in reader.models


def _is_docstring(statement: ast.stmt) -> bool:
    return (
        isinstance(statement, ast.Expr)
        and isinstance(statement.value, ast.Constant)
        and isinstance(statement.value.value, str)
    )


def _docstring(node: ast.ClassDef) -> str | None:
    text = ast.get_docstring(node, clean=False)
    return inspect.cleandoc(text) if text else None


def _assigned_name(statement: ast.stmt) -> str | None:
    if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
        return statement.target.id
    if (
        isinstance(statement, ast.Assign)
        and len(statement.targets) == 1
        and isinstance(statement.targets[0], ast.Name)
    ):
        return statement.targets[0].id
    return None


def _what(node: ast.AST) -> str:
    names = {
        ast.Import: "an import",
        ast.ImportFrom: "an import",
        ast.FunctionDef: "a function",
        ast.AsyncFunctionDef: "a function",
        ast.ClassDef: "a nested class",
        ast.Assign: "an assignment",
        ast.Expr: "an expression",
    }
    return names.get(type(node), f"a {type(node).__name__} statement")


def _check_literal(node: ast.AST) -> None:
    """Raise unless ``node`` is built only from constants, lists, tuples, dicts and signs."""
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bytes | complex) or node.value is Ellipsis:
            raise _fail(node, f"{node.value!r} is not a JSON value")
        return
    if isinstance(node, ast.List | ast.Tuple):
        for item in node.elts:
            _check_literal(item)
        return
    if isinstance(node, ast.Dict):
        for key, item in zip(node.keys, node.values, strict=True):
            if key is None:
                raise _fail(item, "** is not allowed in a literal dict")
            if not isinstance(key, ast.Constant) or not isinstance(key.value, str):
                raise _fail(key, "dict keys must be strings")
            _check_literal(item)
        return
    if (
        isinstance(node, ast.UnaryOp)
        and isinstance(node.op, ast.USub | ast.UAdd)
        and isinstance(node.operand, ast.Constant)
        and isinstance(node.operand.value, int | float)
        and not isinstance(node.operand.value, bool)
    ):
        return
    raise _fail(node, f"only literal values are allowed here, not {ast.unparse(node)!r}")


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def literal_value(node: ast.expr) -> Any:
    """The value of a literal node; checked first, so ``literal_eval`` only sees plain data.

    Raises:
        ValueError: the node is not built only from literals (a call, a name, ...); the message
            names the line.
    """
    _check_literal(node)
    return _jsonable(ast.literal_eval(node))


# -- writing the schema ---------------------------------------------------------------------------


class _Writer:
    """Renders the collected classes as pydantic's ``model_json_schema()`` would."""

    def __init__(self, reader: _Reader) -> None:
        self.reader = reader
        self.defs: dict[str, dict[str, Any]] = {}
        self.used: list[str] = []

    def ref(self, name: str) -> dict[str, Any]:
        if name not in self.used:
            self.used.append(name)
            self.defs[name] = {}  # placeholder: a recursive model refers to itself
            if name in self.reader.models:
                self.defs[name] = self.model(self.reader.models[name])
            else:
                self.defs[name] = self.enum(self.reader.enums[name])
        return {"$ref": f"#/$defs/{name}"}

    def enum(self, enum: _Enum) -> dict[str, Any]:
        result: dict[str, Any] = {"title": enum.name}
        if enum.description and enum.description != _ENUM_DEFAULT_DOC:
            result["description"] = enum.description
        values = list(enum.members.values())
        result["enum"] = values
        kind = _json_type_of({type(v) for v in values})
        if kind is not None and kind != "null":
            result["type"] = kind
        return result

    def model(self, model: _Model) -> dict[str, Any]:
        config = model.config
        result: dict[str, Any] = {}
        extra = config.get("extra")
        if extra == "forbid":
            result["additionalProperties"] = False
        elif extra == "allow":
            result["additionalProperties"] = True
        if model.description:
            result["description"] = model.description
        result["properties"] = {name: self.field(item) for name, item in model.fields.items()}
        required = [name for name, item in model.fields.items() if item.required]
        if required:
            result["required"] = required
        title = config.get("title")
        result["title"] = title if isinstance(title, str) else model.name
        result["type"] = "object"
        schema_extra = config.get("json_schema_extra")
        if isinstance(schema_extra, dict):
            result.update(schema_extra)
        return result

    def field(self, item: _Field) -> dict[str, Any]:
        options = dict(item.options)
        constraints = {k: options.pop(k) for k in list(options) if k in _CONSTRAINTS}
        schema = self.type_schema(item.kind, constraints, item.node)
        title = options.pop("title", None)
        if title is None and _title_wanted(item.kind):
            title = item.name.title().replace("_", " ").strip()
        if title is not None:
            schema["title"] = title
        for key in ("description", "examples"):
            if key in options:
                schema[key] = options.pop(key)
        if item.has_default:
            schema["default"] = item.default
        return schema

    def type_schema(
        self, kind: _Type, constraints: dict[str, Any], node: ast.AST
    ) -> dict[str, Any]:
        if constraints:
            inner = _nullable_inner(kind)
            if inner is not None:
                return {"anyOf": [self.type_schema(inner, constraints, node), {"type": "null"}]}
        if kind.kind == "prim":
            schema: dict[str, Any] = {} if kind.name == "any" else {"type": kind.name}
        elif kind.kind == "list":
            items = self.type_schema(kind.args[0], {}, node) if kind.args else {}
            schema = {"items": items, "type": "array"}
        elif kind.kind == "dict":
            value = self.type_schema(kind.args[0], {}, node) if kind.args else {}
            schema = {"additionalProperties": value or True, "type": "object"}
        elif kind.kind == "ref":
            schema = self.ref(kind.name)
        elif kind.kind == "literal":
            values = list(kind.values)
            schema = {"const": values[0]} if len(values) == 1 else {"enum": values}
            json_kind = _json_type_of({type(v) for v in values})
            if json_kind is not None:
                schema["type"] = json_kind
        else:
            schema = {"anyOf": [self.type_schema(arg, {}, node) for arg in kind.args]}
        if constraints:
            _apply_constraints(schema, kind, constraints, node)
        return schema


_CONSTRAINTS = frozenset({*_NUMERIC_CONSTRAINTS, "min_length", "max_length", "pattern"})


def _apply_constraints(
    schema: dict[str, Any], kind: _Type, constraints: dict[str, Any], node: ast.AST
) -> None:
    json_kind = (
        kind.name if kind.kind == "prim" else {"list": "array", "dict": "object"}.get(kind.kind, "")
    )
    for key, value in constraints.items():
        if key in _NUMERIC_CONSTRAINTS and json_kind in ("integer", "number"):
            schema[_NUMERIC_CONSTRAINTS[key]] = value
        elif key in ("min_length", "max_length") and json_kind in _LENGTH_CONSTRAINTS:
            schema[_LENGTH_CONSTRAINTS[json_kind][key == "max_length"]] = value
        elif key == "pattern" and json_kind == "string":
            schema["pattern"] = value
        else:
            raise _fail(node, f"Field({key}=...) does not apply to this field's type")


def _json_type_of(types: set[type]) -> str | None:
    for python, json_kind in (
        (str, "string"),
        (int, "integer"),
        (float, "number"),
        (bool, "boolean"),
        (list, "array"),
        (type(None), "null"),
    ):
        if types == {python}:
            return json_kind
    return None


def _title_wanted(kind: _Type) -> bool:
    """pydantic leaves the field title out when the field is a model or enum (or Optional one)."""
    inner = _nullable_inner(kind) or kind
    return inner.kind != "ref"


class AnnotationReader:
    """Reads single type annotations into JSON Schema, as pydantic would render a field's type.

    For other ``ast``-only readers of pasted code (a function's parameters for a tool
    definition): the same supported types and error messages as the models here, with the
    module's imports read first so that ``from typing import Literal`` or ``import typing``
    make those names known. Classes are not known, so a class name is an unknown type.
    """

    def __init__(self) -> None:
        self._reader = _Reader(frozenset())

    def read_import(self, node: ast.Import | ast.ImportFrom) -> None:
        """Make the names of an import known; raises ValueError for modules outside the subset."""
        if isinstance(node, ast.Import):
            self._reader._import(node)
        else:
            self._reader._import_from(node)

    def schema(self, annotation: ast.expr) -> dict[str, Any]:
        """The JSON Schema of ``annotation``; raises ValueError (with the line) for other types."""
        kind = self._reader._type(annotation)
        return _Writer(self._reader).type_schema(kind, {}, annotation)


def schema_from_pydantic_source(source: str, model: str | None = None) -> dict[str, Any]:
    """The JSON Schema pydantic would generate for a model in ``source``, without running it.

    Args:
        source: Python source with pydantic v2 model classes (see the module docstring for the
            supported subset).
        model: The class to use as the root; by default the last model of the source.

    Raises:
        ValueError: the source is not valid Python or uses anything outside the supported
            subset; the message names the line.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise ValueError(f"Line {exc.lineno}: {exc.msg}") from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise ValueError(f"Cannot parse the source: {exc}") from None
    reader = _Reader(frozenset(s.name for s in tree.body if isinstance(s, ast.ClassDef)))
    try:
        reader.read(tree)
    except RecursionError:
        raise ValueError("The source is nested too deeply") from None
    if not reader.models:
        raise ValueError("No pydantic model (class ...(BaseModel)) found in the source")
    if model is None:
        root = [name for name in reader.order if name in reader.models][-1]
    elif model in reader.models:
        root = model
    else:
        raise ValueError(f"No model named {model!r}; the source defines {', '.join(reader.models)}")
    for name in reader.order:
        _check_refs(reader, name)
    writer = _Writer(reader)
    schema = writer.model(reader.models[root])
    if root in writer.used:  # a recursive root is itself one of the definitions
        schema = {"$ref": f"#/$defs/{root}"}
    if writer.defs:
        schema = {"$defs": writer.defs, **schema}
    result: dict[str, Any] = _sorted(schema)
    return result


def _sorted(value: Any, parent_key: str | None = None) -> Any:
    """Keys sorted as pydantic's ``GenerateJsonSchema.sort`` does."""
    if isinstance(value, dict):
        keys = value if parent_key in ("properties", "default") else sorted(value)
        return {key: _sorted(value[key], key) for key in keys}
    if isinstance(value, list):
        return [_sorted(item, parent_key) for item in value]
    return value


def _check_refs(reader: _Reader, name: str) -> None:
    """Every class a field refers to must be defined somewhere in the source."""
    model = reader.models.get(name)
    if model is None:
        return
    for item in model.fields.values():
        stack = [item.kind]
        while stack:
            kind = stack.pop()
            stack.extend(kind.args)
            if (
                kind.kind == "ref"
                and kind.name not in reader.models
                and kind.name not in reader.enums
            ):
                raise _fail(item.node, f"unknown type {kind.name!r}")
