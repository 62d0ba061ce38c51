"""Embeddings: reading texts, batching requests, and comparing what several models make of them.

The Embeddings tab embeds N texts with several models (one pane per model). Everything here is
plain data in, plain data out:

- :func:`split_texts` and :func:`read_texts_file` turn the editor's text or a dropped file into
  the texts to embed; :func:`prefixed` adds the task prefix Nomic models expect
  (:func:`takes_task_prefix`);
- :func:`batch_limits`, :func:`plan_batches` and :func:`split_refused` cut the request into
  batches a provider accepts, :func:`over_token_limit` warns about texts likely to be truncated;
- :func:`analyse` turns one model's vectors into an :class:`Analysis` (cosine matrix, heatmap
  shades, PCA map, query scores) and :func:`summary` into the pane's text;
- :func:`agreement` compares two models' analyses of the same texts (Spearman, Kendall and the
  items they disagree on most);
- :func:`matrix_csv`, :func:`vectors_jsonl` and :func:`vectors_npy` are the exports.

:func:`analyse` and :func:`agreement` are vectorised with numpy (2,000 texts are 2 M pairs) and
meant to run in a worker thread. numpy is imported on first use, not at import time: it costs
about 150 ms of the app's 250 ms start-up budget, and it ships with the engine extras, so the
text and batching helpers work without it.

Example:
    >>> texts = split_texts("a cat\\n\\na dog\\na cat\\n")
    >>> texts.describe()
    '3 texts · 1 blank line skipped · 1 duplicate (text 3 = text 1)'
    >>> analysis = analyse([[1.0, 0.0], [0.6, 0.8]], query=[1.0, 0.0])
    >>> analysis.ranking()
    [(0, 1.0), (1, 0.6000000238418579)]
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from app.domain.connections import FIREWORKS_PROVIDER_ID, LOCAL_PROVIDER_ID

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "NOMIC_TASKS",
    "Agreement",
    "Analysis",
    "BatchLimits",
    "Disagreement",
    "Texts",
    "agreement",
    "analyse",
    "batch_limits",
    "estimated_tokens",
    "matrix_csv",
    "over_token_limit",
    "plan_batches",
    "prefixed",
    "read_texts_file",
    "split_refused",
    "split_texts",
    "summary",
    "takes_task_prefix",
    "vectors_jsonl",
    "vectors_npy",
]

NOMIC_TASKS: tuple[str, ...] = ("search_query", "search_document", "classification", "clustering")
"""The task prefixes Nomic embedding models were trained with (``"search_query: ..."``)."""

_TASK_PREFIXES = tuple(f"{task}:" for task in NOMIC_TASKS)

_LISTED_DUPLICATES = 3
_CSV_COLUMNS = ("text", "input", "sentence", "document", "content")
_JSON_FIELDS = ("text", "input", "content", "document")
_CSV_SUFFIXES = {".csv": ",", ".tsv": "\t"}
_JSONL_SUFFIXES = (".jsonl", ".ndjson")

_KENDALL_SAMPLE = 2_000
# Rows of the sign matrices per step when counting Kendall pairs: 256 x 2,000 float64 is 4 MB.
_KENDALL_BLOCK = 256
# Above this the exact eigendecomposition of the smaller Gram matrix costs seconds
# (2,000 x 2,000 takes ~1.3 s, 1,024 x 1,024 ~0.25 s), so PCA switches to a randomized range
# finder; the common 384- to 1,024-dimension models still get the exact components.
_EXACT_PCA_MAX = 1_024
# 20 extra directions and 6 power steps capture ~98% of the optimal variance even for a flat
# spectrum (real embeddings decay, and then the components come out exact) in ~0.13 s for
# 2,000 x 4,096.
_PCA_OVERSAMPLING = 20
_PCA_POWER_STEPS = 6
# Variance below this share of the total is rounding noise, not a component.
_PCA_NOISE = 1e-10


# -- texts -----------------------------------------------------------------------------------------


def takes_task_prefix(model: str) -> bool:
    """Whether the model expects a Nomic task prefix.

    Args:
        model: a model id.

    Returns:
        True when ``"nomic"`` appears in the id, whatever its case.
    """
    return "nomic" in model.lower()


def prefixed(text: str, task: str | None) -> str:
    """Put a Nomic task prefix in front of a text.

    Args:
        text: the text to embed.
        task: one of :data:`NOMIC_TASKS` (any string is accepted), or None/"" for no prefix.

    Returns:
        ``f"{task}: {text}"``; the text unchanged when there is no task or it already starts with
        one of the :data:`NOMIC_TASKS` prefixes followed by ``:`` (so prefixing is idempotent).
    """
    if not task or text.startswith(_TASK_PREFIXES):
        return text
    return f"{task}: {text}"


@dataclass(frozen=True, slots=True)
class Texts:
    """The texts found in the editor.

    Attributes:
        items: the non-blank lines, each stripped of surrounding whitespace.
        blank_lines: blank (whitespace-only) lines skipped; one trailing newline at the end of the
            text is not a blank line.
        duplicates: ``(index in items, index of the first equal item)`` for every repeated text,
            in order.
    """

    items: tuple[str, ...]
    blank_lines: int = 0
    duplicates: tuple[tuple[int, int], ...] = ()

    def describe(self) -> str:
        """Describe the texts for the status line.

        Returns:
            For example ``"3 texts"``, ``"1 text"`` or
            ``"5 texts · 2 blank lines skipped · 1 duplicate (text 4 = text 1)"``; at most three
            duplicates are listed, then ``…``. ``"No texts"`` when there are none.
        """
        if not self.items:
            return "No texts"
        parts = [_plural(len(self.items), "text")]
        if self.blank_lines:
            parts.append(f"{_plural(self.blank_lines, 'blank line')} skipped")
        if self.duplicates:
            pairs = [f"text {i + 1} = text {j + 1}" for i, j in self.duplicates]
            listed = pairs[:_LISTED_DUPLICATES]
            if len(pairs) > _LISTED_DUPLICATES:
                listed.append("…")
            parts.append(f"{_plural(len(pairs), 'duplicate')} ({', '.join(listed)})")
        return " · ".join(parts)


def split_texts(text: str) -> Texts:
    """Split the editor's text into one text per non-blank line.

    Args:
        text: the editor's content.

    Returns:
        The stripped non-blank lines, how many blank lines were skipped and which lines repeat an
        earlier one.
    """
    items: list[str] = []
    blank = 0
    first: dict[str, int] = {}
    duplicates: list[tuple[int, int]] = []
    # splitlines() already ignores one trailing line break, which is what the editor leaves.
    for line in text.splitlines():
        item = line.strip()
        if not item:
            blank += 1
            continue
        index = len(items)
        earlier = first.setdefault(item, index)
        if earlier != index:
            duplicates.append((index, earlier))
        items.append(item)
    return Texts(tuple(items), blank, tuple(duplicates))


def read_texts_file(path: Path) -> list[str]:
    """Read the texts of a dropped or opened file.

    - ``.txt`` and any other suffix: one text per non-blank line;
    - ``.csv`` / ``.tsv``: the column headed ``text``, ``input``, ``sentence``, ``document`` or
      ``content`` (case-insensitive, first match in that order), or else the first column of every
      row, header row included;
    - ``.jsonl`` / ``.ndjson``: each line a JSON string, or an object with a ``text``, ``input``,
      ``content`` or ``document`` string field (the first present, in that order).

    Newlines inside one text become spaces, since the editor holds one text per line, and blank
    texts are dropped. A UTF-8 byte order mark is ignored.

    Args:
        path: the file.

    Returns:
        The texts, in file order.

    Raises:
        ValueError: with a user-facing message when the file is empty, not UTF-8, has a line that
            is not JSON or has no text field (JSON Lines), is not valid CSV, or holds no texts.
        OSError: when the file cannot be read.
    """
    name = path.name
    data = path.read_bytes()
    try:
        content = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError(f"{name} is not UTF-8 text") from None
    if not content.strip():
        raise ValueError(f"{name} is empty")
    suffix = path.suffix.lower()
    if suffix in _CSV_SUFFIXES:
        texts = _csv_texts(name, content, _CSV_SUFFIXES[suffix])
    elif suffix in _JSONL_SUFFIXES:
        texts = _jsonl_texts(name, content)
    else:
        texts = list(split_texts(content).items)
    if not texts:
        raise ValueError(f"{name} has no texts")
    return texts


def _csv_texts(name: str, content: str, delimiter: str) -> list[str]:
    try:
        rows = [row for row in csv.reader(io.StringIO(content), delimiter=delimiter) if row]
    except csv.Error as exc:
        raise ValueError(f"{name} is not valid CSV ({exc})") from None
    if not rows:
        return []
    headers = [cell.strip().lower() for cell in rows[0]]
    column = next((headers.index(h) for h in _CSV_COLUMNS if h in headers), None)
    if column is None:
        cells = [row[0] for row in rows]
    else:
        cells = [row[column] for row in rows[1:] if len(row) > column]
    return [text for cell in cells if (text := _one_line(cell))]


def _jsonl_texts(name: str, content: str) -> list[str]:
    texts: list[str] = []
    # Split on "\n" only: JSON strings may hold a raw U+2028, which splitlines() would cut.
    for number, line in enumerate(content.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError:
            raise ValueError(f"{name} line {number} is not JSON") from None
        if isinstance(value, dict):
            found = next((value[f] for f in _JSON_FIELDS if isinstance(value.get(f), str)), None)
            if found is None:
                raise ValueError(
                    f"{name} line {number} has no text, input, content or document field"
                )
            value = found
        if not isinstance(value, str):
            raise ValueError(f"{name} line {number} is not a JSON string or object")
        if text := _one_line(value):
            texts.append(text)
    return texts


def _one_line(text: str) -> str:
    return " ".join(part for line in text.splitlines() if (part := line.strip()))


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


# -- batches ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BatchLimits:
    """How much one embeddings request may carry.

    Attributes:
        max_items: texts per request.
        max_chars: characters per request (a single longer text still goes, alone).
    """

    max_items: int
    max_chars: int


def batch_limits(provider_id: str) -> BatchLimits:
    """The batch size to use with a provider.

    Args:
        provider_id: a provider profile's id.

    Returns:
        The provider's :class:`BatchLimits`.
    """
    if provider_id == LOCAL_PROVIDER_ID:
        # The built-in engine embeds ~40 texts/s: small batches keep the progress bar moving.
        return BatchLimits(max_items=32, max_chars=200_000)
    if provider_id == FIREWORKS_PROVIDER_ID:
        # The docs allow 2,048 inputs, but third-party clients report 400s far below that.
        return BatchLimits(max_items=128, max_chars=200_000)
    # OpenAI allows 2,048 inputs; other compatible servers often far fewer, so stay modest.
    return BatchLimits(max_items=128, max_chars=200_000)


def plan_batches(texts: Sequence[str], limits: BatchLimits) -> list[range]:
    """Cut the texts into request batches.

    Args:
        texts: the texts to embed, in order.
        limits: the provider's limits.

    Returns:
        Consecutive index ranges covering every text exactly once, in order; each holds at most
        ``max_items`` texts and at most ``max_chars`` characters, except that a single text longer
        than ``max_chars`` forms its own batch. ``[]`` for no texts.

    Raises:
        ValueError: when a limit is below 1.
    """
    if limits.max_items < 1 or limits.max_chars < 1:
        raise ValueError(f"batch limits must be positive, not {limits}")
    batches: list[range] = []
    start = 0
    chars = 0
    for index, text in enumerate(texts):
        size = len(text)
        full = index - start >= limits.max_items or chars + size > limits.max_chars
        if index > start and full:
            batches.append(range(start, index))
            start, chars = index, 0
        chars += size
    if len(texts) > start:
        batches.append(range(start, len(texts)))
    return batches


def split_refused(batch: range, size: int = 8) -> list[range]:
    """Split a batch the server refused (HTTP 400) into smaller ones for one retry.

    Args:
        batch: the refused batch (a step-1 range from :func:`plan_batches`).
        size: the most texts per smaller batch.

    Returns:
        Consecutive ranges of at most ``size`` texts covering the batch.

    Raises:
        ValueError: when ``size`` is below 1.
    """
    if size < 1:
        raise ValueError(f"size must be positive, not {size}")
    return [range(s, min(s + size, batch.stop)) for s in range(batch.start, batch.stop, size)]


def estimated_tokens(text: str) -> int:
    """Roughly how many tokens a text is, for warnings only.

    Args:
        text: a text.

    Returns:
        ``ceil(UTF-8 bytes / 4)``, at least 1.
    """
    return max(1, -(-len(text.encode()) // 4))


def over_token_limit(texts: Sequence[str], limit: int) -> list[int]:
    """The texts a model with a ``limit``-token context would probably truncate.

    Args:
        texts: the texts.
        limit: the model's input limit in tokens.

    Returns:
        Indices of the texts whose :func:`estimated_tokens` exceeds ``limit``.
    """
    return [i for i, text in enumerate(texts) if estimated_tokens(text) > limit]


# -- analysis --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, eq=False)
class Analysis:
    """What one model's vectors say about the texts.

    Attributes:
        similarity: ``(n, n)`` float32 cosine similarity; a zero vector has similarity 0 with
            everything, itself included.
        norms: ``(n,)`` float32 Euclidean norm of each raw vector.
        points: ``(n, 2)`` float32 projection onto the first two principal components (zeros when
            there are fewer than two texts or all vectors are equal; the second column is zeros
            when there is only one component). Each component's sign makes its largest coordinate
            positive, so the map does not flip between runs.
        explained: share of the variance each component explains (0..1).
        shades: ``(n, n)`` C-contiguous uint8 heatmap pixels: similarity mapped linearly from
            ``shade_range`` to 0..255, clipped.
        shade_range: ``(low, high)``, the smallest and largest off-diagonal similarity (text
            embeddings often all fall within 0.7-0.9, where a fixed -1..1 scale shows one colour);
            ``(v - 0.5, v + 0.5)`` when there is one text (``v`` its self-similarity) or all
            off-diagonal similarities are equal (``v`` that value).
        query_scores: ``(n,)`` float32 cosine of each text with the query, or None.
        dimensions: the vectors' length.
    """

    similarity: np.ndarray
    norms: np.ndarray
    points: np.ndarray
    explained: tuple[float, float]
    shades: np.ndarray
    shade_range: tuple[float, float]
    query_scores: np.ndarray | None
    dimensions: int

    @property
    def count(self) -> int:
        """How many texts were analysed."""
        return int(self.similarity.shape[0])

    @property
    def mean_norm(self) -> float:
        """The mean length of the raw vectors (about 1 for models that normalise)."""
        return float(self.norms.mean(dtype="float64"))

    def neighbours(self, index: int, k: int = 3) -> list[tuple[int, float]]:
        """The texts most similar to one text.

        Args:
            index: the text.
            k: how many neighbours.

        Returns:
            ``(index, cosine)`` of the ``k`` most similar other texts (fewer when there are not
            that many), most similar first; ties go to the lower index.

        Raises:
            IndexError: when ``index`` is not a text.
        """
        import numpy as np

        if not 0 <= index < self.count:
            raise IndexError(f"text {index} out of range for {self.count} texts")
        row = self.similarity[index]
        order = np.argsort(-row, kind="stable")
        order = order[order != index][: max(k, 0)]
        return [(int(j), float(row[j])) for j in order]

    def ranking(self) -> list[tuple[int, float]]:
        """Every text by similarity to the query.

        Returns:
            ``(index, cosine)`` for every text, highest first; ties go to the lower index.

        Raises:
            ValueError: when the analysis has no query.
        """
        import numpy as np

        if self.query_scores is None:
            raise ValueError("the analysis has no query")
        scores = self.query_scores
        return [(int(i), float(scores[i])) for i in np.argsort(-scores, kind="stable")]


def analyse(
    vectors: np.ndarray | Sequence[Sequence[float]],
    query: np.ndarray | Sequence[float] | None = None,
    *,
    projection: tuple[np.ndarray, tuple[float, float]] | None = None,
) -> Analysis:
    """Analyse one model's embeddings of the texts.

    Args:
        vectors: ``(n, d)`` embeddings, one row per text.
        query: the query's embedding by the same model, if any.
        projection: ``(points, explained)`` of an earlier analysis of these vectors (a restored
            result), taken as they are: the PCA is most of an analysis' cost, and the rest is
            recomputed exactly.

    Returns:
        The :class:`Analysis`.

    Raises:
        ValueError: when ``vectors`` is not 2-D with at least one row and one column, holds NaN or
            infinity, the query's length differs from the vectors', or ``projection``'s points
            are not ``(n, 2)``.
    """
    import numpy as np

    try:
        raw = np.asarray(vectors, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError("vectors must be rows of numbers of one length") from None
    if raw.ndim != 2 or raw.shape[0] < 1 or raw.shape[1] < 1:
        raise ValueError(f"vectors must be a 2-D array with at least one row, not {raw.shape}")
    if not np.isfinite(raw).all():
        raise ValueError("vectors contain NaN or infinity")
    n, d = raw.shape

    norms = np.linalg.norm(raw, axis=1)
    unit = _unit_rows(raw, norms)
    similarity = unit @ unit.T
    np.clip(similarity, -1.0, 1.0, out=similarity)
    # Rounding leaves 0.9999999 on the diagonal; a zero vector is similar to nothing.
    similarity[np.diag_indices(n)] = (norms > 0).astype(np.float32)

    scores = None
    if query is not None:
        q = np.asarray(query, dtype=np.float64)
        if q.ndim != 1 or q.shape[0] != d:
            raise ValueError(f"the query has {q.size} dimensions, the texts {d}")
        if not np.isfinite(q).all():
            raise ValueError("the query contains NaN or infinity")
        row = q[None, :]
        q_unit = _unit_rows(row, np.linalg.norm(row, axis=1))[0]
        scores = np.clip(unit @ q_unit, -1.0, 1.0)

    if projection is None:
        points, explained = _pca(raw)
    else:
        points = np.asarray(projection[0], dtype=np.float32)
        if points.shape != (n, 2):
            raise ValueError(f"a {points.shape} map for {n} texts")
        explained = (float(projection[1][0]), float(projection[1][1]))
    low, high = _shade_range(similarity)
    return Analysis(
        similarity=similarity,
        norms=norms.astype(np.float32),
        points=points,
        explained=explained,
        shades=_shades(similarity, low, high),
        shade_range=(low, high),
        query_scores=scores,
        dimensions=int(d),
    )


def _unit_rows(raw: np.ndarray, norms: np.ndarray) -> np.ndarray:
    import numpy as np

    safe = np.where(norms > 0, norms, 1.0)
    return (raw / safe[:, None]).astype(np.float32)


def _shade_range(similarity: np.ndarray) -> tuple[float, float]:
    import numpy as np

    n = similarity.shape[0]
    if n < 2:
        low = high = float(similarity[0, 0])
    else:
        off = similarity.copy()
        np.fill_diagonal(off, np.inf)
        low = float(off.min())
        np.fill_diagonal(off, -np.inf)
        high = float(off.max())
    if high - low <= 0:
        return (low - 0.5, low + 0.5)
    return (low, high)


def _shades(similarity: np.ndarray, low: float, high: float) -> np.ndarray:
    import numpy as np

    scaled = (similarity - np.float32(low)) * np.float32(255.0 / (high - low))
    np.clip(scaled, 0.0, 255.0, out=scaled)
    np.rint(scaled, out=scaled)
    return np.ascontiguousarray(scaled.astype(np.uint8))


def _pca(raw: np.ndarray) -> tuple[np.ndarray, tuple[float, float]]:
    import numpy as np

    n, d = raw.shape
    points = np.zeros((n, 2), dtype=np.float32)
    centred = raw - raw.mean(axis=0)
    total = float(np.einsum("ij,ij->", centred, centred))
    scale = float(np.einsum("ij,ij->", raw, raw))
    # Subtracting the mean of equal rows can leave rounding residue instead of exact zeros.
    if n < 2 or total <= 1e-12 * scale:
        return points, (0.0, 0.0)
    if min(n, d) <= _EXACT_PCA_MAX:
        components, variances = _exact_components(centred)
    else:
        components, variances = _randomized_components(centred)
    explained = [0.0, 0.0]
    for c in range(min(2, len(variances))):
        if variances[c] <= _PCA_NOISE * total:
            continue
        column = components[:, c]
        if column[np.argmax(np.abs(column))] < 0:
            column = -column
        points[:, c] = column
        explained[c] = min(1.0, max(0.0, float(variances[c]) / total))
    return points, (explained[0], explained[1])


def _exact_components(centred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The centred data's coordinates on its top two axes, and their variances (sums of squares).

    Decomposes whichever of X^T X (d x d) and X X^T (n x n) is smaller.
    """
    import numpy as np

    n, d = centred.shape
    if d <= n:
        values, vectors = np.linalg.eigh(centred.T @ centred)
        top = np.argsort(values)[::-1][:2]
        return centred @ vectors[:, top], np.maximum(values[top], 0.0)
    values, vectors = np.linalg.eigh(centred @ centred.T)
    top = np.argsort(values)[::-1][:2]
    variances = np.maximum(values[top], 0.0)
    return vectors[:, top] * np.sqrt(variances), variances


