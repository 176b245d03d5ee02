"""The job's media made ready for a transport.

HTTPS carries one attachment as a URL the gateway fetches: a short ``https`` URL is passed as is;
an S3 object, or a URL longer than the gateway's 160 characters, becomes a short link
(``mmsrelay.outbound.links``). MM4 carries the bytes: S3 objects are read, URLs fetched through the
SSRF-safe fetcher, all within ``max_message_bytes`` in total. The fetcher and the store are
built on first use: most jobs carry S3 objects or short URLs and never need them.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from datetime import datetime
from typing import Protocol
from urllib.parse import urlsplit

from mmsrelay.domain.content_types import OCTET_STREAM, SNIFF_BYTES, extension_for, needs_sniffing, resolve_content_type
from mmsrelay.domain.errors import PermanentSendError, UnsupportedMediaType
from mmsrelay.domain.media import MediaSink, MediaSource
from mmsrelay.domain.outbound import MMS_URL_LIMIT, OutboundAttachment
from mmsrelay.outbound.job import OutboundJob, S3Media, UrlMedia
from mmsrelay.outbound.links import MediaLinks


class MediaObjects(Protocol):
    """The relay's media objects (``mmsrelay.media.objects.S3Objects``); errors are send errors."""

    def head(self, bucket: str, key: str) -> tuple[int, str | None]: ...

    def prefix(self, bucket: str, key: str, size: int) -> bytes: ...

    def read(self, bucket: str, key: str, limit: int) -> tuple[bytes, str | None]: ...


class OutboundMedia:
    def __init__(
        self,
        objects: MediaObjects,
        bucket: str,
        fetcher: Callable[[], MediaSource],
        store: Callable[[], MediaSink],
        links: MediaLinks,
        max_message_bytes: int,
        clock: Callable[[], datetime],
    ) -> None:
        self._objects = objects
        self._bucket = bucket
        self._fetcher = fetcher
        self._store = store
        self._links = links
        self._max_bytes = max_message_bytes
        self._clock = clock

    def for_https(self, job: OutboundJob, message_id: str) -> tuple[OutboundAttachment, ...]:
        if not job.media:
            return ()
        (item,) = job.media
        if isinstance(item, UrlMedia) and len(item.url) <= MMS_URL_LIMIT:
            return (OutboundAttachment(OCTET_STREAM, _name_of(item.url), url=item.url),)
        if isinstance(item, UrlMedia):
            key, content_type = self._copy_to_bucket(item.url, message_id, 0)
        else:
            key, content_type = self._check_object(item)
        url = self._links.create(self._bucket, key, content_type, message_id)
        return (OutboundAttachment(content_type, posixpath.basename(key), url=url),)

    def for_mm4(self, job: OutboundJob, message_id: str) -> tuple[OutboundAttachment, ...]:
        attachments: list[OutboundAttachment] = []
        remaining = self._max_bytes
        for index, item in enumerate(job.media):
            if isinstance(item, UrlMedia):
                data, content_type = self._fetch(item.url, remaining)
            else:
                data, content_type = self._read_object(item, remaining)
            remaining -= len(data)
            attachments.append(OutboundAttachment(content_type, f"{index}.{extension_for(content_type)}", data=data))
        return tuple(attachments)

    # ------------------------------------------------------------------ S3
    def _owned(self, item: S3Media) -> None:
        if item.bucket != self._bucket:
            raise PermanentSendError("bucket_not_allowed", "media must be in the relay's media bucket")

    def _check_object(self, item: S3Media) -> tuple[str, str]:
        self._owned(item)
        size, header = self._objects.head(item.bucket, item.key)
        if size > self._max_bytes:
            raise PermanentSendError("media_too_large", f"{size} bytes")
        prefix = self._objects.prefix(item.bucket, item.key, SNIFF_BYTES) if needs_sniffing(header) else b""
        return item.key, _resolved(header, prefix)

    def _read_object(self, item: S3Media, limit: int) -> tuple[bytes, str]:
        self._owned(item)
        data, header = self._objects.read(item.bucket, item.key, limit)
        return data, _resolved(header, data[:SNIFF_BYTES])

    # ------------------------------------------------------------------ URLs
    def _fetch(self, url: str, limit: int) -> tuple[bytes, str]:
        with self._fetcher().open(url) as download:
            data = bytearray()
            for chunk in download.chunks():
                data += chunk
                if len(data) > limit:
                    raise PermanentSendError("media_too_large", "the message's media exceeds the size limit")
            return bytes(data), download.content_type

    def _copy_to_bucket(self, url: str, message_id: str, index: int) -> tuple[str, str]:
        day = self._clock().strftime("%Y/%m/%d")
        with self._fetcher().open(url) as download:
            key = f"outbound/{day}/{message_id}/{index}.{extension_for(download.content_type)}"
            stored = self._store().put_stream(key, download.chunks(), download.content_type)
        if stored.size > self._max_bytes:
            raise PermanentSendError("media_too_large", f"{stored.size} bytes")
        return stored.key, stored.content_type


def _resolved(header: str | None, prefix: bytes) -> str:
    """The media's allow-listed type (``resolve_content_type``), refused as a permanent send error."""
    try:
        return resolve_content_type(header, prefix)
    except UnsupportedMediaType:
        raise PermanentSendError("type_not_allowed", "media type not allowed for MMS") from None


def _name_of(url: str) -> str:
    return posixpath.basename(urlsplit(url).path) or "media"
