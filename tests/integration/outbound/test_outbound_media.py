"""The job's media made ready for each transport: S3 objects (moto) and fetched URLs (a fake source),
images over the message's limit fitted (Pillow) and stored beside their originals."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from PIL import Image

from mmsrelay.domain.errors import BlockedMediaUrl, PermanentSendError
from mmsrelay.domain.media import FittedImage
from mmsrelay.media.fitting import PillowFitter
from mmsrelay.media.objects import S3Objects
from mmsrelay.media.presign import S3Presigner
from mmsrelay.media.store import S3MediaStore
from mmsrelay.outbound.fitting import ImageFitter
from mmsrelay.outbound.job import OutboundJob, parse_job
from mmsrelay.outbound.links import MediaLinkResolver, MediaLinks
from mmsrelay.outbound.media import OutboundMedia
from mmsrelay.storage.links import LinkRepository
from tests import photos
from tests.integration.conftest import REGION, TABLE
from tests.unit.inbound.fakes import FakeDownload, FakeSource

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

NOW = datetime(2026, 11, 25, 17, 0, tzinfo=UTC)
BUCKET = "media"
JPEG = b"\xff\xd8\xff\xe0" + b"j" * 100
PNG = b"\x89PNG\r\n\x1a\n" + b"p" * 100
LONG_URL = "https://cdn.example.com/" + "x" * 150 + ".png"
LONG_PHOTO_URL = "https://cdn.example.com/" + "y" * 150 + ".jpg"
LIMIT = 1024  # the message's limit in the fixture: media plus text
PHOTO = photos.camera_jpeg(800, 600, seed=1)  # about 110 kB
AMR = b"#!AMR\n" + b"a" * 594


class CountingFitter:
    """The real fitter, counting its calls: media that fits never reaches it."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []
        self._fitter = PillowFitter()

    def fit(self, data: bytes, content_type: str, budget: int) -> FittedImage:
        self.calls.append((content_type, budget))
        return self._fitter.fit(data, content_type, budget)


@pytest.fixture
def media(dynamodb: DynamoDBClient) -> dict[str, Any]:
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="outbound/a.jpg", Body=JPEG, ContentType="image/jpeg")
    s3.put_object(Bucket=BUCKET, Key="outbound/untyped", Body=PNG)
    s3.put_object(Bucket=BUCKET, Key="outbound/script.sh", Body=b"#!/bin/sh", ContentType="text/x-sh")
    s3.put_object(Bucket=BUCKET, Key="outbound/photo.jpg", Body=PHOTO, ContentType="image/jpeg")
    s3.put_object(Bucket=BUCKET, Key="elsewhere/photo.jpg", Body=PHOTO, ContentType="image/jpeg")
    s3.put_object(Bucket=BUCKET, Key="outbound/voice.amr", Body=AMR, ContentType="audio/amr")
    s3.put_object(Bucket=BUCKET, Key="outbound/broken.jpg", Body=JPEG + bytes(2000), ContentType="image/jpeg")
    source = FakeSource(
        {
            "https://cdn.example.com/b.png": FakeDownload("image/png", PNG),
            LONG_URL: FakeDownload("image/png", PNG),
            LONG_PHOTO_URL: FakeDownload("image/jpeg", PHOTO),
            "https://cdn.example.com/photo.jpg": FakeDownload("image/jpeg", PHOTO),
        },
        errors={"https://inside.example.com/c.png": BlockedMediaUrl("address_not_public")},
    )
    links = MediaLinks(
        LinkRepository(dynamodb, TABLE),
        "https://abc123.execute-api.us-east-1.amazonaws.com/v1",
        timedelta(hours=1),
        lambda: NOW,
    )
    fitter = CountingFitter()
    fitters: list[ImageFitter] = []

    def build_fitter() -> ImageFitter:
        fitters.append(fitter)
        return fitter

    subject = OutboundMedia(
        S3Objects(s3),
        BUCKET,
        lambda: source,
        lambda: S3MediaStore(s3, BUCKET),
        links,
        build_fitter,
        LIMIT,
        20 * 1024 * 1024,
        lambda: NOW,
    )
    return {"subject": subject, "s3": s3, "dynamodb": dynamodb, "fitter": fitter, "fitters": fitters}


def job(*media: dict[str, str], text: str = "x", limit: int | None = None) -> OutboundJob:
    return parse_job(json.dumps({"from": "12223334444", "to": ["+13105551212"], "text": text, "media": list(media)}))


def with_limit(media: dict[str, Any], limit: int) -> OutboundMedia:
    subject: OutboundMedia = media["subject"]
    subject._max_bytes = limit
    return subject


def token_of(url: str | None) -> str:
    assert url is not None
    return url.rsplit("/", 1)[1]


def link_key(media: dict[str, Any], url: str | None) -> str:
    token = token_of(url)
    item = media["dynamodb"].get_item(TableName=TABLE, Key={"pk": {"S": f"LINK#{token}"}, "sk": {"S": "LINK"}})
    return str(item["Item"]["key"]["S"])


