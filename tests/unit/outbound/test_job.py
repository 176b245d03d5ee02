"""The outbound job contract: what producers may put on the queue."""

import json
from pathlib import Path

import pytest

from mmsrelay.outbound.job import InvalidJob, derived_message_id, message_id_of, parse_job
from mmsrelay.outbound.schema import render
from tests.support import EVENTS

SCHEMA = Path(__file__).resolve().parents[3] / "schemas" / "outbound-job.schema.json"


@pytest.mark.parametrize(
    "event",
    [
        "outbound_https_one_image.json",
        "outbound_https_url.json",
        "outbound_text_only.json",
        "outbound_group_mm4.json",
        "outbound_mm4_forced.json",
    ],
)
def test_every_sample_job_is_valid(event: str) -> None:
    job = parse_job((EVENTS / event).read_text())
    assert job.to
    assert job.text or job.media


def test_fields_map_from_their_json_names() -> None:
    job = parse_job((EVENTS / "outbound_group_mm4.json").read_text())
    assert job.message_id == "team-dinner-photos"
    assert job.sender == "+12223334444"
    assert job.delivery_report is True
    assert [type(item).__name__ for item in job.media] == ["S3Media", "UrlMedia"]
    s3 = job.media[0]
    assert (s3.bucket, s3.key) == ("mms-relay-media-bucket", "outbound/dinner/1.jpg")  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ("not json", "body"),
        ("[]", "body"),
        ('{"to": ["+13105551212"], "text": "x"}', "from"),
        ('{"from": "1222", "to": [], "text": "x"}', "to"),
        ('{"from": "1222", "to": ["+1310555121"], "text": ""}', "body"),
        ('{"from": "1222", "to": ["hello"], "text": "x"}', "to.0"),
        ('{"from": "1222", "to": ["+13105551212", "+13105551212"], "text": "x"}', "body"),
        ('{"from": "1222", "to": ["+13105551212"], "text": "x", "transport": "fax"}', "transport"),
        ('{"from": "1222", "to": ["+13105551212"], "media": [{"url": "http://insecure/a.jpg"}]}', "media.0"),
        (
            '{"from": "1222", "to": ["+13105551212"], "media": [{"url": "https://a/b", "s3": "s3://b/k"}]}',
            "media.0",
        ),
        ('{"from": "1222", "to": ["+13105551212"], "text": "x", "colour": "red"}', "colour"),
        ('{"from": "1222", "to": ["+13105551212"], "text": "x", "messageId": "has spaces"}', "messageId"),
    ],
)
def test_bad_jobs_are_refused_saying_where(body: str, where: str) -> None:
    with pytest.raises(InvalidJob) as caught:
        parse_job(body)
    assert any(error.startswith(where) for error in caught.value.errors), caught.value.errors


def test_eleven_recipients_are_too_many_for_a_group() -> None:
    body = json.dumps({"from": "1222", "to": [f"+1310555{n:04d}" for n in range(11)], "text": "x"})
    with pytest.raises(InvalidJob):
        parse_job(body)


def test_the_derived_message_id_ignores_formatting_but_not_content() -> None:
    compact = '{"from":"1222","to":["+13105551212"],"text":"hi"}'
    spaced = '{ "text": "hi", "to": [ "+13105551212" ], "from": "1222" }'
    other = '{"from":"1222","to":["+13105551212"],"text":"hi!"}'
    assert derived_message_id(compact) == derived_message_id(spaced)
    assert derived_message_id(compact) != derived_message_id(other)
    assert message_id_of(parse_job(compact), compact) == derived_message_id(compact)


def test_a_given_message_id_is_the_idempotency_key() -> None:
    body = (EVENTS / "outbound_https_url.json").read_text()
    assert message_id_of(parse_job(body), body) == "promo-2026-11-25-0001"


def test_the_published_schema_is_current() -> None:
    # When this fails: `make schema` and commit schemas/outbound-job.schema.json.
    assert SCHEMA.read_text() == render()
