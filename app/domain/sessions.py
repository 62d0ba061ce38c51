"""Session files and named presets (Qt-free).

A *session* is the whole window: every tab's state, written to a file the user picks so that a
demo prepared yesterday opens exactly as it was. A *preset* is one tab's named setup (targets,
parameters and setup inputs such as the system prompt, schema or tools) without any results; the
presets live in ``presets.json`` in the settings folder and can be exported to and imported from
files of their own.

Both carry tab states, which this module treats as opaque JSON apart from their outer shape::

    {"inputs": {...}, "panes": [{"target": {"provider": str, "model": str, "params": {...},
                                            "options": {...}},
                                 "result": {...} | None}, ...]}

Everything read from a file is checked against that shape, and every problem becomes a
:class:`SessionError` whose message is one sentence for the user.

Example:
    >>> text = session_to_json(tabs, app_version="0.1.0", created="2025-01-31T09:00:00Z")
    >>> session_from_json(text) == tabs
    True
    >>> store = PresetStore(config_dir)
    >>> store.save("chat", "Pirate", tabs["chat"], saved_at="2025-01-31T09:00:00Z").name
    'Pirate'
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from app.client import FireplayError
from app.storage import atomic_write, keep_aside

__all__ = [
    "PRESETS_FILE",
    "PRESETS_VERSION",
    "SESSION_SUFFIX",
    "SESSION_VERSION",
    "Preset",
    "PresetStore",
    "SessionError",
    "read_session",
    "session_from_json",
    "session_to_json",
    "strip_results",
    "write_session",
]

logger = logging.getLogger(__name__)

SESSION_VERSION = 1
PRESETS_VERSION = 1
PRESETS_FILE = "presets.json"
SESSION_SUFFIX = ".fireplay-session.json"

_SESSION_FORMAT = "fireplay-session"
_PRESET_FORMAT = "fireplay-preset"
_PRESETS_FILE_FORMAT = "fireplay-presets"

_TAB_TITLES = {
    "chat": "Chat",
    "tools": "Tool calling",
    "json": "Structured output",
    "vision": "Image questions",
    "audio": "Audio",
    "embeddings": "Embeddings",
}


class SessionError(FireplayError, ValueError):
    """A session or preset that cannot be read, written or changed; the message is one sentence.

    A :class:`~app.client.FireplayError`, so presenters show it like any other failure, and a
    ``ValueError``: mostly the file's content, not the program, is at fault.
    """


class _MalformedError(ValueError):
    """A structural problem, as a lowercase fragment each caller puts into its own sentence."""


def _tab_title(tab: str) -> str:
    title = _TAB_TITLES.get(tab)
    return f"the {title} tab" if title is not None else f'the "{tab}" tab'


def _capitalized(text: str) -> str:
    return text[:1].upper() + text[1:]


# -- the shape of a tab state ----------------------------------------------------------------------


def _check_target(target: object, where: str) -> None:
    if not isinstance(target, dict):
        raise _MalformedError(f"{where} has no target")
    for key in ("provider", "model"):
        if not isinstance(target.get(key), str):
            raise _MalformedError(f'the target of {where} has no "{key}" text')
    for key in ("params", "options"):
        if not isinstance(target.get(key), dict):
            raise _MalformedError(f'the target of {where} has no "{key}" object')


def _check_state(state: object, where: str) -> dict[str, Any]:
    """Return ``state`` if it has the outer shape of a TabState, else raise `_MalformedError`.

    Args:
        state: The decoded value.
        where: Names its owner inside the fragments ("the Chat tab", "its state", "preset 3").
    """
    if not isinstance(state, dict):
        raise _MalformedError(f"{where} has no state object")
    if not isinstance(state.get("inputs"), dict):
        raise _MalformedError(f'{where} has no "inputs" object')
    panes = state.get("panes")
    if not isinstance(panes, list):
        raise _MalformedError(f'{where} has no "panes" list')
    for number, pane in enumerate(panes, start=1):
        pane_where = f"pane {number} of {where}"
        if not isinstance(pane, dict):
            raise _MalformedError(f"{pane_where} is not an object")
        _check_target(pane.get("target"), pane_where)
        if "result" not in pane or not (pane["result"] is None or isinstance(pane["result"], dict)):
            raise _MalformedError(f'{pane_where} has no "result" (an object or null)')
    return state


def strip_results(state: Mapping[str, Any]) -> dict[str, Any]:
    """Copy a TabState with every pane's ``"result"`` set to None.

    The copy is deep, so changing it never changes ``state``; the results are never copied,
    which keeps this cheap for panes holding long outputs.

    Args:
        state: A TabState (see the module docstring).

    Returns:
        The copy, with keys in their original order.
    """
    panes = [
        {key: None if key == "result" else copy.deepcopy(value) for key, value in pane.items()}
        | {"result": None}
        for pane in state["panes"]
    ]
    return {key: panes if key == "panes" else copy.deepcopy(value) for key, value in state.items()}


# -- reading JSON envelopes ------------------------------------------------------------------------


def _load_json(text: str, subject: str) -> object:
    if not text.strip():
        raise SessionError(f"{subject} is empty.")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise SessionError(
            f"{subject} is not JSON (line {exc.lineno}, column {exc.colno})."
        ) from exc


def _format_version(data: Mapping[str, Any], kind: str) -> int:
    """The envelope's ``version``; raises `_MalformedError` when it is not a positive integer."""
    version = data.get("version")
    # bool is an int subclass, and `true` is no version number.
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise _MalformedError(f"it has no valid {kind} format version ({json.dumps(version)})")
    return version


