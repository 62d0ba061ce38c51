"""View code: runnable code that repeats one API request, in curl, Python and JavaScript.

:func:`generate` turns a :class:`CodeRequest` (what the app sent: method, URL, JSON body or
multipart form) into a script in one of :data:`LANGUAGES`:

- ``curl``: a bash script; JSON goes through a heredoc, multipart fields through
  ``--form-string`` (so a value starting with ``@`` or ``<`` is never read as a file).
- ``python-openai``: the official ``openai`` SDK; the fields its method does not take go in
  ``extra_body``.
- ``python-httpx``: plain HTTP with ``httpx``.
- ``javascript``: an ES module for Node 18+ with the official ``openai`` npm package, which
  passes unknown body fields through as they are.

The API key is never written into the code: each script reads it from the environment variable
the provider names. Images sent inline as ``data:`` URLs (often megabytes) are not written either:
the script reads the image files at run time and builds the same URLs.

Limits: the SDKs send list form fields as ``name[]`` (so a list field whose name has no ``[]``
keeps its values but gains the brackets), and without an ``encoding_format`` the SDKs ask for
base64 embeddings (and decode them), where curl and httpx leave the server's default.

Example:
    >>> request = CodeRequest(
    ...     method="POST",
    ...     base_url="https://api.fireworks.ai/inference/v1",
    ...     path="/chat/completions",
    ...     body={"model": "m", "messages": [{"role": "user", "content": "Hi"}]},
    ...     api_key_env="FIREWORKS_API_KEY",
    ... )
    >>> print(generate(request, "python-openai").splitlines()[0])
    # Chat completion with m
"""

from __future__ import annotations

import dataclasses
import json
import re
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["LANGUAGES", "CodeRequest", "generate"]

LANGUAGES: tuple[str, ...] = ("curl", "python-openai", "python-httpx", "javascript")

# The keyword arguments of the SDK methods. Newer SDKs take more, but a field sent through
# ``extra_body`` works with every version, so these are the ones the oldest supported SDK knows.
_CHAT_PARAMS = frozenset(
    {
        "messages",
        "model",
        "audio",
        "frequency_penalty",
        "function_call",
        "functions",
        "logit_bias",
        "logprobs",
        "max_completion_tokens",
        "max_tokens",
        "metadata",
        "modalities",
        "n",
        "parallel_tool_calls",
        "prediction",
        "presence_penalty",
        "reasoning_effort",
        "response_format",
        "seed",
        "service_tier",
        "stop",
        "store",
        "stream",
        "stream_options",
        "temperature",
        "tool_choice",
        "tools",
        "top_logprobs",
        "top_p",
        "user",
    }
)
_EMBEDDING_PARAMS = frozenset({"input", "model", "dimensions", "encoding_format", "user"})
_TRANSCRIPTION_PARAMS = frozenset(
    {"model", "language", "prompt", "response_format", "temperature", "timestamp_granularities"}
)
_TRANSLATION_PARAMS = frozenset({"model", "prompt", "response_format", "temperature"})

# Audio response formats that come back as plain text (the SDKs return a str for them).
_TEXT_FORMATS = frozenset({"text", "srt", "vtt"})
_DEFAULT_FILE = "audio.wav"
_TIMEOUT_S = 600

# Only media types made of these characters are recognised, so that the type can be written
# inside any language's string (and a bash double-quoted word) without escaping.
_DATA_URL = re.compile(
    r"data:([\w.+-]+/[\w.+-]+(?:;[\w.+-]+=[\w.+-]+)*);base64,[A-Za-z0-9+/=\s]*", re.ASCII
)
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_JS_IDENTIFIER = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
_INTEGER = re.compile(r"-?[0-9]+")
_DECIMAL = re.compile(r"-?[0-9]+\.[0-9]+")
# Subtypes that are not their usual file extension.
_EXTENSIONS = {"jpeg": "jpg", "mpeg": "mp3", "svg+xml": "svg", "plain": "txt"}
_MEDIA_KINDS = ("image", "audio", "video")
_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


