"""Re-encoding an image, scaled down if need be, until it fits a byte budget (Pillow).

Imported only when an image needs fitting (the wiring builds the fitter on first use): Pillow and
its codecs are a cold-start cost that a send whose media already fits never pays.

What each kind becomes (never more than the budget; EXIF orientation applied, then every piece of
metadata dropped but the ICC colour profile):

* **JPEG** (and BMP, WebP, PNG or a still GIF with no transparency in use): the highest JPEG quality
  from 90 down to 70 that fits at full size; below that the image is scaled down, aiming at
  quality 80, until it uses at least 90% of the budget.
* **PNG** (and a WebP or still GIF whose transparency is in use): re-encoded losslessly if that fits;
  without transparency in use it then becomes a JPEG as above; with it, a 256-colour palette
  PNG keeping the alpha channel, scaled down as needed.
* **Animated GIF**: every frame scaled down by the same factor, timing and looping kept.
* Animated WebP is refused (``image_cannot_fit``), as is anything that would need scaling below
  ``MIN_LONG_SIDE`` pixels or holds more than ``MAX_PIXELS`` (``MAX_ANIMATION_PIXELS`` over all
  frames); what Pillow cannot read is ``image_unreadable``. Both are permanent send errors.

One image is fitted at a time (a lock): fitting is CPU-bound and a decoded photo takes tens of
megabytes, while the outbound function handles up to ten jobs at once.
"""

from __future__ import annotations

import io
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from PIL import (
    BmpImagePlugin,  # noqa: F401 - registered here, so that opening never loads every other plugin
    GifImagePlugin,  # noqa: F401
    Image,
    ImageOps,
    ImageSequence,
    JpegImagePlugin,  # noqa: F401
    PngImagePlugin,  # noqa: F401
    WebPImagePlugin,  # noqa: F401
)

from mmsrelay.domain.errors import PermanentSendError
from mmsrelay.domain.media import FittedImage

_log = logging.getLogger(__name__)

# Decoders tried on the bytes: the allow-listed image types, nothing else.
FORMATS: Final = ("JPEG", "PNG", "GIF", "BMP", "WEBP")
QUALITY_MAX: Final = 90  # above it JPEG grows fast for little a handset shows
QUALITY_FLOOR: Final = 70  # the lowest quality kept at full size: below it, scaling down looks better
QUALITY_SCALED: Final = 80  # the quality aimed at once the image is scaled down
FILL: Final = 0.90  # a scaled result is accepted once it uses this share of its budget
SCALE_STEPS: Final = 6  # encodings tried per scale search at most
MIN_LONG_SIDE: Final = 64
MAX_PIXELS: Final = 36_000_000  # decoded (a JPEG is first decoded at 1/2, 1/4 or 1/8 when that is enough)
MAX_ANIMATION_PIXELS: Final = 60_000_000  # over all frames
# A photo takes about a bit per pixel at the qualities above: a decoded image larger than this many
# pixels per budget byte would be scaled down anyway, so a JPEG is decoded smaller from the start
# (at 1 MiB, a 48-megapixel photo is decoded at 12 megapixels, a 12-megapixel one whole).
PIXELS_PER_BUDGET_BYTE: Final = 8
# The lossless re-encoding of a large PNG is tried only when a sample of it says it may fit.
SAMPLE_SIDE: Final = 512
_JPEG_MODES: Final = frozenset({"RGB", "L"})
# Pillow's chroma subsampling settings: 4:2:0 (the default, smallest), 4:2:2, 4:4:4 (full colour detail).
_SUBSAMPLING_420, _SUBSAMPLING_422, _SUBSAMPLING_444 = 2, 1, 0
_SUBSAMPLING_NAMES: Final = {2: "4:2:0", 1: "4:2:2", 0: "4:4:4"}


@dataclass(frozen=True)
class _Encoded:
    data: bytes
    width: int
    height: int
    detail: str
    quality: int = 0  # a JPEG's