def _newer_message(kind: str, version: int, supported: int, action: str) -> str:
    return (
        f"This {kind} was saved by a newer Fireplay ({kind} format {version}); this version "
        f"opens format {supported}. Update Fireplay to {action} it."
    )


# -- sessions --------------------------------------------------------------------------------------


def session_to_json(
    tabs: Mapping[str, Mapping[str, Any]], *, app_version: str, created: str
) -> str:
    """Serialise every tab's state as a session file.

    Keys keep the order they were given in (the envelope's are fixed), so saving the same window
    twice gives the same text and a session diffs cleanly.

    Args:
        tabs: Tab id → TabState; the states must be plain JSON values (dicts, lists, ...).
        app_version: The Fireplay version writing the file.
        created: When the session was saved, as an ISO 8601 time.

    Returns:
        Indented JSON text ending with a newline.

    Raises:
        SessionError: A state lacks the TabState shape; checked here so that every session
            Fireplay writes can be opened again.
    """
    plain = {tab: dict(state) for tab, state in tabs.items()}
    for tab, state in plain.items():
        try:
            _check_state(state, _tab_title(tab))
        except _MalformedError as exc:
            raise SessionError(f"The session cannot be saved: {exc}.") from exc
    envelope = {
        "format": _SESSION_FORMAT,
        "version": SESSION_VERSION,
        "app_version": app_version,
        "created": created,
        "tabs": plain,
    }
    return json.dumps(envelope, indent=2, ensure_ascii=False) + "\n"


#: What to do with a file of the other kind, for the message that refuses it.
_OTHER_KIND_HINTS = {
    _PRESET_FORMAT: " It is a preset: import it into a tab instead.",
    _SESSION_FORMAT: " It is a session: open it with File → Open session.",
}


def _require_format(data: object, subject: str, kind: str, expected: str) -> dict[str, Any]:
    """``data`` if it is a Fireplay file of ``expected`` format; else say what it is instead."""
    found = data.get("format") if isinstance(data, dict) else None
    if not isinstance(data, dict) or found != expected:
        hint = _OTHER_KIND_HINTS.get(found, "") if isinstance(found, str) else ""
        raise SessionError(f"{subject} is not a Fireplay {kind}.{hint}")
    return data


def _parse_session(text: str, subject: str) -> dict[str, dict[str, Any]]:
    data = _require_format(_load_json(text, subject), subject, "session", _SESSION_FORMAT)
    try:
        version = _format_version(data, "session")
        if version > SESSION_VERSION:
            raise SessionError(_newer_message("session", version, SESSION_VERSION, "open"))
        tabs = data.get("tabs")
        if not isinstance(tabs, dict):
            raise _MalformedError('it has no "tabs" object')
        return {tab: _check_state(state, _tab_title(tab)) for tab, state in tabs.items()}
    except _MalformedError as exc:
        raise SessionError(f"This session is damaged: {exc}.") from exc


