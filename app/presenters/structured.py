"""The Structured output tab: one JSON Schema and prompt, N targets, each reply validated.

Each pane streams its reply into a live, pretty JSON view, then checks it against the schema.
"Repeat × N" asks each target several times and reports how often its JSON was valid and how much
each field varied: how reliable a model's structured output is, not only whether it worked once.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, cast

from PySide6.QtCore import QObject, Signal

from app.client import FireplayError
from app.domain.compare import metrics_dict, metrics_from_dict
from app.domain.live_json import LiveJson
from app.domain.metrics import RunMetrics
from app.domain.params import JSON_PARAMS
from app.domain.pydantic_source import schema_from_pydantic_source
from app.domain.run import Failed, Finished, stream_chat
from app.domain.schema import (
    SAMPLES,
    FieldAgreement,
    Mode,
    RepeatStats,
    SchemaCheck,
    Validation,
    check_schema,
    default_mode,
    field_agreement,
    infer_schema,
    provider_problems,
    repeat_stats,
    response_format,
    strict_adjusted,
    validate_output,
)
from app.presenters.workbench import RunOutcome, Workbench, WorkbenchPane
from app.settings import TargetSettings

if TYPE_CHECKING:
    from app.presenters.services import Services

__all__ = ["MAX_REPEAT", "MODES", "JsonPane", "JsonPresenter"]

MODES: tuple[Mode, ...] = ("json_schema", "json_object_schema", "json_object", "grammar")
MAX_REPEAT = 20
_SCHEMA_MODES = frozenset({"json_schema", "json_object_schema"})
_DEFAULT_PROMPT = "What is the weather like in Paris today? Make up plausible values."


class JsonPane(WorkbenchPane):
    """One target asked for JSON: its mode, its live reply, its validation and repeat figures.

    Signals (besides :class:`WorkbenchPane`'s):
        output_reset(): a new reply starts; the view clears its text.
        output_appended(str): pretty JSON (or raw text) to append to the view.
        validated(object): the finished reply's :class:`Validation` (its pretty text is final).
        repeat_changed(object): :class:`RepeatStats` of the runs so far (``None`` when cleared).
        run_ended(str): the run ended: a :class:`RunOutcome` value.
    """

    output_reset = Signal()
    output_appended = Signal(str)
    validated = Signal(object)
    repeat_changed = Signal(object)
    run_ended = Signal(str)

    capability = "json"
    param_specs = JSON_PARAMS

    def __init__(
        self, services: Services, target: TargetSettings, parent: QObject | None = None
    ) -> None:
        super().__init__(services, target, parent)
        self._text = ""
        self._reader = LiveJson()
        self._validation: Validation | None = None
        self._metrics: RunMetrics | None = None
        self._outcome = ""
        self._error = ""
        self._prompt = ""
        self._validations: list[Validation] = []

    # -- state read by views -------------------------------------------------------------------

    @property
    def mode(self) -> Mode:
        """The ``response_format`` mode the next run sends (the provider's default if unset)."""
        chosen = self._options.get("mode")
        return cast(Mode, chosen) if chosen in MODES else default_mode(self.provider_id)

    @property
    def mode_is_default(self) -> bool:
        """Whether the mode follows the provider's default."""
        return self._options.get("mode") not in MODES

    @property
    def strict(self) -> bool:
        """Whether ``json_schema`` is sent with ``strict: true``."""
        return bool(self._options.get("strict", True))

    @property
    def grammar(self) -> str:
        """The GBNF grammar of ``grammar`` mode."""
        return str(self._options.get("grammar", ""))

    @property
    def text(self) -> str:
        """The newest reply as it arrived."""
        return self._text

    @property
    def pretty(self) -> str:
        """The newest reply as shown: pretty JSON while and after it streams, else raw text."""
        if self._validation is not None:
            return self._validation.pretty
        return self._reader.pretty

    @property
    def validation(self) -> Validation | None:
        """The newest finished reply's validation (``None`` while streaming or after a failure)."""
        return self._validation

    @property
    def outcome(self) -> str:
        """How the newest run ended ("" while running or before any)."""
        return self._outcome

    @property
    def error(self) -> str:
        """Why the newest run failed ("" if it did not)."""
        return self._error

    @property
    def prompt(self) -> str:
        """The prompt the newest reply answers ("" before any Send)."""
        return self._prompt

    @property
    def repeat(self) -> RepeatStats | None:
        """Validity and spread over the runs of the newest Send, when it asked more than once."""
        return repeat_stats(self._validations) if len(self._validations) > 1 else None

    @property
    def last_metrics(self) -> RunMetrics | None:
        """Metrics of the newest reply."""
        return self._metrics

    @property
    def has_output(self) -> bool:
        """Whether the newest reply completed with text."""
        return self._outcome == RunOutcome.COMPLETE and bool(self._text.strip())

    def result_text(self) -> str:
        """The newest reply as shown (pretty JSON when it is JSON)."""
        return self.pretty

    def record(self) -> dict[str, Any]:
        """The prompt and the reply with its validation, mode and metrics."""
        reply: dict[str, Any] = {
            "role": "assistant",
            "content": self._text,
            "status": self._outcome or "none",
            "mode": self.mode,
            "metrics": metrics_dict(self._metrics),
        }
        if self._validation is not None:
            reply["validation"] = self._validation.label
        if self._error:
            reply["error"] = self._error
        repeat = self.repeat
        if repeat is not None:
            reply["repeat"] = {"runs": repeat.total, "valid": repeat.valid}
        return {
            "messages": [{"role": "user", "content": self._prompt}, reply],
            "metrics": [reply["metrics"]],
        }

    def result_state(self) -> dict[str, Any] | None:
        """The newest reply, its validation, metrics, outcome and every repeat, as JSON data.

        ``None`` before any Send and after Clear. A validation keeps the parsed value rather than
        its pretty text, which is rebuilt from the value the way :func:`validate_output` built it.
        """
        if not (self._text or self._outcome or self._metrics or self._validations):
            return None
        state: dict[str, Any] = {
            "prompt": self._prompt,
            "text": self._text,
            "outcome": self._outcome,
            "metrics": metrics_dict(self._metrics),
        }
        if self._validation is not None:
            state["validation"] = _validation_state(self._validation)
        if self._validations:
            state["repeats"] = [_validation_state(v) for v in self._validations]
        if self._error:
            state["error"] = self._error
        if self.queue_note:
            state["queue_note"] = self.queue_note
        return state

    def restore_result(self, state: Mapping[str, Any]) -> None:
        """Show a reply saved by :meth:`result_state` as it was shown (emits ``result_changed``)."""
        self._prompt = str(state.get("prompt", ""))
        self._text = str(state.get("text", ""))
        # Not JSON text passes through the formatter unchanged and JSON comes out the same
        # however it is split, so feeding the whole text again shows what the stream showed.
        self._reader = LiveJson()
        self._reader.feed(self._text)
        saved = state.get("validation")
        self._validation = _validation_from_state(saved) if saved else None
        self._validations = [_validation_from_state(v) for v in state.get("repeats") or []]
        self._metrics = metrics_from_dict(state.get("metrics"))
        self._outcome = str(state.get("outcome", ""))
        self._error = str(state.get("error", ""))
        self.queue_note = str(state.get("queue_note", ""))
        self.result_changed.emit()

    # -- commands ------------------------------------------------------------------------------

    def set_mode(self, mode: Mode | None) -> None:
        """Send ``mode`` from now on, or ``None`` to follow the provider's default."""
        self.set_option("mode", mode)

    def set_strict(self, strict: bool) -> None:
        """Send ``json_schema`` with or without ``strict: true``."""
        self.set_option("strict", None if strict else False)

    def set_grammar(self, grammar: str) -> None:
        """Use ``grammar`` (GBNF) in ``grammar`` mode."""
        self.set_option("grammar", grammar or None)

    def problems(self, schema: dict[str, Any] | None, prompt: str | None = None) -> list[str]:
        """What this pane's provider will not do with ``schema`` in this pane's mode."""
        return provider_problems(
            schema,
            self.mode,
            self.provider_id,
            strict=self.strict,
            grammar=self.grammar,
            prompt=prompt,
        )

    def send(
        self, schema: dict[str, Any] | None, messages: list[dict[str, Any]], repeat: int
    ) -> bool:
        """Ask ``repeat`` times for JSON; False when the pane is busy."""
        if self.busy:
            return False
        self._prompt = messages[-1]["content"]
        self._validations = []
        self.repeat_changed.emit(None)
        self._start(self._run(schema, messages, max(1, min(repeat, MAX_REPEAT))))
        return True

    def clear(self) -> None:
        """Forget the reply (the target stays)."""
        self.stop()
        self._begin_reply()
        self._validations = []
        self._outcome = ""
        self._metrics = None
        self.repeat_changed.emit(None)
        self.result_changed.emit()

    # -- runs ----------------------------------------------------------------------------------

    def _begin_reply(self) -> None:
        self._text = ""
        self._reader = LiveJson()
        self._validation = None
        self._error = ""
        self.output_reset.emit()

    async def _run(
        self, schema: dict[str, Any] | None, messages: list[dict[str, Any]], repeat: int
    ) -> None:
        self._outcome = ""
        for _ in range(repeat):
            self._begin_reply()
            if not await self._one_reply(schema, messages):
                break
            if repeat > 1:
                assert self._validation is not None
                self._validations.append(self._validation)
                self.repeat_changed.emit(self.repeat)

    async def _one_reply(
        self, schema: dict[str, Any] | None, messages: list[dict[str, Any]]
    ) -> bool:
        """Stream one reply and validate it; False when the run stopped or failed."""
        try:
            client = await self._client()
            params = self._request_params()
            body = response_format(self.mode, schema, strict=self.strict, grammar=self.grammar)
        except (ValueError, FireplayError) as error:
            self._end_failed(str(error), None)
            return False
        extra = {**(self._extra_body() or {}), "response_format": body}
        started = time.perf_counter()
        complete_at: list[float] = []
        live = self._reader

        def add_text(text: str) -> None:
            self._text += text
            fragment = live.feed(text)
            if live.done and not complete_at:
                complete_at.append(time.perf_counter() - started)
            if fragment:
                self.output_appended.emit(fragment)

        events = stream_chat(
            client,
            model=self.model,
            messages=messages,
            params=params,
            extra_body=extra,
            estimate_cost=self._cost_estimator(),
        )
        try:
            outcome = await self._consume(events, add_text)
        except asyncio.CancelledError:
            self._metrics = self.live_snapshot
            self._outcome = RunOutcome.STOPPED
            self.run_ended.emit(self._outcome)
            raise
        if isinstance(outcome, Failed):
            self._end_failed(outcome.message, outcome.metrics)
            return False
        assert isinstance(outcome, Finished)
        checked_against = schema if self.mode != "grammar" else None
        validation = validate_output(self._text, checked_against, outcome.metrics.finish_reason)
        metrics = outcome.metrics
        if validation.ok:
            valid_at = complete_at[0] if complete_at else metrics.total_s
            metrics = replace(metrics, valid_json_s=valid_at)
        self._validation = validation
        self._metrics = metrics
        self._outcome = RunOutcome.COMPLETE
        self.validated.emit(validation)
        self.run_ended.emit(self._outcome)
        return True

    def _stopped_before_start(self) -> None:
        self._outcome = RunOutcome.STOPPED
        self.run_ended.emit(self._outcome)

    def _end_failed(self, message: str, metrics: RunMetrics | None) -> None:
        self._error = message
        self._metrics = metrics
        self._outcome = RunOutcome.FAILED
        self.failed.emit(message)
        self.run_ended.emit(self._outcome)


class JsonPresenter(Workbench):
    """Owns the schema, the prompt and how often each target is asked.

    Signals (besides :class:`Workbench`'s):
        schema_checked(object): the :class:`SchemaCheck` of the schema text, after every edit.
        schema_replaced(str): the schema text was replaced (sample, pydantic, example, strict).
    """

    schema_checked = Signal(object)
    schema_replaced = Signal(str)

    tab_id = "json"

    def __init__(self, services: Services, parent: QObject | None = None) -> None:
        super().__init__(services, parent)
        self._schema_text: str = self.saved_input("schema", SAMPLES["weather"])
        self._check = check_schema(self._schema_text)
        self._describe_schema = bool(self.saved_input("describe_schema", True))
        self._repeat = int(self.saved_input("repeat", 1))
        self._prompt = str(self.saved_input("prompt", _DEFAULT_PROMPT))

    @property
    def panes(self) -> list[JsonPane]:
        """The panes, left to right."""
        return cast(list[JsonPane], list(self._panes))

    @property
    def schema_text(self) -> str:
        """The JSON Schema as the user typed it."""
        return self._schema_text

    @property
    def check(self) -> SchemaCheck:
        """The schema text's check."""
        return self._check

    @property
    def prompt(self) -> str:
        """The prompt as the user last left it (the last one sent, or an example at first)."""
        return self._prompt

    @property
    def describe_schema(self) -> bool:
        """Whether a system message gives the model the schema as well as ``response_format``."""
        return self._describe_schema

    @property
    def repeat(self) -> int:
        """How many times each target is asked per Send."""
        return self._repeat

    def send_blocker(self) -> str:
        """Why Send cannot act now ("" when it can)."""
        if self.busy:
            return "Every pane is still answering"
        needs_schema = any(pane.mode in _SCHEMA_MODES for pane in self.panes)
        if needs_schema and self._check.schema is None:
            return f"Fix the schema first: {self._check.error}"
        for number, pane in enumerate(self.panes, 1):
            if pane.mode == "grammar" and not pane.grammar.strip():
                return f"Pane {number} is in grammar mode but has no grammar"
        return ""

    def pane_problems(self, index: int, prompt: str | None = None) -> list[str]:
        """What pane ``index``'s provider will not do with the schema in its mode."""
        schema = self._check.schema
        if prompt is not None and self._describe_schema and schema is not None:
            prompt = describe(schema) + "\n" + prompt  # the system message asks for JSON
        return self.panes[index].problems(schema, prompt)

    def agreement(self) -> list[FieldAgreement]:
        """Field by field, which panes' valid JSON agree (panes without JSON count as missing)."""
        values = [
            pane.validation.value if pane.validation and pane.validation.is_json else None
            for pane in self.panes
        ]
        return field_agreement(values)

    # -- commands ------------------------------------------------------------------------------

    def set_schema_text(self, text: str) -> None:
        """Use ``text`` as the schema, check it and remember it."""
        self._schema_text = text
        self._check = check_schema(text)
        self.remember_input("schema", text)
        self.schema_checked.emit(self._check)
        self.send_state_changed.emit()

    def replace_schema(self, schema_text: str) -> None:
        """Replace the schema text (the editor shows it) and check it."""
        self.set_schema_text(schema_text)
        self.schema_replaced.emit(schema_text)

    def load_sample(self, name: str) -> None:
        """Replace the schema with the sample ``name``."""
        self.replace_schema(SAMPLES[name])

    def schema_from_pydantic(self, source: str) -> None:
        """Replace the schema with the one of a pasted pydantic class (parsed, never run).

        Raises:
            ValueError: the source is not a supported pydantic model, with the line.
        """
        self.replace_schema(_dump(schema_from_pydantic_source(source)))

    def schema_from_example(self, example: str) -> None:
        """Replace the schema with one inferred from an example document.

        Raises:
            ValueError: the example is not JSON.
        """
        self.replace_schema(_dump(infer_schema(example)))

    def make_strict(self) -> None:
        """Adjust the schema as OpenAI strict mode requires (all required, no extra properties)."""
        if self._check.schema is not None:
            self.replace_schema(_dump(strict_adjusted(self._check.schema)))

    def set_prompt(self, prompt: str) -> None:
        """The prompt as the user edits it (kept in memory; saved to disk when sent)."""
        self._prompt = prompt

    def remember_prompt(self, prompt: str) -> None:
        """Keep the prompt across restarts."""
        self._prompt = prompt
        self.remember_input("prompt", prompt)

    def set_describe_schema(self, describe: bool) -> None:
        """Give the model the schema in a system message too, or not."""
        self._describe_schema = describe
        self.remember_input("describe_schema", describe)

    def set_repeat(self, count: int) -> None:
        """Ask each target ``count`` times per Send (1 to :data:`MAX_REPEAT`)."""
        self._repeat = max(1, min(count, MAX_REPEAT))
        self.remember_input("repeat", self._repeat)

    def send(self, prompt: str) -> bool:
        """Send ``prompt`` to every pane; False when nothing was sent."""
        if not prompt.strip() or self.send_blocker():
            return False
        self.remember_prompt(prompt)
        self._input_sent(prompt)
        schema = self._check.schema
        messages: list[dict[str, Any]] = []
        if self._describe_schema and schema is not None:
            messages.append({"role": "system", "content": describe(schema)})
        messages.append({"role": "user", "content": prompt})
        for pane in self.panes:
            pane.send(schema, messages, self._repeat)
        return True

    def clear(self) -> None:
        """Clear every pane's reply."""
        for pane in self.panes:
            pane.clear()
        self._inputs_sent.clear()
        self._new_round()

    # -- state ---------------------------------------------------------------------------------

    def inputs_state(self) -> dict[str, Any]:
        """The schema text, the prompt (as in the editor), describe-schema and the repeat count."""
        return {
            "schema": self._schema_text,
            "prompt": self._prompt,
            "describe_schema": self._describe_schema,
            "repeat": self._repeat,
        }

    def restore_inputs(self, inputs: Mapping[str, Any]) -> None:
        """Take in inputs saved by :meth:`inputs_state`; an input they lack stays as it is."""
        self._schema_text = str(inputs.get("schema", self._schema_text))
        self._check = check_schema(self._schema_text)
        self._prompt = str(inputs.get("prompt", self._prompt))
        self._describe_schema = bool(inputs.get("describe_schema", self._describe_schema))
        self._repeat = max(1, min(int(inputs.get("repeat", self._repeat)), MAX_REPEAT))
        super().restore_inputs(self.inputs_state())
        self.schema_checked.emit(self._check)
        self.send_state_changed.emit()

    # -- internals -----------------------------------------------------------------------------

    def _make_pane(self, target: TargetSettings) -> JsonPane:
        return JsonPane(self._services, target)


def describe(schema: dict[str, Any]) -> str:
    """The system message that gives the model the schema (the wire format alone may not)."""
    return (
        "Reply with one JSON document, and nothing else, that conforms to this JSON Schema:\n"
        + json.dumps(schema, indent=2, ensure_ascii=False)
    )


def _dump(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def _validation_state(validation: Validation) -> dict[str, Any]:
    """``validation`` as JSON data: the parsed value for JSON, else the text as it came."""
    state: dict[str, Any] = {
        "label": validation.label,
        "ok": validation.ok,
        "is_json": validation.is_json,
        "pointer": validation.pointer,
        "error_span": list(validation.error_span) if validation.error_span else None,
    }
    if validation.is_json:
        state["value"] = validation.value
    else:
        state["text"] = validation.pretty
    return state


def _validation_from_state(state: Mapping[str, Any]) -> Validation:
    """Read back what :func:`_validation_state` wrote."""
    is_json = bool(state.get("is_json"))
    value = state.get("value") if is_json else None
    span = state.get("error_span")
    return Validation(
        label=str(state.get("label", "")),
        ok=bool(state.get("ok")),
        is_json=is_json,
        value=value,
        pointer=state.get("pointer"),
        # The same text validate_output showed: it pretty-prints a JSON value this way.
        pretty=json.dumps(value, indent=2, ensure_ascii=False)
        if is_json
        else str(state.get("text", "")),
        error_span=(int(span[0]), int(span[1])) if span else None,
    )