class PillowFitter:
    """Implements the outbound media's ``ImageFitter``."""

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self._lock = threading.Lock()
        self._clock = clock

    def fit(self, data: bytes, content_type: str, budget: int) -> FittedImage:
        """``data`` re-encoded to at most ``budget`` bytes; PermanentSendError when it cannot be."""
        if budget <= 0:
            raise PermanentSendError("image_cannot_fit", "no room left for the image in the message")
        with self._lock:
            started = self._clock()
            image = _open(data, budget)
            original = f"{image.size[0]}x{image.size[1]}"
            encoded, kind = _fit(image, budget)
        fitted = FittedImage(encoded.data, kind, encoded.width, encoded.height, f"{encoded.detail} from {original}")
        _log.info(
            "image fitted",
            extra={
                "media_type": content_type,
                "media_bytes": len(data),
                "fitted_type": kind,
                "fitted_bytes": len(fitted.data),
                "budget_bytes": budget,
                "fitted_how": fitted.how,
                "fit_ms": round((self._clock() - started) * 1000),
            },
        )
        return fitted


# --------------------------------------------------------------------------------- reading


def _open(data: bytes, budget: int) -> Image.Image:
    try:
        image = Image.open(io.BytesIO(data), formats=FORMATS)
        if image.format == "JPEG":
            _decode_smaller(image, budget)
        if _frames(image) > 1:
            if image.format != "GIF":
                raise PermanentSendError("image_cannot_fit", "animated images other than GIF are not fitted")
            if image.size[0] * image.size[1] * _frames(image) > MAX_ANIMATION_PIXELS:
                raise PermanentSendError("image_cannot_fit", f"animation of more than {MAX_ANIMATION_PIXELS} pixels")
        elif image.size[0] * image.size[1] > MAX_PIXELS:
            raise PermanentSendError("image_cannot_fit", f"image of more than {MAX_PIXELS} pixels")
        image.load()
    except Image.DecompressionBombError:
        raise PermanentSendError("image_cannot_fit", "image has too many pixels") from None
    except (OSError, ValueError, SyntaxError, EOFError) as error:  # what Pillow raises for bad data
        raise PermanentSendError("image_unreadable", type(error).__name__) from None
    return image


def _decode_smaller(image: Image.Image, budget: int) -> None:
    """Ask the JPEG decoder for 1/2, 1/4 or 1/8 of the size when that still has the pixels the budget can hold."""
    width, height = image.size
    enough = PIXELS_PER_BUDGET_BYTE * budget
    if width * height <= enough:
        return
    ratio = math.sqrt(enough / (width * height))
    image.draft("RGB" if image.mode != "L" else "L", (math.ceil(width * ratio), math.ceil(height * ratio)))


def _frames(image: Image.Image) -> int:
    return int(getattr(image, "n_frames", 1))


