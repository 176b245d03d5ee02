"""In-memory stand-ins for the inbound use cases' ports."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mmsrelay.domain.errors import MmsRelayError
from mmsrelay.domain.inbound import AlreadyStored, InboundMessage, Inserted
from mmsrelay.domain.media import MediaJob, StoredMedia, StoredObject
from mmsrelay.inbound.media_jobs import AttemptOutcome
from mmsrelay.storage.messages import already_stored


@dataclass
class FakeRepository:
    stored: dict[str, InboundMessage] = field(default_factory=dict)
    existing_item: dict[str, Any] = field(default_factory=dict)
    media: dict[tuple[str, int], tuple[str, object]] = field(default_factory=dict)

    def add_inbound(self, message: InboundMessage) -> Inserted | AlreadyStored:
        if message.transaction_guid in self.stored:
            return already_stored(self.existing_item)
        self.stored[message.transaction_guid] = message
        return Inserted()

    def record_media_stored(self, transaction_guid: str, index: int, media: StoredMedia, at: datetime) -> bool:
        if (transaction_guid, index) in self.media:
            return False
        self.media[(transaction_guid, index)] = ("stored", media)
        return True

    def record_media_failed(self, transaction_guid: str, index: int, reason: str, attempts: int, at: datetime) -> bool:
        if (transaction_guid, index) in self.media:
            return False
        self.media[(transaction_guid, index)] = ("failed", (reason, attempts))
        return True


@dataclass
class FakeMedia:
    """Records what the use case asked of media handling (from the webhook's copying threads too).

    ``outcomes`` gives an attachment's attempt another outcome than ``stored``; an attachment in
    ``held`` is copied only once the test sets ``release``: until then its copy hangs, as a copy
    from a media host that does not answer does.
    """

    outcomes: dict[int, AttemptOutcome] = field(default_factory=dict)
    held: frozenset[int] = frozenset()
    release: threading.Event = field(default_factory=threading.Event)
    copied: list[MediaJob] = field(default_factory=list)
    time_limits: dict[int, float | None] = field(default_factory=dict)
    deferred: list[MediaJob] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def attempt(self, job: MediaJob, time_limit: float | None = None) -> AttemptOutcome:
        with self._lock:
            self.time_limits[job.index] = time_limit
        if job.index in self.held:
            self.release.wait(timeout=30)
        with self._lock:
            self.copied.append(job)
        return self.outcomes.get(job.index, "stored")

    def defer(self, job: MediaJob) -> None:
        with self._lock:
            self.deferred.append(job)


@dataclass
class FakeDownload:
    content_type: str
    body: bytes

    def chunks(self, chunk_size: int = 4) -> Iterator[bytes]:
        for start in range(0, len(self.body), chunk_size):
            yield self.body[start : start + chunk_size]


@dataclass
class FakeSource:
    """Serves bodies by URL, or raises the error registered for a URL."""

    bodies: dict[str, FakeDownload] = field(default_factory=dict)
    errors: dict[str, MmsRelayError] = field(default_factory=dict)
    time_limits: list[float | None] = field(default_factory=list)

    @contextmanager
    def open(self, url: str, time_limit: float | None = None) -> Iterator[FakeDownload]:
        self.time_limits.append(time_limit)
        if url in self.errors:
            raise self.errors[url]
        yield self.bodies[url]


@dataclass
class FakeSink:
    objects: dict[str, bytes] = field(default_factory=dict)

    def put_stream(self, key: str, chunks: Iterable[bytes], content_type: str) -> StoredObject:
        body = b"".join(chunks)
        self.objects[key] = body
        return StoredObject(
            key=key, size=len(body), sha256_hex=hashlib.sha256(body).hexdigest(), content_type=content_type
        )


@dataclass
class FakeRetries:
    scheduled: list[MediaJob] = field(default_factory=list)

    def schedule(self, job: MediaJob) -> None:
        self.scheduled.append(job)