@dataclass(frozen=True)
class CodeRequest:
    """One request the app made, as View code shows it.

    Attributes:
        method: ``"POST"`` or ``"GET"``.
        base_url: The API root, e.g. ``https://api.fireworks.ai/inference/v1`` (no trailing
            slash).
        path: The endpoint under the root, e.g. ``/chat/completions``, ``/embeddings``,
            ``/audio/transcriptions`` or ``/audio/translations``.
        body: The JSON body as sent (``"stream": True`` when streamed), for JSON endpoints.
        form: The multipart fields as sent (audio): ``str`` values, or lists of them for fields
            named like ``timestamp_granularities[]``.
        file_path: The uploaded file (the multipart ``file`` part); ``audio.wav`` when unknown.
        api_key_env: The environment variable the code reads the API key from.
        media_paths: Files that replace the body's ``data:<mime>;base64,...`` strings, in order
            of appearance; missing ones become placeholders (``image-1.png``, ...).
    """

    method: str
    base_url: str
    path: str
    body: dict[str, Any] | None = None
    form: dict[str, Any] | None = None
    file_path: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    media_paths: tuple[str, ...] = ()


def generate(request: CodeRequest, language: str) -> str:
    """Code in ``language`` that makes ``request`` again and prints the answer.

    Args:
        request: The request to repeat.
        language: One of :data:`LANGUAGES`.

    Returns:
        The source text, ending with a newline; the same request always gives the same text.

    Raises:
        ValueError: For an unknown language, a method other than GET or POST, an
            ``api_key_env`` that is not an environment variable name, a non-finite number in
            the body, or (SDK languages) a multipart request to an endpoint the SDK has no
            method for.
        TypeError: When the body holds something that is not JSON data.
    """
    writers: dict[str, Callable[[_Plan], list[str]]] = {
        "curl": _curl,
        "python-openai": _python_openai,
        "python-httpx": _python_httpx,
        "javascript": _javascript,
    }
    writer = writers.get(language)
    if writer is None:
        raise ValueError(f"Unknown language {language!r}; expected one of {', '.join(LANGUAGES)}")
    return "\n".join(writer(_plan(request))) + "\n"


# -- what the code sends ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Endpoint:
    """An endpoint the SDKs have a method for."""

    label: str
    resource: str  # the SDK attribute path, e.g. ``chat.completions``
    params: frozenset[str]
    result: str  # the variable the answer is kept in
    multipart: bool = False


_ENDPOINTS = {
    "/chat/completions": _Endpoint(
        "Chat completion", "chat.completions", _CHAT_PARAMS, "completion"
    ),
    "/embeddings": _Endpoint("Embeddings", "embeddings", _EMBEDDING_PARAMS, "response"),
    "/audio/transcriptions": _Endpoint(
        "Transcription", "audio.transcriptions", _TRANSCRIPTION_PARAMS, "transcription", True
    ),
    "/audio/translations": _Endpoint(
        "Translation", "audio.translations", _TRANSLATION_PARAMS, "translation", True
    ),
}


@dataclass(frozen=True)
class _Media:
    """A file the code reads at run time to build a ``data:`` URL."""

    number: int
    kind: str  # ``image``, ``audio``, ``video`` or ``file``
    mime: str
    path: str

    @property
    def name(self) -> str:
        """The variable in bash and Python, e.g. ``IMAGE_1``."""
        return f"{self.kind.upper()}_{self.number}"

    @property
    def js_name(self) -> str:
        """The variable in JavaScript, e.g. ``image1``."""
        return f"{self.kind}{self.number}"


@dataclass(frozen=True)
class _Ref:
    """Where a ``data:`` URL stood in the body: the code puts its media variable there."""

    media: _Media


