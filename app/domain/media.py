"""Images for the vision tab: reading dropped files, provider limits, and request-ready parts.

A dropped or pasted file goes through two steps, both meant to run off the UI thread
(``asyncio.to_thread``; DESIGN §7 gives the UI no more than one 16 ms beat for ten 24-MP photos):

- :func:`read_image` checks the bytes (empty, not an image, PDF, damaged, decompression bomb,
  unsupported) and returns a :class:`SourceImage`: size after EXIF orientation, alpha, animation
  and a small PNG thumbnail for the attachment strip. It keeps the *original bytes*, not the
  decoded pixels: ten 24-MP photos are ~100 MB of JPEG but 720 MB of RGB, and a JPEG is
  re-decoded cheaply at prepare time with ``draft()`` (DCT scaling) at the size actually sent.
- :func:`prepare` (or :func:`prepare_all` for one request's images) turns it into a
  :class:`PreparedImage` that a provider accepts (:func:`limits_for`): transcoded when the format
  is refused (Fireworks takes no WebP), oriented, downscaled to a long side, re-encoded down a
  quality/size ladder until its data URL fits the byte budget, metadata (EXIF, GPS) stripped.

:func:`image_part` and :func:`url_part` build the OpenAI ``image_url`` content parts, and
:func:`estimate_image_tokens` says roughly what an image costs.

Pillow is imported on first use, not at import time (the app's start-up budget is 250 ms).
HEIC/HEIF files need the optional ``pillow-heif`` package; its opener is registered on the first
HEIF file seen, and without it such files are refused with a message that says so.

Example:
    >>> source = read_image(png_bytes, "chart.png")
    >>> source.format, source.width, source.height
    ('PNG', 1200, 800)
    >>> prepared = prepare_all([source], limits_for("fireworks"))[0]
    >>> image_part(prepared)["image_url"]["url"][:22]
    'data:image/png;base64,'
"""

from __future__ import annotations

import base64
import functools
import io
import math
import threading
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from app.client import FireplayError
from app.domain.connections import FIREWORKS_PROVIDER_ID, LOCAL_PROVIDER_ID

if TYPE_CHECKING:
    from PIL import Image as PILImage

__all__ = [
    "MAX_PIXELS",
    "OPENAI_PROVIDER_ID",
    "THUMBNAIL_SIDE",
    "Detail",
    "ImageLimits",
    "MediaError",
    "PreparedImage",
    "SourceImage",
    "estimate_image_tokens",
    "image_part",
    "is_image_url",
    "limits_for",
    "prepare",
    "prepare_all",
    "read_image",
    "url_part",
]

Detail = Literal["auto", "low", "high"]
TokenRule = Literal["tiles", "patches", "ocr"]

OPENAI_PROVIDER_ID = "openai"
"""The built-in OpenAI profile's id (``app.settings.default_providers``)."""

MAX_PIXELS = 100_000_000
"""Images above 100 megapixels are refused as possible decompression bombs (a 24-MP photo is
fine; a 100-MP medium-format one is not sent to any vision API at that size anyway)."""

THUMBNAIL_SIDE = 160
"""Long side of :attr:`SourceImage.thumbnail`, in pixels."""

MIN_LONG_SIDE = 256
"""The smallest long side the re-encoding ladder goes down to (or the image's own, if smaller)."""

_JPEG_QUALITIES = (90, 85, 75, 60)
# A JPEG that DCT scaling (1/2, 1/4, 1/8) decodes to within 10 % under the long side is sent at
# that size: 6000 px to 1536 then decodes at 1/4 (1500 px) instead of 1/2 plus a resample, about
# 2.5 times faster, and Pillow allocates 6 MB instead of 24 MB for it while holding the GIL
# (bench/vision_prepare.py: that allocation is what made the UI thread miss 16 ms beats).
_DRAFT_SLACK = 0.9
_SIDE_STEP = 0.75  # each smaller rung of the ladder: 3/4 of the long side (area x 0.56)
_GRAPHIC_SAMPLE = 128  # long side of the sample that counts colours
_GRAPHIC_COLOURS = 1024  # at most this many distinct colours in it: a graphic or a screenshot
_LOCAL_OCR_TOKENS = 256

