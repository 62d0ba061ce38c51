"""Embeddings tab domain: texts, files, batches, analysis, agreement between models, exports."""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.connections import FIREWORKS_PROVIDER_ID, LOCAL_PROVIDER_ID
from app.domain.embeddings import (
    NOMIC_TASKS,
    Analysis,
    BatchLimits,
    Disagreement,
    Texts,
    agreement,
    analyse,
    batch_limits,
    estimated_tokens,
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


def _cosines(vectors: np.ndarray) -> np.ndarray:
    """Cosine similarity the slow, obvious way."""
    n = len(vectors)
    out = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            a, b = vectors[i].astype(np.float64), vectors[j].astype(np.float64)
            denominator = np.linalg.norm(a) * np.linalg.norm(b)
            out[i, j] = 0.0 if denominator == 0 else float(a @ b) / denominator
    return out


def _scored(scores: Sequence[float]) -> Analysis:
    """An analysis whose query scores are ``scores``: unit vectors at those cosines to (1, 0)."""
    vectors = [[x, math.sqrt(1 - x * x)] for x in scores]
    return analyse(vectors, query=[1.0, 0.0])


def _average_ranks(values: Sequence[float]) -> list[float]:
    """1-based descending ranks, ties sharing their average rank."""
    ranks = []
    for v in values:
        greater = sum(1 for w in values if w > v)
        equal = sum(1 for w in values if w == v)
        ranks.append(greater + (equal + 1) / 2)
    return ranks


def _spearman(x: Sequence[float], y: Sequence[float]) -> float:
    rx, ry = _average_ranks(x), _average_ranks(y)
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry, strict=True))
    vx = sum((a - mx) ** 2 for a in rx)
    vy = sum((b - my) ** 2 for b in ry)
    return cov / math.sqrt(vx * vy)


def _kendall_tau_b(x: Sequence[float], y: Sequence[float]) -> float:
    concordant = discordant = tied_x = tied_y = 0
    n = len(x)
    for i in range(n):
        for j in range(i + 1, n):
            dx, dy = x[i] - x[j], y[i] - y[j]
            if dx == 0:
                tied_x += 1
            if dy == 0:
                tied_y += 1
            if dx * dy > 0:
                concordant += 1
            elif dx * dy < 0:
                discordant += 1
    pairs = n * (n - 1) / 2
    return (concordant - discordant) / math.sqrt((pairs - tied_x) * (pairs - tied_y))


# -- module ----------------------------------------------------------------------------------------


