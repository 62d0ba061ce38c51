"""The Embeddings tab: one list of texts (and optionally a query), N embedding models.

Each pane embeds the texts in batches within its provider's limits, then, off the UI thread,
computes the cosine matrix, the ranking against the query or each text's nearest neighbours, and
a 2-D map. Across panes, rank agreement says whether two models put the same texts together.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import time
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
from PySide6.QtCore import QObject, Signal

from app.client import FireplayError
from app.domain.capabilities import model_capabilities
from app.domain.catalog import load_catalog
from app.domain.compare import metrics_dict, metrics_from_dict
from app.domain.connections import FIREWORKS_PROVIDER_ID, LOCAL_PROVIDER_ID
from app.domain.embeddings import (
    NOMIC_TASKS,
    Agreement,
    Analysis,
    Texts,
    agreement,
    analyse,
    batch_limits,
    matrix_csv,
    over_token_limit,
    plan_batches,
    prefixed,
    read_texts_file,
    split_refused,
    split_texts,
    summary,
    takes_task_prefix,
    vectors_jsonl,
    vectors_npy,
)
from app.domain.metrics import RunMetrics
from app.domain.params import EMBEDDING_PARAMS
from app.domain.run import Failed, Finished, Result, run_once
from app.presenters.workbench import RunOutcome, Workbench, WorkbenchPane
from app.settings import TargetSettings
from app.storage import atomic_write

if TYPE_CHECKING:
    from app.client import AsyncClient
    from app.presenters.services import Services

__all__ = [
    "MAX_TEXTS",
    "TASK_CHOICES",
    "EmbeddingsPane",
    "EmbeddingsPresenter",
    "PaneAgreement",
]

#: More texts than this make an N × N matrix per pane that no one reads (and 8 panes of it
#: would hold gigabytes).
MAX_TEXTS = 2000
#: The Nomic task prefix choices of a pane: ``auto`` picks by whether there is a query.
TASK_CHOICES: tuple[str, ...] = ("auto", "none", *NOMIC_TASKS)
# Embedding models a pane starts with where the provider's default is a chat model.
_SUGGESTED = {
    LOCAL_PROVIDER_ID: "multilingual-e5-small",
    FIREWORKS_PROVIDER_ID: "nomic-ai/nomic-embed-text-v1.5",
}
_SAMPLE_TEXTS = """\
The cat sat on the mat.
A kitten was resting on the rug.
Stock markets fell sharply after the announcement.
Shares dropped steeply once the news came out.
How do I reset my password?
I forgot my login and need a new password.
Die Katze schläft auf dem Teppich.
The recipe needs two cups of flour.
"""
# A saved result keeps the vectors (the exports and Compare need them, and the views are
# recomputed from them) as base64 of little-endian floats: float32, exact, up to this many values
# (4 MiB: 1,365 texts of 768 dimensions, 2,000 of 512); half precision beyond, because the history
# keeps every run's result and 2,000 texts of 3,072 dimensions are 33 MB of base64 a pane.
_EXACT_STATE_VALUES = 1 << 20
_EXACT, _HALF = "<f4", "<f2"
_HALF_NOTE = "Restored from half-precision vectors: cosines may differ slightly from the run's."


@dataclass(frozen=True, slots=True)
class PaneAgreement:
    """How far panes ``left`` and ``right`` (indices) agree on the same texts."""

    left: int
    right: int
    agreement: Agreement


class EmbeddingsPane(WorkbenchPane):
    """One embedding model: the texts it embedded, their vectors and what they show.

    Signals (besides :class:`WorkbenchPane`'s):
        progress(int, int): texts embedded so far and how many are sent (0, 0 when idle).
        analysed(): :attr:`analysis` and :attr:`summary_text` changed (or were cleared).
        run_ended(str): the run ended: a :class:`RunOutcome` value.
    """

    progress = Signal(int, int)
    analysed = Signal()
    run_ended = Signal(str)

    capability = "embeddings"
    param_specs = EMBEDDING_PARAMS
    queued_figure = "the total time"
    suggested_models = _SUGGESTED

    def __init__(
        self, services: Services, target: TargetSettings, parent: QObject | None = None
    ) -> None:
        super().__init__(services, target, parent)
        self._texts: tuple[str, ...] = ()
        self._query: str | None = None
        self._vectors: np.ndarray | None = None
        self._query_vector: np.ndarray | None = None
        self._analysis: Analysis | None = None
        self._summary = ""
        self._metrics: RunMetrics | None = None
        self._outcome = ""
        self._error = ""
        self._note = ""

    # -- state read by views -------------------------------------------------------------------

    @property
    def texts(self) -> tuple[str, ...]:
        """The texts the analysis covers (as typed, without task prefixes)."""
        return self._texts

    @property
    def query(self) -> str | None:
        """The query of the newest run, if it had one."""
        return self._query

    @property
    def analysis(self) -> Analysis | None:
        """Matrix, map and rankings of the texts embedded (None before any)."""
        return self._analysis

    @property
    def vectors(self) -> np.ndarray | None:
        """The texts' vectors, one row per text in :attr:`texts` (None before any)."""
        return self._vectors

    @property
    def summary_text(self) -> str:
        """The ranking or nearest neighbours as text."""
        return self._summary

    @property
    def outcome(self) -> str:
        """How the newest run ended ("" while it runs or before any)."""
        return self._outcome

    @property
    def error(self) -> str:
        """Why the newest run failed ("" if it did not)."""
        return self._error

    @property
    def note(self) -> str:
        """What the user should know about the newest run (partial result, model warnings)."""
        return self._note

    @property
    def task(self) -> str:
        """The pane's Nomic task prefix choice (one of :data:`TASK_CHOICES`)."""
        choice = self._options.get("task_prefix", "auto")
        return choice if choice in TASK_CHOICES else "auto"

    @property
    def takes_task_prefix(self) -> bool:
        """Whether the pane's model expects a task prefix (Nomic)."""
        return takes_task_prefix(self.model)

    @property
    def last_metrics(self) -> RunMetrics | None:
        """Metrics of the newest run."""
        return self._metrics

    @property
    def has_output(self) -> bool:
        """Whether the newest run embedded every text."""
        return self._outcome == RunOutcome.COMPLETE and self._analysis is not None

    def result_text(self) -> str:
        """The summary: what Diff compares and Copy takes."""
        return self._summary

    def record(self) -> dict[str, Any]:
        """The texts, the summary, the status and the metrics."""
        reply: dict[str, Any] = {
            "role": "assistant",
            "content": self._summary,
            "status": self._outcome,
            "metrics": metrics_dict(self._metrics),
        }
        if self._error:
            reply["error"] = self._error
        user = "\n".join(self._texts)
        if self._query:
            user = f"Query: {self._query}\n{user}"
        return {
            "messages": [{"role": "user", "content": user}, reply],
            "metrics": [reply["metrics"]],
        }

    def result_state(self) -> dict[str, Any] | None:
        """The texts, vectors, map, summary, metrics and outcome as JSON data; ``None`` before
        any run ended.

        Vectors are base64 (see ``_EXACT_STATE_VALUES`` for when they are half precision); the
        matrix, heatmap and rankings are not kept, since they are recomputed from the vectors.
        """
        if not self._outcome:
            return None
        vectors, analysis = self._vectors, self._analysis
        exact = vectors is None or vectors.size <= _EXACT_STATE_VALUES
        return {
            "texts": list(self._texts),
            "query": self._query,
            "vectors": None if vectors is None else _pack(vectors, _EXACT if exact else _HALF),
            "query_vector": None
            if self._query_vector is None
            else _pack(self._query_vector, _EXACT),
            "map": None if analysis is None else _pack(analysis.points, _EXACT),
            "explained": None if analysis is None else list(analysis.explained),
            "summary": self._summary,
            "metrics": metrics_dict(self._metrics),
            "outcome": self._outcome,
            "error": self._error,
            "note": self._note,
            "queue_note": self.queue_note,
        }

    def restore_result(self, state: Mapping[str, Any]) -> None:
        """Show a result saved by :meth:`result_state` on this idle pane.

        The matrix, heatmap and rankings are recomputed from the vectors, exactly when they were
        kept in float32 (the status line says when they were not); the map is taken as saved.

        Raises:
            ValueError: the saved vectors are malformed or do not match the saved texts.
        """
        texts = tuple(str(text) for text in state.get("texts") or ())
        saved = state.get("vectors")
        vectors = _unpack(saved)
        query_vector = _unpack(state.get("query_vector"))
        points = _unpack(state.get("map"))
        analysis = None
        if vectors is not None:
            if len(vectors) != len(texts):
                raise ValueError(f"{len(vectors)} saved vectors for {len(texts)} texts")
            first, second = state.get("explained") or (0.0, 0.0)
            projection = None if points is None else (points, (first, second))
            analysis = analyse(vectors, query_vector, projection=projection)
        query = state.get("query")
        self._texts = texts
        self._query = str(query) if query else None
        self._vectors, self._query_vector, self._analysis = vectors, query_vector, analysis
        self._summary = str(state.get("summary") or "")
        self._metrics = metrics_from_dict(state.get("metrics"))
        self._outcome = str(state.get("outcome") or "")
        self._error = str(state.get("error") or "")
        self._note = str(state.get("note") or "")
        self.queue_note = str(state.get("queue_note") or "")
        self.analysed.emit()
        status = self._error or (_sentence(self._note) if self._note else "")
        if saved and saved.get("dtype") == _HALF:
            status = f"{status} {_HALF_NOTE}".strip()
        self.status_changed.emit(status)
        self.result_changed.emit()

    def prefixes(self, has_query: bool) -> tuple[str | None, str | None]:
        """The task prefixes (query, texts) this pane's model gets; None where none applies."""
        if not self.takes_task_prefix or self.task == "none":
            return None, None
        if self.task != "auto":
            return self.task, self.task
        if has_query:
            return "search_query", "search_document"
        # Texts compared with each other, not searched: Nomic's advice for grouping.
        return None, "clustering"

    def warnings(self, texts: Sequence[str]) -> list[str]:
        """What may go wrong with ``texts`` on this pane's model (it is sent anyway)."""
        found = []
        if self.model and "embeddings" not in model_capabilities(self.model):
            found.append(f"{self.model} is not listed as an embedding model; the server may refuse")
        info = load_catalog().get(self.model) if self.provider_id == FIREWORKS_PROVIDER_ID else None
        if info is not None and info.context_length:
            long = over_token_limit(texts, info.context_length)
            if long:
                numbers = ", ".join(str(i + 1) for i in long[:5]) + ("…" if len(long) > 5 else "")
                found.append(
                    f"text {numbers} may exceed the model's {info.context_length:,}-token limit"
                )
        return found

    # -- commands ------------------------------------------------------------------------------

    def set_task(self, task: str) -> None:
        """Choose the Nomic task prefix (``auto`` follows the query)."""
        self.set_option("task_prefix", None if task == "auto" else task)

    def send(self, texts: tuple[str, ...], query: str | None) -> bool:
        """Embed ``texts`` (and ``query``) and analyse them; False when the pane is busy."""
        if self.busy:
            return False
        self._clear_result()
        self._texts = texts
        self._query = query or None
        self._start(self._run(texts, self._query))
        return True

    def clear(self) -> None:
        """Forget the result (the target stays)."""
        self.stop()
        self._clear_result()
        self._texts = ()
        self._query = None
        self.result_changed.emit()

    def export_to(self, path: Path) -> None:
        """Write the matrix (``.csv``) or the vectors (``.jsonl``, ``.npy``) to ``path``.

        The file is written in a worker thread; the status line says when it is done.
        """
        self._services.runner.start(self._export(path), name="embeddings.export")

    # -- runs ----------------------------------------------------------------------------------

    def _clear_result(self) -> None:
        self._vectors = self._query_vector = self._analysis = None
        self._summary = self._error = self._note = ""
        self._outcome = ""
        self._metrics = None
        self.analysed.emit()

    def _inputs(self, texts: tuple[str, ...], query: str | None) -> list[str]:
        query_task, text_task = self.prefixes(bool(query))
        inputs = [prefixed(text, text_task) for text in texts]
        return [prefixed(query, query_task), *inputs] if query else inputs

    async def _run(self, texts: tuple[str, ...], query: str | None) -> None:
        started = time.perf_counter()
        warnings = self.warnings(texts)
        if warnings:
            self.status_changed.emit("Note: " + "; ".join(warnings) + ".")
        inputs = self._inputs(texts, query)
        try:
            client = await self._client()
            params = self._request_params()
        except (ValueError, FireplayError) as error:
            self._end(RunOutcome.FAILED, error=str(error))
            return
        offset = 1 if query else 0  # the query travels first, in the first batch
        pending = deque(plan_batches(inputs, batch_limits(self.provider_id)))
        parts: list[np.ndarray] = []
        done = tokens = 0
        tokens_known = True
        self.progress.emit(0, len(inputs))
        failure = ""
        try:
            while pending:
                batch = pending.popleft()
                outcome, response = await self._embed(
                    client, inputs[batch.start : batch.stop], params
                )
                if isinstance(outcome, Failed):
                    # Servers cap batch sizes below what they document; smaller batches may pass.
                    if outcome.status == 400 and len(batch) > 8:
                        pending.extendleft(reversed(split_refused(batch)))
                        continue
                    failure = f"{_which(batch, offset)} failed: {outcome.message}"
                    if done > offset:
                        failure += f" (the {done - offset} texts before them are shown)"
                    break
                # A turn for the UI between parsing the response and converting its vectors.
                await asyncio.sleep(0)
                vectors = await asyncio.to_thread(_as_matrix, response, len(batch))
                parts.append(vectors)
                done += len(batch)
                if response.usage is None:
                    tokens_known = False
                else:
                    tokens += response.usage.prompt_tokens
                self.progress.emit(done, len(inputs))
        except asyncio.CancelledError:
            await self._show(parts, offset, started, tokens if tokens_known else None)
            self._end(RunOutcome.STOPPED, note=self._partial_note(done, offset, len(inputs)))
            raise
        except ValueError as error:  # a response with the wrong number of vectors
            failure = str(error)
        await self._show(parts, offset, started, tokens if tokens_known else None)
        # The views paint the new matrix before they hear the run ended: two short UI-thread
        # steps instead of one long one.
        await asyncio.sleep(0.005)
        if failure:
            self._end(RunOutcome.FAILED, error=failure)
        else:
            self._end(RunOutcome.COMPLETE, note="; ".join(warnings))

    async def _embed(
        self, client: AsyncClient, inputs: list[str], params: dict[str, Any]
    ) -> tuple[Finished | Failed, Any]:
        results: list[Any] = []
        events = run_once(
            lambda: client.embeddings.create(model=self.model, input=inputs, **params)
        )
        outcome = await self._consume(
            events,
            lambda _text: None,
            on_event=lambda event: (
                results.append(event.value) if isinstance(event, Result) else None
            ),
        )
        assert isinstance(outcome, Finished | Failed)
        return outcome, results[0] if results else None

    async def _show(
        self, parts: list[np.ndarray], offset: int, started: float, tokens: int | None
    ) -> None:
        """Analyse the vectors received (all, or those before a stop or failure)."""
        elapsed = time.perf_counter() - started
        if not parts:
            self._metrics = RunMetrics(total_s=elapsed, prompt_tokens=tokens)
            return
        vectors = np.concatenate(parts) if len(parts) > 1 else parts[0]
        query_vector = vectors[0] if offset else None
        vectors = vectors[offset:]
        texts = self._texts[: len(vectors)]
        if not len(vectors):
            return
        self._texts = texts
        self._vectors, self._query_vector = vectors, query_vector
        analysis, self._summary = await asyncio.to_thread(
            _analyse_and_summarise, texts, vectors, query_vector
        )
        self._analysis = analysis
        metrics = RunMetrics(
            total_s=elapsed,
            prompt_tokens=tokens,
            dimensions=analysis.dimensions,
            vector_norm=analysis.mean_norm,
        )
        estimate = self._cost_estimator()
        self._metrics = metrics.with_cost(estimate(metrics)) if estimate else metrics
        self.analysed.emit()

    def _partial_note(self, done: int, offset: int, total: int) -> str:
        shown = max(done - offset, 0)
        return f"stopped after {shown} of {total - offset} texts" if done < total else ""

    def _stopped_before_start(self) -> None:
        self._end(RunOutcome.STOPPED)

    def _end(self, outcome: str, *, error: str = "", note: str = "") -> None:
        self._outcome = outcome
        self._error = error
        self._note = note
        self.progress.emit(0, 0)
        if error:
            self.failed.emit(error)
        elif note:
            self.status_changed.emit(_sentence(note))
        self.result_changed.emit()
        self.run_ended.emit(outcome)

    async def _export(self, path: Path) -> None:
        vectors, texts, analysis = self._vectors, self._texts, self._analysis
        if vectors is None or analysis is None:
            self.status_changed.emit("Nothing to export yet: send first.")
            return
        suffix = path.suffix.lower()
        try:
            if suffix == ".csv":
                csv = await asyncio.to_thread(matrix_csv, texts, analysis.similarity)
                await asyncio.to_thread(atomic_write, path, csv.encode())
                what = f"the {len(texts)} × {len(texts)} matrix"
            elif suffix == ".npy":
                data = await asyncio.to_thread(vectors_npy, vectors)
                await asyncio.to_thread(atomic_write, path, data)
                what = f"{len(texts)} vectors"
            else:
                lines = await asyncio.to_thread(vectors_jsonl, texts, vectors)
                await asyncio.to_thread(atomic_write, path, lines.encode())
                what = f"{len(texts)} vectors"
        except OSError as error:
            self.status_changed.emit(f"Could not save {path.name}: {error.strerror or error}")
            return
        self.status_changed.emit(f"Saved {what} to {path.name}.")


class EmbeddingsPresenter(Workbench):
    """Owns the texts, the query, and the comparison of the panes' rankings.

    Signals (besides :class:`Workbench`'s):
        texts_changed(object): the :class:`Texts` read from the editor, after every edit.
        texts_replaced(str): the editor's text was replaced (import, sample).
        agreements_ready(list): :class:`PaneAgreement` for every pair of panes with results.
    """

    texts_changed = Signal(object)
    texts_replaced = Signal(str)
    agreements_ready = Signal(list)

    tab_id = "embeddings"
    pane_type = EmbeddingsPane

    def __init__(self, services: Services, parent: QObject | None = None) -> None:
        super().__init__(services, parent)
        self._texts_text: str = str(self.saved_input("texts", _SAMPLE_TEXTS))
        self._texts = split_texts(self._texts_text)
        self._query: str = str(self.saved_input("query", ""))

    @property
    def panes(self) -> list[EmbeddingsPane]:
        """The panes, left to right."""
        return cast(list[EmbeddingsPane], list(self._panes))

    @property
    def texts_text(self) -> str:
        """The texts as the user typed them, one per line."""
        return self._texts_text

    @property
    def texts(self) -> Texts:
        """The texts that will be sent (blank lines skipped, duplicates noted)."""
        return self._texts

    @property
    def query(self) -> str:
        """The optional query ("" for none)."""
        return self._query

    def send_blocker(self) -> str:
        """Why Send cannot act now ("" when it can)."""
        if self.busy:
            return "Every pane is still embedding"
        count = len(self._texts.items)
        if not count:
            return "Type or import the texts to embed, one per line"
        if count > MAX_TEXTS:
            return f"At most {MAX_TEXTS:,} texts at a time (there are {count:,})"
        return ""

    # -- commands ------------------------------------------------------------------------------

    def set_texts_text(self, text: str) -> None:
        """Use the editor's ``text`` (one text per line) and remember it."""
        self._texts_text = text
        self._texts = split_texts(text)
        self.remember_input("texts", text)
        self.texts_changed.emit(self._texts)
        self.send_state_changed.emit()

    def set_query(self, query: str) -> None:
        """Rank the texts against ``query`` ("" for none) from the next Send."""
        self._query = query
        self.remember_input("query", query)

    def load_sample(self) -> None:
        """Replace the texts with the built-in sample (paraphrases, unrelated, another language)."""
        self._replace(_SAMPLE_TEXTS)

    def import_file(self, path: Path) -> int:
        """Replace the texts with those of a .txt, .csv or .jsonl file; returns how many.

        Raises:
            ValueError: the file cannot be read as texts (the message says why).
        """
        try:
            texts = read_texts_file(path)
        except OSError as error:
            raise ValueError(f"Could not read {path.name}: {error.strerror or error}") from None
        self._replace("\n".join(texts) + "\n")
        return len(texts)

    def send(self) -> bool:
        """Embed the texts with every pane; False when nothing was sent."""
        if self.send_blocker():
            return False
        texts = self._texts.items
        query = self._query.strip() or None
        self._input_sent(_input_label(texts, query))
        for pane in self.panes:
            pane.send(texts, query)
        return True

    def clear(self) -> None:
        """Clear every pane's result."""
        for pane in self.panes:
            pane.clear()
        self._inputs_sent.clear()
        self._new_round()

    def compare(self) -> bool:
        """Compute rank agreement between every two panes with results, in a worker thread.

        ``agreements_ready`` reports it; False (and nothing reported) when fewer than two panes
        have results for the same texts.
        """
        ready = [
            (index, pane.analysis)
            for index, pane in enumerate(self.panes)
            if pane.analysis is not None and pane.texts
        ]
        if len(ready) < 2:
            return False
        self._services.runner.start(self._compare(ready), name="embeddings.compare")
        return True

    # -- state: sessions, presets, reopened runs ------------------------------------------------

    def inputs_state(self) -> dict[str, Any]:
        """The texts as typed and the query."""
        return {"texts": self._texts_text, "query": self._query}

    def restore_inputs(self, inputs: Mapping[str, Any]) -> None:
        """Take the texts and the query of ``inputs`` (absent ones stay as they are)."""
        remembered: dict[str, Any] = {}
        if "texts" in inputs:
            self._texts_text = remembered["texts"] = str(inputs["texts"] or "")
            self._texts = split_texts(self._texts_text)
        if "query" in inputs:
            self._query = remembered["query"] = str(inputs["query"] or "")
        self.texts_changed.emit(self._texts)
        self.send_state_changed.emit()
        super().restore_inputs(remembered)

    # -- internals -----------------------------------------------------------------------------

    def _replace(self, text: str) -> None:
        self.set_texts_text(text)
        self.texts_replaced.emit(text)

    async def _compare(self, ready: list[tuple[int, Analysis]]) -> None:
        results = await asyncio.to_thread(_agreements, ready)
        self.agreements_ready.emit(results)

    def _make_pane(self, target: TargetSettings) -> EmbeddingsPane:
        return EmbeddingsPane(self._services, target)


def _input_label(texts: Sequence[str], query: str | None) -> str:
    """How a Send of ``texts`` (and ``query``) is named in the comparison export."""
    return f"{len(texts)} texts" + (f", query: {query}" if query else "")


def _sentence(note: str) -> str:
    """A note (``"stopped after 3 of 9 texts"``) as the status line's sentence."""
    return note[0].upper() + note[1:] + "."


def _pack(array: np.ndarray, dtype: str) -> dict[str, Any]:
    """``array`` as JSON data: its shape and its values as base64 of ``dtype`` bytes."""
    data = np.ascontiguousarray(array, dtype=dtype).tobytes()
    return {"dtype": dtype, "shape": list(array.shape), "base64": base64.b64encode(data).decode()}


def _unpack(packed: Mapping[str, Any] | None) -> np.ndarray | None:
    """The float32 array :func:`_pack` wrote (None for None).

    Raises:
        ValueError: ``packed`` is not what :func:`_pack` writes.
    """
    if packed is None:
        return None
    dtype = packed.get("dtype")
    if dtype not in (_EXACT, _HALF):
        raise ValueError(f"saved vectors of an unknown type: {dtype!r}")
    try:
        data = base64.b64decode(str(packed.get("base64") or ""), validate=True)
        values = np.frombuffer(data, dtype=dtype).astype(np.float32)
        return values.reshape([int(size) for size in packed.get("shape") or ()])
    except (binascii.Error, TypeError, ValueError) as error:
        raise ValueError(f"saved vectors are damaged: {error}") from None


def _which(batch: range, offset: int) -> str:
    """The texts of ``batch`` as the user numbers them (the query, when sent, is input 0)."""
    first, last = max(batch.start - offset, 0) + 1, batch.stop - offset
    texts = f"texts {first}–{last}" if last > first else f"text {first}"
    if last < first:
        return "the query"
    return f"the query and {texts}" if batch.start < offset else texts


def _as_matrix(response: Any, expected: int) -> np.ndarray:
    data = sorted(response.data, key=lambda item: item.index)
    if len(data) != expected:
        raise ValueError(f"The server returned {len(data)} vectors for {expected} texts.")
    vectors = np.asarray([item.embedding for item in data], dtype=np.float32)
    if vectors.ndim != 2 or not vectors.shape[1]:
        raise ValueError("The server returned vectors of different lengths, or empty ones.")
    return vectors


def _analyse_and_summarise(
    texts: tuple[str, ...], vectors: np.ndarray, query: np.ndarray | None
) -> tuple[Analysis, str]:
    analysis = analyse(vectors, query)
    return analysis, summary(texts, analysis)


def _agreements(ready: list[tuple[int, Analysis]]) -> list[PaneAgreement]:
    results = []
    for position, (left, first) in enumerate(ready):
        for right, second in ready[position + 1 :]:
            if first.count != second.count or (first.query_scores is None) != (
                second.query_scores is None
            ):
                continue
            results.append(PaneAgreement(left, right, agreement(first, second)))
    return results