@dataclass(frozen=True)
class _Raw:
    """Code written as it is in place of a value (e.g. ``fs.createReadStream(...)``)."""

    code: str


@dataclass(frozen=True)
class _Plan:
    """A request ready to be written out."""

    method: str
    url: str
    path: str
    key_env: str
    title: str
    body: Any  # with ``_Ref`` in place of data URLs; ``None`` without a JSON body
    form: dict[str, Any] | None
    file_path: str
    media: tuple[_Media, ...]
    stream: bool
    endpoint: _Endpoint | None  # ``None`` when the SDKs have no method for the request

    @property
    def text_answer(self) -> bool:
        """Whether the answer is plain text rather than JSON."""
        return self.form is not None and self.form.get("response_format") in _TEXT_FORMATS


def _plan(request: CodeRequest) -> _Plan:
    method = request.method.upper()
    if method not in ("GET", "POST"):
        raise ValueError(f"Unsupported method {request.method!r}; expected GET or POST")
    if not _ENV_NAME.fullmatch(request.api_key_env):
        raise ValueError(f"{request.api_key_env!r} is not an environment variable name")
    media: list[_Media] = []
    body = None if request.body is None else _with_media_refs(request.body, request, media)
    endpoint = _ENDPOINTS.get(request.path) if method == "POST" else None
    if endpoint is not None and endpoint.multipart != (request.form is not None):
        endpoint = None
    stream = request.form is None and bool((request.body or {}).get("stream"))
    fields = request.form if request.form is not None else request.body or {}
    model = fields.get("model")
    if endpoint is None:
        title = f"{method} {request.path}"
    else:
        title = f"Streaming {endpoint.label.lower()}" if stream else endpoint.label
        if isinstance(model, str):
            title += f" with {model}"
    return _Plan(
        method=method,
        url=request.base_url + request.path,
        path=request.path,
        key_env=request.api_key_env,
        title="".join(ch if ch.isprintable() else "?" for ch in title),
        body=body,
        form=request.form,
        file_path=request.file_path or _DEFAULT_FILE,
        media=tuple(media),
        stream=stream,
        endpoint=endpoint,
    )


def _with_media_refs(value: Any, request: CodeRequest, media: list[_Media]) -> Any:
    """``value`` with every data URL replaced by a :class:`_Ref`, collected into ``media``."""
    if isinstance(value, str):
        match = _DATA_URL.fullmatch(value)
        if match is None:
            return value
        mime = match[1]
        kind = mime.split("/")[0].lower()
        if kind not in _MEDIA_KINDS:
            kind = "file"
        number = len(media) + 1
        if number <= len(request.media_paths):
            path = request.media_paths[number - 1]
        else:
            path = f"{kind}-{number}.{_extension(mime)}"
        media.append(_Media(number, kind, mime, path))
        return _Ref(media[-1])
    if isinstance(value, Mapping):
        return {key: _with_media_refs(item, request, media) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_with_media_refs(item, request, media) for item in value]
    return value


def _extension(mime: str) -> str:
    subtype = mime.split(";")[0].split("/")[1].lower()
    return _EXTENSIONS.get(subtype) or re.sub(r"[^a-z0-9]", "", subtype.removeprefix("x-")) or "bin"


def _sdk_arguments(plan: _Plan) -> dict[str, Any]:
    """The request's fields as arguments of the SDK method, in the order they were sent."""
    if plan.form is None:
        return dict(plan.body or {})
    arguments: dict[str, Any] = {}
    for field, value in plan.form.items():
        # The SDKs add the "[]" to list fields themselves.
        name = field.removesuffix("[]")
        if field.endswith("[]") and isinstance(value, str):
            value = [value]
        arguments[name] = _form_number(value) if name == "temperature" else value
    return arguments


def _form_number(value: Any) -> Any:
    """A numeric form field as a number when that sends the same text (SDK types want one)."""
    if not isinstance(value, str):
        return value
    if _INTEGER.fullmatch(value):
        return int(value)
    if _DECIMAL.fullmatch(value) and repr(float(value)) == value:
        return float(value)
    return value  # e.g. Fireworks' comma list of temperatures


