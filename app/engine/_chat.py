"""Chat models on llama-cpp-python: prompt rendering and a token loop the engine controls.

The engine does not use llama-cpp-python's chat handlers: it renders the model's own chat
template (from the GGUF) over messages it has normalised itself (tool calls, tool results and
OCR text included), and runs its own loop over ``Llama.generate`` so that it can stop on a
client disconnect, apply stop strings, count tokens, switch the grammar off once a reply turns
out to be plain text, and report progress token by token.

``llama_cpp`` is imported inside :func:`load_chat_model` only.
"""

from __future__ import annotations

import codecs
import ctypes
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from app.engine._errors import InvalidRequestError

__all__ = [
    "CHATML_TEMPLATE",
    "ChatModel",
    "GenerationResult",
    "Sampling",
    "StopMatcher",
    "load_chat_model",
    "random_seed",
]

CHATML_TEMPLATE = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content']"
    " + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|im_start|>assistant\n' }}{% endif %}"
)

_MAX_CTX = 8192  # KV cache size cap: plenty for a playground, small in memory
_PENALTY_LAST_N = 64


@dataclass(frozen=True)
class Sampling:
    """Sampling settings of one generation (llama.cpp names, OpenAI semantics).

    Attributes:
        temperature: 0 means greedy.
        top_p: nucleus sampling.
        top_k: 0 disables.
        min_p: minimum probability relative to the best token.
        typical_p: locally typical sampling (1 disables).
        repeat_penalty: multiplicative repetition penalty (1 disables).
        presence_penalty: OpenAI presence penalty.
        frequency_penalty: OpenAI frequency penalty.
        seed: RNG seed.
        logit_bias: token id to additive bias.
        grammar: GBNF text constraining the output, if any.
    """

    temperature: float = 0.8
    top_p: float = 0.95
    top_k: int = 40
    min_p: float = 0.05
    typical_p: float = 1.0
    repeat_penalty: float = 1.0
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    seed: int = 0
    logit_bias: dict[int, float] = field(default_factory=dict)
    grammar: str | None = None


@dataclass(frozen=True)
class GenerationResult:
    """How a generation ended.

    Attributes:
        finish_reason: ``stop``, ``length`` or ``cancelled``.
        completion_tokens: tokens generated (end-of-generation token excluded).
        first_token_seconds: time from start to the first generated token.
    """

    finish_reason: str
    completion_tokens: int
    first_token_seconds: float | None


class StopMatcher:
    """Cuts generated text at the first stop string, holding back possible partial matches.

    Args:
        stops: the stop strings (empty strings are ignored).
    """

    def __init__(self, stops: Sequence[str]) -> None:
        self._stops = [s for s in stops if s]
        self._held = ""

    def feed(self, text: str) -> tuple[str, bool]:
        """Add text; return the part safe to emit and whether a stop string was hit."""
        if not self._stops:
            return text, False
        buf = self._held + text
        cut = min((i for i in (buf.find(s) for s in self._stops) if i >= 0), default=-1)
        if cut >= 0:
            self._held = ""
            return buf[:cut], True
        keep = 0
        for stop in self._stops:
            for n in range(min(len(stop) - 1, len(buf)), 0, -1):
                if buf.endswith(stop[:n]):
                    keep = max(keep, n)
                    break
        self._held = buf[len(buf) - keep :] if keep else ""
        return buf[: len(buf) - keep], False

    def flush(self) -> str:
        """Return what is still held back (the generation ended without a stop string)."""
        held, self._held = self._held, ""
        return held


