"""What the use cases need of media fetching and storing (implemented by ``fetcher`` and ``store``)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from mmsrelay.media.store import StoredObject


class Download(Protocol):
    @property
    def content_type(self) -> str: ...

    def chunks(self, chunk_size: int = ...) -> Iterator[bytes]: ...


class MediaSource(Protocol):
    """Where attachments are fetched from (``mmsrelay.media.fetcher.MediaFetcher``)."""

    def open(self, url: str) -> AbstractContextManager[Download]: ...


class MediaSink(Protocol):
    """Where attachments are stored (``mmsrelay.media.store.S3MediaStore``)."""

    def put_stream(self, key: str, chunks: Iterable[bytes], content_type: str) -> StoredObject: ...
