"""OCR for image questions: rapidocr (PP-OCRv4 on onnxruntime) and the text layout it yields.

The chat model never sees pixels. It gets the image's text, laid out the way a person reads a
receipt or a form: boxes on the same visual row are joined left to right, so "TOTAL" and its
amount stay on one line, which is what a 135M-parameter model needs to pair them up.
Measured with ``bench/engine.py --ocr-eval`` on 24 generated receipts ("What is the total?"):
one box per line 15/24, rows joined 18/24, rows joined with the image text before the
question 24/24 (the order the engine uses).

Heavy imports (rapidocr, onnxruntime, numpy, Pillow) happen in :func:`load_ocr` only.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from app.engine._errors import MediaError

__all__ = ["OcrBox", "OcrEngine", "format_ocr_block", "group_rows", "load_ocr"]


@dataclass(frozen=True)
class OcrBox:
    """One recognised piece of text.

    Attributes:
        text: the text.
        left: left edge (pixels).
        right: right edge.
        top: top edge.
        bottom: bottom edge.
        score: recognition confidence.
    """

    text: str
    left: float
    right: float
    top: float
    bottom: float
    score: float


def group_rows(boxes: Sequence[OcrBox]) -> list[str]:
    """Lay boxes out as lines of text, top to bottom, left to right.

    A box joins a row when its vertical centre lies within half a box height of the row's
    centre; within a row a wide gap becomes two spaces (columns), a narrow one a space.

    Args:
        boxes: recognised boxes in any order.

    Returns:
        The text lines.
    """
    rows: list[list[OcrBox]] = []
    for box in sorted(boxes, key=lambda b: (b.top + b.bottom) / 2):
        centre = (box.top + box.bottom) / 2
        height = max(1.0, box.bottom - box.top)
        if rows:
            row = rows[-1]
            row_centre = sum((b.top + b.bottom) / 2 for b in row) / len(row)
            row_height = max(1.0, sum(b.bottom - b.top for b in row) / len(row))
            if abs(centre - row_centre) <= 0.5 * min(height, row_height):
                row.append(box)
                continue
        rows.append([box])
    lines: list[str] = []
    for row in rows:
        row.sort(key=lambda b: b.left)
        parts = [row[0].text]
        for prev, box in itertools.pairwise(row):
            gap = box.left - prev.right
            parts.append(("  " if gap > (box.bottom - box.top) else " ") + box.text)
        lines.append("".join(parts))
    return lines


def format_ocr_block(number: int, lines: Sequence[str]) -> str:
    """The text that stands in for image ``number`` in the chat model's prompt.

    Args:
        number: 1-based image number in the conversation.
        lines: the image's text lines.

    Returns:
        A delimited block, or a note that the image holds no readable text.
    """
    if not lines:
        return f"[Image {number}: no readable text was found in it.]"
    body = "\n".join(lines)
    return f"[Image {number}: its text, read by OCR, line by line]\n{body}\n[End of image {number}]"


class OcrEngine:
    """A loaded OCR pipeline (detection, orientation, recognition)."""

    def __init__(self, ocr: Any, image_module: Any, numpy: Any) -> None:
        self._ocr = ocr
        self._image = image_module
        self._np = numpy

    def read(self, data: bytes) -> list[OcrBox]:
        """Recognise the text in an encoded image.

        Args:
            data: PNG, JPEG, GIF, BMP, TIFF, WebP... bytes.

        Returns:
            The recognised boxes.

        Raises:
            MediaError: the bytes are not an image Pillow can decode.
        """
        image_mod = self._image
        try:
            with image_mod.open(io.BytesIO(data)) as img:
                img.load()
                rgb = img.convert("RGB")
        except (OSError, ValueError, image_mod.DecompressionBombError, SyntaxError) as exc:
            raise MediaError(f"The image could not be decoded: {exc}", param="messages") from None
        # rapidocr works on OpenCV's BGR channel order.
        pixels = self._np.asarray(rgb)[:, :, ::-1].copy()
        result, _ = self._ocr(pixels)
        boxes: list[OcrBox] = []
        for points, text, score in result or []:
            xs = [float(p[0]) for p in points]
            ys = [float(p[1]) for p in points]
            boxes.append(OcrBox(str(text), min(xs), max(xs), min(ys), max(ys), float(score)))
        return boxes


def load_ocr(*, threads: int, progress: Callable[[str, float], None]) -> OcrEngine:
    """Load rapidocr's ONNX models.

    Args:
        threads: onnxruntime intra-op threads.
        progress: receives (stage, fraction) updates.

    Returns:
        The OCR engine, warmed up on a blank image.
    """
    progress("importing onnxruntime", 0.1)
    import numpy
    from PIL import Image
    from rapidocr_onnxruntime import RapidOCR

    progress("loading OCR models", 0.4)
    ocr = RapidOCR(intra_op_num_threads=threads, inter_op_num_threads=1)
    engine = OcrEngine(ocr, Image, numpy)
    progress("warming up", 0.9)
    blank = io.BytesIO()
    Image.new("RGB", (64, 32), "white").save(blank, format="PNG")
    engine.read(blank.getvalue())
    return engine
