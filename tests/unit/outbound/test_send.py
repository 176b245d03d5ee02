"""Sending one job: transport choice, statuses, and what happens on each kind of failure."""

from datetime import UTC, datetime

import pytest

from mmsrelay.domain.errors import (
    BlockedMediaUrl,
    MmsRelayError,
    PermanentSendError,
    TransientMediaError,
    TransientSendError,
)
from mmsrelay.outbound.job import parse_job
from mmsrelay.outbound.records import backoff_seconds
from mmsrelay.outbound.send import SendOutboundJob
from mmsrelay.outbound.transport import choose_transport
from mmsrelay.storage.errors import StorageUnavailable
from tests.support import EVENTS, MetricsRecorder
from tests.unit.outbound.fakes import FakeGateway, FakeJobRecords, FakeMedia

NOW = datetime(2026, 11, 25, 17, 0, tzinfo=UTC)


def job(event: str = "outbound_https_one_image.json", **changes: object):  # type: ignore[no-untyped-def]
    body = (EVENTS / event).read_text()
    return parse_job(body).model_copy(update=changes)


def use_case(media: FakeMedia | None = None):  # type: ignore[no-untyped-def]
    records, metrics = FakeJobRecords(), MetricsRecorder()
    return SendOutboundJob(records, media or FakeMedia(), metrics, "1", lambda: NOW), records, metrics


@pytest.mark.parametrize(
    ("event", "transport"),
    [
        ("outbound_https_one_image.json", "https"),
        ("outbound_https_url.json", "https"),
        ("outbound_text_only.json", "mm4"),
        ("outbound_group_mm4.json", "mm4"),
        ("outbound_mm4_forced.json", "mm4"),
    ],
)
def test_auto_picks_https_for_one_recipient_with_one_attachment_else_mm4(event: str, transport: str) -> None:
    assert choose_transport(job(event)) == transport


def test_two_attachments_to_one_number_go_over_mm4() -> None:
    two = job("outbound_group_mm4.json", to=["+13105551212"])
    assert choose_transport(two) == "mm4"


def test_https_asked_for_a_group_is_a_permanent_error() -> None:
    with pytest.raises(PermanentSendError) as caught:
        choose_transport(job("outbound_group_mm4.json", transport="https"))
    assert caught.value.code == "transport_cannot_carry"


def test_a_sent_job_goes_queued_sending_sent_with_its_guids() -> None:
    send, records, metrics = use_case()
    gateway = FakeGateway()
    outcome = send(job(), "order-1234-shipped", gateway)
    assert records.statuses["order-1234-shipped"] == ["queued", "sending", "sent"]
    ((transport, message),) = gateway.sent
    assert transport == "https"
    assert message.recipients == ("+13105551212",)
    assert message.sender == "+12223334444"
    assert message.delivery_report is True
    assert outcome["status"] == "sent"
    assert outcome["recipients"][0]["transactionGUID"] == "00000000-0000-4000-8000-000000000000"
    assert metrics.counts == {"MessagesSent": 1, "MessagesSentOverHttps": 1}


def test_a_group_goes_over_mm4_as_one_message_to_all_recipients() -> None:
    send, _, _ = use_case()
    gateway = FakeGateway(refused={"+13105551313"})
    outcome = send(job("outbound_group_mm4.json"), "team-dinner-photos", gateway)
    ((transport, message),) = gateway.sent
    assert (transport, len(message.recipients), len(message.attachments)) == ("mm4", 3, 2)
    assert [r["refused"] for r in outcome["recipients"]] == [False, True, False]


def test_a_gateway_refusal_is_recorded_as_failed_and_not_raised() -> None:
    send, records, metrics = use_case()
    outcome = send(job(), "m-1", FakeGateway(error=PermanentSendError("E200002", "invalid source")))
    assert outcome == {"status": "failed", "code": "E200002"}
    assert records.statuses["m-1"] == ["queued", "sending", "failed"]
    assert records.errors["m-1"][0] == "E200002"
    assert metrics.counts == {"SendFailedPermanent": 1}


