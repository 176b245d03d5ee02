"""Media: a copy job, what was stored, and the ports to fetch and store it.

``MediaSource`` and ``MediaSink`` are the ports both the inbound and the outbound use cases speak
(implemented by ``mmsrelay.media.fetcher`` and ``mmsrelay.media.store``): they live here, beside
the types they carry, rather than twice in each use case.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Protocol

from mmsrelay.domain.content_types import extension_for


@dataclass(frozen=True)
class MediaJob:
    transaction_guid: str
    index: int
    source_url: str
    received_at: str  # ISO time of the message: dates the S3 key
    attempt: int = 1

    def next_attempt(self) -> MediaJob:
        return replace(self, attempt=self.attempt + 1)

    def s3_key(self, content_type: str) -> str:
        """``inbound/YYYY/MM/DD/<transactionGUID>/<n>.<ext>``."""
        year, month, day = self.received_at[:10].split("-")
        return f"inbound/{year}/{month}/{day}/{self.transaction_guid}/{self.index}.{extension_for(content_type)}"

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, body: str) -> MediaJob:
        document = json.loads(body)
        return cls(
            transaction_guid=str(document["transaction_guid"]),
            index=int(document["index"]),
            source_url=str(document["source_url"]),
            received_at=str(document["received_at"]),
            attempt=int(document["attempt"]),
        )


@dataclass(frozen=True)
class StoredObject:
    """What was stored: the key, its size in bytes, its SHA-256 (hex) and content type."""

    key: str
    size: int
    sha256_hex: str
    content_type: str


@dataclass(frozen=True)
class StoredMedia:
    key: str
    content_type: str
    size: int
    sha256: str


@dataclass(frozen=True)
class FittedImage:
    """An image re-encoded (and scaled down if need be) to fit a byte budget, metadata stripped.

    ``how`` says what was done, for logs (``"jpeg q84 1600x1200 from 4032x3024"``).
    """

    data: bytes
    content_type: str
    width: int
    height: int
    how: str


@dataclass(frozen=True)
class MediaLink:
    """What a short media link (``GET /m/<token>``) leads to, until when."""

    bucket: str
    key: str
    content_type: str
    message_id: str
    expires_at: datetime


class Download(Protocol):
    @property
    def content_type(self) -> str: ...

    def chunks(self, chunk_size: int = ...) -> Iterator[bytes]: ...


class MediaSource(Protocol):
    """Where attachments are fetched from (``mmsrelay.media.fetcher.MediaFetcher``).

    ``time_limit``: seconds the whole fetch may take at most (the source's own limit applies too);
    past it the fetch ends in a transient ``timeout``.
    """

    def open(self, url: str, time_limit: float | None = None) -> AbstractContextManager[Download]: ...


class MediaSink(Protocol):
    """Where attachments are stored (``mmsrelay.media.store.S3MediaStore``)."""

    def put_stream(self, key: str, chunks: Iterable[bytes], content_type: str) -> StoredObject: ...
