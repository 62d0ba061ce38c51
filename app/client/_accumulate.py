"""Assemble streamed chat chunks into one :class:`ChatCompletion` (wire reference §2.10)."""

from __future__ import annotations

from typing import Any

from .types.chat_completion import (
    ChatCompletion,
    ChatCompletionMessage,
    ChatCompletionMessageToolCall,
    Choice,
    Function,
)
from .types.chat_completion_chunk import ChatCompletionChunk, ChoiceDeltaToolCall
from .types.completion_usage import CompletionUsage

__all__ = ["ChatCompletionAccumulator"]


class _ToolCall:
    __slots__ = ("arguments", "id", "name", "type")

    def __init__(self) -> None:
        self.id = ""
        self.type = ""
        self.name = ""
        self.arguments: list[str] = []

    def build(self) -> ChatCompletionMessageToolCall:
        arguments = "".join(self.arguments)
        return ChatCompletionMessageToolCall(
            id=self.id,
            type=self.type or "function",
            function=Function(name=self.name, arguments=arguments if arguments.strip() else "{}"),
        )


class _Choice:
    __slots__ = (
        "by_index",
        "content",
        "finish_reason",
        "logprobs",
        "reasoning",
        "refusal",
        "role",
        "tool_calls",
    )

    def __init__(self) -> None:
        self.role = ""
        # Fragments; a `None` content stays `None` in the result, an empty string stays "".
        self.content: list[str] = []
        self.reasoning: list[str] = []
        self.refusal: list[str] = []
        self.finish_reason: str | None = None
        self.logprobs: list[Any] | None = None
        self.tool_calls: list[_ToolCall] = []
        self.by_index: dict[int, _ToolCall] = {}

    def add_logprobs(self, logprobs: Any) -> None:
        if isinstance(logprobs, dict) and isinstance(logprobs.get("content"), list):
            if self.logprobs is None:
                self.logprobs = []
            self.logprobs.extend(logprobs["content"])

    def add_tool_call(self, delta: ChoiceDeltaToolCall) -> None:
        function = delta.function
        name = function.name if function is not None else None
        call = self._call_for(delta, name)
        if delta.id and not call.id:
            call.id = delta.id
        if delta.type and not call.type:
            call.type = delta.type
        if function is None:
            return
        # Some servers repeat the name on every fragment: it is set once, never concatenated.
        if name and not call.name:
            call.name = name
        if function.arguments:
            if function.whole_arguments:
                call.arguments = [function.arguments]
            else:
                call.arguments.append(function.arguments)

    def _call_for(self, delta: ChoiceDeltaToolCall, name: str | None) -> _ToolCall:
        index = delta.index
        if index is None:
            if delta.id:
                for call in self.tool_calls:
                    if call.id == delta.id:
                        return call
            if self.tool_calls:
                return self.tool_calls[-1]
            return self._open(len(self.tool_calls))
        current = self.by_index.get(index)
        if current is None:
            return self._open(index)
        # Some servers put every parallel call at index 0: a new id together with a name there
        # starts a new call rather than overwriting the previous one.
        if delta.id and current.id and delta.id != current.id and name:
            return self._open(index)
        return current

    def _open(self, index: int) -> _ToolCall:
        call = _ToolCall()
        self.tool_calls.append(call)
        self.by_index[index] = call
        return call

    def build(self, index: int) -> Choice:
        message = ChatCompletionMessage(
            role=self.role or "assistant",
            content="".join(self.content) if self.content else None,
            reasoning_content="".join(self.reasoning) if self.reasoning else None,
            refusal="".join(self.refusal) if self.refusal else None,
            tool_calls=[call.build() for call in self.tool_calls] or None,
        )
        logprobs = None if self.logprobs is None else {"content": self.logprobs}
        return Choice(
            index=index, message=message, finish_reason=self.finish_reason, logprobs=logprobs
        )


class ChatCompletionAccumulator:
    """Folds stream chunks, one at a time, into the completion an unstreamed request returns.

    Folding as chunks arrive keeps only strings and small state alive (no chunk objects), which
    matters for speed: thousands of retained pydantic chunks make the cyclic garbage collector
    walk them again and again.

    Rules (wire reference §2.10): text and reasoning concatenate; tool calls are keyed by
    ``index`` and only ``arguments`` concatenates; the first ``finish_reason`` of a choice wins
    unless a later one says ``tool_calls``; ``usage`` and ``perf_metrics`` come from whichever
    chunk carried them last; empty tool-call arguments become ``"{}"``.
    """

    def __init__(self) -> None:
        """Start empty."""
        self._choices: dict[int, _Choice] = {}
        self._started = False
        self._id = ""
        self._model = ""
        self._created = 0
        self._fingerprint: Any = None
        self.usage: CompletionUsage | None = None
        self.perf_metrics: dict[str, Any] | None = None
        self.finished_choices = 0

    def add(self, chunk: ChatCompletionChunk) -> None:
        """Fold one chunk in (the per-chunk hot path of every stream)."""
        # Field values are read from the models' `__dict__`: pydantic models define
        # `__getattr__`, which keeps CPython from specialising attribute reads.
        fields = chunk.__dict__
        if not self._started:
            self._first(chunk)
        for choice in fields["choices"]:
            part = choice.__dict__
            delta = part["delta"].__dict__
            try:
                state = self._choices[part["index"]]
            except KeyError:
                state = self._choices[part["index"]] = _Choice()
            content = delta["content"]
            if content is not None:
                state.content.append(content)
            # The usual chunk carries text only: one test for everything else keeps it cheap.
            if (
                delta["reasoning_content"] is not None
                or delta["tool_calls"] is not None
                or delta["role"] is not None
                or delta["refusal"] is not None
                or part["finish_reason"] is not None
                or part["logprobs"] is not None
            ):
                self._add_rest(state, part, delta)
        if fields["usage"] is not None:
            self.usage = fields["usage"]
        if fields["perf_metrics"] is not None:
            self.perf_metrics = fields["perf_metrics"]

    def _add_rest(self, state: _Choice, part: dict[str, Any], delta: dict[str, Any]) -> None:
        """Fold everything of one choice's part but its text."""
        if delta["reasoning_content"] is not None:
            state.reasoning.append(delta["reasoning_content"])
        if delta["tool_calls"] is not None:
            for tool_delta in delta["tool_calls"]:
                state.add_tool_call(tool_delta)
        role = delta["role"]
        if role and not state.role:
            state.role = role
        finish_reason = part["finish_reason"]
        if finish_reason and (state.finish_reason is None or finish_reason == "tool_calls"):
            if state.finish_reason is None:
                self.finished_choices += 1
            state.finish_reason = finish_reason
        if delta["refusal"] is not None:
            state.refusal.append(delta["refusal"])
        if part["logprobs"] is not None:
            state.add_logprobs(part["logprobs"])

    def _first(self, chunk: ChatCompletionChunk) -> None:
        self._started = True
        self._id = chunk.id
        self._model = chunk.model
        self._created = chunk.created
        extra = chunk.__pydantic_extra__
        if extra and extra.get("system_fingerprint"):
            self._fingerprint = extra["system_fingerprint"]

    def completion(self) -> ChatCompletion:
        """Build the completion from everything folded so far (callable at any time)."""
        extra = {} if self._fingerprint is None else {"system_fingerprint": self._fingerprint}
        return ChatCompletion(
            id=self._id,
            created=self._created,
            model=self._model,
            choices=[self._choices[i].build(i) for i in sorted(self._choices)],
            usage=self.usage,
            perf_metrics=self.perf_metrics,
            **extra,
        )
