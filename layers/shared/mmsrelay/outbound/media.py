"""The job's media made ready for a transport, within the carriers' size limit.

HTTPS carries one attachment as a URL the gateway fetches: a short ``https`` URL is passed as is
(the relay never sees its bytes); an S3 object, or a URL longer than the gateway's 160 characters,
becomes a short link (``mmsrelay.outbound.links``). MM4 carries the bytes: S3 objects are read,
URLs fetched through the SSRF-safe fetcher.

Media larger than the message's budget (``mmsrelay.outbound.fitting``) is fitted: images are
re-encoded (and scaled down if need be) by the image fitter, and the fitted copy is stored beside
its original in S3 (``<key>.fitted.<ext>``): the link serves it, MM4 carries it. Other types over
the budget are refused (``media_too_large``), never sent to fail at the carrier. Originals are
read up to ``max_original_bytes`` for the whole message. The fetcher, the store and the fitter are
built on first use: most jobs carry S3 objects or short URLs that already fit and never need them.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from urllib.parse import urlsplit

from mmsrelay.domain.content_types import (
    FITTABLE_IMAGE_TYPES,
    OCTET_STREAM,
    SNIFF_BYTES,
    extension_for,
    needs_sniffing,
    resolve_content_type,
)
from mmsrelay.domain.errors import PermanentSendError, UnsupportedMediaType
from mmsrelay.domain.media import MediaSink, MediaSource
from mmsrelay.domain.outbound import MMS_URL_LIMIT, OutboundAttachment
from mmsrelay.outbound.fitting import ImageFitter, fitted_key, message_budget, share_budget
from mmsrelay.outbound.job import OutboundJob, S3Media, UrlMedia
from mmsrelay.outbound.links import MediaLinks


class MediaObjects(Protocol):
    """The relay's media objects (``mmsrelay.media.objects.S3Objects``); errors are send errors."""

    def head(self, bucket: str, key: str) -> tuple[int, str | None]: ...

    def prefix(self, bucket: str, key: str, size: int) -> bytes: ...

    def read(self, bucket: str, key: str, limit: int) -> tuple[bytes, str | None]: ...


@dataclass(frozen=True)
class _Media:
    """One attachment on its way: where it is in the bucket (None: nowhere), its type, size and bytes once read."""

    key: str | None
    content_type: str
    size: int
    data: bytes | None = None


