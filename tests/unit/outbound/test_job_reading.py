"""The relay reads a job as the contract's model does: the same bodies accepted, the same values,
the same errors (``parse_job`` validates with pydantic_core from the stored core schema; the model is
``mmsrelay.outbound.contract.OutboundJob``)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from mmsrelay.outbound import contract
from mmsrelay.outbound.job import InvalidJob, parse_job
from tests.support import EVENTS, load_event

# The job's fields under their Python names, the same on the model and on the relay's job.
FIELDS = ("message_id", "sender", "to", "text", "subject", "media", "delivery_report", "transport")
JOB_EVENTS = sorted(
    path.name for path in EVENTS.glob("outbound_*.json") if "Records" not in json.loads(path.read_text())
)
QUEUED_BODIES = [
    record["body"]
    for name in ("outbound_sqs_batch.json", "outbound_sqs_large_photo.json")
    for record in load_event(name)["Records"]
]


def contract_reading(body: str) -> dict[str, Any]:
    """What the contract's model makes of a body: its fields and its dump, or its errors as the relay words them."""
    try:
        model = contract.OutboundJob.model_validate_json(body)
    except ValidationError as error:
        return {"errors": [f"{'.'.join(str(part) for part in e['loc']) or 'body'}: {e['msg']}" for e in error.errors()]}
    return {
        "fields": {name: getattr(model, name) for name in FIELDS} | {"media": [m.model_dump() for m in model.media]},
        "media kinds": [type(item).__name__ for item in model.media],
        "request": model.model_dump(by_alias=True, exclude_none=True),
    }


def relay_reading(body: str) -> dict[str, Any]:
    try:
        job = parse_job(body)
    except InvalidJob as invalid:
        return {"errors": invalid.errors}
    return {
        "fields": {name: getattr(job, name) for name in FIELDS}
        | {"to": list(job.to), "media": [item.request() for item in job.media]},
        "media kinds": [type(item).__name__ for item in job.media],
        "request": job.request(),
    }


def assert_read_alike(body: str) -> None:
    relay, model = relay_reading(body), contract_reading(body)
    assert relay == model
    # the request keeps the key order of the model's dump (the job's record is written from it)
    assert list(relay.get("request", {})) == list(model.get("request", {}))


@pytest.mark.parametrize("event", JOB_EVENTS)
def test_each_sample_job_is_read_as_the_contract_reads_it(event: str) -> None:
    assert_read_alike((EVENTS / event).read_text())


@pytest.mark.parametrize("body", QUEUED_BODIES, ids=range(len(QUEUED_BODIES)))
def test_each_queued_sample_body_is_read_as_the_contract_reads_it(body: str) -> None:
    assert_read_alike(body)


# --- generated bodies: values near and past every rule, in the right and the wrong types -----------

