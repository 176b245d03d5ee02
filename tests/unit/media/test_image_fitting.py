"""Images re-encoded to fit a byte budget (Pillow): each kind, never over, metadata gone, animation kept."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageCms, ImageSequence

from mmsrelay.domain.errors import PermanentSendError
from mmsrelay.media import fitting
from mmsrelay.media.fitting import PillowFitter
from tests import photos


def opened(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data))


@pytest.fixture(scope="module")
def photo_jpeg() -> bytes:
    return photos.camera_jpeg(1200, 900, seed=3)  # about 160 kB


@pytest.mark.parametrize("budget", [150_000, 60_000, 20_000, 6_000])
def test_a_jpeg_is_never_over_its_budget_and_uses_most_of_it(photo_jpeg: bytes, budget: int) -> None:
    # When a photo larger than the budget is fitted
    fitted = PillowFitter().fit(photo_jpeg, "image/jpeg", budget)
    # Then it is a JPEG within the budget, using at least 85% of it, with the photo's proportions
    assert fitted.content_type == "image/jpeg"
    assert 0.85 * budget <= len(fitted.data) <= budget
    image = opened(fitted.data)
    assert image.format == "JPEG"
    assert (image.width, image.height) == (fitted.width, fitted.height)
    assert abs(image.width / image.height - 1200 / 900) < 0.01


def test_a_jpeg_close_to_its_budget_keeps_its_size_and_loses_quality_only(photo_jpeg: bytes) -> None:
    fitted = PillowFitter().fit(photo_jpeg, "image/jpeg", 150_000)
    assert (fitted.width, fitted.height) == (1200, 900)
    assert fitted.how.startswith("jpeg q")


def test_a_jpeg_far_over_its_budget_is_scaled_down(photo_jpeg: bytes) -> None:
    fitted = PillowFitter().fit(photo_jpeg, "image/jpeg", 20_000)
    assert fitted.width < 1200
    assert fitted.how.endswith(" from 1200x900") or "from 600x450" in fitted.how  # decoded at half size first


def test_the_orientation_is_applied_and_every_metadata_but_the_colour_profile_is_dropped() -> None:
    # Given a portrait photo stored sideways (EXIF orientation 6) with GPS, an artist, a comment and an ICC profile
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    source = opened(photos.camera_jpeg(900, 600, seed=4, orientation=6))
    out = io.BytesIO()
    source.save(out, "JPEG", quality=98, exif=source.getexif(), comment=b"taken somewhere", icc_profile=profile)
    # When it is fitted
    fitted = PillowFitter().fit(out.getvalue(), "image/jpeg", 40_000)
    # Then it stands upright, and nothing of the metadata is left but the colour profile
    image = opened(fitted.data)
    assert image.height > image.width
    assert not image.getexif()
    assert "comment" not in image.info
    assert "exif" not in image.info
    assert b"somewhere" not in fitted.data
    assert image.info.get("icc_profile") == profile


def test_a_png_that_fits_once_optimised_stays_a_png() -> None:
    # Given a PNG written without compression (about 480 kB for a flat-ish 400x400 picture)
    picture = photos.photo(400, 400, seed=5, noise=0.0)
    raw = photos.encoded(picture, "PNG", compress_level=0)
    # When it is fitted to a budget its optimised encoding meets
    fitted = PillowFitter().fit(raw, "image/png", len(raw) // 2)
    # Then it is still a PNG, pixel for pixel
    assert fitted.content_type == "image/png"
    assert fitted.how.startswith("png ")
    assert opened(fitted.data).convert("RGB").tobytes() == picture.tobytes()


def test_a_png_without_transparency_that_does_not_fit_becomes_a_jpeg() -> None:
    data = photos.png_photo(800, 600, seed=6)
    fitted = PillowFitter().fit(data, "image/png", 50_000)
    assert fitted.content_type == "image/jpeg"
    assert len(fitted.data) <= 50_000
    assert opened(fitted.data).format == "JPEG"


def test_an_opaque_alpha_channel_does_not_keep_a_png_from_becoming_a_jpeg() -> None:
    picture = photos.photo(600, 400, seed=7).convert("RGBA")  # alpha 255 everywhere: not in use
    fitted = PillowFitter().fit(photos.encoded(picture, "PNG"), "image/png", 30_000)
    assert fitted.content_type == "image/jpeg"


@pytest.mark.parametrize(("side", "budget"), [(600, 60_000), (1200, 150_000)])  # the larger sized from a sample
def test_a_png_with_transparency_stays_a_png_and_keeps_it(side: int, budget: int) -> None:
    data = photos.png_photo(side, side, seed=8, alpha=True)
    fitted = PillowFitter().fit(data, "image/png", budget)
    assert fitted.content_type == "image/png"
    assert len(fitted.data) <= budget
    alpha = opened(fitted.data).convert("RGBA").getchannel("A")
    low, high = alpha.getextrema()
    # The edges transparent, the centre opaque (alpha quantised with the colours)
    assert isinstance(low, int)
    assert isinstance(high, int)
    assert low <= 32
    assert high >= 224


def test_an_animated_gif_keeps_its_frames_timing_and_loop() -> None:
    data = photos.animated_gif(320, 240, frames=8, seed=9)
    budget = len(data) // 3
    fitted = PillowFitter().fit(data, "image/gif", budget)
    assert fitted.content_type == "image/gif"
    assert len(fitted.data) <= budget
    image = opened(fitted.data)
    assert getattr(image, "n_frames", 1) == 8
    assert image.info.get("loop") == 0
    assert [frame.info.get("duration") for frame in ImageSequence.Iterator(image)] == [80] * 8
    assert image.width < 320
    assert b"made by me" in data
    assert b"made by me" not in fitted.data  # the comment, like any metadata, is gone


def test_a_still_gif_is_fitted_as_a_still_image() -> None:
    data = photos.encoded(photos.photo(500, 400, seed=10), "GIF")
    fitted = PillowFitter().fit(data, "image/gif", 30_000)
    assert fitted.content_type == "image/jpeg"
    assert len(fitted.data) <= 30_000


def test_an_animated_webp_is_refused_with_a_reason() -> None:
    frames = [photos.photo(200, 150, seed=seed) for seed in range(3)]
    data = photos.encoded(frames[0], "WEBP", save_all=True, append_images=frames[1:], quality=100)
    with pytest.raises(PermanentSendError) as caught:
        PillowFitter().fit(data, "image/webp", len(data) // 4)
    assert caught.value.code == "image_cannot_fit"
    assert "animated" in str(caught.value)


def test_bytes_that_are_no_image_are_refused() -> None:
    with pytest.raises(PermanentSendError) as caught:
        PillowFitter().fit(b"\xff\xd8\xff\xe0" + b"not a jpeg" * 100, "image/jpeg", 500)
    assert caught.value.code == "image_unreadable"


def test_a_budget_too_small_for_any_useful_image_is_refused(photo_jpeg: bytes) -> None:
    with pytest.raises(PermanentSendError) as caught:
        PillowFitter().fit(photo_jpeg, "image/jpeg", 300)
    assert caught.value.code == "image_cannot_fit"


def test_a_48_megapixel_jpeg_is_decoded_at_half_its_size_and_not_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a decoded-pixels cap below the photo's pixels but above a half-size decode's
    monkeypatch.setattr(fitting, "MAX_PIXELS", 1_000_000)
    data = photos.camera_jpeg(1600, 1200, seed=13)
    # When it is fitted to a budget a half-size decode still serves, Then it fits rather than being refused
    fitted = PillowFitter().fit(data, "image/jpeg", 1600 * 1200 // fitting.PIXELS_PER_BUDGET_BYTE // 5)
    assert fitted.width <= 800


def test_an_image_with_too_many_pixels_is_refused_before_it_is_decoded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fitting, "MAX_PIXELS", 100_000)
    with pytest.raises(PermanentSendError) as caught:
        PillowFitter().fit(photos.png_photo(400, 300, seed=11), "image/png", 10_000)
    assert caught.value.code == "image_cannot_fit"


def test_a_large_jpeg_is_decoded_at_a_fraction_of_its_size(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a budget whose pixels (PIXELS_PER_BUDGET_BYTE a byte) are an eighth of the photo's
    data = photos.camera_jpeg(1600, 1200, seed=12)
    budget = 1600 * 1200 // fitting.PIXELS_PER_BUDGET_BYTE // 8
    decoded: list[tuple[int, int]] = []
    original = fitting._fit

    def spy(image: Image.Image, budget: int) -> object:
        decoded.append(image.size)
        return original(image, budget)

    monkeypatch.setattr(fitting, "_fit", spy)
    # When it is fitted
    fitted = PillowFitter().fit(data, "image/jpeg", budget)
    # Then the decoder gave half the width and height (a quarter would be fewer pixels), and the result fits
    assert decoded == [(800, 600)]
    assert len(fitted.data) <= budget
