"""A JSON reply as it streams: pretty text to append chunk by chunk, and its value so far.

Re-parsing and re-rendering the whole reply on every chunk costs time in proportion to its
length, so a 100 kB reply would slow the UI down more with every chunk (DESIGN.md §7). Instead,
:class:`LiveJson` runs a small lexical state machine over the new characters only and returns the
text to *append* to the view: the same characters ``json.dumps(value, indent=2,
ensure_ascii=False)`` would write, so the streamed view already equals the final pretty text, and
lines stay short (appending to one ever-growing line is slow in Qt). This is a formatter, not a
parser: the value comes from ``pydantic_core.from_json`` (partial) or ``json.loads`` (once
complete), and only when asked for.

Before the document, whitespace, a leading ``<think>…</think>`` block and a code fence line
(```` ```json ````) are skipped and kept in :attr:`LiveJson.preamble`. Anything else that cannot
be JSON (prose, a syntax error, a second document) switches the formatter to pass-through: from
there on the text is appended unchanged, as the final validation will call it "Not JSON" anyway.

Example:
    >>> live = LiveJson()
    >>> live.feed('{"a": [1, tr')
    '{\\n  "a": [\\n    1,\\n    '
    >>> live.value
    {'a': [1]}
    >>> live.feed('ue]}')
    'true\\n  ]\\n}'
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal

import pydantic_core

__all__ = ["LiveJson", "LiveState"]

LiveState = Literal["waiting", "json", "done", "not_json"]

_WHITESPACE = frozenset(" \t\n\r")
_NUMBER_CHARS = frozenset("0123456789+-.eE")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_LITERALS = ("true", "false", "null")
_PLAIN = re.compile(r'[^"\\\x00-\x1f]+')
_SIMPLE_ESCAPES = {'"': 0x22, "\\": 0x5C, "/": 0x2F, "b": 8, "f": 12, "n": 10, "r": 13, "t": 9}
_HEX = frozenset("0123456789abcdefABCDEF")
_THINK_OPEN = "<think>"
_THINK_CLOSE = "</think>"
_FENCE = "```"
_FENCE_INFO = re.compile(r"[A-Za-z0-9_+-]*")
_INDENT = "  "

# What the automaton expects next inside the document.
_VALUE = 0  # after ':' or ',' in an array
_VALUE_OR_CLOSE = 1  # after '['
_KEY = 2  # after ',' in an object
_KEY_OR_CLOSE = 3  # after '{'
_COLON = 4  # after a key
_COMMA_OR_CLOSE = 5  # after a value

_NO_TOKEN = 0
_STRING = 1
_NUMBER_TOKEN = 2
_LITERAL = 3


def _encode(code: int) -> str:
    """One decoded character as ``json.dumps(..., ensure_ascii=False)`` writes it in a string."""
    char = chr(code)
    if code >= 0x20 and char not in '"\\':
        return char
    return json.dumps(char)[1:-1]


class LiveJson:
    """Incremental pretty-printer for one streamed JSON reply.

    Feed it the text as it arrives; append what :meth:`feed` returns to the view. The cost of a
    chunk depends on the chunk, not on how much came before it.
    """

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Forget everything fed so far, to start a new reply."""
        self._state: LiveState = "waiting"
        self._in_think = False
        self._hold = ""  # a possible "<think>" or "```" being matched before or after the JSON
        self._preamble: list[str] = []
        self._trailing: list[str] = []
        self._out: list[str] = []
        self._doc: list[str] = []
        self._stack: list[str] = []
        self._expect = _VALUE
        self._pending_open = False
        self._token = _NO_TOKEN
        self._is_key = False
        self._buf = ""  # the raw text of the number, literal or escape being read
        self._gap = ""  # whitespace skipped since the last token, shown if the text turns out raw
        self._high: int | None = None  # a high surrogate escape waiting for its low half
        self._value_cache: tuple[int, Any] | None = None
        self._doc_length = 0

    # -- what the view reads ----------------------------------------------------------------

    @property
    def state(self) -> LiveState:
        """``waiting`` (no JSON yet), ``json``, ``done`` (one complete document) or ``not_json``."""
        return self._state

    @property
    def done(self) -> bool:
        """A complete JSON document has been read."""
        return self._state == "done"

    @property
    def pretty(self) -> str:
        """Everything :meth:`feed` has returned so far, joined."""
        if len(self._out) > 1:
            self._out = ["".join(self._out)]
        return self._out[0] if self._out else ""

    @property
    def preamble(self) -> str:
        """The text skipped before the document: whitespace, a think block, a fence line."""
        return "".join(self._preamble)

    @property
    def trailing(self) -> str:
        """The text skipped after the document: whitespace and a closing fence."""
        return "".join(self._trailing)

    @property
    def document(self) -> str:
        """The JSON text read so far, as it came (without preamble and trailing text)."""
        if len(self._doc) > 1:
            self._doc = ["".join(self._doc)]
        return self._doc[0] if self._doc else ""

    @property
    def value(self) -> Any:
        """The document's value so far, or None when there is none (yet) or it is not JSON.

        A partial document is read with ``pydantic_core.from_json`` (an unfinished string shows
        what has arrived of it); a complete one with ``json.loads``. This reads the whole
        document, so callers showing it live should throttle; the result is cached until more
        of the document arrives.
        """
        if self._state in ("waiting", "not_json"):
            return None
        if self._value_cache is not None and self._value_cache[0] == self._doc_length:
            return self._value_cache[1]
        text = self.document
        value: Any
        try:
            if self._state == "done":
                value = json.loads(text)
            else:
                value = pydantic_core.from_json(text, allow_partial="trailing-strings")
        except ValueError:
            value = None
        self._value_cache = (self._doc_length, value)
        return value

    # -- feeding ----------------------------------------------------------------------------

    def feed(self, text: str) -> str:
        """Take the next chunk of the reply; return the text to append to the pretty view."""
        out: list[str] = []
        pos, end = 0, len(text)
        while pos < end:
            if self._state == "json":
                pos = self._feed_json(text, pos, out)
            elif self._state == "waiting":
                pos = self._feed_lead(text, pos, out)
            elif self._state == "done":
                pos = self._feed_after(text, pos, out)
            else:
                out.append(text[pos:])
                pos = end
        piece = "".join(out)
        if piece:
            self._out.append(piece)
        return piece

    def _to_raw(self, text: str, pos: int, out: list[str], pending: str = "") -> int:
        out.append(self._gap + pending + text[pos:])
        self._gap = ""
        self._state = "not_json"
        return len(text)

    def _feed_lead(self, text: str, pos: int, out: list[str]) -> int:
        end = len(text)
        while pos < end:
            if self._in_think:
                found = (self._hold + text[pos:]).find(_THINK_CLOSE)
                if found < 0:
                    tail = self._hold + text[pos:]
                    self._preamble.append(text[pos:])
                    self._hold = tail[-(len(_THINK_CLOSE) - 1) :]
                    return end
                stop = pos + found - len(self._hold) + len(_THINK_CLOSE)
                self._preamble.append(text[pos:stop])
                self._in_think = False
                self._hold = ""
                pos = stop
                continue
            char = text[pos]
            if self._hold.startswith(_FENCE):
                if char == "\n":
                    self._preamble.append(self._hold + char)
                    self._hold = ""
                    pos += 1
                    continue
                if char in "{[":
                    self._preamble.append(self._hold)
                    self._hold = ""
                    return self._start(text, pos)
                if _FENCE_INFO.fullmatch(char) or char in " \t":
                    self._hold += char
                    pos += 1
                    continue
                return self._to_raw(text, pos, out, self._hold)
            if self._hold:
                candidate = self._hold + char
                if candidate == _THINK_OPEN and not self._preamble_has_content():
                    self._preamble.append(candidate)
                    self._in_think = True
                    self._hold = ""
                elif _THINK_OPEN.startswith(candidate) or _FENCE.startswith(candidate):
                    self._hold = candidate
                else:
                    return self._to_raw(text, pos, out, self._hold)
                pos += 1
                continue
            if char in _WHITESPACE:
                self._preamble.append(char)
            elif char in "<`":
                self._hold = char
            elif char in "{[":
                return self._start(text, pos)
            else:
                return self._to_raw(text, pos, out)
            pos += 1
        return end

    def _preamble_has_content(self) -> bool:
        return any(part.strip() for part in self._preamble)

    def _start(self, text: str, pos: int) -> int:
        self._state = "json"
        return pos

    def _feed_after(self, text: str, pos: int, out: list[str]) -> int:
        end = len(text)
        while pos < end:
            char = text[pos]
            if self._hold:
                self._hold += char
                if self._hold == _FENCE:
                    self._trailing.append(self._hold)
                    self._hold = ""
                elif not _FENCE.startswith(self._hold):
                    held, self._hold = self._hold[:-1], ""
                    return self._to_raw(text, pos, out, self._pending_trailing() + held)
            elif char in _WHITESPACE:
                self._trailing.append(char)
            elif char == "`" and _FENCE not in self.trailing:
                self._hold = char
            else:
                return self._to_raw(text, pos, out, self._pending_trailing())
            pos += 1
        return end

    def _pending_trailing(self) -> str:
        """The trailing text, which is shown after all once more text proves it is not JSON."""
        return self.trailing

    def _feed_json(self, text: str, pos: int, out: list[str]) -> int:
        start = pos
        end = len(text)
        while pos < end:
            if self._token == _STRING:
                pos = self._feed_string(text, pos, out)
                if pos < 0:
                    return len(text)
                continue
            char = text[pos]
            if self._token == _NUMBER_TOKEN:
                if char in _NUMBER_CHARS:
                    self._buf += char
                    pos += 1
                    continue
                if not self._finish_number(out):
                    return self._to_raw(text, pos, out, self._buf)
                if self._state == "done":
                    break
                continue
            if self._token == _LITERAL:
                self._buf += char
                if self._buf in _LITERALS:
                    out.append(self._buf)
                    self._token = _NO_TOKEN
                    self._buf = ""
                    pos += 1
                    self._after_value()
                    if self._state == "done":
                        break
                elif any(word.startswith(self._buf) for word in _LITERALS):
                    pos += 1
                else:
                    return self._to_raw(text, pos, out, self._buf[:-1])
                continue
            if char in _WHITESPACE:
                self._gap += char
                pos += 1
                continue
            if not self._structural(char, out):
                return self._to_raw(text, pos, out)
            self._gap = ""
            pos += 1
            if self._state == "done":
                break
        self._doc.append(text[start:pos])
        self._doc_length += pos - start
        return pos

    def _open_value(self, out: list[str]) -> bool:
        """Start a value where one is expected; write the line break before it if needed."""
        if self._expect not in (_VALUE, _VALUE_OR_CLOSE):
            return False
        self._break_after_open(out)
        return True

    def _break_after_open(self, out: list[str]) -> None:
        if self._pending_open:
            out.append("\n" + _INDENT * len(self._stack))
            self._pending_open = False

    def _structural(self, char: str, out: list[str]) -> bool:
        if char in "{[":
            if not self._open_value(out):
                return False
            out.append(char)
            self._stack.append(char)
            self._expect = _KEY_OR_CLOSE if char == "{" else _VALUE_OR_CLOSE
            self._pending_open = True
            return True
        if char in "}]":
            opener = "{" if char == "}" else "["
            allowed = _KEY_OR_CLOSE if char == "}" else _VALUE_OR_CLOSE
            if not self._stack or self._stack[-1] != opener:
                return False
            if self._expect not in (allowed, _COMMA_OR_CLOSE):
                return False
            self._stack.pop()
            if self._pending_open:
                self._pending_open = False
                out.append(char)
            else:
                out.append("\n" + _INDENT * len(self._stack) + char)
            self._after_value()
            return True
        if char == ",":
            if self._expect != _COMMA_OR_CLOSE:
                return False
            out.append(",\n" + _INDENT * len(self._stack))
            self._expect = _KEY if self._stack[-1] == "{" else _VALUE
            return True
        if char == ":":
            if self._expect != _COLON:
                return False
            out.append(": ")
            self._expect = _VALUE
            return True
        if char == '"':
            if self._expect in (_KEY, _KEY_OR_CLOSE):
                self._is_key = True
                self._break_after_open(out)
            elif self._open_value(out):
                self._is_key = False
            else:
                return False
            out.append('"')
            self._token = _STRING
            return True
        if char == "-" or "0" <= char <= "9":
            if not self._open_value(out):
                return False
            self._token = _NUMBER_TOKEN
            self._buf = char
            return True
        if char in "tfn":
            if not self._open_value(out):
                return False
            self._token = _LITERAL
            self._buf = char
            return True
        return False

    def _after_value(self) -> None:
        if self._stack:
            self._expect = _COMMA_OR_CLOSE
        else:
            self._state = "done"

    def _finish_number(self, out: list[str]) -> bool:
        if not _NUMBER.fullmatch(self._buf):
            return False
        try:
            out.append(json.dumps(json.loads(self._buf)))
        except ValueError:  # more digits than int() converts
            return False
        self._token = _NO_TOKEN
        self._buf = ""
        self._after_value()
        return True

    def _feed_string(self, text: str, pos: int, out: list[str]) -> int:
        """Read string content from ``pos``; return where it stopped, or -1 if it is not JSON."""
        end = len(text)
        while pos < end:
            if self._buf:  # inside an escape
                self._buf += text[pos]
                pos += 1
                code = self._escape_code()
                if code == -1:
                    self._to_raw(text, pos, out, self._buf)
                    return -1
                if code is not None:
                    self._decoded(code, unicode=self._buf[1] == "u", out=out)
                    self._buf = ""
                continue
            plain = _PLAIN.match(text, pos)
            if plain:
                self._flush_high(out)
                out.append(plain.group())
                pos = plain.end()
                continue
            char = text[pos]
            if char == "\\":
                self._buf = char
                pos += 1
                continue
            if char == '"':
                self._flush_high(out)
                out.append('"')
                self._token = _NO_TOKEN
                pos += 1
                if self._is_key:
                    self._expect = _COLON
                else:
                    self._after_value()
                return pos
            self._to_raw(text, pos, out)  # a raw control character: not JSON
            return -1
        return pos

    def _escape_code(self) -> int | None:
        """The code point of the escape in ``_buf``: None while incomplete, -1 when invalid."""
        escape = self._buf
        if len(escape) < 2:
            return None
        kind = escape[1]
        if kind in _SIMPLE_ESCAPES:
            return _SIMPLE_ESCAPES[kind]
        if kind != "u" or not all(c in _HEX for c in escape[2:]):
            return -1
        return int(escape[2:], 16) if len(escape) == 6 else None

    def _decoded(self, code: int, *, unicode: bool, out: list[str]) -> None:
        if self._high is not None:
            if unicode and 0xDC00 <= code <= 0xDFFF:
                out.append(chr(0x10000 + ((self._high - 0xD800) << 10) + (code - 0xDC00)))
                self._high = None
                return
            self._flush_high(out)
        if unicode and 0xD800 <= code <= 0xDBFF:
            self._high = code
            return
        out.append(_encode(code))

    def _flush_high(self, out: list[str]) -> None:
        if self._high is not None:
            out.append(chr(self._high))
            self._high = None
