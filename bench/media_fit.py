"""Images fitted to the carriers' limit: the share of the limit used, and the time per image.

Real-looking pictures are made here (``tests/photos.py``: gradients, soft shapes and grain that
compress as a phone camera's photo does, as a camera's JPEG with EXIF, as PNG, a PNG with
transparency, an animated GIF), each larger than the limit, and fitted by ``PillowFitter`` as the
outbound function calls it for a message without text (the budget is the whole limit), at the
default ``MaxOutboundMessageBytes`` (1 MiB) and at the conservative 600 KB. Figures:

* ``fit_share_<kind>_<limit>``: the fitted size as a share of the limit (target: at least 0.85x,
  never over 1.00x);
* ``fit_time_<kind>_<limit>``: the median time to fit it over ``BENCH_ROUNDS`` rounds (default 3),
  min and max beside it, against the baseline measured in the same run: decoding the original and
  encoding it once, as a JPEG at quality 80 (an animated GIF: as a GIF of all its frames), the least
  any re-encoding costs.

Every round must give the same bytes (the fitting is deterministic): a round that did not is an error.
"""

from __future__ import annotations

import io
import os
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial

from PIL import Image, ImageSequence

from mmsrelay.media.fitting import PillowFitter
from tests import photos

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
LIMITS = {"1mib": 1_048_576, "600kb": 614_400}
TARGET_SHARE = 0.85


def samples() -> dict[str, tuple[bytes, str]]:
    """Each kind of image a producer sends, larger than the limit: name -> (bytes, content type)."""
    grain = photos.CAMERA_GRAIN  # compresses like a phone camera's photo (about 2.5 bits a pixel at quality 95)
    return {
        "photo_12mp_4x3": (photos.camera_jpeg(4032, 3024, seed=1, noise=grain), "image/jpeg"),
        "photo_12mp_portrait_exif_rotated": (
            photos.camera_jpeg(4032, 3024, seed=2, orientation=6, noise=grain),
            "image/jpeg",
        ),
        "photo_8mp_16x9": (photos.camera_jpeg(3840, 2160, seed=3, noise=grain), "image/jpeg"),
        "photo_48mp_4x3": (photos.camera_jpeg(8000, 6000, seed=4, noise=grain), "image/jpeg"),
        "photo_png_3024x4032": (photos.png_photo(3024, 4032, seed=5, noise=grain), "image/png"),
        "png_alpha_3000x3000": (photos.png_photo(3000, 3000, seed=6, alpha=True, noise=grain), "image/png"),
        "gif_animated_480x360_30_frames": (photos.animated_gif(480, 360, 30, seed=7), "image/gif"),
    }


def timed(work: Callable[[], bytes], rounds: int) -> tuple[list[float], bytes]:
    results: set[bytes] = set()
    seconds = []
    for _ in range(rounds):
        started = time.perf_counter()
        results.add(work())
        seconds.append(time.perf_counter() - started)
    if len(results) != 1:
        raise RuntimeError("fitting the same image twice gave different bytes")
    return seconds, results.pop()


def fitted_data(fitter: PillowFitter, data: bytes, content_type: str, limit: int) -> bytes:
    return fitter.fit(data, content_type, limit).data


def baseline(data: bytes) -> bytes:
    """One decode and one encode: a JPEG at quality 80, an animated GIF as a GIF of all its frames."""
    image = Image.open(io.BytesIO(data))
    out = io.BytesIO()
    if getattr(image, "n_frames", 1) > 1:
        frames = [frame.convert("RGBA") for frame in ImageSequence.Iterator(image)]
        frames[0].save(out, "GIF", save_all=True, append_images=frames[1:])
    else:
        image.convert("RGB").save(out, "JPEG", quality=80)
    return out.getvalue()


def main() -> None:
    print(f"media fit: generating samples, then {ROUNDS} rounds per image and limit", file=sys.stderr)
    fitter = PillowFitter()
    unmet = 0
    for kind, (data, content_type) in samples().items():
        base_seconds, _ = timed(partial(baseline, data), ROUNDS)
        base = statistics.median(base_seconds)
        for limit_name, limit in LIMITS.items():
            seconds, fitted_bytes = timed(partial(fitted_data, fitter, data, content_type, limit), ROUNDS)
            fitted = fitter.fit(data, content_type, limit)
            share = len(fitted_bytes) / limit
            ok = TARGET_SHARE <= share <= 1.0
            unmet += not ok
            verdict = "met" if ok else "NOT MET"
            name = f"{kind}_{limit_name}"
            print(
                f"fit_share_{name}: {len(fitted_bytes)} bytes ({share:.2f}x limit of {limit}; "
                f"target {TARGET_SHARE:.2f}x..1.00x: {verdict}; {len(data)} bytes in, {fitted.how})"
            )
            median = statistics.median(seconds)
            print(
                f"fit_time_{name}: {median:.2f} s ({median / base:.1f}x one decode and encode of {base:.2f} s; "
                f"min {min(seconds):.2f}, max {max(seconds):.2f} s over {ROUNDS} rounds)"
            )
    print(f"fit_share_targets: {'met' if not unmet else f'NOT MET for {unmet}'} (every image, both limits)")


if __name__ == "__main__":
    main()