PADDING = st.sampled_from(["", " ", "\n", "\t ", "\r\n"])
NUMBER = st.one_of(
    st.from_regex(contract.NUMBER_PATTERN, fullmatch=True),
    st.sampled_from(["+13105551212", "+13105551213", "12223334444", "1222", "hello", "", "+", "12"]),
    st.text(max_size=24),
)
PADDED_NUMBER = st.builds(lambda left, number, right: left + number + right, PADDING, NUMBER, PADDING)
JSON_SCALAR = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=8))
GOOD_URL = st.from_regex(r"^https://[a-z]{1,12}(\.[a-z]{2,3})?/[a-z0-9./]{0,20}$", fullmatch=True)
GOOD_S3 = st.from_regex(r"^s3://[a-z0-9][a-z0-9.\-]{1,20}[a-z0-9]/[a-z0-9/._]{1,20}$", fullmatch=True)
URL = st.one_of(
    GOOD_URL,
    st.sampled_from(["http://insecure.example/a.jpg", " https://cdn.example.com/a.jpg", "https://a b", "https://"]),
    st.text(max_size=16),
)
S3 = st.one_of(
    GOOD_S3,
    st.sampled_from(["s3://b/k", "s3://UPPER/k", "s3://mms-relay-media-bucket/", " s3://mms-relay-media-bucket/k"]),
    st.text(max_size=16),
)
MEDIA_ITEM = st.one_of(
    st.fixed_dictionaries({"url": URL}),
    st.fixed_dictionaries({"s3": S3}),
    st.fixed_dictionaries({"url": URL, "s3": S3}),
    st.fixed_dictionaries({"url": URL, "alt": JSON_SCALAR}),
    st.dictionaries(st.sampled_from(["url", "s3", "URL", "href"]), JSON_SCALAR, max_size=2),
    JSON_SCALAR,
)
RECIPIENTS = st.one_of(
    st.lists(PADDED_NUMBER, max_size=12),
    st.lists(NUMBER, min_size=1, max_size=6).map(lambda numbers: [*numbers, numbers[0]]),  # a duplicate
    st.lists(st.one_of(NUMBER, JSON_SCALAR), max_size=3),
    JSON_SCALAR,
)
TEXT = st.one_of(st.text(max_size=12), st.sampled_from(["", " ", "\n"]), JSON_SCALAR)
FIELD_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "messageId": st.one_of(
        st.from_regex(contract.MESSAGE_ID_PATTERN, fullmatch=True),
        st.builds(str.__add__, PADDING, st.just("m-1")),
        TEXT,
    ),
    "from": st.one_of(PADDED_NUMBER, JSON_SCALAR),
    "to": RECIPIENTS,
    "text": TEXT,
    "subject": st.one_of(st.text(max_size=12), st.just("é" * 101), JSON_SCALAR),
    "media": st.one_of(st.lists(MEDIA_ITEM, max_size=11), JSON_SCALAR),
    "deliveryReport": st.one_of(st.booleans(), st.sampled_from(["true", "yes", "0", 1, 0, 2]), JSON_SCALAR),
    "transport": st.one_of(st.sampled_from(["auto", "https", "mm4", " mm4 ", "MM4", "fax"]), JSON_SCALAR),
    # The model takes its fields by name too (populate_by_name), the relay must as well.
    "message_id": TEXT,
    "sender": st.one_of(PADDED_NUMBER, JSON_SCALAR),
    "delivery_report": st.one_of(st.booleans(), JSON_SCALAR),
    # Keys no job has.
    "colour": JSON_SCALAR,
    "Text": JSON_SCALAR,
}
ANY_FIELDS = st.fixed_dictionaries({}, optional=FIELD_VALUES)
# Bodies that get past most rules, so that values are compared too, not only errors.
GOOD_NUMBER = st.builds(
    lambda left, number, right: left + number + right,
    PADDING,
    st.from_regex(contract.NUMBER_PATTERN, fullmatch=True),
    PADDING,
)
NEAR_VALID = st.fixed_dictionaries(
    {
        "from": GOOD_NUMBER,
        "to": st.lists(GOOD_NUMBER, min_size=1, max_size=3, unique=True),
        "text": st.text(max_size=12),
    },
    optional={
        "messageId": st.from_regex(contract.MESSAGE_ID_PATTERN, fullmatch=True),
        "subject": st.text(st.characters(exclude_categories=["Cc"]), max_size=12),
        "media": st.lists(
            st.one_of(st.fixed_dictionaries({"url": GOOD_URL}), st.fixed_dictionaries({"s3": GOOD_S3})), max_size=3
        ),
        "deliveryReport": st.booleans(),
        "transport": st.sampled_from(["auto", "https", "mm4", " mm4 "]),
    },
)
NOT_A_JOB = st.one_of(
    st.text(max_size=30),  # mostly not JSON
    st.builds(json.dumps, st.one_of(JSON_SCALAR, st.lists(JSON_SCALAR, max_size=3))),  # JSON, not an object
    st.builds(lambda document, cut: json.dumps(document)[:cut], NEAR_VALID, st.integers(0, 40)),  # cut short
)


@given(document=ANY_FIELDS)
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@example(document={"from": "1222", "to": ["+13105551212"]})  # no text and no media
@example(document={"from": "1222", "to": ["+13105551212", "+13105551212"], "text": "x"})  # recipients twice
@example(document={"from": "1222", "to": [f"+1310555{n:04d}" for n in range(11)], "text": "x"})  # too many
@example(document={"from": "1222", "to": ["+13105551212"], "media": [{"url": " https://a/b"}]})  # padded URL
@example(document={"sender": "1222", "to": ["+13105551212"], "text": "x", "message_id": "m-1"})  # by name
@example(document={"from": "1222", "sender": "3334", "to": ["+13105551212"], "text": "x"})  # alias and name
def test_any_body_is_accepted_or_refused_as_the_contract_does(document: dict[str, Any]) -> None:
    # Given any object whose keys are the job's, its fields' names or strangers, with values in and out of the rules
    # When the relay and the contract's model read it
    # Then they accept it alike, with the same values, or refuse it alike, with the same errors
    assert_read_alike(json.dumps(document))


@given(document=NEAR_VALID)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_a_body_near_the_rules_gives_the_values_the_contract_gives(document: dict[str, Any]) -> None:
    assert_read_alike(json.dumps(document))


@given(body=NOT_A_JOB)
@settings(max_examples=200, deadline=None)
@example(body='{"from": "1222", "to": ["+13105551212"], "text": "x", "text": ""}')  # a key twice
@example(body="")
def test_a_body_that_is_no_job_object_is_refused_as_the_contract_refuses_it(body: str) -> None:
    assert_read_alike(body)