# -- literals -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Syntax:
    """How one language writes JSON-like data."""

    step: str
    width: int
    true: str
    false: str
    null: str
    string: Callable[[str], str]
    key: Callable[[str], str]
    ref: Callable[[_Media], str]
    spaced_braces: bool = False
    trailing_comma: bool = True
    always_expand: bool = False


def _quote(text: str, escape: Callable[[int], str], quote: str = '"') -> str:
    """``text`` in ``quote`` marks; anything invisible or unusual is escaped with ``escape``."""
    out = []
    for ch in text:
        if ch == quote:
            out.append("\\" + ch)
        elif ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ch.isprintable():
            out.append(ch)
        else:
            out.append(escape(ord(ch)))
    return quote + "".join(out) + quote


def _python_escape(code: int) -> str:
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def _json_escape(code: int) -> str:
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def _python_string(text: str) -> str:
    # Black's choice: single quotes only when they save escaping double ones.
    quote = "'" if '"' in text and "'" not in text else '"'
    return _quote(text, _python_escape, quote)


def _json_string(text: str) -> str:
    return _quote(text, _json_escape)


def _js_key(key: str) -> str:
    if key == "__proto__":
        # A plain ``__proto__`` key would set the object's prototype instead of a property.
        return '["__proto__"]'
    return key if _JS_IDENTIFIER.fullmatch(key) else _json_string(key)


def _heredoc_escape(text: str) -> str:
    """``text`` as it must appear in an unquoted bash heredoc to come out unchanged."""
    return text.replace("\\", "\\\\").replace("$", "\\$").replace("`", "\\`")


_PYTHON = _Syntax(
    step="    ",
    width=88,
    true="True",
    false="False",
    null="None",
    string=_python_string,
    key=_python_string,
    ref=lambda media: media.name,
)
_JS = _Syntax(
    step="  ",
    width=80,
    true="true",
    false="false",
    null="null",
    string=_json_string,
    key=_js_key,
    ref=lambda media: media.js_name,
    spaced_braces=True,
)
_JSON = _Syntax(
    step="  ",
    width=0,
    true="true",
    false="false",
    null="null",
    string=_json_string,
    key=_json_string,
    ref=lambda media: f'"${{{media.name}}}"',
    trailing_comma=False,
    always_expand=True,
)
# JSON in an unquoted heredoc, where the media variables expand and nothing else may.
_SHELL_JSON = dataclasses.replace(
    _JSON,
    string=lambda text: _heredoc_escape(_json_string(text)),
    key=lambda text: _heredoc_escape(_json_string(text)),
)


def _literal(value: Any, syntax: _Syntax, indent: str = "", column: int = 0) -> str:
    """``value`` as source text that starts at ``column`` of a line indented by ``indent``.

    A list or object stays on one line when it fits (leaving room for a comma after it), and
    otherwise gets one item per line.
    """
    if isinstance(value, Mapping):
        items = [(f"{syntax.key(str(key))}: ", item) for key, item in value.items()]
        opening, closing = "{", "}"
    elif isinstance(value, list | tuple):
        items = [("", item) for item in value]
        opening, closing = "[", "]"
    else:
        return _scalar(value, syntax)
    if not items:
        return opening + closing
    if not syntax.always_expand:
        flat = _flat(value, syntax, syntax.width - column - 1)
        if flat is not None:
            return flat
    inner = indent + syntax.step
    lines = [
        inner + prefix + _literal(item, syntax, inner, len(inner) + len(prefix))
        for prefix, item in items
    ]
    tail = "," if syntax.trailing_comma else ""
    return f"{opening}\n" + ",\n".join(lines) + f"{tail}\n{indent}{closing}"


