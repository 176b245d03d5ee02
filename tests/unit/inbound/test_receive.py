"""Receiving an inbound message: stored once, media copied while there is time, nothing lost."""

from datetime import UTC, datetime

from mmsrelay.domain.inbound import InboundMessage
from mmsrelay.domain.media import MediaJob
from mmsrelay.inbound.payload import parse_inbound
from mmsrelay.inbound.receive import ReceiveInboundMessage
from mmsrelay.webhooks.http import WebhookRequest
from tests.support import MetricsRecorder, load_event
from tests.unit.inbound.fakes import FakeMedia, FakeRepository

NOW = datetime(2026, 11, 25, 16, 20, 1, 123000, tzinfo=UTC)


def message(event: str = "inbound_post_attachments_json.json") -> InboundMessage:
    return parse_inbound(WebhookRequest.from_event(load_event(event)).fields(1_000_000), NOW, "1")


def test_a_new_message_is_stored_counted_and_its_media_copied_in_order() -> None:
    repository, media, metrics = FakeRepository(), FakeMedia(), MetricsRecorder()
    received = ReceiveInboundMessage(repository, media, metrics)(message(), has_time=lambda: True)
    assert received.status == "stored"
    assert received.media == ("stored", "stored", "stored")
    assert [job.index for job in media.copied] == [0, 1, 2]
    assert all(job.attempt == 1 and job.received_at == "2026-11-25T16:20:01.123Z" for job in media.copied)
    assert media.deferred == []
    assert metrics.counts["MessagesReceived"] == 1


def test_attachments_beyond_the_time_budget_are_queued_not_dropped() -> None:
    repository, media = FakeRepository(), FakeMedia()
    budget = iter([True, False, False])
    received = ReceiveInboundMessage(repository, media, MetricsRecorder())(message(), has_time=lambda: next(budget))
    assert [job.index for job in media.copied] == [0]
    assert [(job.index, job.attempt) for job in media.deferred] == [(1, 2), (2, 2)]
    assert received.media == ("stored", "retry_scheduled", "retry_scheduled")


def test_a_repeat_changes_nothing_and_counts_nothing() -> None:
    repository, media, metrics = FakeRepository(), FakeMedia(), MetricsRecorder()
    receive = ReceiveInboundMessage(repository, media, metrics)
    receive(message(), has_time=lambda: True)
    media.copied.clear()
    again = receive(message(), has_time=lambda: True)
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
    received = receive(original, has_time=lambda: True)
    # Then the pending attachment is queued, dated by the stored item, and nothing else happens
    assert received.status == "duplicate"
    assert media.deferred == [MediaJob(original.transaction_guid, 1, "https://m/1", "2026-11-24T10:00:00.000Z", 2)]
    assert media.copied == []
