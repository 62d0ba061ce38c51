"""Vision media: reading image files, provider limits, preparing data URLs, parts and token costs.

Every image is generated here with Pillow; nothing touches the network.
"""

from __future__ import annotations

import base64
import binascii
import io
import struct
import zlib
from collections.abc import Callable
from typing import Any

import pytest
from PIL import Image, ImageDraw

from app.client import FireplayError
from app.domain import media
from app.domain.media import (
    MAX_PIXELS,
    THUMBNAIL_SIDE,
    ImageLimits,
    MediaError,
    PreparedImage,
    SourceImage,
    estimate_image_tokens,
    image_part,
    is_image_url,
    limits_for,
    prepare,
    prepare_all,
    read_image,
    url_part,
)

FIREWORKS = limits_for("fireworks")
OPENAI = limits_for("openai")
LOCAL = limits_for("local")

# -- image makers ----------------------------------------------------------------------------------


def encode(image: Image.Image, fmt: str, **options: Any) -> bytes:
    if fmt == "PNG":
        options.setdefault("compress_level", 1)  # zlib on noise is slow; the size is no matter
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def photo(width: int, height: int, seed: int = 0) -> Image.Image:
    """Noise over gradients: compresses like a photograph, not like a flat graphic."""
    noise = Image.effect_noise((width, height), 40 + seed)
    ramp = Image.linear_gradient("L").resize((width, height))
    across = ramp.transpose(Image.Transpose.ROTATE_90).resize((width, height))
    return Image.merge(
        "RGB", (Image.blend(noise, ramp, 0.6), across, Image.blend(noise, across, 0.5))
    )


def screenshot(width: int = 800, height: int = 500, mode: str = "RGB") -> Image.Image:
    image = Image.new(mode, (width, height), "white")
    draw = ImageDraw.Draw(image)
    for row in range(0, height - 20, 18):
        draw.text(
            (10, row), f"line {row}: the quick brown fox jumps over the lazy dog", fill="black"
        )
    draw.rectangle((width - 120, 10, width - 10, 60), fill=(30, 90, 200))
    return image


def decoded(prepared: PreparedImage) -> Image.Image:
    head, _, payload = prepared.url.partition(",")
    assert head == f"data:{prepared.mime};base64"
    data = base64.b64decode(payload, validate=True)
    assert len(data) == prepared.bytes
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width``×``height`` with no real pixel data behind it."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = binascii.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


@pytest.fixture(scope="module")
def big_jpeg() -> bytes:
    """A 24-MP (6000×4000) photo-like JPEG, made once for the module."""
    return encode(photo(6000, 4000), "JPEG", quality=90)


# -- errors ----------------------------------------------------------------------------------------


