"""The outbound job contract: what producers may put on the queue."""

import email
import email.policy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator  # (with moto[server])

from mmsrelay.domain.outbound import OutboundMessage
from mmsrelay.gateway_protocol.mm4_mime import build_mm4_forward
from mmsrelay.outbound.job import CORE_SCHEMA, InvalidJob, derived_message_id, message_id_of, parse_job
from mmsrelay.outbound.schema import render, render_core
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


def test_the_stored_validator_schema_is_current() -> None:
    # When this fails: `make schema` and commit layers/shared/mmsrelay/outbound/job_core_schema.json.
    assert CORE_SCHEMA.read_text() == render_core()


# --- every field at and past its limit; line breaks where a header is made ------------------------
# Each case is checked twice: by the relay's reading (parse_job), and against the JSON Schema
# producers validate with (schemas/outbound-job.schema.json): the two must agree.

SCHEMA_VALIDATOR = Draft202012Validator(json.loads(SCHEMA.read_text()))
BASE: dict[str, Any] = {"messageId": "limits-1", "from": "12223334444", "to": ["+13105551212"], "text": "x"}
LONGEST_NUMBER = "+1 ( 310 ) 555 - 01 00"  # 22 characters: "+", a digit and 20 more
URL_PREFIX = "https://cdn.example.com/"
S3_PREFIX = "s3://mms-relay-media-bucket/"


def numbers(count: int) -> list[str]:
    return [f"+1310555{n:04d}" for n in range(count)]


LIMITS: list[tuple[str, dict[str, Any], dict[str, Any], str]] = [
    ("messageId", {"messageId": "m" * 128}, {"messageId": "m" * 129}, "messageId"),
    ("from", {"from": LONGEST_NUMBER}, {"from": LONGEST_NUMBER + "1"}, "from"),
    ("to", {"to": numbers(10)}, {"to": numbers(11)}, "to"),
    ("to-number", {"to": [LONGEST_NUMBER]}, {"to": [LONGEST_NUMBER + "1"]}, "to.0"),
    ("text", {"text": "😀" * 5000}, {"text": "😀" * 5001}, "text"),
    ("subject", {"subject": "é" * 100}, {"subject": "é" * 101}, "subject"),
    (
        "media",
        {"media": [{"url": f"{URL_PREFIX}{n}.jpg"} for n in range(10)]},
        {"media": [{"url": f"{URL_PREFIX}{n}.jpg"} for n in range(11)]},
        "media",
    ),
    (
        "url",
        {"media": [{"url": URL_PREFIX + "u" * (2048 - len(URL_PREFIX))}]},
        {"media": [{"url": URL_PREFIX + "u" * (2049 - len(URL_PREFIX))}]},
        "media.0",
    ),
    (
        "s3",
        {"media": [{"s3": S3_PREFIX + "k" * (1100 - len(S3_PREFIX))}]},
        {"media": [{"s3": S3_PREFIX + "k" * (1101 - len(S3_PREFIX))}]},
        "media.0",
    ),
]


@pytest.mark.parametrize(("at_limit", "where"), [(case[1], case[3]) for case in LIMITS], ids=[c[0] for c in LIMITS])
def test_each_field_at_its_limit_is_accepted(at_limit: dict[str, Any], where: str) -> None:
    # Given a job with one field at its limit (lengths count characters, astral ones included)
    body = json.dumps(BASE | at_limit)
    # When producers validate it and the relay reads it
    # Then both accept it, the value whole
    assert list(SCHEMA_VALIDATOR.iter_errors(json.loads(body))) == []
    job = parse_job(body)
    assert job.request()[where.split(".", maxsplit=1)[0]] == json.loads(body)[where.split(".", maxsplit=1)[0]]