def _has_alpha(image: Image.Image) -> bool:
    """Whether any pixel is not fully opaque (an alpha channel that is all 255 is not in use)."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image if image.mode == "RGBA" else image.convert("RGBA")
        low, _ = rgba.getchannel("A").getextrema()
        return isinstance(low, int | float) and low < 255
    return False


def _icc(image: Image.Image) -> bytes | None:
    """The ICC profile worth keeping: an RGB or grey one (a CMYK profile would be wrong once converted)."""
    profile = image.info.get("icc_profile")
    return profile if isinstance(profile, bytes) and image.mode not in ("CMYK", "I;16", "I", "F") else None


# --------------------------------------------------------------------------------- fitting


def _fit(image: Image.Image, budget: int) -> tuple[_Encoded, str]:
    if _frames(image) > 1:
        return _fit_animation(image, budget), "image/gif"
    icc = _icc(image)
    upright = ImageOps.exif_transpose(image)  # the orientation EXIF asked for, before EXIF is dropped
    if image.format == "JPEG":
        return _fit_jpeg(_for_jpeg(upright), budget, icc), "image/jpeg"
    alpha = _has_alpha(upright)
    lossless = _png_if_it_fits(upright, budget, icc)
    if lossless is not None:
        return lossless, "image/png"
    if alpha:
        return _fit_palette_png(upright.convert("RGBA"), budget, icc), "image/png"
    return _fit_jpeg(_for_jpeg(upright), budget, icc), "image/jpeg"


def _for_jpeg(image: Image.Image) -> Image.Image:
    if image.mode in _JPEG_MODES:
        return image
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        # Transparency not in use: the pixels are opaque, the channel can go.
        return image.convert("RGBA").convert("RGB")
    return image.convert("RGB")


def _fit_jpeg(image: Image.Image, budget: int, icc: bytes | None) -> _Encoded:
    """The highest quality that fits at full size, else scaled down at ``QUALITY_SCALED``."""

    def encode(candidate: Image.Image, quality: int, subsampling: int = _SUBSAMPLING_420) -> _Encoded:
        data = _jpeg(candidate, quality, icc, subsampling)
        detail = f"jpeg q{quality} {_SUBSAMPLING_NAMES[subsampling]} {_dims(candidate)}"
        return _Encoded(data, *candidate.size, detail, quality)

    found, at_scaled_quality = _best_quality(lambda quality: encode(image, quality), budget)
    if found is None:
        return _scale_search(
            image.size, budget, _resized(image, lambda c: encode(c, QUALITY_SCALED)), at_scaled_quality
        )
    for subsampling in (_SUBSAMPLING_422, _SUBSAMPLING_444):  # finer colour: a step smaller than one of quality
        if len(found.data) >= FILL * budget:
            break
        richer = encode(image, found.quality, subsampling)
        if len(found.data) < len(richer.data) <= budget:
            found = richer
    return found


def _best_quality(encode: Callable[[int], _Encoded], budget: int) -> tuple[_Encoded | None, _Encoded]:
    """The highest quality in [QUALITY_FLOOR, QUALITY_MAX] whose encoding fits (or None), and the
    encoding at ``QUALITY_SCALED`` (the starting point of a scale search)."""
    scaled = encode(QUALITY_SCALED)
    if len(scaled.data) <= budget:
        low, high, best = QUALITY_SCALED, QUALITY_MAX + 1, scaled
    else:
        floor = encode(QUALITY_FLOOR)
        if len(floor.data) > budget:
            return None, scaled
        low, high, best = QUALITY_FLOOR, QUALITY_SCALED, floor
    while high - low > 1:  # ``best`` fits at quality ``low``; ``high`` does not (or is past the maximum)
        middle = (low + high) // 2
        attempt = encode(middle)
        if len(attempt.data) <= budget:
            low, best = middle, attempt
        else:
            high = middle
    return best, scaled


def _png_if_it_fits(image: Image.Image, budget: int, icc: bytes | None) -> _Encoded | None:
    """The image as an optimised PNG when that fits; a large one is sampled first, to skip a hopeless encoding."""
    width, height = image.size
    if width * height > 4 * SAMPLE_SIDE * SAMPLE_SIDE:
        left, top = (width - SAMPLE_SIDE) // 2, (height - SAMPLE_SIDE) // 2
        sample = image.crop((left, top, left + SAMPLE_SIDE, top + SAMPLE_SIDE))
        estimate = len(_png(sample, icc)) * (width * height) / (SAMPLE_SIDE * SAMPLE_SIDE)
        if estimate > 1.25 * budget:
            return None
    data = _png(image, icc)
    return _Encoded(data, width, height, f"png {_dims(image)}") if len(data) <= budget else None


def _fit_palette_png(image: Image.Image, budget: int, icc: bytes | None) -> _Encoded:
    """A 256-colour PNG keeping the alpha channel, scaled down until it fits (the first size guessed from a sample)."""

    def encode(candidate: Image.Image) -> _Encoded:
        palette = candidate.quantize(256, method=Image.Quantize.FASTOCTREE)
        return _Encoded(_png(palette, icc, optimize=False), *candidate.size, f"png 256 colours {_dims(candidate)}")

    width, height = image.size
    guess = None
    if width * height > 4 * SAMPLE_SIDE * SAMPLE_SIDE:
        left, top = (width - SAMPLE_SIDE) // 2, (height - SAMPLE_SIDE) // 2
        sample = encode(image.crop((left, top, left + SAMPLE_SIDE, top + SAMPLE_SIDE)))
        per_pixel = len(sample.data) / (SAMPLE_SIDE * SAMPLE_SIDE)
        guess = min(1.0, math.sqrt(0.95 * budget / (per_pixel * width * height)))
    return _scale_search(image.size, budget, _resized(image, encode), first_guess=guess)


def _fit_animation(image: Image.Image, budget: int) -> _Encoded:
    """Every frame scaled by one factor until the GIF fits; durations, looping and disposal kept."""
    frames: list[Image.Image] = []
    durations: list[int] = []
    for frame in ImageSequence.Iterator(image):
        durations.append(int(frame.info.get("duration", 100)))
        frames.append(frame.convert("RGBA"))
    loop = image.info.get("loop")

    def encode(scale: float) -> _Encoded:
        size = _scaled_size(image.size, scale)
        resized = [_bare(frame.resize(size, Image.Resampling.LANCZOS, reducing_gap=2.0)) for frame in frames]
        options: dict[str, object] = {"save_all": True, "append_images": resized[1:], "duration": durations}
        if loop is not None:
            options["loop"] = loop
        out = io.BytesIO()
        resized[0].save(out, "GIF", optimize=True, disposal=2, **options)
        return _Encoded(out.getvalue(), *size, f"gif {len(frames)} frames {size[0]}x{size[1]}")

    return _scale_search(image.size, budget, encode)


def _resized(image: Image.Image, encode: Callable[[Image.Image], _Encoded]) -> Callable[[float], _Encoded]:
    def at(scale: float) -> _Encoded:
        if scale >= 1.0:
            return encode(image)
        return encode(image.resize(_scaled_size(image.size, scale), Image.Resampling.LANCZOS, reducing_gap=2.0))

    return at


def _scale_search(
    size: tuple[int, int],
    budget: int,
    encode: Callable[[float], _Encoded],
    full: _Encoded | None = None,
    first_guess: float | None = None,
) -> _Encoded:
    """The largest encoding that fits over scale factors (bytes assumed to grow with the scale).

    Starts from ``full`` (the encoding at full size, already made), else from ``first_guess``, else
    from the full size. Each step aims at 95% of the budget by the square root of the last size
    ratio (bytes follow the pixel count), kept between the largest scale known to fit and the
    smallest known not to; the search stops at ``FILL`` of the budget, or after ``SCALE_STEPS``.
    """
    smallest = min(1.0, MIN_LONG_SIDE / max(size))
    fits, too_big = 0.0, math.inf
    best: _Encoded | None = None
    scale = 1.0 if full is not None or first_guess is None else max(smallest, min(1.0, first_guess))
    last = full if full is not None else encode(scale)
    for _ in range(SCALE_STEPS):
        if len(last.data) <= budget:
            fits = scale
            best = last if best is None or len(last.data) > len(best.data) else best
            if len(last.data) >= FILL * budget or scale >= 1.0:
                break
        else:
            too_big = scale
            if scale <= smallest:
                break
        guess = min(1.0, _scale_of(last, size) * math.sqrt(0.95 * budget / len(last.data)))
        if not fits < guess < too_big:
            guess = (fits + min(too_big, 1.0)) / 2
        scale = max(guess, smallest)
        last = encode(scale)
    if len(last.data) <= budget and (best is None or len(last.data) > len(best.data)):
        best = last  # the last step's encoding, not yet weighed when the steps ran out
    if best is None:
        raise PermanentSendError("image_cannot_fit", f"does not fit {budget} bytes even at {MIN_LONG_SIDE} pixels")
    return best


def _scale_of(encoded: _Encoded, size: tuple[int, int]) -> float:
    return max(encoded.width, encoded.height) / max(size)


def _scaled_size(size: tuple[int, int], scale: float) -> tuple[int, int]:
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))


# --------------------------------------------------------------------------------- writing


def _jpeg(image: Image.Image, quality: int, icc: bytes | None, subsampling: int = _SUBSAMPLING_420) -> bytes:
    out = io.BytesIO()
    _bare(image).save(out, "JPEG", quality=quality, subsampling=subsampling, optimize=True, icc_profile=icc)
    return out.getvalue()


def _png(image: Image.Image, icc: bytes | None, optimize: bool = True) -> bytes:
    out = io.BytesIO()
    _bare(image, keep=("transparency",)).save(out, "PNG", optimize=optimize, icc_profile=icc)
    return out.getvalue()


def _bare(image: Image.Image, keep: tuple[str, ...] = ()) -> Image.Image:
    """The image without the metadata an encoder would copy from it (comments, XMP, EXIF, text)."""
    image.info = {key: value for key, value in image.info.items() if key in keep}
    return image


def _dims(image: Image.Image) -> str:
    return f"{image.size[0]}x{image.size[1]}"