def session_from_json(text: str) -> dict[str, dict[str, Any]]:
    """Read the tab states out of a session file's text.

    Tab ids this version does not know are kept (and checked); the caller ignores tabs it does
    not have.

    Args:
        text: The file's content.

    Returns:
        Tab id → TabState, in file order.

    Raises:
        SessionError: The text is not JSON, not a session, from a newer Fireplay, or damaged.
    """
    return _parse_session(text, "This file")


def read_session(path: Path) -> dict[str, dict[str, Any]]:
    """Read a session file (UTF-8); see :func:`session_from_json`.

    Raises:
        SessionError: The file cannot be read or is not a session; the message names it.
    """
    try:
        # utf-8-sig: editors on Windows may put a byte-order mark in front of the JSON.
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise SessionError(f"Could not open {path} ({exc.strerror or exc}).") from exc
    except UnicodeDecodeError as exc:
        raise SessionError(f'"{path.name}" is not a UTF-8 text file, so not a session.') from exc
    return _parse_session(text, f'"{path.name}"')


def write_session(
    path: Path, tabs: Mapping[str, Mapping[str, Any]], *, app_version: str, created: str
) -> None:
    """Write a session file atomically: readers see the old file or the new one, never half.

    Args:
        path: Where to write; any name works, :data:`SESSION_SUFFIX` is the suggested suffix.
        tabs: Tab id → TabState, as for :func:`session_to_json`.
        app_version: The Fireplay version writing the file.
        created: When the session was saved, as an ISO 8601 time.

    Raises:
        SessionError: The file cannot be written (read-only folder, disk full, ...); the previous
            file, if any, is unchanged and no partial file is left.
    """
    payload = session_to_json(tabs, app_version=app_version, created=created).encode("utf-8")
    try:
        atomic_write(path, payload)
    except OSError as exc:
        raise SessionError(
            f"Could not save the session to {path} ({exc.strerror or exc})."
        ) from exc


# -- presets ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Preset:
    """One tab's named setup.

    Attributes:
        tab: Id of the tab it belongs to ("chat", "json", ...).
        name: The name the user gave it, without surrounding spaces.
        state: A TabState whose panes all have ``"result": None``.
        saved_at: When it was saved, as an ISO 8601 time.
    """

    tab: str
    name: str
    state: dict[str, Any]
    saved_at: str


def _detached(preset: Preset) -> Preset:
    # The store hands out copies: a tab that edits the state it applied must not edit the store.
    return replace(preset, state=copy.deepcopy(preset.state))


def _preset_fields(preset: Preset) -> dict[str, Any]:
    return {
        "tab": preset.tab,
        "name": preset.name,
        "saved_at": preset.saved_at,
        "state": preset.state,
    }


def _preset_from(data: object, who: str, whose: str) -> Preset:
    """Build a preset from its JSON fields, or raise `_MalformedError`.

    Args:
        data: The decoded object.
        who: Names it in fragments ("it", "preset 3").
        whose: Names its state in fragments ("its state", "preset 3").
    """
    if not isinstance(data, dict):
        raise _MalformedError(f"{who} is not an object")
    tab, name, saved_at = data.get("tab"), data.get("name"), data.get("saved_at")
    if not isinstance(tab, str) or not tab:
        raise _MalformedError(f'{who} has no "tab" id')
    if not isinstance(name, str) or not name.strip():
        raise _MalformedError(f"{who} has no name")
    if not isinstance(saved_at, str):
        raise _MalformedError(f'{who} has no "saved_at" time')
    state = _check_state(data.get("state"), whose)
    return Preset(tab=tab, name=name.strip(), state=strip_results(state), saved_at=saved_at)


def _clean_name(name: str) -> str:
    cleaned = name.strip()
    if not cleaned:
        raise SessionError("A preset needs a name.")
    return cleaned