@pytest.mark.parametrize(("past_limit", "where"), [(case[2], case[3]) for case in LIMITS], ids=[c[0] for c in LIMITS])
def test_each_field_past_its_limit_is_refused_saying_where(past_limit: dict[str, Any], where: str) -> None:
    # Given a job with one field one past its limit
    body = json.dumps(BASE | past_limit)
    # When producers validate it and the relay reads it
    # Then both refuse it, the relay naming the field (and never echoing the value)
    assert list(SCHEMA_VALIDATOR.iter_errors(json.loads(body)))
    with pytest.raises(InvalidJob) as caught:
        parse_job(body)
    assert any(error.startswith(where) for error in caught.value.errors), caught.value.errors
    assert not any("mmmm" in error or "kkkk" in error or "uuuu" in error for error in caught.value.errors)


BREAKS = ["\r\n", "\r", "\n", "\x00", "\t", "\x1b", "\x85", "\u2028", "\u2029"]
HEADER_FIELDS: list[tuple[str, Callable[[str], dict[str, Any]], str]] = [
    # (field, job with the value inside it, where the error is named)
    ("subject", lambda bad: {"subject": f"Dinner{bad}Bcc: +13105559999"}, "subject"),
    ("from", lambda bad: {"from": f"1222{bad}3334444"}, "from"),
    ("to", lambda bad: {"to": [f"+1310{bad}5551212"]}, "to.0"),
    ("messageId", lambda bad: {"messageId": f"order-1{bad}X-Injected"}, "messageId"),
    ("s3", lambda bad: {"media": [{"s3": f"{S3_PREFIX}a{bad}b.png"}]}, "media.0"),
    ("url", lambda bad: {"media": [{"url": f"{URL_PREFIX}a{bad}b.png"}]}, "media.0"),
]


@pytest.mark.parametrize("bad", BREAKS, ids=[repr(b) for b in BREAKS])
@pytest.mark.parametrize(("field", "job_with", "where"), HEADER_FIELDS, ids=[f[0] for f in HEADER_FIELDS])
def test_a_line_break_or_control_character_inside_a_header_field_is_refused(
    field: str, job_with: Callable[[str], dict[str, Any]], where: str, bad: str
) -> None:
    # Given a job whose field (one that becomes, or is looked up for, an MM4 header) holds a line
    # break or another control character between other characters
    body = json.dumps(BASE | job_with(bad))
    # When producers validate it and the relay reads it
    # Then both refuse it; the relay names the field
    assert list(SCHEMA_VALIDATOR.iter_errors(json.loads(body)))
    with pytest.raises(InvalidJob) as caught:
        parse_job(body)
    assert any(error.startswith(where) for error in caught.value.errors), caught.value.errors


@pytest.mark.parametrize("field", ["subject", "from", "messageId"])
def test_line_breaks_around_a_value_are_stripped(field: str) -> None:
    value = {"subject": "Dinner", "from": "12223334444", "messageId": "order-1"}[field]
    job = parse_job(json.dumps(BASE | {field: f"\r\n {value}\r\n\t"}))
    assert job.request()[field] == value


@given(subject=st.text(max_size=100))
@settings(max_examples=150, deadline=None)
def test_any_subject_the_contract_takes_becomes_the_same_mm4_subject(subject: str) -> None:
    # Given any subject text
    body = json.dumps(BASE | {"subject": subject})
    try:
        job = parse_job(body)
    except InvalidJob:
        # Refused by the relay: producers validating with the schema refuse it too (or the
        # relay refused what only stripping would have kept, which the schema never strips)
        assert list(SCHEMA_VALIDATOR.iter_errors(json.loads(body)))
        return
    # When the job the relay accepted is sent over MM4
    message = OutboundMessage("limits-1", "+12223334444", ("+13105551212",), "x", job.subject, (), False)
    forward = build_mm4_forward(message, domain="mmsc.aerialink.net", originator_system="mms-relay")
    # Then the forward is built (no header refused at send time) and carries the same subject
    read_back = email.message_from_bytes(forward.as_bytes(), policy=email.policy.default)
    assert (read_back["Subject"] or None) == (job.subject or None)
    assert read_back["X-Mms-Message-Type"] == "MM4_forward.REQ"