# Pillow's format names; MPO (a camera JPEG with a preview appended) is read as JPEG.
_READABLE = frozenset(
    {"PNG", "JPEG", "WEBP", "GIF", "BMP", "DIB", "TIFF", "PPM", "HEIF", "AVIF", "ICO", "TGA"}
)
_MIME = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}
_FORMAT_NAMES = {"JPEG": "JPEG", "WEBP": "WebP", "HEIF": "HEIC/HEIF", "PPM": "PPM/PGM"}
_HEIF_BRANDS = frozenset(
    {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs", b"mif1", b"msf1"}
)
# EXIF orientation -> Image.Transpose member name; the table of ImageOps.exif_transpose.
_ORIENTATION_TRANSPOSE = {
    2: "FLIP_LEFT_RIGHT",
    3: "ROTATE_180",
    4: "FLIP_TOP_BOTTOM",
    5: "TRANSPOSE",
    6: "ROTATE_270",
    7: "TRANSVERSE",
    8: "ROTATE_90",
}
_EXIF_ORIENTATION = 0x0112

# Image.open touches the process-wide warnings filters (see _open); one opener at a time.
# Opening only parses the header, so this never serialises the decoding itself.
_OPEN_LOCK = threading.Lock()


class MediaError(FireplayError):
    """An image cannot be read, converted or sent; the message names the file and says why.

    A :class:`~app.client.FireplayError` beside ``APIError`` (DESIGN §4.2), so a presenter that
    catches only ``FireplayError`` shows it in ``attachStatus`` like any other failure.
    """


# -- provider limits -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ImageLimits:
    """What one provider takes in image parts.

    Attributes:
        provider: Provider name for messages ("Fireworks").
        formats: Pillow format names sent as they are; anything else is transcoded.
        accepts_animated: Whether animated images may be sent; otherwise the first frame is.
        max_images: Images per request.
        max_total_base64: Characters of all data URLs of one request together (the sum stays
            below this).
        max_image_bytes: Encoded bytes of one image (before base64).
        long_side: Default long side images are downscaled to (never upscaled).
        low_detail_long_side: Long side for ``detail="low"``, where the provider looks at a
            fixed small size anyway; None when detail changes nothing known.
        accepts_urls: Whether ``https`` image URLs are fetched by the provider.
        tokens: Rule for :func:`estimate_image_tokens`.
        source: Where the figures come from.
    """

    provider: str
    formats: frozenset[str]
    max_images: int
    max_total_base64: int
    max_image_bytes: int
    long_side: int
    tokens: TokenRule
    source: str
    accepts_animated: bool = False
    low_detail_long_side: int | None = None
    accepts_urls: bool = True


_MB = 1000 * 1000  # decimal: the stricter reading of "10 MB"

FIREWORKS_LIMITS = ImageLimits(
    provider="Fireworks",
    formats=frozenset({"PNG", "JPEG", "GIF", "BMP", "TIFF", "PPM"}),
    max_images=30,
    max_total_base64=10 * _MB,
    # Stated for URL images only; applied to inline ones too, to stay on the safe side.
    max_image_bytes=5 * _MB,
    # Qwen2.5-VL: 1536x1024 is ~2,000 tokens, inside the 1,000-2,500 a common image costs.
    long_side=1536,
    tokens="patches",
    source=(
        "Fireworks docs, vision 'Known limitations' (wire reference §3, FW-DOCS-25): at most 30 "
        "images, total base64 < 10 MB, URL images < 5 MB, .png .jpg .jpeg .gif .bmp .tiff .ppm, "
        "no WebP. Animated GIF support is not stated: the first frame is sent."
    ),
)

OPENAI_LIMITS = ImageLimits(
    provider="OpenAI",
    formats=frozenset({"PNG", "JPEG", "WEBP", "GIF"}),
    max_images=500,
    # 50 MB is the whole request payload; 5 MB are left for the text of long conversations.
    max_total_base64=45 * _MB,
    max_image_bytes=20 * _MB,
    # High detail fits every image in 2048x2048 (then shortest side 768): more is never seen.
    long_side=2048,
    low_detail_long_side=512,
    tokens="tiles",
    source=(
        "OpenAI vision guide (best knowledge, 2025): PNG, JPEG, WEBP, non-animated GIF; up to "
        "500 images and 50 MB total payload per request; 20 MB per image (older guide); low "
        "detail is a 512x512 view; high detail fits 2048x2048 then shortest side 768."
    ),
)

LOCAL_LIMITS = ImageLimits(
    provider="The built-in engine",
    formats=frozenset({"PNG", "JPEG"}),
    max_images=50,
    # app/engine/_server.py MAX_JSON_BYTES (32 MiB body), 2 MiB left for the text.
    max_total_base64=30 * 1024 * 1024,
    max_image_bytes=20 * 1024 * 1024,  # app/engine/_messages.py MAX_IMAGE_BYTES
    # It reads the text with OCR: receipts and screenshots need their pixels.
    long_side=2560,
    tokens="ocr",
    accepts_urls=False,  # it reads data URLs only
    source=(
        "app/engine (OCR with rapidocr on Pillow-decoded data URLs; 32 MiB request body, "
        "20 MiB per image); PNG and JPEG are enough, other formats are converted first."
    ),
)

GENERIC_LIMITS = ImageLimits(
    provider="This provider",
    formats=frozenset({"PNG", "JPEG"}),
    max_images=20,
    max_total_base64=10 * _MB,
    max_image_bytes=5 * _MB,
    long_side=1536,
    tokens="patches",
    source=(
        "No published limits for an arbitrary OpenAI-compatible server: conservative defaults "
        "that vLLM, llama.cpp, Ollama and hosted APIs all take."
    ),
)


def limits_for(provider_id: str) -> ImageLimits:
    """The image limits of a provider profile.

    Args:
        provider_id: ``"fireworks"``, ``"openai"``, ``"local"`` (the built-in engine), or any
            other profile id (a custom OpenAI-compatible server: conservative defaults).

    Returns:
        The limits.
    """
    return {
        FIREWORKS_PROVIDER_ID: FIREWORKS_LIMITS,
        OPENAI_PROVIDER_ID: OPENAI_LIMITS,
        LOCAL_PROVIDER_ID: LOCAL_LIMITS,
    }.get(provider_id, GENERIC_LIMITS)


# -- reading ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, repr=False)
class SourceImage:
    """An image file that was read and checked, before it is prepared for a provider.

    Attributes:
        name: File name, for messages and the attachment strip.
        size: Size of the original file in bytes.
        format: Pillow format name: "PNG", "JPEG", "WEBP", "GIF", "HEIF", ...
        width: Width after EXIF orientation.
        height: Height after EXIF orientation.
        has_alpha: Whether some pixel is not fully opaque (an all-opaque alpha channel, as in
            many screenshots, counts as none).
        is_animated: Whether the file holds several frames (only the first one is sent).
        is_graphic: Whether the image has few colours (a chart, a screenshot): PNG suits it
            better than JPEG when it must be transcoded.
        thumbnail: PNG of the oriented image, long side :data:`THUMBNAIL_SIDE` at most.
        data: The original bytes, decoded again by :func:`prepare` (see the module docstring).
        orientation: The EXIF orientation (1-8) that :func:`prepare` applies.
        has_metadata: Whether the file carries EXIF or XMP (camera, GPS position): such a file
            is always re-encoded, which drops it.
    """

    name: str
    size: int
    format: str
    width: int
    height: int
    has_alpha: bool
    is_animated: bool
    is_graphic: bool
    thumbnail: bytes
    data: bytes
    orientation: int = 1
    has_metadata: bool = False

    def __repr__(self) -> str:
        return (
            f"SourceImage({self.name!r}, {self.format} {self.width}x{self.height}, "
            f"{self.size:,} bytes, alpha={self.has_alpha}, animated={self.is_animated})"
        )


def is_image_url(text: str) -> bool:
    """Whether ``text`` is an ``http(s)`` URL that a provider could fetch as an image part.

    Such URLs are sent as they are (:func:`url_part`), never downloaded here. Nothing is
    guessed from the extension: many image URLs have none.
    """
    text = text.strip()
    if not text or any(ch.isspace() for ch in text):
        return False
    try:
        parts = urlsplit(text)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def read_image(data: bytes, name: str) -> SourceImage:
    """Check an image file and describe it.

    The whole image is decoded once, so a truncated or damaged file is refused now rather
    than when the request is sent; a large JPEG is decoded at 1/8 scale (``draft``), which still
    reads every byte.

    Args:
        data: The file's bytes.
        name: The file name, used in messages.

    Returns:
        The checked image.

    Raises:
        MediaError: The file is empty, not an image (a PDF, text, SVG), damaged or truncated,
            larger than :data:`MAX_PIXELS`, HEIC without pillow-heif, or in a format Fireplay
            does not read.
    """
    if not data:
        raise MediaError(f"{name} is empty.")
    _refuse_non_images(data, name)
    with _open(data, name) as img:
        fmt = "JPEG" if img.format == "MPO" else (img.format or "")
        if fmt not in _READABLE:
            readable = ", ".join(_FORMAT_NAMES.get(f, f) for f in sorted(_READABLE - {"DIB"}))
            raise MediaError(
                f"{name} is a {_FORMAT_NAMES.get(fmt, fmt)} image, which Fireplay does not read "
                f"(it reads {readable})."
            )
        width, height = img.size
        is_animated = fmt != "JPEG" and bool(getattr(img, "is_animated", False))
        if is_animated:
            img.seek(0)
        if fmt == "JPEG":
            img.draft(_draft_mode(img), (2 * THUMBNAIL_SIDE, 2 * THUMBNAIL_SIDE))
        _load(img, name)
        orientation = _orientation(img)
        has_metadata = any(img.info.get(key) for key in ("exif", "xmp", "XML:com.adobe.xmp"))
        image = _normalised(img)
        has_alpha = image.mode in ("RGBA", "LA") and _alpha_used(image)
        if image.mode in ("RGBA", "LA") and not has_alpha:
            image = image.convert(image.mode[:-1])
        thumb = _oriented(_fit(image, THUMBNAIL_SIDE), orientation)
        out = io.BytesIO()
        thumb.save(out, "PNG")
        is_graphic = _is_graphic(image)
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    return SourceImage(
        name=name,
        size=len(data),
        format=fmt,
        width=width,
        height=height,
        has_alpha=has_alpha,
        is_animated=is_animated,
        is_graphic=is_graphic,
        thumbnail=out.getvalue(),
        data=data,
        orientation=orientation,
        has_metadata=has_metadata,
    )


def _alpha_used(image: PILImage.Image) -> bool:
    # getextrema() allocates nothing, unlike getchannel("A") (a full-size band, under the GIL).
    extrema: Any = image.getextrema()
    return bool(extrema[-1][0] < 255)


def _refuse_non_images(data: bytes, name: str) -> None:
    head = data[:1024]
    if head.startswith(b"%PDF-"):
        raise MediaError(f"{name} is a PDF, not an image.")
    if _is_heif(head) and not _heif_opener():
        raise MediaError(
            f"{name} is a HEIC/HEIF image; reading HEIC needs the optional pillow-heif package "
            "(pip install pillow-heif), or convert it to JPEG first."
        )


def _describe_unreadable(data: bytes, name: str) -> str:
    head = data[:1024]
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith((b"<svg", b"<?xml")) and b"<svg" in data[:4096].lower():
        return f"{name} is an SVG drawing, not a bitmap image; export it as PNG first."
    if head.startswith(b"PK\x03\x04"):
        return f"{name} is a ZIP archive (or an Office document), not an image."
    if b"\x00" not in head:
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as exc:
            # A multi-byte character cut at the 1,024th byte is still text.
            if exc.start < len(head) - 3:
                return f"{name} is not an image, or in a format Fireplay cannot read."
        return f"{name} is a text file, not an image."
    return f"{name} is not an image, or in a format Fireplay cannot read."


def _is_heif(head: bytes) -> bool:
    return head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS


@functools.cache
def _heif_opener() -> bool:
    """Register pillow-heif's opener once; False when it is not installed (or does not load)."""
    try:
        from pillow_heif import register_heif_opener
    except ImportError:
        return False
    register_heif_opener()
    return True


@contextmanager
def _open(data: bytes, name: str) -> Iterator[PILImage.Image]:
    """``Image.open`` with every failure turned into a :class:`MediaError` naming the file.

    Pillow warns (``DecompressionBombWarning``) above ~89 MP and raises above ~179 MP; the
    warning is silenced here because :data:`MAX_PIXELS` is checked right after, without
    changing ``Image.MAX_IMAGE_PIXELS`` for the rest of the process.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with _OPEN_LOCK, warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        raise MediaError(_describe_unreadable(data, name)) from None
    except Image.DecompressionBombError:
        raise MediaError(_too_many_pixels(name, None)) from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError) as exc:
        raise MediaError(f"{name} is damaged and cannot be read ({exc}).") from None
    with img:
        width, height = img.size
        if width * height > MAX_PIXELS:
            raise MediaError(_too_many_pixels(name, (width, height)))
        yield img


def _too_many_pixels(name: str, size: tuple[int, int] | None) -> str:
    limit = f"Fireplay reads images up to {MAX_PIXELS // 1_000_000} megapixels"
    if size is None:
        return f"{name} is too large ({limit}); it could be a decompression bomb."
    mp = size[0] * size[1] / 1_000_000
    return f"{name} is {size[0]}×{size[1]} ({mp:.0f} megapixels); {limit}."


def _load(img: PILImage.Image, name: str) -> None:
    from PIL import Image

    try:
        img.load()
    except Image.DecompressionBombError:
        raise MediaError(_too_many_pixels(name, None)) from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError) as exc:
        if "truncated" in str(exc):
            raise MediaError(f"{name} is truncated (the file ends early).") from None
        raise MediaError(f"{name} is damaged and cannot be read ({exc}).") from None


def _draft_mode(img: PILImage.Image) -> str | None:
    return "RGB" if img.mode in ("RGB", "YCbCr") else None


def _orientation(img: PILImage.Image) -> int:
    try:
        value = img.getexif().get(_EXIF_ORIENTATION, 1)
    except Exception:  # a broken EXIF block only loses the orientation
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _normalised(img: PILImage.Image) -> PILImage.Image:
    """RGB, RGBA, L or LA pixels (what PNG and JPEG encoders and LANCZOS all take)."""
    mode = img.mode
    if mode in ("RGB", "RGBA", "L", "LA"):
        return img if img.info.get("transparency") is None else img.convert("RGBA")
    if mode in ("P", "PA"):
        has_alpha = mode == "PA" or "transparency" in img.info
        return img.convert("RGBA" if has_alpha else "RGB")
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        # 16-bit grey: scale to 8 bits rather than clip at 255.
        wide = img.convert("I") if mode != "F" else img
        top = wide.getextrema()[1]
        factor = 255 / top if isinstance(top, int | float) and top > 255 else 1.0
        return wide.point(lambda v: v * factor).convert("L")
    if mode in ("1",):
        return img.convert("L")
    if mode in ("RGBa", "La"):
        return img.convert(mode[:-1] + "A")
    if "A" in img.getbands():
        return img.convert("RGBA")
    return img.convert("RGB")  # CMYK, YCbCr, LAB, HSV


def _fit(image: PILImage.Image, long_side: int) -> PILImage.Image:
    """``image`` scaled down (never up) so its long side is ``long_side``, aspect ratio kept."""
    from PIL import Image

    width, height = image.size
    if max(width, height) <= long_side:
        return image
    scale = long_side / max(width, height)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)


def _oriented(image: PILImage.Image, orientation: int) -> PILImage.Image:
    from PIL import Image

    method = _ORIENTATION_TRANSPOSE.get(orientation)
    return image if method is None else image.transpose(Image.Transpose[method])


def _is_graphic(image: PILImage.Image) -> bool:
    """Few distinct colours in a nearest-neighbour sample: a chart, a diagram, a screenshot."""
    from PIL import Image

    width, height = image.size
    scale = min(1.0, _GRAPHIC_SAMPLE / max(width, height))
    sample = image.resize(
        (max(1, round(width * scale)), max(1, round(height * scale))),
        Image.Resampling.NEAREST,
    )
    return sample.getcolors(maxcolors=_GRAPHIC_COLOURS) is not None


# -- preparing -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, repr=False)
class PreparedImage:
    """An image ready to go into a request.

    Attributes:
        name: The source file's name.
        mime: ``image/png``, ``image/jpeg``, ...
        url: The ``data:<mime>;base64,...`` URL.
        width: Width of the encoded image.
        height: Height of the encoded image.
        bytes: Encoded size (before base64).
        base64_size: Length of :attr:`url`, what counts against the request's budget.
        converted_from: The source format when the encoded format differs ("WEBP"), else None.
        scaled: Whether the image was downscaled (from its oriented size).
        estimated_tokens: :func:`estimate_image_tokens` for the provider and detail.
    """

    name: str
    mime: str
    url: str
    width: int
    height: int
    bytes: int
    base64_size: int
    converted_from: str | None
    scaled: bool
    estimated_tokens: int

    def __repr__(self) -> str:
        return (
            f"PreparedImage({self.name!r}, {self.mime} {self.width}x{self.height}, "
            f"{self.bytes:,} bytes, base64 {self.base64_size:,}, from={self.converted_from}, "
            f"scaled={self.scaled}, ~{self.estimated_tokens} tokens)"
        )


def _data_url_size(mime: str, raw: int) -> int:
    return len(f"data:{mime};base64,") + 4 * math.ceil(raw / 3)


def prepare(
    source: SourceImage,
    limits: ImageLimits,
    *,
    budget_bytes: int,
    long_side: int | None = None,
    detail: Detail = "auto",
) -> PreparedImage:
    """Make one image acceptable to a provider and small enough for its share of the request.

    1. The original bytes are sent unchanged when nothing needs to change: an accepted format,
       not animated, upright, within the long side and the budget, and without EXIF (so no GPS
       position leaves the machine).
    2. Otherwise it is decoded once at the size needed (a JPEG through ``draft``), oriented, and
       encoded as JPEG (a JPEG, or a photo without alpha) or PNG (alpha, a graphic, or a PNG).
    3. The encoding goes down a ladder until the data URL fits: JPEG quality 90, 85, 75, 60;
       PNG plain, optimised, 256-colour quantised (alpha or graphics), then the JPEG rungs
       when there is no alpha; then the long side shrinks (x 3/4, or straight to the size the
       last try suggests) down to :data:`MIN_LONG_SIDE`. Every rung is encoded from the same
       decoded image; nothing is decoded twice.

    Args:
        source: From :func:`read_image`.
        limits: From :func:`limits_for`.
        budget_bytes: Most characters the data URL may have (see :func:`prepare_all`).
        long_side: Long side to downscale to; ``limits.long_side`` by default (and at most
            ``limits.low_detail_long_side`` for ``detail="low"``). A large JPEG may come out
            up to 10 % under it: the size its DCT-scaled decoding gives (see ``_DRAFT_SLACK``).
        detail: The detail the part will be sent with (for the size and the token estimate).

    Returns:
        The prepared image.

    Raises:
        MediaError: Even the smallest rung does not fit, or the bytes no longer decode.
    """
    target = long_side or limits.long_side
    if detail == "low" and limits.low_detail_long_side:
        target = min(target, limits.low_detail_long_side)
    target = max(1, target)
    cap = min(budget_bytes, _data_url_size("image/jpeg", limits.max_image_bytes))
    fits_side = max(source.width, source.height) <= target
    if (
        source.format in limits.formats
        and source.format in _MIME
        and (limits.accepts_animated or not source.is_animated)
        and source.orientation == 1
        and fits_side
        and source.size <= limits.max_image_bytes
        and _data_url_size(_MIME[source.format], source.size) <= cap
        and not source.has_metadata
    ):
        return _prepared(source, limits, detail, _MIME[source.format], source.data, source)

    image = _decode(source, target)
    # PNG for alpha, graphics and PNG files; a photo stored as PNG moves on to JPEG as soon as
    # PNG does not fit, and stays there at the smaller sizes.
    use_png = source.format == "PNG" or (
        source.format != "JPEG" and (source.has_alpha or source.is_graphic)
    )
    last: tuple[int, int, int, str] | None = None  # (width, height, data URL size, what)
    side = max(image.size)
    smallest = min(side, MIN_LONG_SIDE)
    while True:
        rung = _fit(image, side)
        for mime, payload, what in _encodings(rung, source, use_png=use_png, cap=cap):
            size = _data_url_size(mime, len(payload))
            last = (rung.width, rung.height, size, what)
            if size <= cap and len(payload) <= limits.max_image_bytes:
                return _prepared(source, limits, detail, mime, payload, rung)
        use_png = use_png and (source.has_alpha or source.is_graphic)
        if side <= smallest:
            break
        assert last is not None
        # Encoded size grows about with the area: jump to the side the last try suggests.
        guess = int(side * math.sqrt(cap / last[2]) * 0.95)
        side = max(smallest, min(int(side * _SIDE_STEP), guess))
    assert last is not None
    raise MediaError(
        f"{source.name} does not fit in {_kb(cap)} of base64 even at {last[0]}×{last[1]} "
        f"{last[3]} ({_kb(last[2])}); attach fewer or smaller images."
    )


def _kb(size: int) -> str:
    return f"{size / 1000:,.0f} kB" if size >= 10_000 else f"{size:,} bytes"


def _decode(source: SourceImage, long_side: int) -> PILImage.Image:
    """The oriented first frame, RGB/RGBA/L/LA, at most ``long_side`` (decoded once)."""
    with _open(source.data, source.name) as img:
        if img.format in ("JPEG", "MPO"):
            stored = max(img.size)
            if stored > long_side:
                scale = long_side * _DRAFT_SLACK / stored
                box = (math.ceil(img.width * scale), math.ceil(img.height * scale))
                img.draft(_draft_mode(img), box)  # DCT scaling: decodes 1/2, 1/4 or 1/8
        elif getattr(img, "is_animated", False):
            img.seek(0)
        _load(img, source.name)
        image = _normalised(img)
        if image.mode in ("RGBA", "LA") and not source.has_alpha:
            image = image.convert(image.mode[:-1])
        image = _oriented(_fit(image, long_side), source.orientation)
        # Closing the file frees its pixels: keep a copy when nothing made a new image.
        return image.copy() if image is img else image


def _encodings(
    image: PILImage.Image, source: SourceImage, *, use_png: bool, cap: int
) -> Iterator[tuple[str, bytes, str]]:
    """The rungs at one size, largest first: (mime, encoded bytes, description).

    PNG: plain, optimised (only when within 30 % of the budget: it gains 5-15 % and is slow),
    256 colours (alpha or graphics only: a quantised photo bands), then, without alpha, the
    JPEG rungs. JPEG: quality 90, 85, 75, 60, going straight to 60 when 90 is over 2.5 times
    the budget (60 is about 40 % of 90).
    """
    icc = image.info.get("icc_profile")
    # A PNG file's size scaled by area predicts the plain PNG rung well enough to skip encoding
    # it (slow: zlib on photo-like pixels) when it is far over the budget.
    area = image.width * image.height / max(1, source.width * source.height)
    hopeless = source.format == "PNG" and source.size * area > 3 * cap
    if use_png:
        if not hopeless:
            plain = _encode(image, "PNG", icc=icc)
            yield "image/png", plain, "PNG"
            if _data_url_size("image/png", len(plain)) < cap * 1.3:
                yield "image/png", _encode(image, "PNG", icc=icc, optimize=True), "optimised PNG"
        if source.has_alpha or source.is_graphic:
            yield "image/png", _encode(_quantised(image), "PNG"), "256-colour PNG"
        if source.has_alpha:
            return
    first: int | None = None
    for quality in _JPEG_QUALITIES:
        if first is not None and quality != _JPEG_QUALITIES[-1] and first > 2.5 * cap:
            continue
        payload = _encode(image, "JPEG", icc=icc, quality=quality)
        first = first or _data_url_size("image/jpeg", len(payload))
        yield "image/jpeg", payload, f"JPEG quality {quality}"


def _quantised(image: PILImage.Image) -> PILImage.Image:
    from PIL import Image

    if image.mode in ("L", "LA"):
        image = image.convert("RGBA" if image.mode == "LA" else "RGB")
    return image.quantize(256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)


def _encode(image: PILImage.Image, fmt: str, *, icc: Any = None, **options: Any) -> bytes:
    if fmt == "JPEG" and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    if icc:
        options["icc_profile"] = icc
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def _prepared(
    source: SourceImage,
    limits: ImageLimits,
    detail: Detail,
    mime: str,
    payload: bytes,
    image: PILImage.Image | SourceImage,
) -> PreparedImage:
    url = f"data:{mime};base64,{base64.b64encode(payload).decode('ascii')}"
    width, height = image.width, image.height
    fmt = next(f for f, m in _MIME.items() if m == mime)
    return PreparedImage(
        name=source.name,
        mime=mime,
        url=url,
        width=width,
        height=height,
        bytes=len(payload),
        base64_size=len(url),
        converted_from=None if fmt == source.format else source.format,
        scaled=(width, height) != (source.width, source.height),
        estimated_tokens=_estimate(limits.tokens, width, height, detail),
    )


def prepare_all(
    sources: Sequence[SourceImage],
    limits: ImageLimits,
    *,
    long_side: int | None = None,
    detail: Detail = "auto",
) -> list[PreparedImage]:
    """Prepare one request's images so that together they fit the provider's limits.

    The total budget (``limits.max_total_base64``) is shared by water-filling: images are
    prepared from the smallest file to the largest, each getting an equal share of what is left,
    so a small screenshot that needs 50 kB leaves the rest of its share to the photos. With
    images that all need their share this is the plain equal split.

    Args:
        sources: The attached images, in the order they are sent.
        limits: From :func:`limits_for`.
        long_side: As for :func:`prepare`.
        detail: As for :func:`prepare`.

    Returns:
        The prepared images, in the order of ``sources``.

    Raises:
        MediaError: Too many images for the provider, or one that cannot fit its share.
    """
    if len(sources) > limits.max_images:
        raise MediaError(
            f"{limits.provider} takes at most {limits.max_images} images per request; "
            f"{len(sources)} are attached."
        )
    left = limits.max_total_base64 - 1  # the sum stays strictly below the limit
    prepared: dict[int, PreparedImage] = {}
    order = sorted(range(len(sources)), key=lambda i: sources[i].size)
    for done, index in enumerate(order):
        share = left // (len(order) - done)
        result = prepare(
            sources[index], limits, budget_bytes=share, long_side=long_side, detail=detail
        )
        left -= result.base64_size
        prepared[index] = result
    return [prepared[i] for i in range(len(sources))]


# -- request parts and cost ------------------------------------------------------------------------


def image_part(prepared: PreparedImage, detail: Detail = "auto") -> dict[str, Any]:
    """The OpenAI content part for a prepared image.

    ``detail`` is left out when it is ``"auto"``: that is OpenAI's default, and strict
    OpenAI-compatible servers that do not know the field then never see it.
    """
    return _part(prepared.url, detail)


def url_part(url: str, detail: Detail = "auto") -> dict[str, Any]:
    """The OpenAI content part for an image URL the provider fetches itself.

    Raises:
        MediaError: ``url`` is not an http(s) URL.
    """
    if not is_image_url(url):
        raise MediaError(f"{url!r} is not an http(s) image URL.")
    return _part(url.strip(), detail)


def _part(url: str, detail: Detail) -> dict[str, Any]:
    image_url: dict[str, Any] = {"url": url}
    if detail != "auto":
        image_url["detail"] = detail
    return {"type": "image_url", "image_url": image_url}


def estimate_image_tokens(
    width: int, height: int, detail: Detail = "auto", provider_id: str = FIREWORKS_PROVIDER_ID
) -> int:
    """Roughly how many prompt tokens an image of this size costs.

    The rule follows the provider (:attr:`ImageLimits.tokens`):

    - OpenAI ("tiles", GPT-4o / 4.1 family): ``low`` is 85 tokens; ``high`` and ``auto``
      (counted as high, the dearer case) fit the image in 2048x2048, shrink it so the short
      side is at most 768, and cost 85 + 170 per 512-pixel tile.
    - Fireworks and other OpenAI-compatible servers ("patches", Qwen2.5-VL and its kin): each
      side rounded to a multiple of 28, clamped to 3,136-12,845,056 pixels, one token per
      28x28 patch (``≈ w*h/784``): 1024x1024 is 1,369 tokens as the wire reference says;
      1920x1080 comes to 2,691 (the reference quotes 2,769). ``detail`` changes nothing known.
    - The built-in engine ("ocr"): the model reads the image's OCR text, unknown before the
      image is read; a nominal 256 tokens.

    Args:
        width: Width of the image sent.
        height: Height of the image sent.
        detail: The part's detail.
        provider_id: The provider profile id.

    Returns:
        The estimate.
    """
    return _estimate(limits_for(provider_id).tokens, width, height, detail)


def _estimate(rule: TokenRule, width: int, height: int, detail: Detail) -> int:
    width, height = max(1, width), max(1, height)
    if rule == "ocr":
        return _LOCAL_OCR_TOKENS
    if rule == "tiles":
        if detail == "low":
            return 85
        scale = min(1.0, 2048 / max(width, height))
        w, h = width * scale, height * scale
        scale = min(1.0, 768 / min(w, h))
        w, h = w * scale, h * scale
        return 85 + 170 * math.ceil(w / 512) * math.ceil(h / 512)
    patch, low, high = 28, 56 * 56, 28 * 28 * 4 * 4096
    h_bar = max(patch, round(height / patch) * patch)
    w_bar = max(patch, round(width / patch) * patch)
    if h_bar * w_bar > high:
        beta = math.sqrt(height * width / high)
        h_bar = max(patch, math.floor(height / beta / patch) * patch)
        w_bar = max(patch, math.floor(width / beta / patch) * patch)
    elif h_bar * w_bar < low:
        beta = math.sqrt(low / (height * width))
        h_bar = math.ceil(height * beta / patch) * patch
        w_bar = math.ceil(width * beta / patch) * patch
    return (h_bar // patch) * (w_bar // patch)
