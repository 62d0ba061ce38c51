"""Constants and media makers shared by the engine tests."""

from __future__ import annotations

import io

CHAT_MODEL = "smollm2-135m-instruct"
COPY_MODEL = "tiny-copy"
EMBED_MODEL = "multilingual-e5-small"
AUDIO_MODEL = "whisper-tiny.en"
SYSTEM = "You are a helpful assistant."
AUDIO_FORMATS = ("mp3", "flac", "ogg", "m4a", "webm")


def encode_audio(wav: bytes, fmt: str) -> bytes:
    """Re-encode WAV bytes as mp3, flac, ogg (Opus), m4a (AAC) or webm (Opus) with PyAV."""
    import av

    codec, container, rate = {
        "mp3": ("libmp3lame", "mp3", 22050),
        "flac": ("flac", "flac", 22050),
        "ogg": ("libopus", "ogg", 48000),
        "m4a": ("aac", "mp4", 22050),
        "webm": ("libopus", "webm", 48000),
    }[fmt]
    out_buf = io.BytesIO()
    with av.open(io.BytesIO(wav)) as source, av.open(out_buf, "w", format=container) as out:
        stream = out.add_stream(codec, rate=rate)
        stream.layout = "mono"
        fmt_name = stream.codec_context.codec.audio_formats[0].name
        resampler = av.AudioResampler(format=fmt_name, layout="mono", rate=rate)
        for frame in source.decode(audio=0):
            frame.pts = None
            for converted in resampler.resample(frame):
                for packet in stream.encode(converted):
                    out.mux(packet)
        for converted in resampler.resample(None):
            for packet in stream.encode(converted):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return out_buf.getvalue()


def receipt_png(lines: list[str], *, size: int = 28) -> bytes:
    """A white image with the given lines printed in black."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default(size=size)
    height = 40 + len(lines) * int(size * 1.8)
    image = Image.new("RGB", (560, height), "white")
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        draw.text((24, 20 + i * int(size * 1.8)), line, fill="black", font=font)
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()
