"""The Tool calling tab: one set of tools and a prompt, N targets, each running its own tool loop.

A pane's loop is: ask the model (with the tools), collect the calls it makes, answer each one
(from the user, a mock template or a built-in tool), send the answers back, and ask again — until
the model answers in words, the step limit is reached, or a call needs the user. Everything the
loop did stays in the pane's transcript, including what a failed or stopped step received.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from PySide6.QtCore import QObject, Signal

from app.client import FireplayError
from app.domain.catalog import load_catalog
from app.domain.compare import metrics_dict, metrics_from_dict
from app.domain.connections import FIREWORKS_PROVIDER_ID
from app.domain.metrics import RunMetrics, combined
from app.domain.params import PARAMS
from app.domain.python_tool import tool_from_python
from app.domain.run import (
    Failed,
    Finished,
    RunEvent,
    ToolCall,
    ToolCallDelta,
    ToolCallsReady,
    stream_chat,
)
from app.domain.safe_tools import BUILTINS, run_builtin
from app.domain.tools import (
    MOCKS,
    TEMPLATES,
    ArgumentsCheck,
    ToolError,
    ToolsCheck,
    assistant_message,
    calls_from_content,
    check_arguments,
    check_tools,
    render_mock,
    tool_message,
    tools_request,
)
from app.presenters.workbench import Workbench, WorkbenchPane
from app.settings import TargetSettings

if TYPE_CHECKING:
    from app.presenters.services import Services

__all__ = [
    "DEFAULT_MAX_STEPS",
    "MAX_STEPS",
    "Entry",
    "LoopOutcome",
    "PaneSummary",
    "PendingCall",
    "ToolsConfig",
    "ToolsPane",
    "ToolsPresenter",
]

DEFAULT_MAX_STEPS = 5
MAX_STEPS = 20
_DEFAULT_PROMPT = "What's the weather in Paris right now, in Celsius?"
_DEFAULT_TOOLS = [TEMPLATES["get_weather"]]


def _dump(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


@dataclass(frozen=True, slots=True)
class ToolsConfig:
    """What every pane's loop uses, fixed when Send is pressed.

    Attributes:
        tools: The checked tools.
        choice: ``auto``, ``none``, ``required`` or a tool name.
        parallel: ``parallel_tool_calls``, or None for the server's default.
        auto_run: Answer calls from mocks and built-in tools without waiting for the user.
        max_steps: Requests per user message before the loop waits for the user.
        mocks: Mock templates by tool name.
    """

    tools: tuple[dict[str, Any], ...]
    choice: str = "auto"
    parallel: bool | None = None
    auto_run: bool = False
    max_steps: int = DEFAULT_MAX_STEPS
    mocks: Mapping[str, str] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        """The tool names, in order."""
        return [tool["function"]["name"] for tool in self.tools]

    def to_json(self) -> dict[str, Any]:
        """This configuration as JSON data (:meth:`from_json` reads it back)."""
        return {
            "tools": [dict(tool) for tool in self.tools],
            "choice": self.choice,
            "parallel": self.parallel,
            "auto_run": self.auto_run,
            "max_steps": self.max_steps,
            "mocks": dict(self.mocks),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ToolsConfig:
        """Read back what :meth:`to_json` wrote (missing keys take their defaults)."""
        parallel = data.get("parallel")
        return cls(
            tuple(dict(tool) for tool in data.get("tools") or ()),
            str(data.get("choice", "auto")),
            None if parallel is None else bool(parallel),
            bool(data.get("auto_run", False)),
            int(data.get("max_steps", DEFAULT_MAX_STEPS)),
            {str(name): str(text) for name, text in (data.get("mocks") or {}).items()},
        )


@dataclass(slots=True)
class PendingCall:
    """A call of the newest step, waiting for its result.

    Attributes:
        index: The call's index in the stream (its card is ``toolCall-<index>``).
        id: The id the tool message answers (made up when the server sent none).
        name: The tool called.
        arguments: The arguments as JSON text, as streamed or as the user edited them.
        check: The arguments checked against the tool's parameters.
        result: The result to send (JSON or text); "" until there is one.
        source: Where the result came from: ``mock``, ``built-in``, ``you`` or "" (none yet).
        problem: Why no result could be made automatically ("" when none was tried or it worked).
        from_content: The model wrote the call as JSON text instead of ``tool_calls``.
    """

    index: int
    id: str
    name: str
    arguments: str
    check: ArgumentsCheck
    result: str = ""
    source: str = ""
    problem: str = ""
    from_content: bool = False


@dataclass(slots=True)
class Entry:
    """One message of the transcript as shown.

    Attributes:
        role: ``user``, ``assistant`` or ``tool``.
        content: The text (for ``tool``, the result sent).
        calls: The calls an assistant message made (arguments as sent back).
        name: For ``tool``: the tool answered.
        call_id: For ``tool``: the call answered.
        status: ``streaming``, ``complete``, ``stopped`` or ``failed``.
        error: Why the step failed.
        metrics: The step's metrics (assistant messages).
        step: Which step of the loop an assistant message is (1-based).
        from_content: The calls were parsed from the text.
    """

    role: str
    content: str = ""
    calls: list[ToolCall] = field(default_factory=list)
    name: str = ""
    call_id: str = ""
    status: str = "complete"
    error: str = ""
    metrics: RunMetrics | None = None
    step: int = 0
    from_content: bool = False


@dataclass(frozen=True, slots=True)
class PaneSummary:
    """What one target did with the newest message, for the comparison across panes.

    Attributes:
        model: The pane's model.
        calls: ``(tool, arguments, valid)`` for every call made, in order.
        steps: Requests made.
        outcome: How the loop ended (a :class:`LoopOutcome` value, "" before any).
        answer: The final answer ("" when there is none yet).
        metrics: The requests' figures combined.
    """

    model: str
    calls: tuple[tuple[str, str, bool], ...]
    steps: int
    outcome: str
    answer: str
    metrics: RunMetrics | None


class LoopOutcome:
    """How a pane's loop ended."""

    ANSWERED = "answered"  # the model answered in words
    WAITING = "waiting"  # calls wait for results (or the step limit was reached)
    STOPPED = "stopped"
    FAILED = "failed"