def _randomized_components(centred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Like :func:`_exact_components`, by a randomized range finder with power steps.

    Halko, Martinsson & Tropp (2011), algorithm 4.4; a fixed seed keeps the map stable.
    """
    import numpy as np

    width = 2 + _PCA_OVERSAMPLING
    rng = np.random.default_rng(0)
    # float32 halves the memory traffic of the skinny products that dominate; the map needs no
    # more precision than its pixels.
    data = centred.astype(np.float32)
    start = rng.standard_normal((data.shape[1], width)).astype(np.float32)
    basis, _ = np.linalg.qr(data @ start)
    for _ in range(_PCA_POWER_STEPS):
        back, _ = np.linalg.qr(data.T @ basis)
        basis, _ = np.linalg.qr(data @ back)
    left, singular, _ = np.linalg.svd(basis.T @ data, full_matrices=False)
    variances = singular[:2].astype(np.float64) ** 2
    return (basis @ left[:, :2]) * singular[:2], variances


def summary(
    texts: Sequence[str], analysis: Analysis, *, k: int = 3, width: int = 60, limit: int = 500
) -> str:
    """The plain text a pane shows under its heatmap.

    With a query, every text ranked by its cosine with the query (rank, cosine, text number)::

        Ranked by similarity to the query:
         1. 0.873  #3 the text, shortened to width…
         2. 0.850  #1 another text

    Without, each text followed by its ``k`` nearest neighbours (fewer when there are fewer other
    texts)::

        Nearest neighbours (cosine):
        #1 the first text
          → 0.912  #4 its nearest neighbour
          → 0.850  #2 the next one
        #2 the second text
          → …

    With one text and no query: ``"Only one text: nothing to compare."``. Rank numbers are
    right-aligned; cosines have three decimals; texts longer than ``width`` end with ``…``; there
    is no trailing newline. Past ``limit`` ranked texts (or texts with their neighbours) a last
    line says how many more there are: a summary is read, the full matrix is exported.

    Args:
        texts: the texts, as analysed.
        analysis: their analysis.
        k: neighbours per text.
        width: the most characters of a text shown.
        limit: the most texts listed.

    Returns:
        The summary.

    Raises:
        ValueError: when the number of texts differs from the analysis'.
    """
    if len(texts) != analysis.count:
        raise ValueError(f"{len(texts)} texts for an analysis of {analysis.count}")
    if analysis.query_scores is not None:
        lines = ["Ranked by similarity to the query:"]
        digits = len(str(analysis.count))
        ranking = analysis.ranking()
        for rank, (index, score) in enumerate(ranking[:limit], start=1):
            text = _shorten(texts[index], width)
            lines.append(f"{rank:>{digits}}. {score:.3f}  #{index + 1} {text}")
        if len(ranking) > limit:
            lowest = ranking[-1][1]
            lines.append(f"… and {len(ranking) - limit:,} more, down to {lowest:.3f}")
        return "\n".join(lines)
    if analysis.count < 2:
        return "Only one text: nothing to compare."
    lines = ["Nearest neighbours (cosine):"]
    for index, text in enumerate(texts[:limit]):
        lines.append(f"#{index + 1} {_shorten(text, width)}")
        for other, score in analysis.neighbours(index, k):
            lines.append(f"  → {score:.3f}  #{other + 1} {_shorten(texts[other], width)}")
    if len(texts) > limit:
        lines.append(f"… and {len(texts) - limit:,} more texts (the matrix has them all)")
    return "\n".join(lines)


def _shorten(text: str, width: int) -> str:
    if len(text) <= width:
        return text
    return text[: max(width - 1, 0)].rstrip() + "…"


# -- agreement -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Disagreement:
    """An item two models rank far apart.

    Attributes:
        texts: one text index (query rankings) or a pair ``(i, j)`` with ``i < j`` (pair
            similarities).
        rank_a: 1-based rank in model A (1 = most similar; tied items share the best rank).
        rank_b: the same in model B.
        value_a: the cosine in model A.
        value_b: the cosine in model B.
    """

    texts: tuple[int, ...]
    rank_a: int
    rank_b: int
    value_a: float
    value_b: float


@dataclass(frozen=True, slots=True)
class Agreement:
    """How far two models agree on the order of the same items.

    Attributes:
        spearman: Spearman's rho with average ranks for ties; NaN with fewer than two items or
            when one side is constant.
        kendall: Kendall's tau-b, on an evenly spaced sample of 2,000 items when there are more;
            NaN as for ``spearman``.
        compared: how many items were compared.
        sampled: how many items Kendall used (``compared`` unless sampled).
        basis: what was compared, e.g. ``"query ranking of 12 texts"`` or
            ``"similarities of 66 pairs (Kendall on a sample of 2,000)"``.
        disagreements: up to ``top`` items whose ranks differ most, largest difference first
            (ties: earlier item first); items ranked the same are never listed.
    """

    spearman: float
    kendall: float
    compared: int
    sampled: int
    basis: str
    disagreements: tuple[Disagreement, ...]


def agreement(a: Analysis, b: Analysis, *, top: int = 5) -> Agreement:
    """Compare two models' analyses of the same texts.

    With query scores in both, the items are the texts ranked by query score; otherwise they are
    the ``n(n-1)/2`` pairs of the similarity matrix's upper triangle, valued by similarity (in
    row-major order: ``(0, 1), (0, 2), …, (1, 2), …``).

    Args:
        a: model A's analysis.
        b: model B's analysis.
        top: the most disagreements to report.

    Returns:
        The :class:`Agreement`.

    Raises:
        ValueError: when the analyses cover different numbers of texts, or only one has a query.
    """
    import numpy as np

    if a.count != b.count:
        raise ValueError(f"the analyses cover {a.count} and {b.count} texts")
    if (a.query_scores is None) != (b.query_scores is None):
        raise ValueError("only one of the analyses has a query")
    n = a.count
    if a.query_scores is not None and b.query_scores is not None:
        values_a, values_b = a.query_scores, b.query_scores
        basis = f"query ranking of {_plural(n, 'text')}"
    else:
        mask = np.triu(np.ones((n, n), dtype=bool), k=1)
        values_a, values_b = a.similarity[mask], b.similarity[mask]
        basis = f"similarities of {_plural(values_a.size, 'pair')}"
    compared = int(values_a.size)

    average_a, best_a = _ranks(values_a)
    average_b, best_b = _ranks(values_b)
    spearman = _pearson(average_a, average_b)

    sampled = compared
    if compared > _KENDALL_SAMPLE:
        sampled = _KENDALL_SAMPLE
        picks = np.arange(sampled, dtype=np.int64) * compared // sampled
        kendall = _kendall_tau_b(values_a[picks], values_b[picks])
        basis += f" (Kendall on a sample of {sampled:,})"
    else:
        kendall = _kendall_tau_b(values_a, values_b)

    items = _largest_differences(best_a, best_b, top)
    if a.query_scores is not None:
        keys: list[tuple[int, ...]] = [(int(i),) for i in items]
    else:
        keys = _pairs(items, n)
    disagreements = tuple(
        Disagreement(
            texts=key,
            rank_a=int(best_a[p]),
            rank_b=int(best_b[p]),
            value_a=float(values_a[p]),
            value_b=float(values_b[p]),
        )
        for key, p in zip(keys, items, strict=True)
    )
    return Agreement(spearman, kendall, compared, sampled, basis, disagreements)


def _ranks(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Descending 1-based ranks: average ranks for ties (float) and the best shared rank (int).

    One sort, then tie groups found on the sorted values, so 2 M items cost one sort.
    """
    import numpy as np

    m = values.size
    best = np.empty(m, dtype=np.int64)
    if m == 0:
        return best.astype(np.float64), best
    order = _descending_order(values)
    ordered = values[order]
    starts_group = np.empty(m, dtype=bool)
    starts_group[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=starts_group[1:])
    starts = np.flatnonzero(starts_group)
    if starts.size == m:
        # No ties, the usual case for cosines: every rank is its sorted position.
        best[order] = np.arange(1, m + 1)
        return best.astype(np.float64), best
    group = np.cumsum(starts_group) - 1
    ends = np.append(starts[1:], m)
    best[order] = starts[group] + 1
    average = np.empty(m, dtype=np.float64)
    average[order] = (starts[group] + 1 + ends[group]) / 2
    return average, best