def stored(media: dict[str, Any], key: str) -> bytes:
    return bytes(media["s3"].get_object(Bucket=BUCKET, Key=key)["Body"].read())


def test_a_short_url_goes_to_the_gateway_as_is(media: dict[str, Any]) -> None:
    (attachment,) = media["subject"].for_https(job({"url": "https://cdn.example.com/b.png"}), "m-1")
    assert attachment.url == "https://cdn.example.com/b.png"
    assert attachment.data is None


def test_an_s3_object_becomes_a_short_link(media: dict[str, Any]) -> None:
    (attachment,) = media["subject"].for_https(job({"s3": f"s3://{BUCKET}/outbound/a.jpg"}), "m-1")
    assert attachment.url is not None
    assert attachment.url.startswith("https://abc123.execute-api.us-east-1.amazonaws.com/v1/m/")
    assert len(attachment.url) <= 160
    assert attachment.content_type == "image/jpeg"
    token = attachment.url.rsplit("/", 1)[1]
    link = media["dynamodb"].get_item(TableName=TABLE, Key={"pk": {"S": f"LINK#{token}"}, "sk": {"S": "LINK"}})["Item"]
    assert link["key"] == {"S": "outbound/a.jpg"}


def test_a_url_too_long_for_the_gateway_is_copied_and_linked(media: dict[str, Any]) -> None:
    (attachment,) = media["subject"].for_https(job({"url": LONG_URL}), "m-1")
    assert attachment.url is not None
    assert len(attachment.url) <= 160
    stored = media["s3"].get_object(Bucket=BUCKET, Key="outbound/2026/11/25/m-1/0.png")["Body"].read()
    assert stored == PNG


def test_mm4_gets_every_attachments_bytes_in_order(media: dict[str, Any]) -> None:
    attachments = media["subject"].for_mm4(
        job(
            {"s3": f"s3://{BUCKET}/outbound/a.jpg"},
            {"url": "https://cdn.example.com/b.png"},
            {"s3": f"s3://{BUCKET}/outbound/untyped"},
        ),
        "m-1",
    )
    assert [(a.name, a.content_type, a.data) for a in attachments] == [
        ("0.jpg", "image/jpeg", JPEG),
        ("1.png", "image/png", PNG),
        ("2.png", "image/png", PNG),  # no stored type: sniffed from the bytes
    ]


@pytest.mark.parametrize(
    ("item", "code"),
    [
        ({"s3": "s3://someone-elses-bucket/a.jpg"}, "bucket_not_allowed"),
        ({"s3": f"s3://{BUCKET}/outbound/missing.jpg"}, "media_not_found"),
        ({"s3": f"s3://{BUCKET}/outbound/script.sh"}, "type_not_allowed"),
    ],
)
def test_media_that_cannot_be_sent_is_a_permanent_error(media: dict[str, Any], item: dict[str, str], code: str) -> None:
    for prepare in (media["subject"].for_https, media["subject"].for_mm4):
        with pytest.raises(PermanentSendError) as caught:
            prepare(job(item), "m-1")
        assert caught.value.code == code


def test_a_blocked_url_is_refused_for_mm4(media: dict[str, Any]) -> None:
    with pytest.raises(BlockedMediaUrl):
        media["subject"].for_mm4(job({"url": "https://inside.example.com/c.png"}), "m-1")


def test_media_that_fits_is_sent_as_given_and_never_fitted(media: dict[str, Any]) -> None:
    # Nine 104-byte images and their 1-byte text fit the 1024-byte limit
    nine = [{"s3": f"s3://{BUCKET}/outbound/a.jpg"}] * 9
    attachments = media["subject"].for_mm4(job(*nine), "m-1")
    assert [a.data for a in attachments] == [JPEG] * 9
    media["subject"].for_https(job({"s3": f"s3://{BUCKET}/outbound/a.jpg"}), "m-2")
    assert media["fitters"] == []  # the fitter (and Pillow) never built


def test_media_other_than_images_over_the_limit_is_refused(media: dict[str, Any]) -> None:
    # Two 600-byte voice notes pass the 1024-byte limit, and only images are fitted
    voices = [{"s3": f"s3://{BUCKET}/outbound/voice.amr"}] * 2
    with pytest.raises(PermanentSendError) as caught:
        media["subject"].for_mm4(job(*voices), "m-1")
    assert caught.value.code == "media_too_large"
    assert "only images are fitted" in str(caught.value)
    with pytest.raises(PermanentSendError) as caught:
        with_limit(media, 500).for_https(job({"s3": f"s3://{BUCKET}/outbound/voice.amr"}), "m-1")
    assert caught.value.code == "media_too_large"
    assert media["fitter"].calls == []


# --- fitting ------------------------------------------------------------------------------------