class ToolsPane(WorkbenchPane):
    """One target running the tool loop: its transcript, its pending calls, its steps.

    Signals (besides :class:`WorkbenchPane`'s):
        transcript_changed(): messages were added or finished; the view redraws the transcript.
        text_received(str): text of the streaming assistant message.
        call_forming(int, str, str): a call streams: its index, name and arguments so far.
        calls_changed(): the pending calls were replaced (cards are rebuilt).
        call_updated(int): pending call at this position changed its check or result.
        loop_ended(str): the loop ended: a :class:`LoopOutcome` value.
    """

    transcript_changed = Signal()
    text_received = Signal(str)
    call_forming = Signal(int, str, str)
    calls_changed = Signal()
    call_updated = Signal(int)
    loop_ended = Signal(str)

    capability = "tools"
    param_specs = PARAMS

    def __init__(
        self, services: Services, target: TargetSettings, parent: QObject | None = None
    ) -> None:
        super().__init__(services, target, parent)
        self._messages: list[dict[str, Any]] = []
        self._entries: list[Entry] = []
        self._pending: list[PendingCall] = []
        self._forming: dict[int, list[str]] = {}
        self._step = 0
        self._step_metrics: list[RunMetrics] = []
        self._outcome = ""
        self._error = ""
        self._note = ""
        # The status line the newest failure put up (the view keeps it until a loop starts).
        self._failure = ""
        self._config = ToolsConfig(())
        self._last_request: dict[str, Any] | None = None

    # -- state read by views -------------------------------------------------------------------

    @property
    def entries(self) -> list[Entry]:
        """The transcript, oldest first."""
        return list(self._entries)

    @property
    def pending(self) -> list[PendingCall]:
        """The newest step's calls while they wait for results."""
        return list(self._pending)

    @property
    def step(self) -> int:
        """Requests made for the newest user message."""
        return self._step

    @property
    def max_steps(self) -> int:
        """The step limit of the loop in progress."""
        return self._config.max_steps

    @property
    def outcome(self) -> str:
        """How the newest loop ended ("" while it runs or before any)."""
        return self._outcome

    @property
    def error(self) -> str:
        """Why the newest step failed."""
        return self._error

    @property
    def note(self) -> str:
        """What the loop is waiting for, or where it stopped ("" when nothing to say)."""
        return self._note

    @property
    def last_request(self) -> dict[str, Any] | None:
        """The body of the newest request, as sent (never a key: those travel in headers)."""
        return self._last_request

    @property
    def last_metrics(self) -> RunMetrics | None:
        """The newest user message's requests, combined."""
        return combined(self._step_metrics)

    @property
    def has_output(self) -> bool:
        """Whether the newest loop got to a final answer."""
        return self._outcome == LoopOutcome.ANSWERED

    @property
    def answer(self) -> str:
        """The final answer of the newest loop ("" when there is none)."""
        if self._outcome != LoopOutcome.ANSWERED or not self._entries:
            return ""
        return self._entries[-1].content

    def tools_warning(self) -> str:
        """Why this model may not call tools ("" when the catalog does not say it cannot)."""
        if self.provider_id != FIREWORKS_PROVIDER_ID:
            return ""
        info = load_catalog().get(self.model)
        if info is not None and info.supports_tools is False:
            return f"The catalog says {self.model.rsplit('/', 1)[-1]} does not call tools."
        return ""

    def send_results_blocker(self) -> str:
        """Why the pending results cannot be sent ("" when they can)."""
        if self.busy:
            return "This pane is still running"
        if not self._pending:
            return "No call is waiting for a result"
        for call in self._pending:
            if not call.result.strip():
                return f"Call {call.index} ({call.name}) has no result yet"
        return ""

    @property
    def can_retry(self) -> bool:
        """Whether the newest loop failed or was stopped, so its last step can be asked again."""
        return not self.busy and self._outcome in (LoopOutcome.FAILED, LoopOutcome.STOPPED)

    def result_text(self) -> str:
        """What the newest message led to: each call made, then the answer (Diff compares this)."""
        summary = self.summary()
        calls = [f"→ {name}({arguments})" for name, arguments, _ in summary.calls]
        return "\n".join([*calls, summary.answer] if summary.answer else calls)

    def summary(self) -> PaneSummary:
        """What this target did with the newest message."""
        start = max((i for i, e in enumerate(self._entries) if e.role == "user"), default=0)
        calls: list[tuple[str, str, bool]] = []
        tools = self._config.tools
        for entry in self._entries[start:]:
            for call in entry.calls:
                valid = check_arguments(tools, call.name, call.arguments).ok
                calls.append((call.name, call.arguments, valid))
        return PaneSummary(
            self.model,
            tuple(calls),
            self._step,
            self._outcome,
            self.answer,
            self.last_metrics,
        )

    def record(self) -> dict[str, Any]:
        """The conversation as sent, plus the pending calls and each step's metrics."""
        messages: list[dict[str, Any]] = [dict(m) for m in self._messages]
        if self._entries and self._entries[-1].status != "complete":
            last = self._entries[-1]
            messages.append({"role": last.role, "content": last.content, "status": last.status})
        return {
            "messages": messages,
            "pending_calls": [
                {"name": c.name, "arguments": c.arguments, "result": c.result}
                for c in self._pending
            ],
            "outcome": self._outcome or "none",
            "metrics": [metrics_dict(m) for m in self._step_metrics],
        }

    def result_state(self) -> dict[str, Any] | None:
        """The transcript, the conversation as sent, the pending calls and every step's figures.

        A loop still running is kept as Stop would leave it: its streaming step stopped where it
        is. ``None`` before the first message.
        """
        if not self._entries:
            return None
        entries = [_entry_state(entry) for entry in self._entries]
        outcome, note = self._outcome, self._note
        if not outcome:
            for entry in entries:
                if entry["status"] == "streaming":
                    entry["status"] = "stopped"
            outcome, note = LoopOutcome.STOPPED, f"Stopped during step {self._step}."
        return {
            "entries": entries,
            "messages": [dict(m) for m in self._messages],
            "pending": [_pending_state(call) for call in self._pending],
            "step": self._step,
            "step_metrics": [metrics_dict(m) for m in self._step_metrics],
            "outcome": outcome,
            "error": self._error,
            "note": note,
            "failure": self._failure,
            "config": self._config.to_json(),
            "last_request": self._last_request,
            "queue_note": self.queue_note,
        }

    def restore_result(self, state: Mapping[str, Any]) -> None:
        """Show a result saved by :meth:`result_state`, and go on from it.

        The pane is as the loop left it: pending calls can be edited and sent, a failed or
        stopped step retried, and a new message carries the whole conversation. Meant for an
        idle pane (the workbench restores into new ones).
        """
        self._config = ToolsConfig.from_json(state.get("config") or {})
        self._entries = [_entry_from(entry) for entry in state.get("entries") or ()]
        self._messages = [dict(message) for message in state.get("messages") or ()]
        self._pending = [_pending_from(c, self._config.tools) for c in state.get("pending") or ()]
        self._forming = {}
        self._step = int(state.get("step", 0))
        self._step_metrics = [
            m for m in map(metrics_from_dict, state.get("step_metrics") or ()) if m is not None
        ]
        self._outcome = str(state.get("outcome", ""))
        self._error = str(state.get("error", ""))
        self._note = str(state.get("note", ""))
        self._failure = str(state.get("failure", ""))
        request = state.get("last_request")
        self._last_request = dict(request) if isinstance(request, Mapping) else None
        self.queue_note = str(state.get("queue_note", ""))
        self.calls_changed.emit()
        self.transcript_changed.emit()
        if self._failure:
            self.status_changed.emit(self._failure)
        self.result_changed.emit()

    # -- commands ------------------------------------------------------------------------------

    def send(self, prompt: str, config: ToolsConfig) -> bool:
        """Add ``prompt`` to the conversation and run the loop; False when the pane is busy.

        Calls still waiting from an earlier step are dropped: the new message replaces them.
        """
        if self.busy:
            return False
        self._config = config
        self._pending = []
        self.calls_changed.emit()
        if self._messages and self._messages[-1]["role"] == "user":
            # Never answered (failed, stopped, or its calls were left waiting): it stays in the
            # transcript but is not sent again, so the history keeps alternating.
            self._messages.pop()
        self._step = 0
        self._step_metrics = []
        self._messages.append({"role": "user", "content": prompt})
        self._entries.append(Entry("user", prompt))
        self.transcript_changed.emit()
        self._start(self._loop())
        return True

    def send_results(self) -> bool:
        """Send every pending call's result and continue the loop; False when it cannot."""
        if self.send_results_blocker():
            return False
        self._answer_pending()
        self._start(self._loop())
        return True

    def retry(self) -> bool:
        """Ask the failed or stopped step again, from the conversation as it was before it."""
        if not self.can_retry:
            return False
        self._start(self._loop())
        return True

    def set_arguments(self, position: int, text: str) -> None:
        """The user edited call ``position``'s arguments: check them and redo its mock result."""
        call = self._pending[position]
        call.arguments = text
        call.check = check_arguments(self._config.tools, call.name, text)
        if call.source != "you":
            self._answer_automatically(call)
        self.call_updated.emit(position)

    def set_result(self, position: int, text: str) -> None:
        """The user typed call ``position``'s result."""
        call = self._pending[position]
        if text == call.result:
            return
        call.result = text
        call.source = "you" if text.strip() else ""
        call.problem = ""
        self.call_updated.emit(position)

    def clear(self) -> None:
        """Forget the conversation (the target stays)."""
        self.stop()
        self._messages = []
        self._entries = []
        self._pending = []
        self._step = 0
        self._step_metrics = []
        self._outcome = ""
        self._error = ""
        self._note = ""
        self._clear_failure()
        self.calls_changed.emit()
        self.transcript_changed.emit()
        self.result_changed.emit()

    # -- the loop ------------------------------------------------------------------------------

    async def _loop(self) -> None:
        self._outcome = ""
        self._note = ""
        self._clear_failure()
        while True:
            if not await self._one_step():
                return
            if not self._pending:
                self._end(LoopOutcome.ANSWERED)
                return
            waiting = self._waiting_for()
            if waiting:
                self._end(LoopOutcome.WAITING, waiting)
                return
            self._answer_pending()

    def _waiting_for(self) -> str:
        """Why the loop cannot answer the pending calls by itself ("" when it can go on)."""
        config = self._config
        if not config.auto_run:
            return "Check the calls' results, then Send results."
        for call in self._pending:
            if not call.result.strip():
                why = call.problem or "no mock or built-in tool answers it"
                return f"Call {call.index} ({call.name}) needs a result: {why}."
        if self._step >= config.max_steps:
            return f"Reached {config.max_steps} steps; Send results to go on."
        return ""

    async def _one_step(self) -> bool:
        """Ask the model once; True when it answered (with calls, now pending, or words)."""
        try:
            client = await self._client()
            params = self._request_params()
        except (ValueError, FireplayError) as error:
            self._fail(str(error), None)
            return False
        config = self._config
        self._step += 1
        body = tools_request(config.tools, config.choice, config.parallel, self.provider_id)
        extra = {**(self._extra_body() or {}), **body}
        messages = [dict(m) for m in self._messages]
        self._last_request = {"model": self.model, "messages": messages, **params, **extra}
        entry = Entry("assistant", status="streaming", step=self._step)
        self._entries.append(entry)
        self._forming = {}
        self.transcript_changed.emit()
        ready: list[ToolCall] = []

        def add_text(text: str) -> None:
            entry.content += text
            self.text_received.emit(text)

        def on_event(event: RunEvent) -> None:
            if isinstance(event, ToolCallDelta):
                forming = self._forming.setdefault(event.index, ["", ""])
                forming[0] = forming[0] or (event.name or "")
                forming[1] += event.arguments
                self.call_forming.emit(event.index, forming[0], forming[1])
            elif isinstance(event, ToolCallsReady):
                ready.extend(event.calls)

        events = stream_chat(
            client,
            model=self.model,
            messages=messages,
            params=params,
            extra_body=extra,
            estimate_cost=self._cost_estimator(),
        )
        try:
            outcome = await self._consume(events, add_text, on_event=on_event)
        except asyncio.CancelledError:
            entry.status = "stopped"
            entry.metrics = self.live_snapshot
            if entry.metrics is not None:
                self._step_metrics.append(entry.metrics)
            self._end(LoopOutcome.STOPPED, f"Stopped during step {self._step}.")
            raise
        if isinstance(outcome, Failed):
            entry.status = "failed"
            entry.error = outcome.message
            entry.metrics = outcome.metrics
            self._step_metrics.append(outcome.metrics)
            self._fail(outcome.message, outcome.metrics)
            return False
        assert isinstance(outcome, Finished)
        entry.metrics = outcome.metrics
        self._step_metrics.append(outcome.metrics)
        calls = [self._with_id(call) for call in ready]
        if not calls and config.tools:
            calls = [self._with_id(c) for c in calls_from_content(entry.content, config.names)]
            entry.from_content = bool(calls)
        entry.status = "complete"
        entry.calls = calls
        self._pending = [self._pending_call(call, entry.from_content) for call in calls]
        self.transcript_changed.emit()
        self.calls_changed.emit()
        return True

    def _with_id(self, call: ToolCall) -> ToolCall:
        if call.id:
            return call
        # Servers that send no id still need one: each tool message names the call it answers.
        return ToolCall(call.index, f"call_{self._step}_{call.index}", call.name, call.arguments)

    def _pending_call(self, call: ToolCall, from_content: bool) -> PendingCall:
        check = check_arguments(self._config.tools, call.name, call.arguments)
        pending = PendingCall(
            call.index, call.id, call.name, call.arguments, check, from_content=from_content
        )
        self._answer_automatically(pending)
        return pending

    def _answer_automatically(self, call: PendingCall) -> None:
        """Fill ``call``'s result from its mock or built-in tool, or say why not."""
        call.result, call.source, call.problem = "", "", ""
        template = self._config.mocks.get(call.name, "").strip()
        if not template and call.name not in BUILTINS:
            return
        if not call.check.ok:
            call.problem = f"its arguments are not usable ({call.check.label})"
            return
        arguments = cast(dict[str, Any], call.check.value)
        if template:
            try:
                call.result, call.source = render_mock(template, arguments), "mock"
            except ToolError as error:
                call.problem = f"its mock did not render: {error}"
            return
        try:
            call.result = run_builtin(call.name, arguments)
        except ToolError as error:
            # The model sees the refusal, as it would from a real tool, and can correct itself.
            call.result = json.dumps({"error": str(error)}, ensure_ascii=False)
        call.source = "built-in"

    def _answer_pending(self) -> None:
        """Put the assistant turn and one tool turn per pending call into the conversation."""
        calls = [ToolCall(c.index, c.id, c.name, c.arguments) for c in self._pending]
        text = self._entries[-1].content if not self._entries[-1].from_content else ""
        self._messages.append(assistant_message(text, calls))
        self._entries[-1].calls = calls
        for call in self._pending:
            self._messages.append(tool_message(call.id, call.result))
            self._entries.append(Entry("tool", call.result, name=call.name, call_id=call.id))
        self._pending = []
        self.calls_changed.emit()
        self.transcript_changed.emit()

    def _end(self, outcome: str, note: str = "") -> None:
        if outcome == LoopOutcome.ANSWERED:
            final = self._entries[-1]
            self._messages.append({"role": "assistant", "content": final.content})
        self._outcome = outcome
        self._note = note
        self.transcript_changed.emit()
        self.loop_ended.emit(outcome)

    def _fail(self, message: str, metrics: RunMetrics | None) -> None:
        self._error = message
        where = f"Stopped at step {self._step}: " if self._step > 1 else ""
        self._failure = where + message
        self.failed.emit(self._failure)
        # A failed step is not part of the conversation sent next: retrying starts from before it.
        self._end(LoopOutcome.FAILED, f"{where}{message}" if where else "")

    def _clear_failure(self) -> None:
        # A new loop (or Clear) retires the old failure's status line, so what a saved result
        # says about its status is what the pane shows.
        if self._failure:
            self._failure = ""
            self.status_changed.emit("")

    def _stopped_before_start(self) -> None:
        self._end(LoopOutcome.STOPPED)