def _flat(value: Any, syntax: _Syntax, budget: int) -> str | None:
    """``value`` on one line, or ``None`` when that is longer than ``budget``."""
    if isinstance(value, str) and len(value) + 2 > budget:
        return None  # saves quoting a long text only to find that it does not fit
    if isinstance(value, Mapping):
        parts = [(f"{syntax.key(str(key))}: ", item) for key, item in value.items()]
        opening, closing = ("{ ", " }") if syntax.spaced_braces and parts else ("{", "}")
    elif isinstance(value, list | tuple):
        parts = [("", item) for item in value]
        opening, closing = "[", "]"
    else:
        text = _scalar(value, syntax)
        return text if len(text) <= budget else None
    used = len(opening) + len(closing)
    pieces = []
    for prefix, item in parts:
        piece = _flat(item, syntax, budget - used - len(prefix))
        if piece is None:
            return None
        pieces.append(prefix + piece)
        used += len(prefix) + len(piece) + 2
    text = opening + ", ".join(pieces) + closing
    return text if len(text) <= budget else None


def _scalar(value: Any, syntax: _Syntax) -> str:
    if isinstance(value, _Ref):
        return syntax.ref(value.media)
    if isinstance(value, _Raw):
        return value.code
    if value is None:
        return syntax.null
    if isinstance(value, bool):
        return syntax.true if value else syntax.false
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        return json.dumps(value, allow_nan=False)
    if isinstance(value, str):
        return syntax.string(str(value))
    raise TypeError(f"{type(value).__name__} is not JSON data")


def _python_call(
    target: str,
    keywords: Mapping[str, Any],
    *,
    positional: tuple[str, ...] = (),
    indent: str = "",
) -> list[str]:
    """``target(positional..., name=value, ...)`` with one argument per line."""
    inner = indent + _PYTHON.step
    lines = [f"{indent}{target}(", *(f"{inner}{code}," for code in positional)]
    for name, value in keywords.items():
        prefix = f"{inner}{name}="
        lines.append(prefix + _literal(value, _PYTHON, inner, len(prefix)) + ",")
    lines.append(f"{indent})")
    return lines


# -- the languages ------------------------------------------------------------------------------


def _curl(plan: _Plan) -> list[str]:
    lines = [
        "#!/usr/bin/env bash",
        f"# {plan.title}",
        f"# The API key is read from the {plan.key_env} environment variable.",
        "set -euo pipefail",
        "",
    ]
    for media in plan.media:
        read = f"$(base64 < {shlex.quote(media.path)} | tr -d '\\n')"
        lines.append(f'{media.name}="data:{media.mime};base64,{read}"')
    if plan.media:
        lines.append("")
    has_payload = plan.form is not None or plan.body is not None
    command = "curl -sS"
    if plan.stream:
        command += " -N"
    if plan.method != ("POST" if has_payload else "GET"):
        command += f" -X {plan.method}"
    options = [f"{command} {shlex.quote(plan.url)}", f'-H "Authorization: Bearer ${plan.key_env}"']
    heredoc: list[str] = []
    if plan.form is not None:
        # curl's quoted form of a file name, for names with commas, semicolons or quotes.
        escaped = plan.file_path.replace("\\", "\\\\").replace('"', '\\"')
        options.append("-F " + shlex.quote(f'file=@"{escaped}"'))
        for name, value in plan.form.items():
            for item in value if isinstance(value, list | tuple) else [value]:
                options.append("--form-string " + shlex.quote(f"{name}={item}"))
    elif plan.body is not None:
        options.append("-H 'Content-Type: application/json'")
        # The media variables must expand, so the heredoc cannot be quoted then.
        syntax, delimiter = (_SHELL_JSON, "JSON") if plan.media else (_JSON, "'JSON'")
        options.append(f"--data-binary @- <<{delimiter}")
        heredoc = [_literal(plan.body, syntax), "JSON"]
    return [*lines, " \\\n  ".join(options), *heredoc]


