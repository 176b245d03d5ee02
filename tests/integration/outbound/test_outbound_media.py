"""The job's media made ready for each transport: S3 objects (moto) and fetched URLs (a fake source)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import boto3
import pytest

from mmsrelay.domain.errors import BlockedMediaUrl, PermanentSendError
from mmsrelay.media.objects import S3Objects
from mmsrelay.media.store import S3MediaStore
from mmsrelay.outbound.job import OutboundJob
from mmsrelay.outbound.links import MediaLinks
from mmsrelay.outbound.media import OutboundMedia
from mmsrelay.storage.links import LinkRepository
from tests.integration.conftest import REGION, TABLE
from tests.unit.inbound.fakes import FakeDownload, FakeSource

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

NOW = datetime(2026, 11, 25, 17, 0, tzinfo=UTC)
BUCKET = "media"
JPEG = b"\xff\xd8\xff\xe0" + b"j" * 100
PNG = b"\x89PNG\r\n\x1a\n" + b"p" * 100
LONG_URL = "https://cdn.example.com/" + "x" * 150 + ".png"


@pytest.fixture
def media(dynamodb: DynamoDBClient) -> dict[str, Any]:
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="outbound/a.jpg", Body=JPEG, ContentType="image/jpeg")
    s3.put_object(Bucket=BUCKET, Key="outbound/untyped", Body=PNG)
    s3.put_object(Bucket=BUCKET, Key="outbound/script.sh", Body=b"#!/bin/sh", ContentType="text/x-sh")
    source = FakeSource(
        {
            "https://cdn.example.com/b.png": FakeDownload("image/png", PNG),
            LONG_URL: FakeDownload("image/png", PNG),
        },
        errors={"https://inside.example.com/c.png": BlockedMediaUrl("address_not_public")},
    )
    links = MediaLinks(
        LinkRepository(dynamodb, TABLE),
        "https://abc123.execute-api.us-east-1.amazonaws.com/v1",
        timedelta(hours=1),
        lambda: NOW,
    )
    subject = OutboundMedia(
        S3Objects(s3), BUCKET, lambda: source, lambda: S3MediaStore(s3, BUCKET), links, 1024, lambda: NOW
    )
    return {"subject": subject, "s3": s3, "dynamodb": dynamodb}


def job(*media: dict[str, str]) -> OutboundJob:
    return OutboundJob.model_validate(
        {"from": "12223334444", "to": ["+13105551212"], "text": "x", "media": list(media)}
    )


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


def test_the_total_size_is_capped(media: dict[str, Any]) -> None:
    # Nine 104-byte images fit the 1024-byte limit; the tenth attachment does not
    nine = [{"s3": f"s3://{BUCKET}/outbound/a.jpg"}] * 9 + [{"url": "https://cdn.example.com/b.png"}]
    with pytest.raises(PermanentSendError) as caught:
        media["subject"].for_mm4(job(*nine), "m-1")
    assert caught.value.code == "media_too_large"