def test_media_error_is_a_fireplay_error() -> None:
    assert issubclass(MediaError, FireplayError)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "empty.png is empty"),
        (b"shopping list\n- eggs\n- milk\n", "empty.png is a text file, not an image"),
        (
            b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n",
            "empty.png is a PDF, not an image",
        ),
        (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>', "is an SVG drawing"),
        (bytes(range(256)) * 4, "empty.png is not an image"),
    ],
    ids=["empty", "text", "pdf", "svg", "binary"],
)
def test_files_that_are_not_images_are_refused_by_name(data: bytes, expected: str) -> None:
    with pytest.raises(MediaError, match=expected):
        read_image(data, "empty.png")


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_truncated_images_are_refused(fmt: str) -> None:
    data = encode(photo(400, 300), fmt)
    with pytest.raises(MediaError, match=r"^cut\.img is (truncated|damaged)"):
        read_image(data[: len(data) // 2], "cut.img")


def test_a_header_without_pixels_is_refused() -> None:
    with pytest.raises(MediaError, match=r"^hollow\.png is"):
        read_image(png_header(300, 200), "hollow.png")


@pytest.mark.parametrize(
    "size",
    [(12_000, 9_000), (20_000, 20_000)],
    ids=["over-our-limit", "over-pillows-error-limit"],
)
def test_decompression_bombs_are_refused_before_decoding(size: tuple[int, int]) -> None:
    assert size[0] * size[1] > MAX_PIXELS
    with pytest.raises(MediaError, match=r"bomb\.png .*megapixels"):
        read_image(png_header(*size), "bomb.png")


def test_unsupported_formats_are_refused_by_name() -> None:
    data = encode(screenshot(64, 64), "PCX")
    with pytest.raises(MediaError, match=r"^old\.pcx is a PCX image, which Fireplay does not read"):
        read_image(data, "old.pcx")


HEIC_HEADER = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64


def test_heic_without_pillow_heif_says_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(media, "_heif_opener", lambda: False)
    with pytest.raises(MediaError, match=r"IMG_0001\.HEIC .*needs the optional pillow-heif"):
        read_image(HEIC_HEADER, "IMG_0001.HEIC")


def test_heic_with_pillow_heif_is_converted_for_every_provider() -> None:
    pillow_heif = pytest.importorskip("pillow_heif")
    pillow_heif.register_heif_opener()
    try:
        data = encode(photo(320, 240), "HEIF", quality=80)
    except (OSError, KeyError, ValueError) as exc:  # a libheif without an encoder
        pytest.skip(f"pillow-heif cannot encode HEIC here: {exc}")
    source = read_image(data, "IMG_0002.HEIC")
    assert (source.format, source.width, source.height) == ("HEIF", 320, 240)
    for limits in (FIREWORKS, OPENAI):
        prepared = prepare(source, limits, budget_bytes=1_000_000)
        assert prepared.converted_from == "HEIF" and prepared.mime == "image/jpeg"


# -- reading ---------------------------------------------------------------------------------------


def test_png_with_alpha_is_read_with_its_alpha() -> None:
    image = screenshot(300, 200, "RGBA")
    image.putpixel((0, 0), (255, 0, 0, 0))
    source = read_image(encode(image, "PNG"), "logo.png")
    assert (source.format, source.width, source.height) == ("PNG", 300, 200)
    assert source.has_alpha and not source.is_animated
    assert source.size == len(source.data)


def test_an_opaque_alpha_channel_counts_as_none() -> None:
    source = read_image(encode(screenshot(300, 200, "RGBA"), "PNG"), "shot.png")
    assert not source.has_alpha
    assert source.is_graphic


def test_a_photo_is_not_a_graphic() -> None:
    assert not read_image(encode(photo(400, 300), "WEBP"), "p.webp").is_graphic


def jpeg_with_orientation(orientation: int, size: tuple[int, int] = (400, 200)) -> bytes:
    """A JPEG stored ``size`` wide, with a red block in its stored top-left corner."""
    image = Image.new("RGB", size, "white")
    ImageDraw.Draw(image).rectangle((0, 0, 59, 59), fill=(255, 0, 0))
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode(image, "JPEG", quality=95, exif=exif.tobytes())


def is_red(pixel: Any) -> bool:
    r, g, b = pixel[:3]
    return bool(r > 200 and g < 60 and b < 60)


def test_exif_orientation_6_swaps_width_and_height() -> None:
    source = read_image(jpeg_with_orientation(6), "phone.jpg")
    assert (source.width, source.height) == (200, 400)
    assert source.orientation == 6
    thumb = Image.open(io.BytesIO(source.thumbnail))
    assert thumb.format == "PNG"
    assert thumb.height == THUMBNAIL_SIDE and thumb.width == THUMBNAIL_SIDE // 2
    prepared = prepare(source, FIREWORKS, budget_bytes=1_000_000)
    image = decoded(prepared).convert("RGB")
    assert image.size == (200, 400) == (prepared.width, prepared.height)
    # Orientation 6 = rotate 90° clockwise to display: the stored top-left is now top-right.
    assert is_red(image.getpixel((190, 10)))
    assert not is_red(image.getpixel((10, 10)))
    assert "exif" not in image.info


def test_animated_gif_is_flagged_and_sent_as_its_first_frame() -> None:
    frames = [Image.new("RGB", (120, 80), colour) for colour in ("red", "lime", "blue")]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)
    source = read_image(data, "blink.gif")
    assert source.format == "GIF" and source.is_animated
    for limits in (FIREWORKS, OPENAI):
        prepared = prepare(source, limits, budget_bytes=1_000_000)
        assert prepared.mime != "image/gif" and prepared.converted_from == "GIF"
        assert is_red(decoded(prepared).convert("RGB").getpixel((60, 40)))


def test_thumbnail_is_small_png() -> None:
    source = read_image(encode(photo(1000, 250), "JPEG"), "wide.jpg")
    thumb = Image.open(io.BytesIO(source.thumbnail))
    assert thumb.format == "PNG" and thumb.size == (THUMBNAIL_SIDE, THUMBNAIL_SIDE // 4)


@pytest.mark.parametrize(
    "make",
    [
        lambda: encode(photo(300, 200).convert("CMYK"), "JPEG"),
        lambda: encode(screenshot(300, 200).convert("P"), "PNG"),
        lambda: encode(screenshot(300, 200).convert("L"), "PNG"),
        lambda: encode(Image.linear_gradient("L").convert("I;16"), "PNG"),
        lambda: encode(screenshot(300, 200).convert("1"), "BMP"),
        lambda: encode(photo(300, 200), "TIFF"),
        lambda: encode(photo(300, 200), "PPM"),
    ],
    ids=["cmyk-jpeg", "palette-png", "grey-png", "16-bit-png", "1-bit-bmp", "tiff", "ppm"],
)
def test_other_pixel_modes_prepare_for_every_provider(make: Callable[[], bytes]) -> None:
    source = read_image(make(), "odd")
    for limits in (FIREWORKS, OPENAI, LOCAL, limits_for("custom-vllm")):
        prepared = prepare(source, limits, budget_bytes=2_000_000)
        image = decoded(prepared)
        assert image.size == (prepared.width, prepared.height) == (source.width, source.height)
        assert image.format in limits.formats


# -- limits ----------------------------------------------------------------------------------------


def test_limits_per_provider() -> None:
    assert "WEBP" not in FIREWORKS.formats and {"PNG", "JPEG", "GIF"} <= FIREWORKS.formats
    assert FIREWORKS.max_images == 30 and FIREWORKS.max_total_base64 <= 10_000_000
    assert {"PNG", "JPEG", "WEBP", "GIF"} == OPENAI.formats and OPENAI.max_images == 500
    assert OPENAI.max_total_base64 < 50_000_000
    assert {"PNG", "JPEG"} <= LOCAL.formats and not LOCAL.accepts_urls
    generic = limits_for("custom-my-server")
    assert generic.formats == frozenset({"PNG", "JPEG"}) and generic.max_images == 20
    assert isinstance(generic, ImageLimits) and generic.source


# -- preparing -------------------------------------------------------------------------------------


def test_webp_is_converted_for_fireworks_but_not_for_openai() -> None:
    data = encode(photo(640, 480), "WEBP", quality=80)
    source = read_image(data, "cat.webp")
    assert source.format == "WEBP"
    fireworks = prepare(source, FIREWORKS, budget_bytes=1_000_000)
    assert fireworks.converted_from == "WEBP" and fireworks.mime == "image/jpeg"
    assert decoded(fireworks).format == "JPEG"
    openai = prepare(source, OPENAI, budget_bytes=1_000_000)
    assert openai.converted_from is None and openai.mime == "image/webp"
    assert base64.b64decode(openai.url.partition(",")[2]) == data  # sent untouched


def test_webp_with_alpha_or_few_colours_becomes_png_for_fireworks() -> None:
    sticker = screenshot(300, 200, "RGBA")
    sticker.putpixel((5, 5), (0, 0, 0, 0))
    for image in (sticker, screenshot(300, 200)):
        source = read_image(encode(image, "WEBP", lossless=True), "s.webp")
        prepared = prepare(source, FIREWORKS, budget_bytes=1_000_000)
        assert prepared.mime == "image/png" and prepared.converted_from == "WEBP"
    assert decoded(prepared).mode in ("RGB", "P", "L")


def test_png_keeps_its_alpha() -> None:
    image = screenshot(400, 300, "RGBA")
    image.putpixel((0, 0), (255, 0, 0, 0))
    source = read_image(encode(image, "PNG"), "logo.png")
    prepared = prepare(source, FIREWORKS, budget_bytes=1_000_000)
    assert prepared.mime == "image/png" and prepared.converted_from is None
    assert decoded(prepared).convert("RGBA").getpixel((0, 0))[3] == 0


def test_24_megapixel_jpeg_is_downscaled_into_its_budget(big_jpeg: bytes) -> None:
    source = read_image(big_jpeg, "DSC_0042.JPG")
    assert (source.width, source.height) == (6000, 4000)
    budget = FIREWORKS.max_total_base64 // FIREWORKS.max_images
    prepared = prepare(source, FIREWORKS, budget_bytes=budget)
    assert prepared.scaled and prepared.mime == "image/jpeg"
    assert prepared.base64_size == len(prepared.url) <= budget
    assert max(prepared.width, prepared.height) <= FIREWORKS.long_side
    assert abs(prepared.width / prepared.height * 4000 - 6000) <= 6000 / prepared.height + 1
    image = decoded(prepared)
    assert (image.format, image.size) == ("JPEG", (prepared.width, prepared.height))
    assert prepared.estimated_tokens == estimate_image_tokens(
        prepared.width, prepared.height, "auto", "fireworks"
    )


def test_a_long_side_is_honoured_and_never_upscales(big_jpeg: bytes) -> None:
    source = read_image(big_jpeg, "big.jpg")
    prepared = prepare(source, OPENAI, budget_bytes=5_000_000, long_side=1000)
    assert (prepared.width, prepared.height) == (1000, 667)
    small = read_image(encode(photo(300, 200), "PNG"), "small.png")
    assert prepare(small, OPENAI, budget_bytes=5_000_000, long_side=4000).width == 300
    low = prepare(source, OPENAI, budget_bytes=5_000_000, detail="low")
    assert max(low.width, low.height) == 512 and low.estimated_tokens == 85


@pytest.mark.parametrize(
    ("size", "fmt"),
    [((3001, 1999), "JPEG"), ((1999, 3001), "JPEG"), ((4000, 37), "PNG"), ((1537, 1536), "WEBP")],
)
def test_aspect_ratio_is_kept_within_a_pixel(size: tuple[int, int], fmt: str) -> None:
    source = read_image(encode(photo(*size), fmt), f"odd.{fmt.lower()}")
    prepared = prepare(source, FIREWORKS, budget_bytes=5_000_000)
    long_side = max(prepared.width, prepared.height)
    if fmt == "JPEG":  # it may stop at a DCT scale up to 10 % under the long side
        assert 0.9 * FIREWORKS.long_side <= long_side <= FIREWORKS.long_side
    else:
        assert long_side == FIREWORKS.long_side
    scale = long_side / max(size)
    assert abs(prepared.width - size[0] * scale) <= 1
    assert abs(prepared.height - size[1] * scale) <= 1


def test_the_ladder_goes_down_until_the_budget_fits() -> None:
    source = read_image(encode(photo(800, 600), "PNG"), "noisy.png")
    roomy = prepare(source, OPENAI, budget_bytes=10_000_000)
    tight = prepare(source, OPENAI, budget_bytes=25_000)
    assert roomy.mime == "image/png" and roomy.converted_from is None
    assert tight.base64_size <= 25_000 and tight.mime == "image/jpeg"
    assert tight.converted_from == "PNG"
    assert tight.width < roomy.width


def test_an_image_that_cannot_fit_names_the_file() -> None:
    source = read_image(encode(photo(800, 600), "JPEG"), "holiday.jpg")
    with pytest.raises(MediaError, match=r"^holiday\.jpg does not fit in 1,500 bytes"):
        prepare(source, FIREWORKS, budget_bytes=1_500)


def test_small_images_without_metadata_are_sent_untouched_but_exif_is_dropped() -> None:
    plain = encode(screenshot(), "PNG")
    prepared = prepare(read_image(plain, "s.png"), FIREWORKS, budget_bytes=1_000_000)
    assert base64.b64decode(prepared.url.partition(",")[2]) == plain
    assert not prepared.scaled and prepared.converted_from is None
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    tagged = encode(photo(300, 200), "JPEG", exif=exif.tobytes())
    again = prepare(read_image(tagged, "t.jpg"), FIREWORKS, budget_bytes=1_000_000)
    assert base64.b64decode(again.url.partition(",")[2]) != tagged
    assert not decoded(again).getexif()


def test_data_url_decodes_to_the_stated_size_and_mime() -> None:
    sources = [
        read_image(encode(photo(900, 700), "WEBP"), "a.webp"),
        read_image(encode(screenshot(), "PNG"), "b.png"),
        read_image(encode(photo(2500, 1000), "JPEG"), "c.jpg"),
    ]
    for prepared in prepare_all(sources, FIREWORKS):
        image = decoded(prepared)
        assert Image.MIME[image.format] == prepared.mime
        assert image.size == (prepared.width, prepared.height)


def test_prepare_all_refuses_too_many_images_for_fireworks() -> None:
    source = read_image(encode(screenshot(40, 30), "PNG"), "x.png")
    with pytest.raises(
        MediaError, match=r"^Fireworks takes at most 30 images per request; 31 are attached\.$"
    ):
        prepare_all([source] * 31, FIREWORKS)
    assert len(prepare_all([source] * 30, FIREWORKS)) == 30


def test_prepare_all_shares_the_budget_and_keeps_the_order() -> None:
    small = read_image(encode(screenshot(200, 100), "PNG"), "small.png")
    bigs = [
        read_image(encode(photo(1500, 1000, seed), "PNG"), f"big{seed}.png") for seed in range(3)
    ]
    limits = ImageLimits(
        provider="Tiny",
        formats=frozenset({"PNG", "JPEG"}),
        max_images=10,
        max_total_base64=400_000,
        max_image_bytes=5_000_000,
        long_side=900,
        tokens="patches",
        source="test",
    )
    prepared = prepare_all([bigs[0], small, bigs[1], bigs[2]], limits)
    assert [p.name for p in prepared] == ["big0.png", "small.png", "big1.png", "big2.png"]
    assert sum(p.base64_size for p in prepared) < limits.max_total_base64
    # The screenshot needed little of its quarter, so the photos got more than a quarter each.
    assert prepared[1].base64_size < limits.max_total_base64 // 8
    assert max(p.base64_size for p in prepared if p.name != "small.png") > 400_000 // 4
    assert prepare_all([], limits) == []


def test_source_and_prepared_images_are_frozen() -> None:
    source = read_image(encode(screenshot(40, 30), "PNG"), "x.png")
    prepared = prepare(source, FIREWORKS, budget_bytes=100_000)
    with pytest.raises(AttributeError):
        source.width = 1  # type: ignore[misc]
    with pytest.raises(AttributeError):
        prepared.url = ""  # type: ignore[misc]
    assert "x.png" in repr(source) and "base64" not in repr(source)
    assert isinstance(source, SourceImage)


# -- parts, URLs and tokens ------------------------------------------------------------------------


def test_image_part_omits_auto_detail() -> None:
    prepared = prepare(
        read_image(encode(screenshot(40, 30), "PNG"), "x.png"), OPENAI, budget_bytes=10**6
    )
    assert image_part(prepared) == {"type": "image_url", "image_url": {"url": prepared.url}}
    assert image_part(prepared, "low")["image_url"] == {"url": prepared.url, "detail": "low"}


def test_url_parts_and_image_urls() -> None:
    assert is_image_url("https://example.com/cat.png")
    assert is_image_url("  http://example.com/image?id=3  ")
    for text in ("ftp://example.com/a.png", "example.com/a.png", "https://", "https://a b/c", ""):
        assert not is_image_url(text), text
    assert url_part(" https://example.com/a.jpg", "high") == {
        "type": "image_url",
        "image_url": {"url": "https://example.com/a.jpg", "detail": "high"},
    }
    with pytest.raises(MediaError, match="not an http"):
        url_part("file:///etc/passwd")


@pytest.mark.parametrize(
    ("size", "detail", "provider", "tokens"),
    [
        ((1024, 1024), "high", "openai", 765),  # 768×768: 4 tiles
        ((2048, 4096), "high", "openai", 1105),  # 1024×2048 → 768×1536: 6 tiles
        ((4096, 8192), "auto", "openai", 1105),  # auto counts as high
        ((512, 512), "high", "openai", 255),
        ((4000, 3000), "low", "openai", 85),
        ((1024, 1024), "auto", "fireworks", 1369),  # the wire reference's figure
        ((1920, 1080), "auto", "fireworks", 69 * 39),
        ((10, 10), "auto", "fireworks", 4),  # at least 56×56 pixels
        ((8000, 8000), "auto", "custom-vllm", 16384),  # at most 16,384 patches
        ((1024, 1024), "auto", "local", 256),
    ],
)
def test_token_estimates(size: tuple[int, int], detail: Any, provider: str, tokens: int) -> None:
    assert estimate_image_tokens(*size, detail, provider) == tokens