def test_an_image_over_the_limit_is_fitted_and_its_link_serves_the_fitted_copy(media: dict[str, Any]) -> None:
    # Given a 110 kB photo in the bucket and a 40,000-byte limit
    subject = with_limit(media, 40_000)
    # When it is made ready for an HTTPS send
    (attachment,) = subject.for_https(job({"s3": f"s3://{BUCKET}/outbound/photo.jpg"}, text="hello"), "m-1")
    # Then the link leads to the fitted copy stored beside the original, which is untouched
    key = link_key(media, attachment.url)
    assert key == "outbound/photo.jpg.fitted.jpg"
    fitted = stored(media, key)
    assert len(fitted) <= 40_000 - len("hello")
    assert Image.open(io.BytesIO(fitted)).format == "JPEG"
    assert (attachment.content_type, attachment.name) == ("image/jpeg", "photo.jpg.fitted.jpg")
    assert stored(media, "outbound/photo.jpg") == PHOTO
    assert media["fitter"].calls == [("image/jpeg", 40_000 - len("hello"))]
    # And resolving the link presigns the fitted copy
    resolver = MediaLinkResolver(
        LinkRepository(media["dynamodb"], TABLE), S3Presigner(lambda: media["s3"], BUCKET), lambda: NOW
    )
    target = resolver.resolve(token_of(attachment.url))
    assert target is not None
    assert "/outbound/photo.jpg.fitted.jpg?" in target


def test_a_long_url_over_the_limit_is_copied_then_fitted_beside_the_copy(media: dict[str, Any]) -> None:
    (attachment,) = with_limit(media, 30_000).for_https(job({"url": LONG_PHOTO_URL}), "m-1")
    assert link_key(media, attachment.url) == "outbound/2026/11/25/m-1/0.jpg.fitted.jpg"
    assert stored(media, "outbound/2026/11/25/m-1/0.jpg") == PHOTO
    assert len(stored(media, "outbound/2026/11/25/m-1/0.jpg.fitted.jpg")) <= 30_000 - 1


def test_the_fitted_copy_of_an_original_outside_outbound_is_written_under_outbound(media: dict[str, Any]) -> None:
    # The outbound function may write under outbound/ only (its role)
    (attachment,) = with_limit(media, 40_000).for_https(job({"s3": f"s3://{BUCKET}/elsewhere/photo.jpg"}), "m-1")
    assert link_key(media, attachment.url) == "outbound/fitted/elsewhere/photo.jpg.fitted.jpg"


def test_mm4_images_share_the_message_budget_and_are_stored_beside_s3_originals(media: dict[str, Any]) -> None:
    # Given two photos (one in S3, one by URL) and a voice note, with a 60,000-byte limit
    subject = with_limit(media, 60_000)
    items = (
        {"s3": f"s3://{BUCKET}/outbound/photo.jpg"},
        {"url": "https://cdn.example.com/photo.jpg"},
        {"s3": f"s3://{BUCKET}/outbound/voice.amr"},
    )
    # When the message is made ready for MM4
    attachments = subject.for_mm4(job(*items, text="two photos"), "m-1")
    # Then the voice note keeps its size, the photos share the rest, and all of it fits
    assert [(a.name, a.content_type) for a in attachments] == [
        ("0.jpg", "image/jpeg"),
        ("1.jpg", "image/jpeg"),
        ("2.amr", "audio/amr"),
    ]
    sizes = [len(a.data or b"") for a in attachments]
    assert sizes[2] == len(AMR)
    assert sum(sizes) <= 60_000 - len("two photos")
    share = (60_000 - len("two photos") - len(AMR)) // 2
    assert media["fitter"].calls == [("image/jpeg", share), ("image/jpeg", share)]
    # And the S3 original's fitted copy is what MM4 carries; the URL's is not stored (it has no original there)
    assert stored(media, "outbound/photo.jpg.fitted.jpg") == attachments[0].data
    listed = media["s3"].list_objects_v2(Bucket=BUCKET, Prefix="outbound/")["Contents"]
    assert [entry["Key"] for entry in listed if ".fitted." in entry["Key"]] == ["outbound/photo.jpg.fitted.jpg"]


def test_an_image_that_cannot_be_read_is_refused_with_a_reason(media: dict[str, Any]) -> None:
    with pytest.raises(PermanentSendError) as caught:
        media["subject"].for_https(job({"s3": f"s3://{BUCKET}/outbound/broken.jpg"}), "m-1")
    assert caught.value.code == "image_unreadable"


def test_originals_beyond_what_the_relay_reads_are_refused(media: dict[str, Any]) -> None:
    subject = with_limit(media, 40_000)
    subject._max_original = 100_000  # the photo is about 110 kB
    for prepare in (subject.for_https, subject.for_mm4):
        with pytest.raises(PermanentSendError) as caught:
            prepare(job({"s3": f"s3://{BUCKET}/outbound/photo.jpg"}), "m-1")
        assert caught.value.code == "media_too_large"