class PresetStore:
    """The presets in ``presets.json`` in the settings folder.

    The file is read once, when the store is made; every change is written at once, atomically,
    and changes the store only once the file is written. Reading never raises: a damaged file is
    renamed aside and the store starts empty, and a file from a newer Fireplay (or one that cannot
    be read or moved aside) is left untouched and the store refuses changes. Either way
    :attr:`problem` says what happened, for the user.
    """

    def __init__(self, config_dir: Path) -> None:
        """Load the presets from ``config_dir / PRESETS_FILE``.

        Args:
            config_dir: The settings folder; it need not exist yet.
        """
        self._path = config_dir / PRESETS_FILE
        self._presets: list[Preset] = []
        self._problem = ""
        # Set when writing would destroy presets this version could not read.
        self._locked = False
        self._load()

    @property
    def problem(self) -> str:
        """What went wrong reading the presets file, as a sentence for the user; "" if nothing."""
        return self._problem

    def _load(self) -> None:
        try:
            text = self._path.read_bytes().decode("utf-8")
        except FileNotFoundError:
            return
        except OSError as exc:
            self._lock(
                f"Could not read your presets file {self._path} ({exc.strerror or exc}); "
                "presets cannot be changed until it can be read."
            )
            return
        except UnicodeDecodeError:
            self._set_aside("it is not UTF-8 text")
            return
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            self._set_aside(f"it is not JSON (line {exc.lineno}, column {exc.colno})")
            return
        try:
            self._presets = self._parse(data)
        except _MalformedError as exc:
            self._set_aside(str(exc))

    def _parse(self, data: object) -> list[Preset]:
        if not isinstance(data, dict) or data.get("format") != _PRESETS_FILE_FORMAT:
            raise _MalformedError("it is not a Fireplay presets file")
        version = _format_version(data, "presets")
        if version > PRESETS_VERSION:
            self._lock(
                f"Your presets file {self._path} was saved by a newer Fireplay (presets format "
                f"{version}); this version reads format {PRESETS_VERSION}, so presets cannot be "
                "used or changed until you update Fireplay."
            )
            return []
        entries = data.get("presets")
        if not isinstance(entries, list):
            raise _MalformedError('it has no "presets" list')
        presets: list[Preset] = []
        seen: set[tuple[str, str]] = set()
        for number, entry in enumerate(entries, start=1):
            preset = _preset_from(entry, f"preset {number}", f"preset {number}")
            if (preset.tab, preset.name) in seen:
                raise _MalformedError(
                    f'two presets of {_tab_title(preset.tab)} are named "{preset.name}"'
                )
            seen.add((preset.tab, preset.name))
            presets.append(preset)
        return presets

    def _lock(self, message: str) -> None:
        logger.warning("%s", message)
        self._problem = message
        self._locked = True

    def _set_aside(self, reason: str) -> None:
        kept = keep_aside(self._path)
        if kept is None:
            self._lock(
                f"Your presets file {self._path} is damaged ({reason}) and could not be moved "
                "aside; presets cannot be changed until you move it away."
            )
            return
        self._problem = (
            f"Your presets file was damaged ({reason}); it was kept as {kept} and you start "
            "with no presets."
        )
        logger.warning("%s", self._problem)

    def _commit(self, presets: list[Preset]) -> None:
        """Write ``presets`` to the file, then make them the store's; raise if either fails."""
        if self._locked:
            raise SessionError(self._problem)
        envelope = {
            "format": _PRESETS_FILE_FORMAT,
            "version": PRESETS_VERSION,
            "presets": [_preset_fields(preset) for preset in presets],
        }
        payload = json.dumps(envelope, indent=2, ensure_ascii=False) + "\n"
        try:
            atomic_write(self._path, payload.encode("utf-8"))
        except OSError as exc:
            raise SessionError(
                f"Could not save your presets to {self._path} ({exc.strerror or exc})."
            ) from exc
        self._presets = presets

    def _index(self, tab: str, name: str) -> int | None:
        for index, preset in enumerate(self._presets):
            if preset.tab == tab and preset.name == name:
                return index
        return None

    def _existing(self, tab: str, name: str) -> int:
        index = self._index(tab, name)
        if index is None:
            raise SessionError(f'{_capitalized(_tab_title(tab))} has no preset named "{name}".')
        return index

    def names(self, tab: str) -> list[str]:
        """The names of ``tab``'s presets, in the order they were first saved."""
        return [preset.name for preset in self._presets if preset.tab == tab]

    def get(self, tab: str, name: str) -> Preset | None:
        """The preset ``name`` of ``tab`` (a copy, free to change), or None if there is none."""
        index = self._index(tab, name)
        return None if index is None else _detached(self._presets[index])

    def save(self, tab: str, name: str, state: Mapping[str, Any], *, saved_at: str) -> Preset:
        """Save ``state`` without its results as preset ``name`` of ``tab``.

        A preset of the same name is replaced and keeps its place in the list.

        Args:
            tab: The tab's id.
            name: The preset's name; surrounding spaces are dropped.
            state: The tab's TabState.
            saved_at: The current time, as an ISO 8601 time.

        Returns:
            The saved preset.

        Raises:
            SessionError: The name is empty, ``state`` lacks the TabState shape, or the file
                cannot be written (then the store is unchanged).
        """
        name = _clean_name(name)
        try:
            checked = _check_state(dict(state), "its state")
        except _MalformedError as exc:
            raise SessionError(f"This preset cannot be saved: {exc}.") from exc
        preset = Preset(tab=tab, name=name, state=strip_results(checked), saved_at=saved_at)
        self._commit(self._put(preset))
        return _detached(preset)

    def _put(self, preset: Preset) -> list[Preset]:
        presets = list(self._presets)
        index = self._index(preset.tab, preset.name)
        if index is None:
            presets.append(preset)
        else:
            presets[index] = preset
        return presets

    def rename(self, tab: str, old: str, new: str) -> None:
        """Rename preset ``old`` of ``tab`` to ``new``; it keeps its place and contents.

        Raises:
            SessionError: ``old`` does not exist, ``new`` is empty or taken, or the file cannot
                be written (then the store is unchanged).
        """
        index = self._existing(tab, old)
        new = _clean_name(new)
        if new == old:
            return
        if self._index(tab, new) is not None:
            raise SessionError(
                f'{_capitalized(_tab_title(tab))} already has a preset named "{new}".'
            )
        presets = list(self._presets)
        presets[index] = replace(presets[index], name=new)
        self._commit(presets)

    def delete(self, tab: str, name: str) -> None:
        """Delete preset ``name`` of ``tab``; nothing happens if there is no such preset.

        Raises:
            SessionError: The file cannot be written (then the store is unchanged).
        """
        index = self._index(tab, name)
        if index is not None:
            self._commit(self._presets[:index] + self._presets[index + 1 :])

    def export_preset(self, tab: str, name: str) -> str:
        """The preset as the text of a preset file, to share or to import elsewhere.

        Raises:
            SessionError: There is no such preset.
        """
        preset = self._presets[self._existing(tab, name)]
        envelope = {"format": _PRESET_FORMAT, "version": PRESETS_VERSION, **_preset_fields(preset)}
        return json.dumps(envelope, indent=2, ensure_ascii=False) + "\n"

    def import_preset(self, text: str, *, tab: str | None = None) -> Preset:
        """Save the preset in a preset file's text, under a free name.

        Any results the file carries are dropped. A name already taken in the tab gets " (2)",
        " (3)", ... appended.

        Args:
            text: The preset file's content.
            tab: The tab importing it; the preset must belong to it. None accepts any tab this
                version has.

        Returns:
            The preset as saved.

        Raises:
            SessionError: The text is not JSON, not a preset, from a newer Fireplay, damaged, or
                for another tab, or the file cannot be written.
        """
        data = _require_format(_load_json(text, "This file"), "This file", "preset", _PRESET_FORMAT)
        try:
            version = _format_version(data, "preset")
            if version > PRESETS_VERSION:
                raise SessionError(_newer_message("preset", version, PRESETS_VERSION, "import"))
            preset = _preset_from(data, "it", "its state")
        except _MalformedError as exc:
            raise SessionError(f"This preset is damaged: {exc}.") from exc
        if preset.tab not in _TAB_TITLES:
            raise SessionError(
                f'This preset is for a tab this version of Fireplay does not have ("{preset.tab}").'
            )
        if tab is not None and preset.tab != tab:
            raise SessionError(
                f"This preset is for {_tab_title(preset.tab)}, not {_tab_title(tab)}; "
                "import it there."
            )
        preset = replace(preset, name=self._free_name(preset.tab, preset.name))
        self._commit(self._put(preset))
        return _detached(preset)

    def _free_name(self, tab: str, name: str) -> str:
        candidate, number = name, 2
        while self._index(tab, candidate) is not None:
            candidate = f"{name} ({number})"
            number += 1
        return candidate