def test_import_pulls_in_neither_qt_nor_numpy() -> None:
    code = (
        "import sys, app.domain.embeddings\n"
        "print(sorted(m for m in ('numpy', 'PySide6', 'qasync', 'widgets', 'app.presenters')"
        " if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert result.stdout.strip() == "[]"


# -- task prefixes ---------------------------------------------------------------------------------


def test_takes_task_prefix_matches_nomic_ids_in_any_case() -> None:
    assert takes_task_prefix("nomic-ai/nomic-embed-text-v1.5")
    assert takes_task_prefix("accounts/fireworks/models/Nomic-Embed-Text-v1")
    assert not takes_task_prefix("text-embedding-3-small")
    assert not takes_task_prefix("")


def test_prefixed_adds_the_task() -> None:
    assert prefixed("what is a cat?", "search_query") == "search_query: what is a cat?"
    assert prefixed("a cat", None) == "a cat"
    assert prefixed("a cat", "") == "a cat"


def test_prefixed_leaves_an_existing_prefix_alone() -> None:
    assert prefixed("search_document: a cat", "search_query") == "search_document: a cat"
    assert prefixed("clustering:a cat", "classification") == "clustering:a cat"
    # Only the known tasks count as a prefix.
    assert prefixed("note: a cat", "search_query") == "search_query: note: a cat"
    assert prefixed("search_query a cat", "search_query") == "search_query: search_query a cat"


@given(st.text(max_size=40), st.sampled_from(NOMIC_TASKS))
@settings(database=None)
def test_prefixed_is_idempotent(text: str, task: str) -> None:
    once = prefixed(text, task)
    assert prefixed(once, task) == once
    assert once.startswith(tuple(f"{t}:" for t in NOMIC_TASKS))


# -- splitting the editor's text -------------------------------------------------------------------


def test_split_texts_strips_lines_and_skips_blanks() -> None:
    texts = split_texts("  a cat \n\n a dog\n   \n\ta bird\n")
    assert texts == Texts(("a cat", "a dog", "a bird"), 2, ())
    assert texts.describe() == "3 texts · 2 blank lines skipped"


def test_split_texts_ignores_one_trailing_newline_but_counts_more() -> None:
    assert split_texts("a\nb\n").blank_lines == 0
    assert split_texts("a\nb").blank_lines == 0
    assert split_texts("a\nb\n\n").blank_lines == 1
    assert split_texts("a\r\n\r\nb\r\n") == Texts(("a", "b"), 1, ())


def test_split_texts_finds_duplicates_of_the_first_occurrence() -> None:
    texts = split_texts("x\ny\nz\n\nx\n\ny\nx")
    assert texts.items == ("x", "y", "z", "x", "y", "x")
    assert texts.duplicates == ((3, 0), (4, 1), (5, 0))
    assert texts.blank_lines == 2


def test_describe_wording() -> None:
    assert split_texts("one").describe() == "1 text"
    assert split_texts("a\nb\nc").describe() == "3 texts"
    assert split_texts("a\n\nb\nc\n\na\nd").describe() == (
        "5 texts · 2 blank lines skipped · 1 duplicate (text 4 = text 1)"
    )
    assert split_texts("a\n\nb").describe() == "2 texts · 1 blank line skipped"
    assert split_texts("a\nb\na\nb").describe() == (
        "4 texts · 2 duplicates (text 3 = text 1, text 4 = text 2)"
    )


def test_describe_lists_at_most_three_duplicates() -> None:
    texts = split_texts("a\nb\nc\na\nd\nb\na\nc\nd\nd")
    assert len(texts.duplicates) == 6
    assert texts.describe() == (
        "10 texts · 6 duplicates (text 4 = text 1, text 6 = text 2, text 7 = text 1, …)"
    )


def test_describe_without_texts() -> None:
    assert split_texts("").describe() == "No texts"
    assert split_texts("\n  \n\n").describe() == "No texts"
    assert split_texts("\n  \n\n").blank_lines == 3


# -- reading files ---------------------------------------------------------------------------------


def test_read_txt_one_text_per_non_blank_line(tmp_path: Path) -> None:
    path = tmp_path / "texts.txt"
    path.write_text(" first \n\nsecond\n   \nthird\n", encoding="utf-8")
    assert read_texts_file(path) == ["first", "second", "third"]


def test_read_other_suffix_like_txt_and_ignores_a_bom(tmp_path: Path) -> None:
    path = tmp_path / "notes.md"
    path.write_bytes("\ufeffé first\nsecond\n".encode())
    assert read_texts_file(path) == ["é first", "second"]


def test_read_csv_uses_the_text_column(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_text(
        'id,Text,label\n1,"a cat, asleep",x\n2,"two\nlines",y\n3,,z\n4\n', encoding="utf-8"
    )
    assert read_texts_file(path) == ["a cat, asleep", "two lines"]


@pytest.mark.parametrize("header", ["input", "SENTENCE", " document ", "content"])
def test_read_csv_recognises_each_column_name(tmp_path: Path, header: str) -> None:
    path = tmp_path / "data.csv"
    path.write_text(f"id,{header}\n1,hello\n2,world\n", encoding="utf-8")
    assert read_texts_file(path) == ["hello", "world"]


def test_read_csv_prefers_text_over_other_names(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_text("content,text\nnot this,this\n", encoding="utf-8")
    assert read_texts_file(path) == ["this"]


def test_read_csv_without_a_known_header_takes_the_first_column(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_text("a cat,1\na dog,2\n\n,3\na bird\n", encoding="utf-8")
    assert read_texts_file(path) == ["a cat", "a dog", "a bird"]


def test_read_tsv(tmp_path: Path) -> None:
    path = tmp_path / "data.TSV"
    path.write_text("label\tsentence\nx\ta, b\ny\tc\n", encoding="utf-8")
    assert read_texts_file(path) == ["a, b", "c"]


def test_read_jsonl_strings_and_objects(tmp_path: Path) -> None:
    path = tmp_path / "data.jsonl"
    lines = [
        json.dumps("a string"),
        "",
        json.dumps({"text": "from text", "input": "ignored"}),
        json.dumps({"input": "from input"}),
        json.dumps({"content": "from content", "text": 3}),
        json.dumps({"document": "multi\nline"}),
        json.dumps({"text": "   "}),
        json.dumps("with\u2028separator", ensure_ascii=False),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert read_texts_file(path) == [
        "a string",
        "from text",
        "from input",
        "from content",
        "multi line",
        "with separator",
    ]


def test_read_ndjson(tmp_path: Path) -> None:
    path = tmp_path / "data.ndjson"
    path.write_text('{"text": "één"}\r\n"two"\r\n', encoding="utf-8")
    assert read_texts_file(path) == ["één", "two"]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.txt", b"", "empty.txt is empty"),
        ("spaces.csv", b"  \n\n", "spaces.csv is empty"),
        ("latin.txt", "café".encode("latin-1"), "latin.txt is not UTF-8 text"),
        ("bad.jsonl", b'"a"\n\n{oops}\n', "bad.jsonl line 3 is not JSON"),
        (
            "fields.jsonl",
            b'"a"\n{"title": "b"}\n',
            "fields.jsonl line 2 has no text, input, content or document field",
        ),
        ("number.jsonl", b"42\n", "number.jsonl line 1 is not a JSON string or object"),
        ("header.csv", b"id,text\n", "header.csv has no texts"),
        ("blank.jsonl", b'" "\n{"text": ""}\n', "blank.jsonl has no texts"),
    ],
)
def test_read_texts_file_errors(tmp_path: Path, name: str, content: bytes, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ValueError) as excinfo:
        read_texts_file(path)
    assert str(excinfo.value) == message


# -- batches ---------------------------------------------------------------------------------------


def test_batch_limits_per_provider() -> None:
    assert batch_limits(LOCAL_PROVIDER_ID) == BatchLimits(32, 200_000)
    assert batch_limits(FIREWORKS_PROVIDER_ID) == BatchLimits(128, 200_000)
    assert batch_limits("openai") == BatchLimits(128, 200_000)
    assert batch_limits("my-vllm") == BatchLimits(128, 200_000)


def test_plan_batches_by_count() -> None:
    assert plan_batches(["x"] * 7, BatchLimits(3, 1_000)) == [range(0, 3), range(3, 6), range(6, 7)]
    assert plan_batches([], BatchLimits(3, 1_000)) == []


def test_plan_batches_by_characters() -> None:
    texts = ["aaaa", "bbbb", "cc", "d", "eeeee"]
    assert plan_batches(texts, BatchLimits(10, 10)) == [range(0, 3), range(3, 5)]


def test_plan_batches_puts_a_long_text_alone() -> None:
    texts = ["ab", "x" * 50, "cd", "ef"]
    assert plan_batches(texts, BatchLimits(10, 10)) == [range(0, 1), range(1, 2), range(2, 4)]
    assert plan_batches(["x" * 50], BatchLimits(10, 10)) == [range(0, 1)]


def test_plan_batches_rejects_non_positive_limits() -> None:
    with pytest.raises(ValueError):
        plan_batches(["a"], BatchLimits(0, 10))
    with pytest.raises(ValueError):
        plan_batches(["a"], BatchLimits(1, 0))


@given(
    st.lists(st.integers(min_value=0, max_value=40), max_size=60),
    st.integers(min_value=1, max_value=8),
    st.integers(min_value=1, max_value=60),
)
@settings(database=None, max_examples=300)
def test_plan_batches_covers_every_text_once_within_limits(
    lengths: list[int], max_items: int, max_chars: int
) -> None:
    texts = ["x" * length for length in lengths]
    batches = plan_batches(texts, BatchLimits(max_items, max_chars))
    assert [i for batch in batches for i in batch] == list(range(len(texts)))
    for batch in batches:
        assert batch.step == 1
        assert 1 <= len(batch) <= max_items
        chars = sum(lengths[i] for i in batch)
        assert chars <= max_chars or len(batch) == 1
    # Greedy: no batch could have taken the next text as well.
    for batch, following in itertools.pairwise(batches):
        grown = sum(lengths[i] for i in batch) + lengths[following.start]
        assert len(batch) == max_items or grown > max_chars


def test_split_refused() -> None:
    assert split_refused(range(10, 30)) == [range(10, 18), range(18, 26), range(26, 30)]
    assert split_refused(range(0, 5), size=2) == [range(0, 2), range(2, 4), range(4, 5)]
    assert split_refused(range(4, 5)) == [range(4, 5)]
    assert split_refused(range(3, 3)) == []
    with pytest.raises(ValueError):
        split_refused(range(0, 4), size=0)


def test_estimated_tokens_and_over_limit() -> None:
    assert estimated_tokens("") == 1
    assert estimated_tokens("abcd") == 1
    assert estimated_tokens("abcde") == 2
    assert estimated_tokens("é" * 4) == 2  # 8 UTF-8 bytes
    texts = ["short", "x" * 4_000, "y" * 4_001, "z" * 10_000]
    assert over_token_limit(texts, 1_000) == [2, 3]
    assert over_token_limit(texts, 10_000) == []


# -- analysis --------------------------------------------------------------------------------------


def test_similarity_is_the_cosine_matrix() -> None:
    rng = np.random.default_rng(7)
    vectors = rng.normal(size=(9, 16)) * rng.uniform(0.1, 10.0, size=(9, 1))
    analysis = analyse(vectors)
    assert analysis.similarity.dtype == np.float32
    assert analysis.similarity.shape == (9, 9)
    np.testing.assert_allclose(analysis.similarity, _cosines(vectors), atol=1e-6)
    np.testing.assert_allclose(np.diag(analysis.similarity), 1.0)
    np.testing.assert_allclose(analysis.norms, np.linalg.norm(vectors, axis=1), rtol=1e-6)
    assert analysis.count == 9
    assert analysis.dimensions == 16
    assert analysis.mean_norm == pytest.approx(float(np.linalg.norm(vectors, axis=1).mean()))


def test_accepts_lists_of_floats() -> None:
    analysis = analyse([[3.0, 4.0], [4.0, 3.0]])
    assert analysis.similarity[0, 1] == pytest.approx(24 / 25)
    assert analysis.norms.tolist() == [5.0, 5.0]
    assert analysis.mean_norm == 5.0
    assert analysis.query_scores is None


def test_zero_vector_has_similarity_zero_not_nan() -> None:
    analysis = analyse([[1.0, 0.0], [0.0, 0.0], [0.6, 0.8]], query=[0.0, 0.0])
    assert not np.isnan(analysis.similarity).any()
    assert analysis.similarity[1].tolist() == [0.0, 0.0, 0.0]
    assert analysis.similarity[:, 1].tolist() == [0.0, 0.0, 0.0]
    assert analysis.query_scores is not None
    assert analysis.query_scores.tolist() == [0.0, 0.0, 0.0]
    assert analysis.norms[1] == 0.0


def test_query_scores_are_cosines_with_the_query() -> None:
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(6, 5))
    query = rng.normal(size=5)
    analysis = analyse(vectors, query)
    expected = vectors @ query / (np.linalg.norm(vectors, axis=1) * np.linalg.norm(query))
    assert analysis.query_scores is not None
    assert analysis.query_scores.dtype == np.float32
    np.testing.assert_allclose(analysis.query_scores, expected, atol=1e-6)


@pytest.mark.parametrize(
    ("vectors", "query"),
    [
        ([], None),
        ([1.0, 2.0], None),
        ([[[1.0]]], None),
        ([[]], None),
        ([[1.0, 2.0], [3.0]], None),
        ([[1.0, math.nan]], None),
        ([[1.0, 2.0]], [1.0]),
        ([[1.0, 2.0]], [[1.0, 2.0]]),
        ([[1.0, 2.0]], [1.0, math.inf]),
    ],
)
def test_analyse_rejects_bad_input(vectors: object, query: object) -> None:
    with pytest.raises(ValueError):
        analyse(vectors, query)  # type: ignore[arg-type]


def test_pca_separates_two_clusters_along_the_first_component() -> None:
    rng = np.random.default_rng(11)
    centre = rng.normal(size=32)
    offset = rng.normal(size=32)
    offset *= 5 / np.linalg.norm(offset)
    left = centre - offset + rng.normal(scale=0.1, size=(10, 32))
    right = centre + offset + rng.normal(scale=0.1, size=(10, 32))
    analysis = analyse(np.vstack([left, right]))
    assert analysis.points.shape == (20, 2)
    assert analysis.points.dtype == np.float32
    first = analysis.points[:, 0]
    assert (np.sign(first[:10]) == -np.sign(first[10])).all()
    assert (np.sign(first[10:]) == np.sign(first[10])).all()
    # The gap between the clusters dwarfs the spread within them.
    assert abs(first[:10].mean() - first[10:].mean()) > 20 * analysis.points[:, 1].std()
    low, high = analysis.explained
    assert low > 0.9
    assert 0 <= high <= low
    assert low + high <= 1.0


def test_pca_recovers_a_plane_exactly() -> None:
    rng = np.random.default_rng(5)
    # Centred, uncorrelated coordinates with variances 16:1, so the axes are the components.
    sample = rng.normal(size=(30, 2))
    axes, _ = np.linalg.qr(sample - sample.mean(axis=0))
    coordinates = axes * [4.0, 1.0]
    basis, _ = np.linalg.qr(rng.normal(size=(10, 2)))
    analysis = analyse(coordinates @ basis.T + rng.normal(size=10))
    assert analysis.explained == pytest.approx((16 / 17, 1 / 17))
    # Up to sign, the map is the plane's coordinates.
    for c in range(2):
        sign = np.sign(analysis.points[0, c] * coordinates[0, c])
        np.testing.assert_allclose(analysis.points[:, c], sign * coordinates[:, c], atol=1e-5)


def test_pca_of_points_on_a_line_has_one_component() -> None:
    direction = np.array([1.0, 2.0, 2.0])
    analysis = analyse(np.outer([1.0, 2.0, 3.0, 5.0], direction) + 1.0)
    assert analysis.explained[0] == pytest.approx(1.0)
    assert analysis.explained[1] == 0.0
    assert analysis.points[:, 1].tolist() == [0.0, 0.0, 0.0, 0.0]
    np.testing.assert_allclose(np.abs(np.diff(analysis.points[:, 0])), [3.0, 3.0, 6.0], rtol=1e-5)


def test_pca_sign_is_stable_largest_coordinate_positive() -> None:
    rng = np.random.default_rng(2)
    vectors = rng.normal(size=(12, 6))
    for data in (vectors, -vectors):
        points = analyse(data).points
        for c in range(2):
            assert points[np.argmax(np.abs(points[:, c])), c] > 0


@pytest.mark.parametrize("vectors", [[[1.0, 2.0]], [[1.0, 2.0]] * 4])
def test_pca_is_zero_with_one_text_or_equal_vectors(vectors: list[list[float]]) -> None:
    analysis = analyse(vectors)
    assert not analysis.points.any()
    assert analysis.explained == (0.0, 0.0)


def test_randomized_pca_for_large_inputs_matches_the_exact_one() -> None:
    rng = np.random.default_rng(4)
    # Over the exact path's 1,024 limit on both sides, with a decaying spectrum like real models'.
    data = rng.normal(size=(1_100, 1_100)) / np.arange(1, 1_101) ** 0.75
    analysis = analyse(data)
    centred = data - data.mean(axis=0)
    left, singular, _ = np.linalg.svd(centred, full_matrices=False)
    variance = singular**2
    np.testing.assert_allclose(analysis.explained, variance[:2] / variance.sum(), rtol=1e-3)
    for c in range(2):
        correlation = np.corrcoef(analysis.points[:, c], left[:, c])[0, 1]
        assert abs(correlation) == pytest.approx(1.0, abs=1e-3)


def test_shades_span_the_off_diagonal_range() -> None:
    rng = np.random.default_rng(9)
    vectors = rng.normal(size=(8, 4)) + 3.0  # all similarities high, as with real embeddings
    analysis = analyse(vectors)
    similarity = analysis.similarity.astype(np.float64)
    off = similarity[~np.eye(8, dtype=bool)]
    low, high = analysis.shade_range
    assert low == pytest.approx(off.min())
    assert high == pytest.approx(off.max())
    assert analysis.shades.dtype == np.uint8
    assert analysis.shades.shape == (8, 8)
    assert analysis.shades.flags.c_contiguous
    lowest = np.unravel_index(np.argmin(similarity + 9 * np.eye(8)), (8, 8))
    highest = np.unravel_index(np.argmax(similarity - 9 * np.eye(8)), (8, 8))
    assert analysis.shades[lowest] == 0
    assert analysis.shades[highest] == 255
    assert (np.diag(analysis.shades) == 255).all()  # 1.0 on the diagonal is clipped
    expected = np.clip(np.rint((similarity - low) / (high - low) * 255), 0, 255)
    np.testing.assert_allclose(analysis.shades, expected, atol=1)


def test_shade_range_is_never_degenerate() -> None:
    one = analyse([[1.0, 0.0]])
    assert one.shade_range == (0.5, 1.5)
    assert one.shades.tolist() == [[128]]
    same = analyse([[1.0, 0.0], [2.0, 0.0], [3.0, 0.0]])
    assert same.shade_range == (0.5, 1.5)
    assert same.shades.shape == (3, 3)


def test_neighbours_exclude_the_text_and_come_most_similar_first() -> None:
    vectors = [[1.0, 0.0], [0.0, 1.0], [0.8, 0.6], [0.6, 0.8], [-1.0, 0.0]]
    analysis = analyse(vectors)
    result = analysis.neighbours(0, k=3)
    assert [i for i, _ in result] == [2, 3, 1]
    assert [s for _, s in result] == pytest.approx([0.8, 0.6, 0.0], abs=1e-6)
    assert [i for i, _ in analysis.neighbours(4, k=10)] == [1, 3, 2, 0]
    assert analysis.neighbours(0, k=0) == []
    with pytest.raises(IndexError):
        analysis.neighbours(5)


def test_neighbours_break_ties_by_lower_index() -> None:
    analysis = analyse([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [2.0, 0.0], [0.0, 3.0]])
    assert [i for i, _ in analysis.neighbours(1, k=4)] == [4, 0, 2, 3]
    assert [i for i, _ in analysis.neighbours(3, k=2)] == [0, 2]


def test_ranking_by_query_score() -> None:
    analysis = _scored([0.2, 0.9, 0.5, 0.9, -0.3])
    ranking = analysis.ranking()
    assert [i for i, _ in ranking] == [1, 3, 2, 0, 4]
    assert [s for _, s in ranking] == pytest.approx([0.9, 0.9, 0.5, 0.2, -0.3], abs=1e-6)
    with pytest.raises(ValueError):
        analyse([[1.0, 0.0]]).ranking()


# -- summary ---------------------------------------------------------------------------------------


def test_summary_with_a_query_ranks_every_text() -> None:
    texts = [f"text {c}" for c in "abcdefghijk"]
    scores = [0.1, 0.95, 0.3, 0.5, 0.2, 0.4, 0.6, 0.7, 0.8, 0.0, -0.5]
    lines = summary(texts, _scored(scores)).splitlines()
    assert lines[0] == "Ranked by similarity to the query:"
    assert lines[1] == " 1. 0.950  #2 text b"
    assert lines[2] == " 2. 0.800  #9 text i"
    assert lines[-1] == "11. -0.500  #11 text k"
    assert len(lines) == 12


def test_summary_without_a_query_lists_neighbours() -> None:
    texts = ["east", "north", "north-east", "west"]
    analysis = analyse([[1.0, 0.0], [0.0, 1.0], [0.8, 0.6], [-1.0, 0.0]])
    assert summary(texts, analysis, k=2) == (
        "Nearest neighbours (cosine):\n"
        "#1 east\n"
        "  → 0.800  #3 north-east\n"
        "  → 0.000  #2 north\n"
        "#2 north\n"
        "  → 0.600  #3 north-east\n"
        "  → 0.000  #1 east\n"
        "#3 north-east\n"
        "  → 0.800  #1 east\n"
        "  → 0.600  #2 north\n"
        "#4 west\n"
        "  → 0.000  #2 north\n"
        "  → -0.800  #3 north-east"
    )


def test_summary_shows_fewer_neighbours_when_there_are_few_texts() -> None:
    text = summary(["a", "b"], analyse([[1.0, 0.0], [0.6, 0.8]]), k=3)
    assert text == "Nearest neighbours (cosine):\n#1 a\n  → 0.600  #2 b\n#2 b\n  → 0.600  #1 a"


def test_summary_shortens_long_texts() -> None:
    long = "word " * 30
    text = summary([long.strip(), "b"], analyse([[1.0, 0.0], [0.0, 1.0]]), width=12)
    assert "#1 word word w…\n" in text
    assert all(len(line) <= 12 + len("  → 0.000  #1 ") for line in text.splitlines()[1:])


def test_summary_with_one_text() -> None:
    assert summary(["alone"], analyse([[1.0, 2.0]])) == "Only one text: nothing to compare."
    assert summary(["alone"], _scored([0.5])).splitlines()[1] == "1. 0.500  #1 alone"
    with pytest.raises(ValueError):
        summary(["a", "b"], analyse([[1.0, 2.0]]))


# -- agreement -------------------------------------------------------------------------------------


def test_identical_analyses_agree_fully() -> None:
    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(12, 8))
    pairs = agreement(analyse(vectors), analyse(vectors))
    assert (pairs.spearman, pairs.kendall) == (pytest.approx(1.0), pytest.approx(1.0))
    assert pairs.compared == pairs.sampled == 66
    assert pairs.basis == "similarities of 66 pairs"
    assert pairs.disagreements == ()
    query = rng.normal(size=8)
    ranked = agreement(analyse(vectors, query), analyse(vectors, query))
    assert (ranked.spearman, ranked.kendall) == (pytest.approx(1.0), pytest.approx(1.0))
    assert ranked.basis == "query ranking of 12 texts"
    assert ranked.compared == 12
    assert ranked.disagreements == ()


def test_reversed_rankings_disagree_fully() -> None:
    scores = [0.9, 0.7, 0.5, 0.3, 0.1, -0.2]
    result = agreement(_scored(scores), _scored(scores[::-1]))
    assert result.spearman == pytest.approx(-1.0)
    assert result.kendall == pytest.approx(-1.0)
    first = result.disagreements[0]
    assert first == Disagreement((0,), 1, 6, pytest.approx(0.9), pytest.approx(-0.2))
    assert [d.texts for d in result.disagreements] == [(0,), (5,), (1,), (4,), (2,)]


def test_agreement_on_five_items_matches_the_formulas() -> None:
    a = [0.9, 0.8, 0.7, 0.6, 0.5]
    b = [0.8, 0.9, 0.5, 0.7, 0.6]
    # Ranks a: 1 2 3 4 5, b: 2 1 5 3 4; differences 1 1 2 1 1, sum of squares 8.
    n = 5
    rho = 1 - 6 * 8 / (n * (n * n - 1))
    concordant = sum(
        1 for i in range(n) for j in range(i + 1, n) if (a[i] - a[j]) * (b[i] - b[j]) > 0
    )
    discordant = n * (n - 1) // 2 - concordant
    tau = (concordant - discordant) / (n * (n - 1) / 2)
    assert (concordant, discordant) == (7, 3)
    result = agreement(_scored(a), _scored(b), top=3)
    assert result.spearman == pytest.approx(rho)  # 0.6
    assert result.kendall == pytest.approx(tau)  # 0.4
    assert result.compared == result.sampled == 5
    assert result.basis == "query ranking of 5 texts"
    assert [(d.texts, d.rank_a, d.rank_b) for d in result.disagreements] == [
        ((2,), 3, 5),
        ((0,), 1, 2),
        ((1,), 2, 1),
    ]
    assert result.disagreements[0].value_a == pytest.approx(0.7)
    assert result.disagreements[0].value_b == pytest.approx(0.5)


def test_agreement_with_ties_uses_average_ranks_and_tau_b() -> None:
    a = [0.9, 0.9, 0.5, 0.3, 0.3, 0.1, 0.3]
    b = [0.2, 0.8, 0.8, 0.4, 0.1, 0.1, 0.6]
    result = agreement(_scored(a), _scored(b))
    assert result.spearman == pytest.approx(_spearman(a, b))
    assert result.kendall == pytest.approx(_kendall_tau_b(a, b))
    # Tied texts share their best rank.
    ranks_a = {d.texts[0]: d.rank_a for d in result.disagreements}
    assert ranks_a.get(3, 4) == ranks_a.get(4, 4) == ranks_a.get(6, 4) == 4


def test_pair_agreement_matches_an_independent_computation() -> None:
    rng = np.random.default_rng(21)
    vectors = rng.normal(size=(7, 5))
    other = vectors + rng.normal(scale=0.8, size=(7, 5))
    a, b = analyse(vectors), analyse(other)
    pairs = [(i, j) for i in range(7) for j in range(i + 1, 7)]
    values_a = [float(a.similarity[i, j]) for i, j in pairs]
    values_b = [float(b.similarity[i, j]) for i, j in pairs]
    result = agreement(a, b, top=4)
    assert result.compared == 21
    assert result.basis == "similarities of 21 pairs"
    assert result.spearman == pytest.approx(_spearman(values_a, values_b))
    assert result.kendall == pytest.approx(_kendall_tau_b(values_a, values_b))

    def best_rank(values: list[float], v: float) -> int:
        return 1 + sum(1 for w in values if w > v)

    expected = sorted(
        (
            (abs(best_rank(values_a, va) - best_rank(values_b, vb)), p)
            for p, (va, vb) in enumerate(zip(values_a, values_b, strict=True))
        ),
        key=lambda item: (-item[0], item[1]),
    )[:4]
    assert [d.texts for d in result.disagreements] == [pairs[p] for _, p in expected]
    for d in result.disagreements:
        i, j = d.texts
        assert i < j
        assert d.value_a == pytest.approx(float(a.similarity[i, j]))
        assert d.value_b == pytest.approx(float(b.similarity[i, j]))
        assert d.rank_a == best_rank(values_a, float(a.similarity[i, j]))
        assert d.rank_b == best_rank(values_b, float(b.similarity[i, j]))
    assert [abs(d.rank_a - d.rank_b) for d in result.disagreements] == [g for g, _ in expected]


def test_pair_basis_counts_every_pair() -> None:
    rng = np.random.default_rng(8)
    for n in (2, 3, 40):
        vectors = rng.normal(size=(n, 6))
        result = agreement(analyse(vectors), analyse(vectors[:, ::-1] ** 3))
        assert result.compared == n * (n - 1) // 2
        assert result.sampled == result.compared


def test_kendall_samples_above_two_thousand_pairs() -> None:
    rng = np.random.default_rng(13)
    vectors = rng.normal(size=(65, 6))  # 2,080 pairs
    a = analyse(vectors)
    result = agreement(a, a)
    assert result.compared == 2_080
    assert result.sampled == 2_000
    assert result.basis == "similarities of 2,080 pairs (Kendall on a sample of 2,000)"
    assert result.kendall == pytest.approx(1.0)
    assert result.spearman == pytest.approx(1.0)
    smaller = agreement(analyse(vectors[:64]), analyse(vectors[:64]))
    assert (smaller.compared, smaller.sampled) == (2_016, 2_000)


def test_kendall_samples_above_two_thousand_texts() -> None:
    rng = np.random.default_rng(17)
    vectors = rng.normal(size=(2_001, 4))
    query = rng.normal(size=4)
    noisy = vectors + rng.normal(scale=0.3, size=vectors.shape)
    result = agreement(analyse(vectors, query), analyse(noisy, query), top=3)
    assert result.compared == 2_001
    assert result.sampled == 2_000
    assert result.basis == "query ranking of 2,001 texts (Kendall on a sample of 2,000)"
    assert 0.5 < result.kendall < result.spearman < 1.0
    differences = [abs(d.rank_a - d.rank_b) for d in result.disagreements]
    assert len(differences) == 3
    assert differences == sorted(differences, reverse=True)
    exact = agreement(analyse(vectors[:2_000], query), analyse(noisy[:2_000], query))
    assert exact.sampled == exact.compared == 2_000
    assert "sample" not in exact.basis


def test_agreement_is_nan_without_enough_items_or_with_a_constant_side() -> None:
    one = analyse([[1.0, 2.0]])
    result = agreement(one, one)
    assert result.compared == 0
    assert math.isnan(result.spearman)
    assert math.isnan(result.kendall)
    assert result.basis == "similarities of 0 pairs"
    assert result.disagreements == ()
    constant = agreement(_scored([0.5, 0.5, 0.5]), _scored([0.1, 0.2, 0.3]))
    assert math.isnan(constant.spearman)
    assert math.isnan(constant.kendall)
    single = agreement(_scored([0.5]), _scored([0.1]))
    assert single.basis == "query ranking of 1 text"
    assert math.isnan(single.spearman)


def test_agreement_rejects_mismatched_analyses() -> None:
    with pytest.raises(ValueError):
        agreement(analyse([[1.0, 0.0], [0.0, 1.0]]), analyse([[1.0, 0.0]]))
    with pytest.raises(ValueError):
        agreement(_scored([0.1, 0.2]), analyse([[1.0, 0.0], [0.0, 1.0]]))


def test_agreement_top_limits_the_disagreements() -> None:
    scores = [0.9, 0.7, 0.5, 0.3, 0.1, -0.2]
    assert agreement(_scored(scores), _scored(scores[::-1]), top=0).disagreements == ()
    assert len(agreement(_scored(scores), _scored(scores[::-1]), top=2).disagreements) == 2
    assert len(agreement(_scored(scores), _scored(scores[::-1]), top=50).disagreements) == 6


# -- exports ---------------------------------------------------------------------------------------


def test_matrix_csv_parses_back_to_the_matrix() -> None:
    texts = ["plain", 'with "quotes", and comma', "ünïcode"]
    rng = np.random.default_rng(6)
    analysis = analyse(rng.normal(size=(3, 5)))
    text = matrix_csv(texts, analysis.similarity)
    assert "\r" not in text
    assert text.endswith("\n")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["", *texts]
    assert [row[0] for row in rows[1:]] == texts
    values = np.array([[float(cell) for cell in row[1:]] for row in rows[1:]])
    np.testing.assert_allclose(values, analysis.similarity, atol=5e-7)
    assert all(len(cell.split(".")[1]) == 6 for cell in rows[1][1:])
    with pytest.raises(ValueError):
        matrix_csv(texts[:2], analysis.similarity)


def test_vectors_jsonl_round_trips() -> None:
    texts = ["a cat", "ünïcode ✓"]
    vectors = np.array([[0.1, -2.5, 3.0], [1e-8, 0.0, 7.25]], dtype=np.float32)
    text = vectors_jsonl(texts, vectors)
    assert "ünïcode ✓" in text
    lines = text.splitlines()
    assert len(lines) == 2
    records = [json.loads(line) for line in lines]
    assert [r["index"] for r in records] == [0, 1]
    assert [r["text"] for r in records] == texts
    np.testing.assert_array_equal(
        np.array([r["embedding"] for r in records], dtype=np.float32), vectors
    )
    with pytest.raises(ValueError):
        vectors_jsonl(texts[:1], vectors)


def test_vectors_npy_round_trips() -> None:
    vectors = np.arange(12, dtype=np.float64).reshape(3, 4) / 7
    loaded = np.load(io.BytesIO(vectors_npy(vectors)), allow_pickle=False)
    assert loaded.dtype == np.float32
    assert loaded.shape == (3, 4)
    np.testing.assert_array_equal(loaded, vectors.astype(np.float32))


def test_summary_lists_at_most_limit_texts_and_says_how_many_more() -> None:
    texts = [f"text {n}" for n in range(12)]
    vectors = np.eye(12, dtype=np.float32) + 0.1
    neighbours = summary(texts, analyse(vectors), limit=5)
    assert neighbours.count("\n#") == 5 and neighbours.endswith(
        "… and 7 more texts (the matrix has them all)"
    )
    ranked = summary(texts, analyse(vectors, query=vectors[0]), limit=5)
    assert len(ranked.splitlines()) == 1 + 5 + 1
    assert ranked.splitlines()[-1].startswith("… and 7 more, down to ")