def _entry_state(entry: Entry) -> dict[str, Any]:
    return {
        "role": entry.role,
        "content": entry.content,
        "calls": [dataclasses.asdict(call) for call in entry.calls],
        "name": entry.name,
        "call_id": entry.call_id,
        "status": entry.status,
        "error": entry.error,
        "metrics": metrics_dict(entry.metrics),
        "step": entry.step,
        "from_content": entry.from_content,
    }


def _entry_from(data: Mapping[str, Any]) -> Entry:
    return Entry(
        str(data.get("role", "assistant")),
        str(data.get("content", "")),
        [_call_from(call) for call in data.get("calls") or ()],
        str(data.get("name", "")),
        str(data.get("call_id", "")),
        str(data.get("status", "complete")),
        str(data.get("error", "")),
        metrics_from_dict(data.get("metrics")),
        int(data.get("step", 0)),
        bool(data.get("from_content", False)),
    )


def _call_from(data: Mapping[str, Any]) -> ToolCall:
    return ToolCall(
        int(data.get("index", 0)),
        str(data.get("id", "")),
        str(data.get("name", "")),
        str(data.get("arguments", "")),
    )


def _pending_state(call: PendingCall) -> dict[str, Any]:
    # The check is left out: it is worked out again from the arguments and the loop's tools.
    return {
        "index": call.index,
        "id": call.id,
        "name": call.name,
        "arguments": call.arguments,
        "result": call.result,
        "source": call.source,
        "problem": call.problem,
        "from_content": call.from_content,
    }