def _descending_order(values: np.ndarray) -> np.ndarray:
    """``argsort(-values, kind="stable")``, about twice as fast for float32.

    numpy's argsort of 2 M floats takes ~0.2 s where its (SIMD) sort of integers is several times
    faster, so each float32 becomes an order-preserving 32-bit key packed above its index in one
    uint64, and the packed array is sorted; the index in the low half also breaks ties by position.
    """
    import numpy as np

    if values.dtype != np.float32 or values.size >= 2**32:
        return np.argsort(-values, kind="stable")
    # Adding +0.0 turns -0.0 into +0.0, which compare equal but have different bits.
    bits = (values + np.float32(0.0)).view(np.uint32)
    sign = np.uint32(0x80000000)
    # IEEE floats order like integers once negatives have all bits flipped and positives the sign
    # bit set; flipping the result again makes the order descending.
    keys = np.where(bits & sign, bits, ~(bits | sign))
    packed = (keys.astype(np.uint64) << np.uint64(32)) | np.arange(values.size, dtype=np.uint64)
    packed.sort()
    return (packed & np.uint64(0xFFFFFFFF)).astype(np.intp)


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    import numpy as np

    if x.size < 2:
        return math.nan
    dx = x - x.mean()
    dy = y - y.mean()
    denominator = math.sqrt(float(dx @ dx) * float(dy @ dy))
    if denominator == 0:
        return math.nan
    return float(np.clip(float(dx @ dy) / denominator, -1.0, 1.0))