def _python_imports(plan: _Plan, *, json_module: bool, third_party: str) -> list[str]:
    stdlib = ["import base64"] if plan.media else []
    stdlib += [*(["import json"] if json_module else []), "import os"]
    if plan.media:
        stdlib.append("from pathlib import Path")
    return [*stdlib, "", third_party, ""]


def _python_media(plan: _Plan) -> list[str]:
    if not plan.media:
        return []
    lines = [
        "",  # two blank lines around a top-level function (the imports end with one)
        "def data_url(path: str, mime: str) -> str:",
        '    """The file at ``path`` as a ``data:`` URL, as the API takes images."""',
        "    data = base64.b64encode(Path(path).read_bytes()).decode()",
        '    return f"data:{mime};base64,{data}"',
        "",
        "",
    ]
    for media in plan.media:
        path, mime = _python_string(media.path), _python_string(media.mime)
        lines.append(f"{media.name} = data_url({path}, {mime})")
    return [*lines, ""]


def _python_openai(plan: _Plan) -> list[str]:
    endpoint = plan.endpoint
    if endpoint is None and plan.form is not None:
        raise ValueError(f"The openai SDK has no method for a multipart request to {plan.path}")
    imports = _python_imports(
        plan, json_module=endpoint is None, third_party="from openai import OpenAI"
    )
    client = {
        "base_url": _Raw(_python_string(_base_url(plan))),
        "api_key": _Raw(f"os.environ[{_python_string(plan.key_env)}]"),
    }
    lines = [
        f"# {plan.title}",
        f"# Needs the openai package (pip install openai); reads the API key from {plan.key_env}.",
        *imports,
        *_python_media(plan),
        *_python_call("client = OpenAI", client),
        "",
    ]
    if endpoint is None:
        # No SDK method: the client's own request method still adds the key and base URL.
        generic: dict[str, Any] = {"body": plan.body} if plan.method == "POST" else {}
        generic["cast_to"] = _Raw("object")
        target = f"result = client.{plan.method.lower()}"
        return [
            *lines,
            *_python_call(target, generic, positional=(_python_string(plan.path),)),
            "print(json.dumps(result, indent=2, ensure_ascii=False))",
        ]
    arguments: dict[str, Any] = {"file": _Raw("audio")} if endpoint.multipart else {}
    extra: dict[str, Any] = {}
    for name, value in _sdk_arguments(plan).items():
        (arguments if name in endpoint.params else extra)[name] = value
    if extra:
        arguments["extra_body"] = extra
    result = "stream" if plan.stream else endpoint.result
    target = f"{result} = client.{endpoint.resource}.create"
    if endpoint.multipart:
        lines.append(f'with open({_python_string(plan.file_path)}, "rb") as audio:')
        lines += _python_call(target, arguments, indent=_PYTHON.step)
    else:
        lines += _python_call(target, arguments)
    if plan.stream:
        return [
            *lines,
            "for chunk in stream:",
            "    if chunk.choices and chunk.choices[0].delta.content:",
            '        print(chunk.choices[0].delta.content, end="", flush=True)',
            "print()",
        ]
    if plan.text_answer:
        return [*lines, f"print({result})"]
    return [*lines, f"print({result}.model_dump_json(indent=2))"]


def _base_url(plan: _Plan) -> str:
    return plan.url.removesuffix(plan.path)


