"""Sending one job: transport choice, statuses, and what happens on each kind of failure."""

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mmsrelay.domain.errors import (
    BlockedMediaUrl,
    GatewayThrottled,
    MmsRelayError,
    PermanentSendError,
    TransientMediaError,
    TransientSendError,
)
from mmsrelay.domain.outbound import OutboundMessage, SendResult, Transport
from mmsrelay.outbound.job import OutboundJob, parse_job
from mmsrelay.outbound.pace import SendDeferred
from mmsrelay.outbound.records import backoff_seconds
from mmsrelay.outbound.send import SendOutboundJob
from mmsrelay.outbound.transport import choose_transport
from mmsrelay.storage.errors import StorageUnavailable
from tests.support import EVENTS, MetricsRecorder
from tests.unit.outbound.fakes import FakeGateway, FakeJobRecords, FakeMedia, ManualClock, paced

NOW = datetime(2026, 11, 25, 17, 0, tzinfo=UTC)


def job(event: str = "outbound_https_one_image.json", **changes: Any) -> OutboundJob:
    body = (EVENTS / event).read_text()
    return dataclasses.replace(parse_job(body), **changes)


def use_case(media: FakeMedia | None = None):  # type: ignore[no-untyped-def]
    records, metrics = FakeJobRecords(), MetricsRecorder()
    pace, _, _ = paced(clock=ManualClock(NOW))
    return SendOutboundJob(records, media or FakeMedia(), pace, metrics, "1", lambda: NOW), records, metrics


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
    two = job("outbound_group_mm4.json", to=("+13105551212",))
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
    outcome = send(job(to=(to,)), "m-5", gateway)
    # Then nothing is sent, and the job fails saying which field and why (never the number)
    assert outcome == {"status": "failed", "code": "invalid_number"}
    assert gateway.sent == []
    assert repository.errors["m-5"] == ("invalid_number", f"invalid_number: {detail}")


def test_failed_deliveries_back_off_doubling_up_to_fifteen_minutes() -> None:
    assert [backoff_seconds(n, 30) for n in range(1, 8)] == [30, 60, 120, 240, 480, 900, 900]
    assert backoff_seconds(1, 0) == 0


def paced_use_case(rate: float, media: FakeMedia | None = None):  # type: ignore[no-untyped-def]
    records, metrics, clock = FakeJobRecords(), MetricsRecorder(), ManualClock(NOW)
    pace, rates, _ = paced(rate=rate, clock=clock)
    send = SendOutboundJob(records, media or FakeMedia(), pace, metrics, "1", clock)
    return send, records, metrics, rates, clock


class TimedGateway(FakeGateway):
    """Notes the clock at each send."""

    def __init__(self, clock: ManualClock) -> None:
        super().__init__()
        self.clock = clock
        self.at: list[datetime] = []

    def __call__(self, transport: Transport, message: OutboundMessage) -> SendResult:
        self.at.append(self.clock())
        return super().__call__(transport, message)


def test_jobs_of_one_code_are_sent_one_interval_apart() -> None:
    # Given a code at 4 messages per second
    send, _, _, _, clock = paced_use_case(rate=4.0)
    gateway = TimedGateway(clock)
    # When three of its jobs are handled one after the other at the same moment
    for number in range(3):
        send(job(), f"m-{number}", gateway)
    # Then they reach the gateway 250 ms apart, the first at once
    assert [(at - NOW).total_seconds() for at in gateway.at] == [0.0, 0.25, 0.5]


def test_a_job_whose_slot_is_far_waits_in_the_queue_before_its_media_is_prepared() -> None:
    # Given a code at 1 message per second that just sent a group of three (three slots)
    media = FakeMedia()
    send, records, metrics, _, _ = paced_use_case(rate=1.0, media=media)
    send(job("outbound_group_mm4.json"), "group", FakeGateway())
    gateway = FakeGateway()
    # When another job of that code is handled at the same moment
    with pytest.raises(SendDeferred) as deferred:
        send(job(), "later", gateway)
    # Then nothing is sent, its media is not prepared, and it holds its slot for its next delivery
    assert gateway.sent == []
    assert media.prepared == ["group"]
    assert records.held["later"] == deferred.value.slot
    assert records.statuses["later"] == ["queued"]
    assert metrics.counts["SendsDeferred"] == 1
    assert deferred.value.retry_after == 1  # the slot is 3 s away: back 1 s later, 2 s slept


def test_a_job_back_from_the_queue_is_sent_at_the_slot_it_held() -> None:
    # Given a job that was deferred holding a slot 10 s ahead
    send, records, _, rates, clock = paced_use_case(rate=0.1)
    send(job(), "first", FakeGateway())
    with pytest.raises(SendDeferred) as deferred:
        send(job(), "second", FakeGateway())
    reserved = len(rates.reserved)
    # When it is delivered again after the delay it was given
    clock.advance(deferred.value.retry_after)
    gateway = TimedGateway(clock)
    outcome = send(job(), "second", gateway)
    # Then it is sent exactly at its slot, without taking another one
    assert outcome["status"] == "sent"
    assert [(at - NOW).total_seconds() for at in gateway.at] == [10.0]
    assert len(rates.reserved) == reserved
    assert "second" not in records.held


def test_a_gateway_429_slows_the_code_down_and_the_job_waits_past_the_pause() -> None:
    # Given a code at 20 per second whose gateway answers 429 with Retry-After: 6
    send, records, metrics, rates, clock = paced_use_case(rate=20.0)
    throttled = FakeGateway(error=GatewayThrottled("http_429", "slow down", retry_after=6.0))
    # When a job is sent
    with pytest.raises(SendDeferred) as deferred:
        send(job(), "m-429", throttled)
    # Then the code's rate is halved, and the job holds a slot after the pause
    assert rates.slowed == [("12223334444", 6.0)]
    assert rates.states["12223334444"].reduced_rate == 10.0
    slot = records.held["m-429"]
    assert slot == deferred.value.slot
    assert slot.at_us / 1_000_000 == (clock() + timedelta(seconds=6)).timestamp()
    # And the failure is recorded like any transient one
    assert records.errors["m-429"][0] == "http_429"
    assert metrics.counts == {"SendFailedTransient": 1, "SendsDeferred": 1}
    assert isinstance(deferred.value.__cause__, GatewayThrottled)