def _kendall_tau_b(x: np.ndarray, y: np.ndarray) -> float:
    import numpy as np

    m = x.size
    if m < 2:
        return math.nan
    x = x.astype(np.float64)
    y = y.astype(np.float64)
    pairs = m * (m - 1) / 2
    tied_x = _tied_pairs(x)
    tied_y = _tied_pairs(y)
    denominator = math.sqrt((pairs - tied_x) * (pairs - tied_y))
    if denominator == 0:
        return math.nan
    # Sum of sign products over all ordered pairs: concordant - discordant, counted twice.
    total = 0.0
    for start in range(0, m, _KENDALL_BLOCK):
        stop = min(start + _KENDALL_BLOCK, m)
        sx = np.sign(x[start:stop, None] - x[None, :])
        sy = np.sign(y[start:stop, None] - y[None, :])
        total += float(np.einsum("ij,ij->", sx, sy))
    return float(np.clip(total / 2 / denominator, -1.0, 1.0))


def _tied_pairs(values: np.ndarray) -> float:
    import numpy as np

    _, counts = np.unique(values, return_counts=True)
    return float((counts * (counts - 1)).sum() / 2)


def _largest_differences(best_a: np.ndarray, best_b: np.ndarray, top: int) -> np.ndarray:
    """Positions of up to ``top`` items with the largest non-zero rank difference, largest first."""
    import numpy as np

    difference = np.abs(best_a - best_b)
    if top <= 0 or difference.size == 0:
        return np.empty(0, dtype=np.int64)
    threshold = 1
    if difference.size > top:
        threshold = max(int(np.partition(difference, -top)[-top]), 1)
    # Fewer than ``top`` items lie above the threshold; the rest come from the (possibly very many)
    # items at it, earliest first, so ties resolve by position without sorting them all.
    above = np.flatnonzero(difference > threshold)
    at = np.flatnonzero(difference == threshold)[: top - above.size]
    candidates = np.sort(np.concatenate((above, at)))
    order = np.argsort(-difference[candidates], kind="stable")
    return candidates[order[:top]]


