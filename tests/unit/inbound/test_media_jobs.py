"""One attempt at copying an attachment, and what follows each outcome."""

from datetime import UTC, datetime

import pytest

from mmsrelay.domain.errors import BlockedMediaUrl, MediaRejected, TransientMediaError
from mmsrelay.domain.media import MediaJob, StoredMedia
from mmsrelay.inbound.media_jobs import MediaCopier
from mmsrelay.queues.media_retry import retry_delay
from tests.support import MetricsRecorder
from tests.unit.inbound.fakes import FakeDownload, FakeRepository, FakeRetries, FakeSink, FakeSource

NOW = datetime(2026, 11, 25, 16, 20, 1, tzinfo=UTC)
GUID = "6F1C2D3E-4A5B-4C6D-8E9F-0A1B2C3D4E5F"
URL = "https://mms.aerialink.net/media/1.jpg"


def copier(source: FakeSource, max_attempts: int = 3):  # type: ignore[no-untyped-def]
    repository, sink, retries, metrics = FakeRepository(), FakeSink(), FakeRetries(), MetricsRecorder()
    subject = MediaCopier(source, sink, repository, retries, metrics, max_attempts, clock=lambda: NOW)
    return subject, repository, sink, retries, metrics


def job(attempt: int = 1) -> MediaJob:
    return MediaJob(GUID, 0, URL, "2026-11-25T16:20:01.123Z", attempt)


def test_a_fetched_attachment_is_stored_under_its_dated_key_and_recorded() -> None:
    subject, repository, sink, _, metrics = copier(FakeSource({URL: FakeDownload("image/jpeg", b"\xff\xd8\xffdata")}))
    assert subject.copy(job()) == "stored"
    key = f"inbound/2026/11/25/{GUID}/0.jpg"
    assert sink.objects[key] == b"\xff\xd8\xffdata"
    status, media = repository.media[(GUID, 0)]
    assert status == "stored"
    assert isinstance(media, StoredMedia)
    assert (media.key, media.size, media.content_type) == (key, 7, "image/jpeg")
    assert metrics.counts == {"MediaStored": 1}


@pytest.mark.parametrize("error", [BlockedMediaUrl("host_not_allowed"), MediaRejected("http_404")])
def test_a_permanent_failure_is_recorded_at_once_and_not_retried(error: Exception) -> None:
    subject, repository, _, retries, metrics = copier(FakeSource(errors={URL: error}))  # type: ignore[dict-item]
    assert subject.copy(job()) == "failed"
    assert repository.media[(GUID, 0)] == ("failed", (error.code, 1))  # type: ignore[attr-defined]
    assert retries.scheduled == []
    assert metrics.counts == {"MediaFailed": 1}


def test_a_transient_failure_schedules_the_next_attempt() -> None:
    subject, repository, _, retries, metrics = copier(FakeSource(errors={URL: TransientMediaError("http_503")}))
    assert subject.copy(job()) == "retry_scheduled"
    assert retries.scheduled == [job(attempt=2)]
    assert repository.media == {}
    assert metrics.counts == {}


def test_an_attempt_leaves_a_transient_failure_to_its_caller() -> None:
    # Given a media host failing transiently
    source = FakeSource(errors={URL: TransientMediaError("timeout")})
    subject, repository, _, retries, _ = copier(source)
    # When the webhook makes one attempt within what is left of its budget
    outcome = subject.attempt(job(), time_limit=1.5)
    # Then the fetch was given that time, and the retry is the webhook's to queue: nothing is scheduled here
    assert outcome == "retry_needed"
    assert source.time_limits == [1.5]
    assert retries.scheduled == []
    assert repository.media == {}


def test_two_attempts_at_one_attachment_store_it_once() -> None:
    # Given a copy the webhook gave up waiting for, and the retry it queued, both succeeding
    subject, repository, sink, _, metrics = copier(FakeSource({URL: FakeDownload("image/jpeg", b"\xff\xd8\xffdata")}))
    # When both finish
    outcomes = [subject.attempt(job()), subject.copy(job(attempt=2))]
    # Then one key was written (twice, the same bytes), one record made, one success counted
    assert outcomes == ["stored", "already_done"]
    assert list(sink.objects) == [f"inbound/2026/11/25/{GUID}/0.jpg"]
    assert repository.media[(GUID, 0)][0] == "stored"
    assert metrics.counts == {"MediaStored": 1}


def test_the_last_attempt_gives_up_and_says_why() -> None:
    subject, repository, _, retries, metrics = copier(FakeSource(errors={URL: TransientMediaError("timeout")}), 3)
    assert subject.copy(job(attempt=3)) == "failed"
    assert repository.media[(GUID, 0)] == ("failed", ("timeout (after 3 attempts)", 3))
    assert retries.scheduled == []
    assert metrics.counts == {"MediaFailed": 1}


def test_an_attachment_already_recorded_is_not_counted_twice() -> None:
    subject, repository, *_ = copier(FakeSource({URL: FakeDownload("image/png", b"\x89PNG")}))
    repository.media[(GUID, 0)] = ("stored", None)
    assert subject.copy(job()) == "already_done"


def test_retry_delays_grow_and_stop_at_the_sqs_maximum() -> None:
    assert [retry_delay(n, 30) for n in range(2, 10)] == [30, 60, 120, 240, 480, 900, 900, 900]
    assert [retry_delay(n, 2) for n in range(2, 5)] == [2, 4, 8]


def test_jobs_survive_the_queue() -> None:
    assert MediaJob.from_json(job(4).to_json()) == job(4)