class OutboundMedia:
    def __init__(
        self,
        objects: MediaObjects,
        bucket: str,
        fetcher: Callable[[], MediaSource],
        store: Callable[[], MediaSink],
        links: MediaLinks,
        fitter: Callable[[], ImageFitter],
        max_message_bytes: int,
        max_original_bytes: int,
        clock: Callable[[], datetime],
    ) -> None:
        self._objects = objects
        self._bucket = bucket
        self._fetcher = fetcher
        self._store = store
        self._links = links
        self._fitter = fitter
        self._max_bytes = max_message_bytes
        self._max_original = max_original_bytes
        self._clock = clock

    def for_https(self, job: OutboundJob, message_id: str) -> tuple[OutboundAttachment, ...]:
        if not job.media:
            return ()
        (item,) = job.media
        if isinstance(item, UrlMedia) and len(item.url) <= MMS_URL_LIMIT:
            return (OutboundAttachment(OCTET_STREAM, _name_of(item.url), url=item.url),)
        if isinstance(item, UrlMedia):
            media = self._copy_to_bucket(item.url, message_id, 0)
        else:
            media = self._check_object(item)
        budget = message_budget(self._max_bytes, job.text, job.subject)
        if media.size > budget:
            media = self._fitted(media, budget)
        key = _key_of(media)  # an S3 object, or a URL copied into one, is fitted into one
        url = self._links.create(self._bucket, key, media.content_type, message_id)
        return (OutboundAttachment(media.content_type, posixpath.basename(key), url=url),)

    def for_mm4(self, job: OutboundJob, message_id: str) -> tuple[OutboundAttachment, ...]:
        loaded: list[_Media] = []
        remaining = self._max_original
        for item in job.media:
            if isinstance(item, UrlMedia):
                data, content_type = self._fetch(item.url, remaining)
                loaded.append(_Media(None, content_type, len(data), data))
            else:
                data, content_type = self._read_object(item, remaining)
                loaded.append(_Media(item.key, content_type, len(data), data))
            remaining -= len(data)
        budget = message_budget(self._max_bytes, job.text, job.subject)
        if sum(media.size for media in loaded) > budget:
            loaded = self._fit_message(loaded, budget)
        return tuple(
            OutboundAttachment(media.content_type, f"{index}.{extension_for(media.content_type)}", data=media.data)
            for index, media in enumerate(loaded)
        )

    # ------------------------------------------------------------------ fitting
    def _fit_message(self, loaded: list[_Media], budget: int) -> list[_Media]:
        """Images share what the other media leave of the budget; each over its share is fitted."""
        images = [index for index, media in enumerate(loaded) if media.content_type in FITTABLE_IMAGE_TYPES]
        others = sum(media.size for index, media in enumerate(loaded) if index not in images)
        if not images or others >= budget:
            raise PermanentSendError(
                "media_too_large",
                f"{sum(m.size for m in loaded)} bytes of media, {others} of them not images, "
                f"pass the message's {budget}-byte limit (only images are fitted)",
            )
        fitted = list(loaded)
        for index, share in zip(images, share_budget([loaded[i].size for i in images], budget - others), strict=True):
            if loaded[index].size > share:
                fitted[index] = self._fitted(loaded[index], share)
        return fitted

    def _fitted(self, media: _Media, budget: int) -> _Media:
        """The media fitted to ``budget``; its copy stored beside the original when that is in the bucket."""
        if media.content_type not in FITTABLE_IMAGE_TYPES:
            raise PermanentSendError(
                "media_too_large",
                f"{media.content_type} of {media.size} bytes passes the message's {budget}-byte limit "
                "(only images are fitted)",
            )
        if media.size > self._max_original:
            raise PermanentSendError("media_too_large", f"{media.size} bytes, more than the relay reads to fit")
        data = media.data
        if data is None:  # an S3 object only looked at so far
            data, _ = self._objects.read(self._bucket, _key_of(media), self._max_original)
        result = self._fitter().fit(data, media.content_type, budget)
        if len(result.data) > budget:  # the fitter's promise, checked where it matters
            raise PermanentSendError("image_cannot_fit", f"fitted to {len(result.data)} bytes, over {budget}")
        key = None
        if media.key is not None:
            key = fitted_key(media.key, result.content_type)
            self._store().put_stream(key, [result.data], result.content_type)
        return _Media(key, result.content_type, len(result.data), result.data)

    # ------------------------------------------------------------------ S3
    def _owned(self, item: S3Media) -> None:
        if item.bucket != self._bucket:
            raise PermanentSendError("bucket_not_allowed", "media must be in the relay's media bucket")

    def _check_object(self, item: S3Media) -> _Media:
        self._owned(item)
        size, header = self._objects.head(item.bucket, item.key)
        prefix = self._objects.prefix(item.bucket, item.key, SNIFF_BYTES) if needs_sniffing(header) else b""
        return _Media(item.key, _resolved(header, prefix), size)

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
                    raise PermanentSendError("media_too_large", "the message's media passes what the relay reads")
            return bytes(data), download.content_type

    def _copy_to_bucket(self, url: str, message_id: str, index: int) -> _Media:
        data, content_type = self._fetch(url, self._max_original)
        day = self._clock().strftime("%Y/%m/%d")
        key = f"outbound/{day}/{message_id}/{index}.{extension_for(content_type)}"
        stored = self._store().put_stream(key, [data], content_type)
        return _Media(stored.key, stored.content_type, stored.size, data)


def _resolved(header: str | None, prefix: bytes) -> str:
    """The media's allow-listed type (``resolve_content_type``), refused as a permanent send error."""
    try:
        return resolve_content_type(header, prefix)
    except UnsupportedMediaType:
        raise PermanentSendError("type_not_allowed", "media type not allowed for MMS") from None


def _key_of(media: _Media) -> str:
    if media.key is None:
        raise RuntimeError("media expected in the bucket is not")
    return media.key


def _name_of(url: str) -> str:
    return posixpath.basename(urlsplit(url).path) or "media"