class ChatModel:
    """A loaded GGUF chat model.

    Use :func:`load_chat_model` to create one. Not thread-safe: the engine runs one
    generation per model at a time.
    """

    def __init__(self, llm: Any, formatter: Any, llama_cpp: Any, path: Path) -> None:
        self._llm = llm
        self._formatter = formatter
        self._lib = llama_cpp
        self.path = path
        self.n_ctx: int = llm.n_ctx()
        self.n_vocab: int = llm.n_vocab()
        self._vocab = llm._model.vocab
        self._pieces: dict[int, bytes] = {}
        self._buf = ctypes.create_string_buffer(256)
        self._stop_tokens: set[int] = set()
        control = llama_cpp.LLAMA_TOKEN_ATTR_CONTROL
        for tok in range(llm.n_vocab()):
            # End-of-generation tokens and any other control token (e.g. a new turn's
            # <|im_start|>) end the reply: the model is leaving its turn.
            if llama_cpp.llama_vocab_is_eog(self._vocab, tok) or (
                llama_cpp.llama_vocab_get_attr(self._vocab, tok) & control
            ):
                self._stop_tokens.add(tok)
        self._eog_tokens = [
            t for t in self._stop_tokens if llama_cpp.llama_vocab_is_eog(self._vocab, t)
        ]

    @property
    def context_length(self) -> int:
        """Tokens of context the model runs with."""
        return self.n_ctx

    def render(self, messages: list[dict[str, str]]) -> list[int]:
        """Render messages with the model's chat template and tokenize the prompt.

        Args:
            messages: ``{"role", "content"}`` dicts with string content.

        Returns:
            Prompt tokens ending with the assistant turn's header.

        Raises:
            InvalidRequestError: the template rejects the conversation.
        """
        try:
            prompt = self._formatter(messages=messages).prompt
        except (ValueError, TypeError) as exc:
            raise InvalidRequestError(
                f"The model's chat template rejected the messages: {exc}", param="messages"
            ) from None
        bos = self._llm._model.token_bos()
        bos_text = self._piece(bos, special=True).decode("utf-8", "replace") if bos >= 0 else ""
        add_bos = not (bos_text and prompt.startswith(bos_text))
        return list(self._llm.tokenize(prompt.encode("utf-8"), add_bos=add_bos, special=True))

    def check_grammar(self, gbnf: str) -> None:
        """Check that llama.cpp accepts a grammar (a NULL sampler would crash the process).

        Args:
            gbnf: grammar text with a ``root`` rule.

        Raises:
            InvalidRequestError: llama.cpp cannot parse it.
        """
        sampler = self._lib.llama_sampler_init_grammar(self._vocab, gbnf.encode(), b"root")
        if not sampler:
            raise InvalidRequestError("The grammar built from the request could not be parsed.")
        self._lib.llama_sampler_free(sampler)

    def count_tokens(self, text: str) -> int:
        """Number of tokens of ``text`` (no special tokens added)."""
        return len(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def generate(
        self,
        tokens: list[int],
        sampling: Sampling,
        *,
        max_tokens: int,
        stops: Sequence[str] = (),
        ignore_eos: bool = False,
        keep_grammar: Callable[[str], bool] | None = None,
        cancel: threading.Event,
        on_text: Callable[[str], None],
    ) -> GenerationResult:
        """Generate a reply, calling ``on_text`` with each new piece of text.

        Args:
            tokens: the prompt.
            sampling: sampling settings (and grammar).
            max_tokens: the most tokens to generate.
            stops: stop strings; the text from a stop string on is not returned.
            ignore_eos: keep going past end-of-generation tokens (benchmarks).
            keep_grammar: called once with the first token's text when a grammar is set;
                returning False drops the grammar for the rest of the reply.
            cancel: set by the server when the client has gone.
            on_text: receives text deltas.

        Returns:
            How and after how many tokens the generation ended.
        """
        llm = self._llm
        started = time.perf_counter()
        first_token: float | None = None
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        stopper = StopMatcher(stops)
        llm.engine_sampling = sampling
        llm.engine_ignore = self._eog_tokens if ignore_eos and sampling.grammar is None else ()
        llm.set_seed(sampling.seed)
        produced = 0
        finish = "length"
        hit_stop = False
        history = list(tokens)
        stream = llm.generate(history, reset=True)
        try:
            while produced < max_tokens:
                if cancel.is_set():
                    finish = "cancelled"
                    break
                try:
                    tok = next(stream)
                except StopIteration:
                    finish = "stop"
                    break
                if first_token is None:
                    first_token = time.perf_counter() - started
                if tok in self._stop_tokens and not (ignore_eos and tok in self._eog_tokens):
                    finish = "stop"
                    break
                produced += 1
                history.append(tok)
                text = decoder.decode(self._piece(tok))
                out, stopped = stopper.feed(text)
                if out:
                    on_text(out)
                if stopped:
                    finish, hit_stop = "stop", True
                    break
                if (
                    produced == 1
                    and sampling.grammar is not None
                    and keep_grammar is not None
                    and not keep_grammar(text)
                ):
                    # Restart without the grammar; the prompt and this token are reused
                    # from the KV cache, so this costs one token's evaluation.
                    stream.close()
                    llm.engine_sampling = replace(sampling, grammar=None)
                    stream = llm.generate(history, reset=True)
        finally:
            stream.close()
        if not hit_stop and finish != "cancelled":
            tail = stopper.flush() + decoder.decode(b"", final=True)
            if tail:
                on_text(tail)
        return GenerationResult(finish, produced, first_token)

    def _piece(self, tok: int, *, special: bool = False) -> bytes:
        cached = self._pieces.get(tok) if not special else None
        if cached is not None:
            return cached
        n = self._lib.llama_token_to_piece(self._vocab, tok, self._buf, len(self._buf), 0, special)
        if n < 0:
            buf = ctypes.create_string_buffer(-n)
            n = self._lib.llama_token_to_piece(self._vocab, tok, buf, -n, 0, special)
            piece = bytes(buf.raw[:n])
        else:
            piece = bytes(self._buf.raw[:n])
        if not special:
            self._pieces[tok] = piece
        return piece

    def close(self) -> None:
        """Free the model's memory."""
        self._llm.close()


def random_seed() -> int:
    """A fresh seed for requests that do not give one."""
    return random.getrandbits(31)


def load_chat_model(
    path: Path, *, threads: int, ctx_size: int | None, progress: Callable[[str, float], None]
) -> ChatModel:
    """Load a GGUF chat model.

    Args:
        path: the ``.gguf`` file.
        threads: CPU threads for generation.
        ctx_size: context length; default is the model's own, capped at 8192.
        progress: receives (stage, fraction) updates.

    Returns:
        The loaded model, warmed up.
    """
    progress("importing llama.cpp", 0.05)
    import llama_cpp
    import numpy
    from llama_cpp import Llama
    from llama_cpp import _internals as internals
    from llama_cpp._logger import set_verbose
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    # llama.cpp logs every tensor while loading; errors still get through.
    set_verbose(False)

    class GrammarCheckedSampler:
        """Samples as if unconstrained and asks the grammar only about the chosen token.

        llama-cpp-python's chain runs the grammar over the whole vocabulary at every step
        (49k candidates for SmolLM2), which made constrained output several times slower
        than free text. llama.cpp's own sampler does what this does: most tokens inside
        strings and numbers pass the grammar, and only a rejected one costs a full pass
        (grammar, then the chain) over all candidates.
        """

        def __init__(self, chain: Any, grammar: Any, n_vocab: int) -> None:
            self._chain = chain
            self._grammar = grammar
            self._n_vocab = n_vocab
            self._one = (llama_cpp.llama_token_data * 1)()
            self._one_array = llama_cpp.llama_token_data_array(
                data=self._one, size=1, selected=-1, sorted=False
            )
            self._all = (llama_cpp.llama_token_data * n_vocab)()
            self._all_array = llama_cpp.llama_token_data_array(
                data=self._all, size=n_vocab, selected=-1, sorted=False
            )
            layout = numpy.dtype([("id", "<i4"), ("logit", "<f4"), ("p", "<f4")])
            self._view = numpy.frombuffer(memoryview(self._all), dtype=layout)
            self._ids = numpy.arange(n_vocab, dtype=numpy.int32)

        def sample(self, ctx: Any, idx: int) -> int:
            token = int(self._chain.sample(ctx, idx))
            self._one[0] = llama_cpp.llama_token_data(token, 1.0, 0.0)
            self._one_array.size, self._one_array.selected = 1, -1
            llama_cpp.llama_sampler_apply(self._grammar, ctypes.byref(self._one_array))
            if self._one[0].logit != -float("inf"):
                llama_cpp.llama_sampler_accept(self._grammar, token)
                return token
            logits = llama_cpp.llama_get_logits_ith(ctx.ctx, idx)
            view = self._view
            view["id"] = self._ids
            view["logit"] = numpy.ctypeslib.as_array(logits, shape=(self._n_vocab,))
            view["p"] = 0.0
            arr = self._all_array
            arr.size, arr.selected, arr.sorted = self._n_vocab, -1, False
            llama_cpp.llama_sampler_apply(self._grammar, ctypes.byref(arr))
            llama_cpp.llama_sampler_apply(self._chain.sampler, ctypes.byref(arr))
            token = int(self._all[arr.selected].id)
            llama_cpp.llama_sampler_accept(self._grammar, token)
            # The chain already took the rejected token into its history when it sampled it;
            # it learns the final one too (penalties see both, an accepted approximation).
            llama_cpp.llama_sampler_accept(self._chain.sampler, token)
            return token

        def close(self) -> None:
            if self._grammar is not None:
                llama_cpp.llama_sampler_free(self._grammar)
                self._grammar = None
            self._chain.close()

        def __del__(self) -> None:
            self.close()

    class EngineLlama(Llama):
        """Llama whose sampler chain comes from the engine's :class:`Sampling`."""

        engine_sampling: Sampling = Sampling()
        engine_ignore: Sequence[int] = ()

        def _init_sampler(self, *_: Any, **__: Any) -> Any:
            s = self.engine_sampling
            sampler = internals.LlamaSampler()
            bias = dict(s.logit_bias)
            for tok in self.engine_ignore:
                bias[tok] = -float("inf")
            if bias:
                sampler.add_logit_bias(self._n_vocab, bias)
            sampler.add_penalties(
                n_vocab=self._n_vocab,
                penalty_last_n=_PENALTY_LAST_N,
                penalty_repeat=s.repeat_penalty,
                penalty_freq=s.frequency_penalty,
                penalty_present=s.presence_penalty,
            )
            if s.temperature <= 0:
                sampler.add_greedy()
            else:
                if s.top_k > 0:
                    sampler.add_top_k(s.top_k)
                sampler.add_typical(s.typical_p, 1)
                sampler.add_top_p(s.top_p, 1)
                sampler.add_min_p(s.min_p, 1)
                sampler.add_temp(s.temperature)
                sampler.add_dist(self._seed)
            if s.grammar is None:
                return sampler
            grammar = llama_cpp.llama_sampler_init_grammar(
                self._model.vocab, s.grammar.encode("utf-8"), b"root"
            )
            return GrammarCheckedSampler(sampler, grammar, self._n_vocab)

    progress("reading weights", 0.2)
    # The trained context length decides the KV cache size, so read it first from the
    # vocabulary-only view of the file (no weights, no context).
    params = llama_cpp.llama_model_default_params()
    params.vocab_only = True
    probe = llama_cpp.llama_model_load_from_file(str(path).encode(), params)
    if not probe:
        raise ValueError(f"{path} is not a GGUF model llama.cpp can read")
    n_train = llama_cpp.llama_model_n_ctx_train(probe)
    llama_cpp.llama_model_free(probe)
    n_ctx = ctx_size or min(n_train, _MAX_CTX) or _MAX_CTX
    llm = EngineLlama(
        model_path=str(path), n_ctx=n_ctx, n_threads=threads, n_batch=512, verbose=False
    )
    progress("preparing the chat template", 0.8)
    template = llm.metadata.get("tokenizer.chat_template") or CHATML_TEMPLATE
    model = llm._model

    def token_text(tok: int) -> str:
        return model.token_get_text(tok) if tok >= 0 else ""

    formatter = Jinja2ChatFormatter(
        template=template,
        eos_token=token_text(model.token_eos()),
        bos_token=token_text(model.token_bos()),
    )
    chat = ChatModel(llm, formatter, llama_cpp, Path(path))
    progress("warming up", 0.9)
    # One real decode pages the weights in, so the first request's latency is the model's.
    chat.generate(
        chat.render([{"role": "user", "content": "Hi"}]),
        Sampling(temperature=0),
        max_tokens=1,
        cancel=threading.Event(),
        on_text=lambda _: None,
    )
    return chat
