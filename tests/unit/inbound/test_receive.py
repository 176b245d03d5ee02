"""Receiving an inbound message: stored once, media copied within the budget, nothing lost."""

import itertools
from datetime import UTC, datetime

import pytest

from mmsrelay.domain.inbound import InboundMessage
from mmsrelay.domain.media import MediaJob
from mmsrelay.inbound.media_jobs import AttemptOutcome
from mmsrelay.inbound.payload import parse_inbound
from mmsrelay.inbound.receive import ReceiveInboundMessage
from mmsrelay.storage.errors import StorageUnavailable
from mmsrelay.webhooks.http import WebhookRequest
from tests.support import MetricsRecorder, load_event
from tests.unit.inbound.fakes import FakeMedia, FakeRepository

NOW = datetime(2026, 11, 25, 16, 20, 1, 123000, tzinfo=UTC)


def message(event: str = "inbound_post_attachments_json.json") -> InboundMessage:
    return parse_inbound(WebhookRequest.from_event(load_event(event)).fields(1_000_000), NOW, "1")


def test_a_new_message_is_stored_counted_and_its_media_copied() -> None:
    repository, media, metrics = FakeRepository(), FakeMedia(), MetricsRecorder()
    received = ReceiveInboundMessage(repository, media, metrics)(message(), media_budget=lambda: 2.0)
    assert received.status == "stored"
    assert received.media == ("stored", "stored", "stored")
    assert sorted(job.index for job in media.copied) == [0, 1, 2]
    assert all(job.attempt == 1 and job.received_at == "2026-11-25T16:20:01.123Z" for job in media.copied)
    assert media.deferred == []
    assert metrics.counts["MessagesReceived"] == 1


def test_each_copy_is_given_what_is_left_of_the_budget() -> None:
    # Given a clock that reads 100.0 when the budget starts and 100.5 when each copy starts
    media, ticks = FakeMedia(), itertools.chain([100.0], itertools.repeat(100.5))
    receive = ReceiveInboundMessage(FakeRepository(), media, MetricsRecorder(), clock=lambda: next(ticks))
    # When a message with three attachments is received with a 2 s budget
    receive(message(), media_budget=lambda: 2.0)
    # Then each fetch may take the 1.5 s left, not more
    assert media.time_limits == {0: 1.5, 1: 1.5, 2: 1.5}


def test_a_copy_still_running_at_the_budget_is_queued_and_the_answer_does_not_wait() -> None:
    # Given a media host that never answers for the second attachment (its copy hangs until released)
    repository, media = FakeRepository(), FakeMedia(held=frozenset({1}))
    receive = ReceiveInboundMessage(repository, media, MetricsRecorder(), grace_seconds=0.0)
    try:
        # When the message is received with a budget far shorter than the hang
        received = receive(message(), media_budget=lambda: 0.05)
        # Then the message is stored, the others copied, and the hanging one queued for its retry
        assert received.status == "stored"
        assert received.media == ("stored", "retry_scheduled", "stored")
        assert [(job.index, job.attempt) for job in media.deferred] == [(1, 2)]
        assert sorted(job.index for job in media.copied) == [0, 2]
        assert message().transaction_guid in repository.stored
    finally:
        media.release.set()


def test_a_transient_failure_within_the_budget_is_queued_once() -> None:
    repository, media = FakeRepository(), FakeMedia(outcomes={0: "retry_needed", 2: "failed"})
    received = ReceiveInboundMessage(repository, media, MetricsRecorder())(message(), media_budget=lambda: 2.0)
    assert received.media == ("retry_scheduled", "stored", "failed")
    assert [(job.index, job.attempt) for job in media.deferred] == [(0, 2)]


def test_no_budget_queues_every_attachment_without_fetching() -> None:
    media = FakeMedia()
    received = ReceiveInboundMessage(FakeRepository(), media, MetricsRecorder())(message(), media_budget=lambda: 0.0)
    assert received.media == ("retry_scheduled",) * 3
    assert media.copied == []
    assert [(job.index, job.attempt) for job in media.deferred] == [(0, 2), (1, 2), (2, 2)]


def test_a_copy_that_cannot_record_fails_the_request_so_the_gateway_retries() -> None:
    # Given a copy whose record cannot be written (the table unavailable)
    class Unrecordable(FakeMedia):
        def attempt(self, job: MediaJob, time_limit: float | None = None) -> AttemptOutcome:
            raise StorageUnavailable("throttled")

    receive = ReceiveInboundMessage(FakeRepository(), Unrecordable(), MetricsRecorder())
    # When the message is received, Then the failure reaches the border (503: the gateway posts again)
    with pytest.raises(StorageUnavailable):
        receive(message(), media_budget=lambda: 2.0)


def test_a_repeat_changes_nothing_and_counts_nothing() -> None:
    repository, media, metrics = FakeRepository(), FakeMedia(), MetricsRecorder()
    receive = ReceiveInboundMessage(repository, media, metrics)
    receive(message(), media_budget=lambda: 2.0)
    media.copied.clear()
    again = receive(message(), media_budget=lambda: 2.0)
    assert again.status == "duplicate"
    assert media.copied == []
    assert media.deferred == []
    assert metrics.counts["MessagesReceived"] == 1


def test_a_repeat_of_a_message_with_pending_media_queues_that_media() -> None:
    # Given a stored transaction whose second attachment is still pending (its first post died)
    repository = FakeRepository(
        existing_item={
            "receivedAt": {"S": "2026-11-24T10:00:00.000Z"},
            "media": {
                "L": [
                    {
                        "M": {
                            "index": {"N": "0"},
                            "sourceUrl": {"S": "https://m/0"},
                            "status": {"S": "stored"},
                        }
                    },
                    {
                        "M": {
                            "index": {"N": "1"},
                            "sourceUrl": {"S": "https://m/1"},
                            "status": {"S": "pending"},
                        }
                    },
                ]
            },
        }
    )
    media = FakeMedia()
    receive = ReceiveInboundMessage(repository, media, MetricsRecorder())
    original = message()
    repository.stored[original.transaction_guid] = original
    # When the gateway posts it again
    received = receive(original, media_budget=lambda: 2.0)
    # Then the pending attachment is queued, dated by the stored item, and nothing else happens
    assert received.status == "duplicate"
    assert media.deferred == [MediaJob(original.transaction_guid, 1, "https://m/1", "2026-11-24T10:00:00.000Z", 2)]
    assert media.copied == []
