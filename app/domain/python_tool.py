"""A tool definition from a pasted Python function, read with ``ast`` and never run.

People who already have the function their app will call paste its ``def`` to get the
``tools`` entry for it. Running pasted code would let any paste do anything, so the source is
only parsed, as :mod:`app.domain.pydantic_source` does for models: decorators (which would run
when the function is defined) are refused, defaults must be plain literals, and the body is
never looked at. Types are read by that module's :class:`AnnotationReader`, so the same subset
is supported with the same messages: ``str``, ``int``, ``float``, ``bool``, ``None``, ``Any``,
``list[...]``, ``dict[str, ...]``, ``Optional[...]``, ``Union[...]``, ``X | None`` and
``Literal[...]``, after imports from ``typing`` (or none: pasted snippets often leave them out).

Example:
    >>> tool = tool_from_python("def ping(host: str) -> bool:\\n    'Ping a host.'\\n")
    >>> tool["function"]["parameters"]
    {'type': 'object', 'properties': {'host': {'type': 'string'}}, 'required': ['host']}
"""

from __future__ import annotations

import ast
import re
from typing import Any

from app.domain.pydantic_source import AnnotationReader, literal_value
from app.domain.tools import TOOL_NAME

__all__ = ["tool_from_python"]

_FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef
# A method pasted out of its class: its first parameter is not an argument the model gives.
_BOUND_NAMES = ("self", "cls")
_GOOGLE_ARGS = re.compile(r"(Args|Arguments|Parameters|Keyword Args|Keyword Arguments):\s*")
_GOOGLE_SECTION = re.compile(r"[A-Z][A-Za-z ]*:\s*")
_GOOGLE_ENTRY = re.compile(r"\*{0,2}(?P<name>\w+)\s*(\([^)]*\))?\s*:(?P<text>.*)")
_REST_PARAM = re.compile(r":param\s+(?:[^:]*\s)?(?P<name>\w+)\s*:(?P<text>.*)")
_REST_FIELD = re.compile(r":\w+")


def _fail(node: ast.AST, message: str) -> ValueError:
    return ValueError(f"Line {getattr(node, 'lineno', '?')}: {message}")


