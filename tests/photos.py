"""Real-looking images made in code (the repository holds no binary files), for the fitting tests and bench.

A photo is three gradients with grain and a few soft shapes: it compresses like a camera's picture,
unlike a flat colour. The grain sets how well: at the default 0.12 a JPEG at quality 95 takes about
1.4 bits a pixel (small, quick tests); at ``CAMERA_GRAIN`` about 2.5, as a phone camera's photo
does. Every function takes a seed: the same arguments give the same bytes on every run.
"""

from __future__ import annotations

import io
import random

from PIL import Image, ImageDraw, ImageFilter

CAMERA_GRAIN = 0.35

# EXIF tags written into the sample photos, so that tests can check they are gone after fitting.
ORIENTATION = 0x0112
GPS_IFD = 0x8825
ARTIST = 0x013B


def photo(width: int, height: int, seed: int = 0, noise: float = 0.12) -> Image.Image:
    """An RGB picture: gradients in each channel, soft shapes, then ``noise`` (0..1) of random grain."""
    rng = random.Random(seed)
    channels = []
    for index, kind in enumerate(("linear", "radial", "linear")):
        base = Image.linear_gradient("L") if kind == "linear" else Image.radial_gradient("L")
        base = base.rotate(rng.uniform(0, 360) if index else 0).resize((width, height), Image.Resampling.BILINEAR)
        grain = Image.frombytes("L", (width, height), rng.randbytes(width * height))
        channels.append(Image.blend(base, grain, noise))
    picture = Image.merge("RGB", channels)
    draw = ImageDraw.Draw(picture)
    for _ in range(6):
        x, y = rng.randrange(width), rng.randrange(height)
        radius = rng.randrange(max(2, min(width, height) // 10), max(3, min(width, height) // 3))
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=colour)
    return Image.blend(picture.filter(ImageFilter.GaussianBlur(2)), picture, 0.5)


def camera_jpeg(
    width: int, height: int, seed: int = 0, quality: int = 95, orientation: int = 1, noise: float = 0.12
) -> bytes:
    """``photo`` as a camera writes it: JPEG with EXIF (orientation, an artist, a GPS position) and a comment."""
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    exif[ARTIST] = "someone"
    exif[GPS_IFD] = {1: "N", 2: (37.0, 46.0, 30.0), 3: "W", 4: (122.0, 25.0, 10.0)}
    out = io.BytesIO()
    photo(width, height, seed, noise).save(out, "JPEG", quality=quality, exif=exif, comment=b"taken somewhere")
    return out.getvalue()


def png_photo(width: int, height: int, seed: int = 0, alpha: bool = False, noise: float = 0.12) -> bytes:
    """``photo`` as a PNG; with ``alpha``, a vignette that fades to transparent at the edges."""
    picture = photo(width, height, seed, noise)
    if alpha:
        mask = Image.radial_gradient("L").resize((width, height)).point(lambda value: 255 - value)
        picture.putalpha(mask)
    out = io.BytesIO()
    picture.save(out, "PNG")
    return out.getvalue()


def animated_gif(width: int, height: int, frames: int, seed: int = 0) -> bytes:
    """A looping GIF of ``frames`` frames (a shape moving over a noisy picture), 80 ms each."""
    rng = random.Random(seed)
    backdrop = photo(width, height, seed, noise=0.2)
    images = []
    for number in range(frames):
        frame = backdrop.copy()
        x = width * number // frames
        ImageDraw.Draw(frame).ellipse((x, height // 3, x + width // 5, height // 3 + width // 5), fill=(250, 20, 20))
        frame.paste(
            Image.frombytes("RGB", (width // 4, height // 4), rng.randbytes(3 * (width // 4) * (height // 4))),
            (rng.randrange(width - width // 4), rng.randrange(height - height // 4)),
        )
        images.append(frame)
    out = io.BytesIO()
    images[0].save(out, "GIF", save_all=True, append_images=images[1:], duration=80, loop=0, comment=b"made by me")
    return out.getvalue()


def encoded(image: Image.Image, kind: str, **options: object) -> bytes:
    """``image`` written as ``kind`` (``"JPEG"``, ``"PNG"``, ``"WEBP"``, ...)."""
    out = io.BytesIO()
    image.save(out, kind, **options)
    return out.getvalue()
