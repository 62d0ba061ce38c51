"""SSE framing of chat streams, read by read, checked against httpx-sse's spec decoder."""

from __future__ import annotations

import codecs
import itertools
import json
import random

import pytest
from httpx_sse._decoders import SSEDecoder, SSELineDecoder

from app.client._streaming import _EventFramer


def event(i: int) -> str:
    """One ordinary chunk event, with non-ASCII text."""
    body = {"id": "c", "choices": [{"index": 0, "delta": {"content": f"tök {i} 🔥"}}]}
    return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"


# Every shape an event stream takes, framed by a blank line; no in-band errors (their handling
# differs on purpose) and nothing after the last blank line (compared separately below).
SHAPES = [
    event(1),
    ": ping\n\n",
    ":\n\n",
    "data: : ping wrapped by a gateway\n\n",
    "data:\n\n",
    "data: \n\n",
    "data:no-space\n\n",
    "data:  two spaces\n\n",
    "data\n\n",
    "retry: 3000\n\n",
    "id: 7\n\n",
    "event: ping\n\n",
    f"id: 8\nevent: message\n{event(2)}",
    "data: first line\ndata: second line\n\n",
    f": note before data\n{event(3)}",
    event(4)[:-1] + ": trailing comment\n\n",
    "unknown: field\ndata: kept\n\n",
    "\n\n\n",
    "data: [DONE]\n\n",
]


def reference(reads: list[bytes]) -> list[list[str]]:
    """httpx-sse's decoder fed the same reads: the non-empty data it dispatches per read."""
    text = codecs.getincrementaldecoder("utf-8")()
    lines = SSELineDecoder()
    decoder = SSEDecoder()
    out: list[list[str]] = []
    for read in reads:
        dispatched = []
        for line in lines.decode(text.decode(read)):
            sse = decoder.decode(line)
            if sse is not None and sse.data:
                dispatched.append(sse.data)
        out.append(dispatched)
    return out


def framed(reads: list[bytes]) -> list[list[str]]:
    """The framer fed the reads: the non-empty data it returns per read."""
    framer = _EventFramer()
    out = [[d.decode() for d in framer.feed(read) if d] for read in reads]
    assert framer.error is None
    return out


def cut(data: bytes, points: list[int]) -> list[bytes]:
    """``data`` as network reads, cut at ``points``."""
    bounds = [0, *sorted(set(points)), len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds) if b > a]


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"], ids=["lf", "crlf", "cr"])
def test_every_single_cut_matches_the_spec_decoder_read_by_read(newline: str) -> None:
    data = "".join(SHAPES).replace("\n", newline).encode()
    for point in range(1, len(data)):
        reads = cut(data, [point])
        # Read by read, not only in total: an event is handed on by the read that completes it.
        assert framed(reads) == reference(reads), f"cut at byte {point}"


@pytest.mark.parametrize("seed", range(40))
def test_random_streams_and_cuts_match_the_spec_decoder(seed: int) -> None:
    rng = random.Random(seed)
    newline = rng.choice(["\n", "\n", "\r\n", "\r"])
    shapes = [event(i) for i in range(20)] + SHAPES
    stream = "".join(rng.choice(shapes) for _ in range(rng.randint(1, 60)))
    data = stream.replace("\n", newline).encode()
    reads = cut(data, [rng.randrange(1, len(data) + 1) for _ in range(rng.randint(0, 12))])
    assert framed(reads) == reference(reads)


def test_one_read_of_many_events_yields_their_data_in_order() -> None:
    events = [event(i) for i in range(64)]
    payloads = _EventFramer().feed("".join(events).encode())
    assert [p.decode() for p in payloads] == [e[6:-2] for e in events]


def test_events_cut_by_the_network_are_completed_by_the_next_read() -> None:
    framer = _EventFramer()
    data = (event(1) + event(2) + event(3)).encode()
    middle = len(event(1)) + 10
    assert framer.feed(data[:middle]) == [event(1)[6:-2].encode()]
    assert framer.feed(data[middle:-1]) == [event(2)[6:-2].encode()]
    assert framer.feed(data[-1:]) == [event(3)[6:-2].encode()]


def test_complete_lines_without_the_final_blank_line_make_a_last_event() -> None:
    framer = _EventFramer()
    assert framer.feed(b"\xef\xbb\xbf" + event(1).encode() + b"data: [DONE]\r") == [
        event(1)[6:-2].encode()
    ]
    assert framer.finish() == [b"[DONE]"]
    cut_off = _EventFramer()
    assert cut_off.feed(b"data: [DO") == [] and cut_off.finish() == []


@pytest.mark.parametrize(
    ("error_event", "payload"),
    [
        ('event: error\ndata: {"error": {"message": "boom"}}\n\n', {"error": {"message": "boom"}}),
        ("event: error\ndata: plain words\n\n", {"error": "plain words"}),
        (
            'error: {"code": 400, "message": "too long"}\n\n',
            {"error": {"code": 400, "message": "too long"}},
        ),
    ],
    ids=["event-error", "event-error-text", "llama-cpp-error-field"],
)
def test_an_error_event_ends_the_framing_after_the_data_before_it(
    error_event: str, payload: dict[str, object]
) -> None:
    framer = _EventFramer()
    data = (event(1) + event(2) + error_event + event(3)).encode()
    assert framer.feed(data) == [event(1)[6:-2].encode(), event(2)[6:-2].encode()]
    assert framer.error == payload