def tool_from_python(source: str) -> dict[str, Any]:
    """The OpenAI tool object (``{"type": "function", "function": {...}}``) for one ``def``.

    The name is the function's; the description is the first paragraph of its docstring;
    parameters get their type from the annotation, their description from a Google-style
    ``Args:`` section or reST ``:param name:`` lines, and their default when they have one.
    Parameters without a default are required. A leading unannotated ``self`` or ``cls`` is
    skipped, so a method can be pasted as it is.

    Raises:
        ValueError: the source is not valid Python, holds anything but imports and one function,
            or the function has decorators, ``*args``/``**kwargs``, a parameter without a type,
            a type outside the supported subset or a default that is not a literal; the message
            names the line.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise ValueError(f"Line {exc.lineno}: {exc.msg}") from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise ValueError(f"Cannot parse the source: {exc}") from None
    reader = AnnotationReader()
    functions: list[_FunctionNode] = []
    for index, statement in enumerate(tree.body):
        if isinstance(statement, ast.Import | ast.ImportFrom):
            reader.read_import(statement)
        elif isinstance(statement, _FunctionNode):
            if functions:
                raise _fail(statement, "only one function is allowed")
            functions.append(statement)
        elif not (index == 0 and _is_docstring(statement)):
            raise _fail(statement, "only imports and one function (def ...) are allowed here")
    if not functions:
        raise ValueError("No function (def ...) found in the source")
    try:
        return _tool(functions[0], reader)
    except RecursionError:
        raise ValueError("The source is nested too deeply") from None


def _tool(node: _FunctionNode, reader: AnnotationReader) -> dict[str, Any]:
    if node.decorator_list:
        raise _fail(node.decorator_list[0], "decorators are not allowed (they would run code)")
    if getattr(node, "type_params", None):
        raise _fail(node, "generic functions are not supported")
    if not TOOL_NAME.fullmatch(node.name):
        raise _fail(node, f"{node.name!r} is not a valid tool name (1 to 64 of A-Z a-z 0-9 _ -)")
    arguments = node.args
    if arguments.vararg is not None:
        raise _fail(arguments.vararg, f"*{arguments.vararg.arg} cannot be a tool argument")
    if arguments.kwarg is not None:
        raise _fail(arguments.kwarg, f"**{arguments.kwarg.arg} cannot be a tool argument")
    positional = [*arguments.posonlyargs, *arguments.args]
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(arguments.defaults))
    defaults.extend(arguments.defaults)
    parameters = list(zip(positional, defaults, strict=True))
    parameters.extend(zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True))
    if parameters and parameters[0][0].arg in _BOUND_NAMES and parameters[0][0].annotation is None:
        parameters = parameters[1:]
    summary, documented = _read_docstring(ast.get_docstring(node) or "")
    properties: dict[str, Any] = {}
    required: list[str] = []
    for argument, default in parameters:
        if argument.annotation is None:
            raise _fail(argument, f"parameter {argument.arg!r} needs a type annotation")
        schema = reader.schema(argument.annotation)
        if argument.arg in documented:
            schema["description"] = documented[argument.arg]
        if default is None:
            required.append(argument.arg)
        else:
            schema["default"] = literal_value(default)
        properties[argument.arg] = schema
    schema_of_arguments: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema_of_arguments["required"] = required
    function: dict[str, Any] = {"name": node.name}
    if summary:
        function["description"] = summary
    function["parameters"] = schema_of_arguments
    return {"type": "function", "function": function}


def _is_docstring(statement: ast.stmt) -> bool:
    return (
        isinstance(statement, ast.Expr)
        and isinstance(statement.value, ast.Constant)
        and isinstance(statement.value.value, str)
    )


def _read_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """The first paragraph (lines joined) and each documented parameter's description."""
    lines = doc.splitlines()
    summary: list[str] = []
    for line in lines:
        text = line.strip()
        if not text or _GOOGLE_SECTION.fullmatch(text) or _REST_FIELD.match(text):
            break
        summary.append(text)
    return " ".join(summary), {**_google_args(lines), **_rest_params(lines)}


def _google_args(lines: list[str]) -> dict[str, str]:
    """Descriptions from an ``Args:`` section: ``name (type): text`` plus indented lines."""
    found: dict[str, str] = {}
    inside = False
    header_indent = entry_indent = 0
    current: str | None = None
    for line in lines:
        text = line.strip()
        indent = len(line) - len(line.lstrip())
        if not inside:
            if _GOOGLE_ARGS.fullmatch(text):
                inside, header_indent, entry_indent, current = True, indent, -1, None
            continue
        if not text:
            continue
        if indent <= header_indent:
            inside = bool(_GOOGLE_ARGS.fullmatch(text))
            header_indent, entry_indent, current = indent, -1, None
            continue
        entry = _GOOGLE_ENTRY.fullmatch(text)
        if entry and (entry_indent < 0 or indent == entry_indent):
            entry_indent = indent
            current = entry.group("name")
            found[current] = entry.group("text").strip()
        elif current is not None:
            found[current] = f"{found[current]} {text}".strip()
    return found


def _rest_params(lines: list[str]) -> dict[str, str]:
    """Descriptions from reST ``:param [type] name: text`` fields plus indented lines."""
    found: dict[str, str] = {}
    current: str | None = None
    for line in lines:
        text = line.strip()
        param = _REST_PARAM.match(text)
        if param:
            current = param.group("name")
            found[current] = param.group("text").strip()
        elif not text or _REST_FIELD.match(text) or not line[:1].isspace():
            current = None
        elif current is not None:
            found[current] = f"{found[current]} {text}"
    return found