def _pending_from(data: Mapping[str, Any], tools: tuple[dict[str, Any], ...]) -> PendingCall:
    call = _call_from(data)
    return PendingCall(
        call.index,
        call.id,
        call.name,
        call.arguments,
        check_arguments(tools, call.name, call.arguments),
        str(data.get("result", "")),
        str(data.get("source", "")),
        str(data.get("problem", "")),
        bool(data.get("from_content", False)),
    )


class ToolsPresenter(Workbench):
    """Owns the tools, how they may be called, the mocks, and the prompt sent to every pane.

    Signals (besides :class:`Workbench`'s):
        tools_checked(object): the :class:`ToolsCheck` of the tools text, after every edit.
        tools_replaced(str): the tools text was replaced (template, import, Python, form).
    """

    tools_checked = Signal(object)
    tools_replaced = Signal(str)

    tab_id = "tools"

    def __init__(self, services: Services, parent: QObject | None = None) -> None:
        super().__init__(services, parent)
        self._tools_text: str = self.saved_input("tools", _dump(_DEFAULT_TOOLS))
        self._check = check_tools(self._tools_text)
        self._mocks: dict[str, str] = dict(self.saved_input("mocks", MOCKS))
        self._choice = str(self.saved_input("tool_choice", "auto"))
        parallel = self.saved_input("parallel_tool_calls", None)
        self._parallel: bool | None = None if parallel is None else bool(parallel)
        self._auto_run = bool(self.saved_input("auto_run", False))
        self._max_steps = int(self.saved_input("max_steps", DEFAULT_MAX_STEPS))
        # Mirrored from the prompt box on every edit, and saved to disk only when sent.
        self._prompt = str(self.saved_input("prompt", _DEFAULT_PROMPT))

    @property
    def panes(self) -> list[ToolsPane]:
        """The panes, left to right."""
        return cast(list[ToolsPane], list(self._panes))

    @property
    def tools_text(self) -> str:
        """The ``tools`` array as the user typed it."""
        return self._tools_text

    @property
    def check(self) -> ToolsCheck:
        """The tools text's check."""
        return self._check

    @property
    def tool_names(self) -> list[str]:
        """The names of the checked tools."""
        return list(self._check.names)

    @property
    def choice(self) -> str:
        """``tool_choice``: ``auto``, ``none``, ``required`` or a tool name."""
        return self._choice

    @property
    def parallel(self) -> bool | None:
        """``parallel_tool_calls``, or None for the server's default."""
        return self._parallel

    @property
    def auto_run(self) -> bool:
        """Whether calls are answered from mocks and built-ins without waiting for the user."""
        return self._auto_run

    @property
    def max_steps(self) -> int:
        """Requests per message before the loop waits for the user."""
        return self._max_steps

    @property
    def mocks(self) -> dict[str, str]:
        """Mock result templates by tool name."""
        return dict(self._mocks)

    @property
    def prompt(self) -> str:
        """The prompt as the user left it in the prompt box."""
        return self._prompt

    @property
    def has_results(self) -> bool:
        """Whether Clear or Same model × N would throw conversations away."""
        return any(pane.entries for pane in self.panes)

    def send_blocker(self) -> str:
        """Why Send cannot act now ("" when it can)."""
        if self.busy:
            return "Every pane is still answering"
        if self._check.error:
            return f"Fix the tools first: {self._check.error}"
        if not self._check.tools:
            return "Define at least one tool (Templates has examples)"
        if self._choice not in ("auto", "none", "required") and self._choice not in self.tool_names:
            return f"tool_choice names {self._choice!r}, which is not defined"
        return ""

    def summaries(self) -> list[PaneSummary]:
        """What each target did with the newest message, left to right."""
        return [pane.summary() for pane in self.panes]

    def builtin_names(self) -> list[str]:
        """The tools Fireplay itself can answer."""
        return list(BUILTINS)

    # -- commands ------------------------------------------------------------------------------

    def set_tools_text(self, text: str) -> None:
        """Use ``text`` as the tools array, check it and remember it."""
        self._tools_text = text
        self._check = check_tools(text)
        self.remember_input("tools", text)
        self.tools_checked.emit(self._check)
        self.send_state_changed.emit()

    def replace_tools(self, tools: list[dict[str, Any]]) -> None:
        """Replace the tools array (the editor shows it) and check it."""
        text = _dump(tools)
        self.set_tools_text(text)
        self.tools_replaced.emit(text)

    def add_tool(self, tool: dict[str, Any]) -> None:
        """Append ``tool`` to the array, replacing a tool of the same name.

        Raises:
            ValueError: the tools text is not a valid array to add to.
        """
        current = self._editable_tools()
        name = tool["function"]["name"]
        kept = [t for t in current if t.get("function", {}).get("name") != name]
        self.replace_tools([*kept, tool])

    def add_template(self, name: str) -> None:
        """Append template ``name`` (and its sample mock, when it has one)."""
        if name in MOCKS and name not in self._mocks:
            self.set_mock(name, MOCKS[name])
        self.add_tool(TEMPLATES[name])

    def add_from_python(self, source: str) -> None:
        """Append the tool described by a pasted Python function (parsed, never run).

        Raises:
            ValueError: the source is not one supported function, with the line.
        """
        self.add_tool(tool_from_python(source))

    def import_tools(self, text: str) -> None:
        """Replace the tools with an imported file's array (checked like typed text).

        A file may also be ``{"tools": [...], "mocks": {...}}``, as :meth:`export_tools` writes.

        Raises:
            ValueError: the file is not JSON.
        """
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise ValueError(f"Not JSON: {error.msg} (line {error.lineno})") from None
        if isinstance(data, dict) and "tools" in data:
            for name, template in (data.get("mocks") or {}).items():
                self.set_mock(str(name), str(template))
            data = data["tools"]
        text = _dump(data)
        self.set_tools_text(text)
        self.tools_replaced.emit(text)

    def export_tools(self) -> str:
        """The tools text and the mocks of its tools, as a file to import later."""
        try:
            tools: Any = json.loads(self._tools_text)
        except json.JSONDecodeError:
            return self._tools_text
        mocks = {name: self._mocks[name] for name in self._check.names if name in self._mocks}
        return _dump({"tools": tools, "mocks": mocks} if mocks else tools)

    def update_tool(self, position: int, tool: dict[str, Any]) -> None:
        """Replace the tool at ``position`` (the form view edits one tool at a time).

        Raises:
            ValueError: the tools text is not a valid array, or ``position`` is out of range.
        """
        current = self._editable_tools()
        if not 0 <= position < len(current):
            raise ValueError(f"There is no tool {position + 1}")
        current[position] = tool
        self.replace_tools(current)

    def remove_tool(self, position: int) -> None:
        """Remove the tool at ``position``."""
        current = self._editable_tools()
        if 0 <= position < len(current):
            del current[position]
            self.replace_tools(current)

    def set_mock(self, name: str, template: str) -> None:
        """Answer calls to ``name`` from ``template`` (with ``{{argument}}``); "" removes it."""
        if template.strip():
            self._mocks[name] = template
        else:
            self._mocks.pop(name, None)
        self.remember_input("mocks", dict(self._mocks))

    def set_choice(self, choice: str) -> None:
        """Send ``tool_choice`` = ``choice`` from now on."""
        self._choice = choice
        self.remember_input("tool_choice", choice)
        self.send_state_changed.emit()

    def set_parallel(self, parallel: bool | None) -> None:
        """Send ``parallel_tool_calls`` (None: leave it to the server)."""
        self._parallel = parallel
        self.remember_input("parallel_tool_calls", parallel)

    def set_auto_run(self, auto_run: bool) -> None:
        """Answer calls from mocks and built-ins without stopping, or wait for the user."""
        self._auto_run = auto_run
        self.remember_input("auto_run", auto_run)

    def set_max_steps(self, steps: int) -> None:
        """Requests per message before an automatic loop waits for the user."""
        self._max_steps = max(1, min(steps, MAX_STEPS))
        self.remember_input("max_steps", self._max_steps)

    def set_prompt(self, prompt: str) -> None:
        """The user edited the prompt box (kept in memory; :meth:`send` saves it)."""
        self._prompt = prompt

    def remember_prompt(self, prompt: str) -> None:
        """Keep the prompt across restarts."""
        self._prompt = prompt
        self.remember_input("prompt", prompt)

    def send(self, prompt: str) -> bool:
        """Send ``prompt`` to every pane; False when nothing was sent."""
        if not prompt.strip() or self.send_blocker():
            return False
        self.remember_prompt(prompt)
        self._input_sent(prompt)
        config = ToolsConfig(
            self._check.tools,
            self._choice,
            self._parallel,
            self._auto_run,
            self._max_steps,
            dict(self._mocks),
        )
        for pane in self.panes:
            pane.send(prompt, config)
        return True

    def clear(self) -> None:
        """Clear every pane's conversation."""
        for pane in self.panes:
            pane.clear()
        self._inputs_sent.clear()
        self._new_round()

    # -- state: sessions, presets, reopened runs ------------------------------------------------

    def inputs_state(self) -> dict[str, Any]:
        """Every input of the tab as it is now, the prompt box's text included."""
        return {
            "tools": self._tools_text,
            "mocks": dict(self._mocks),
            "tool_choice": self._choice,
            "parallel_tool_calls": self._parallel,
            "auto_run": self._auto_run,
            "max_steps": self._max_steps,
            "prompt": self._prompt,
        }

    def restore_inputs(self, inputs: Mapping[str, Any]) -> None:
        """Take in inputs saved by :meth:`inputs_state`; those missing keep their value.

        The tools are checked and shown again (``tools_checked``, ``tools_replaced``), then
        every input is remembered at once and ``inputs_restored`` tells the view.
        """
        merged = {**self.inputs_state(), **inputs}
        self._tools_text = str(merged["tools"])
        self._check = check_tools(self._tools_text)
        self._mocks = {str(name): str(text) for name, text in dict(merged["mocks"]).items()}
        self._choice = str(merged["tool_choice"])
        parallel = merged["parallel_tool_calls"]
        self._parallel = None if parallel is None else bool(parallel)
        self._auto_run = bool(merged["auto_run"])
        self._max_steps = max(1, min(int(merged["max_steps"]), MAX_STEPS))
        self._prompt = str(merged["prompt"])
        self.tools_checked.emit(self._check)
        self.tools_replaced.emit(self._tools_text)
        super().restore_inputs(self.inputs_state())
        self.send_state_changed.emit()

    # -- internals -----------------------------------------------------------------------------

    def _editable_tools(self) -> list[Any]:
        if not self._tools_text.strip():
            return []
        try:
            current = json.loads(self._tools_text)
        except json.JSONDecodeError as error:
            raise ValueError(
                f"Fix the tools JSON first: {error.msg} (line {error.lineno})"
            ) from None
        if not isinstance(current, list):
            raise ValueError("The tools must be a JSON array to add to")
        return current

    def _make_pane(self, target: TargetSettings) -> ToolsPane:
        return ToolsPane(self._services, target)