def _python_httpx(plan: _Plan) -> list[str]:
    lines = [
        f"# {plan.title}",
        f"# Needs the httpx package (pip install httpx); reads the API key from {plan.key_env}.",
        *_python_imports(plan, json_module=not plan.text_answer, third_party="import httpx"),
        *_python_media(plan),
    ]
    arguments: dict[str, Any] = {
        "headers": {"Authorization": _Raw(f"f\"Bearer {{os.environ['{plan.key_env}']}}\"")},
    }
    if plan.form is not None:
        arguments["data"] = plan.form
        arguments["files"] = {"file": _Raw("audio")}
    elif plan.body is not None:
        lines += [f"body = {_literal(plan.body, _PYTHON, '', len('body = '))}", ""]
        arguments["json"] = _Raw("body")
    arguments["timeout"] = _TIMEOUT_S
    url = _python_string(plan.url)
    if plan.stream:
        call = _python_call("with httpx.stream", arguments, positional=(f'"{plan.method}"', url))
        call[-1] = ") as response:"
        return [
            *lines,
            *call,
            "    response.raise_for_status()",
            "    for line in response.iter_lines():",
            '        if not line.startswith("data:"):',
            "            continue",
            '        data = line.removeprefix("data:").strip()',
            '        if data == "[DONE]":',
            "            break",
            '        choices = json.loads(data).get("choices") or []',
            '        delta = (choices[0].get("delta") or {}) if choices else {}',
            '        if delta.get("content"):',
            '            print(delta["content"], end="", flush=True)',
            "print()",
        ]
    target = f"response = httpx.{plan.method.lower()}"
    if plan.form is not None:
        lines.append(f'with open({_python_string(plan.file_path)}, "rb") as audio:')
        lines += _python_call(target, arguments, positional=(url,), indent=_PYTHON.step)
    else:
        lines += _python_call(target, arguments, positional=(url,))
    lines.append("response.raise_for_status()")
    if plan.text_answer:
        return [*lines, "print(response.text)"]
    return [*lines, "print(json.dumps(response.json(), indent=2, ensure_ascii=False))"]


def _javascript(plan: _Plan) -> list[str]:
    endpoint = plan.endpoint
    if endpoint is None and plan.form is not None:
        raise ValueError(f"The openai SDK has no method for a multipart request to {plan.path}")
    lines = [
        f"// {plan.title}",
        "// Needs Node 18+ and the openai package (npm install openai); save as a .mjs file.",
        f"// Reads the API key from {plan.key_env}.",
    ]
    if plan.media or plan.form is not None:
        lines.append('import fs from "node:fs";')
    lines += [
        'import OpenAI from "openai";',
        "",
        "const client = new OpenAI({",
        f"  baseURL: {_json_string(_base_url(plan))},",
        f"  apiKey: process.env.{plan.key_env},",
        "});",
        "",
    ]
    if plan.media:
        lines += [
            "function dataUrl(path, mime) {",
            '  return `data:${mime};base64,${fs.readFileSync(path).toString("base64")}`;',
            "}",
            "",
        ]
    for media in plan.media:
        path, mime = _json_string(media.path), _json_string(media.mime)
        lines.append(f"const {media.js_name} = dataUrl({path}, {mime});")
    if plan.media:
        lines.append("")
    if endpoint is None:
        # No SDK method: the client's own request method still adds the key and base URL.
        start = f"const result = await client.{plan.method.lower()}({_json_string(plan.path)}"
        if plan.method == "POST":
            start += ", " + _literal({"body": plan.body}, _JS, "", len(start) + 2)
        return [*lines, start + ");", "console.log(JSON.stringify(result, null, 2));"]
    body: dict[str, Any] = {}
    if endpoint.multipart:
        body["file"] = _Raw(f"fs.createReadStream({_json_string(plan.file_path)})")
    body |= _sdk_arguments(plan)
    result = "stream" if plan.stream else endpoint.result
    start = f"const {result} = await client.{endpoint.resource}.create("
    lines.append(start + _literal(body, _JS, "", len(start)) + ");")
    if plan.stream:
        return [
            *lines,
            "for await (const chunk of stream) {",
            '  process.stdout.write(chunk.choices[0]?.delta?.content ?? "");',
            "}",
            'process.stdout.write("\\n");',
        ]
    if plan.text_answer:
        return [*lines, f"console.log({result});"]
    return [*lines, f"console.log(JSON.stringify({result}, null, 2));"]