def test_blocked_media_fails_the_job_before_anything_is_sent() -> None:
    send, records, metrics = use_case(FakeMedia(error=BlockedMediaUrl("address_not_public")))
    gateway = FakeGateway()
    outcome = send(job(), "m-1", gateway)
    assert outcome == {"status": "failed", "code": "address_not_public"}
    assert gateway.sent == []
    assert records.statuses["m-1"] == ["queued", "failed"]
    assert metrics.counts == {"SendFailedPermanent": 1}


def test_a_transport_that_cannot_carry_the_job_fails_it() -> None:
    send, records, _ = use_case()
    outcome = send(job("outbound_group_mm4.json", transport="https"), "m-1", FakeGateway())
    assert outcome == {"status": "failed", "code": "transport_cannot_carry"}
    assert records.statuses["m-1"] == ["queued", "failed"]


@pytest.mark.parametrize(
    "error",
    [
        TransientSendError("http_503"),
        TransientMediaError("timeout"),
        StorageUnavailable("ThrottlingException"),
    ],
)
def test_a_transient_error_goes_back_to_the_queue_and_is_raised(error: MmsRelayError) -> None:
    send, records, metrics = use_case()
    with pytest.raises(type(error)):
        send(job(), "m-2", FakeGateway(error=error))
    assert records.statuses["m-2"] == ["queued", "sending", "queued"]
    assert records.errors["m-2"][0] == error.code
    assert metrics.counts == {"SendFailedTransient": 1}


def test_once_the_gateway_accepted_a_failed_write_does_not_cause_a_resend() -> None:
    # Given a table that fails the final write
    send, records, metrics = use_case()
    records.fail_sent_write = StorageUnavailable("InternalServerError")
    # When the gateway accepts the message
    outcome = send(job(), "m-3", FakeGateway())
    # Then the job still counts as sent (raising would make SQS send it again)
    assert outcome["status"] == "sent"
    assert metrics.counts == {"MessagesSent": 1, "MessagesSentOverHttps": 1, "SentRecordFailed": 1}


def test_a_job_delivered_again_after_its_send_was_recorded_is_not_sent_again() -> None:
    # Given a job sent and recorded, whose process died before the delivery was completed
    send, records, metrics = use_case()
    first = FakeGateway()
    outcome = send(job(), "order-1234-shipped", first)
    # When SQS delivers it again
    again = FakeGateway()
    repeated = send(job(), "order-1234-shipped", again)
    # Then the gateway is not called, the recorded send comes back, and nothing more is written
    assert again.sent == []
    assert repeated == outcome
    assert records.statuses["order-1234-shipped"] == ["queued", "sending", "sent"]
    assert metrics.counts == {"MessagesSent": 1, "MessagesSentOverHttps": 1}


def test_a_number_that_cannot_be_normalised_fails_the_job() -> None:
    send, _, _ = use_case()
    outcome = send(job(sender="+1 (222) 333-4444-5555-6666"), "m-4", FakeGateway())
    assert outcome == {"status": "failed", "code": "invalid_number"}


@pytest.mark.parametrize(
    ("to", "detail"),
    [
        ("5551212", "to[0]: a local number: add its area code"),
        ("310555121", "to[0]: too short for a number of country code 1"),
        ("1234", "to[0]: too short for a number of country code 1"),
    ],
)
def test_an_impossible_recipient_fails_the_job_naming_the_field_and_why(to: str, detail: str) -> None:
    # Given a job to a number that cannot exist (a 7-digit North American number, a short one)
    send, repository, _ = use_case()
    gateway = FakeGateway()
    # When it is handled
    outcome = send(job(to=[to]), "m-5", gateway)
    # Then nothing is sent, and the job fails saying which field and why (never the number)
    assert outcome == {"status": "failed", "code": "invalid_number"}
    assert gateway.sent == []
    assert repository.errors["m-5"] == ("invalid_number", f"invalid_number: {detail}")


def test_failed_deliveries_back_off_doubling_up_to_fifteen_minutes() -> None:
    assert [backoff_seconds(n, 30) for n in range(1, 8)] == [30, 60, 120, 240, 480, 900, 900]
    assert backoff_seconds(1, 0) == 0