def _pairs(positions: np.ndarray, n: int) -> list[tuple[int, ...]]:
    """The ``(i, j)`` of positions in the row-major upper triangle of an ``n x n`` matrix."""
    import numpy as np

    rows = np.arange(n, dtype=np.int64)
    row_starts = rows * (n - 1) - rows * (rows - 1) // 2
    i = np.searchsorted(row_starts, positions, side="right") - 1
    j = positions - row_starts[i] + i + 1
    return [(int(r), int(c)) for r, c in zip(i, j, strict=True)]


# -- exports ---------------------------------------------------------------------------------------


def matrix_csv(texts: Sequence[str], similarity: np.ndarray) -> str:
    """The similarity matrix as CSV.

    Args:
        texts: the texts, as analysed.
        similarity: their ``(n, n)`` similarity matrix.

    Returns:
        A header row (an empty cell, then the texts), then one row per text: the text, then its
        cosines with 6 decimals; ``\\n`` line ends.

    Raises:
        ValueError: when the matrix is not ``(len(texts), len(texts))``.
    """
    n = len(texts)
    if similarity.shape != (n, n):
        raise ValueError(f"a {similarity.shape} matrix for {n} texts")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["", *texts])
    for text, row in zip(texts, similarity.tolist(), strict=True):
        writer.writerow([text, *(f"{value:.6f}" for value in row)])
    return buffer.getvalue()


def vectors_jsonl(texts: Sequence[str], vectors: np.ndarray) -> str:
    """The embeddings as JSON Lines.

    Args:
        texts: the texts.
        vectors: their ``(n, d)`` embeddings.

    Returns:
        One ``{"index": i, "text": ..., "embedding": [...]}`` object per line (non-ASCII kept),
        each line ending with ``\\n``.

    Raises:
        ValueError: when there is not one vector per text.
    """
    if len(vectors) != len(texts):
        raise ValueError(f"{len(vectors)} vectors for {len(texts)} texts")
    lines = (
        json.dumps({"index": i, "text": text, "embedding": row}, ensure_ascii=False) + "\n"
        for i, (text, row) in enumerate(zip(texts, vectors.tolist(), strict=True))
    )
    return "".join(lines)


def vectors_npy(vectors: np.ndarray) -> bytes:
    """The embeddings in NumPy's ``.npy`` format.

    Args:
        vectors: ``(n, d)`` embeddings.

    Returns:
        The float32 array as written by ``np.save`` (no pickles).
    """
    import numpy as np

    buffer = io.BytesIO()
    np.save(buffer, np.asarray(vectors, dtype=np.float32), allow_pickle=False)
    return buffer.getvalue()
