"""Short, unguessable, expiring links to media in S3, for the gateway's 160-character ``mmsURL``.

``GET <api>/m/<token>`` answers a redirect to a presigned S3 URL made at that moment (valid a few
minutes). The token is 128 random bits (22 URL-safe characters); its item expires with the link.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

from mmsrelay.domain.errors import PermanentSendError
from mmsrelay.domain.media import MediaLink
from mmsrelay.domain.outbound import MMS_URL_LIMIT

TOKEN = re.compile(r"[A-Za-z0-9_-]{22}")


class LinkStore(Protocol):
    """Where links are kept (``mmsrelay.storage.links.LinkRepository``); failures are transient."""

    def add(self, token: str, link: MediaLink, created_at: datetime) -> None: ...

    def find(self, token: str) -> MediaLink | None: ...


class Presigner(Protocol):
    """Presigned GET URLs (``mmsrelay.media.presign.S3Presigner``)."""

    def presigned_get(self, key: str, content_type: str | None = None, bucket: str | None = None) -> str: ...


class MediaLinks:
    """Creates links (the outbound function)."""

    def __init__(self, store: LinkStore, base_url: str, lifetime: timedelta, clock: Callable[[], datetime]) -> None:
        self._store = store
        self._base_url = base_url.rstrip("/")
        self._lifetime = lifetime
        self._clock = clock

    def create(self, bucket: str, key: str, content_type: str, message_id: str) -> str:
        """A new link to ``s3://bucket/key``; refused when the URL would not fit ``mmsURL``."""
        token = secrets.token_urlsafe(16)
        url = f"{self._base_url}/m/{token}"
        if len(url) > MMS_URL_LIMIT:
            raise PermanentSendError("link_too_long", f"media link is {len(url)} characters (limit {MMS_URL_LIMIT})")
        now = self._clock()
        self._store.add(token, MediaLink(bucket, key, content_type, message_id, now + self._lifetime), now)
        return url


class MediaLinkResolver:
    """Answers links (the ``GET /m/{token}`` function)."""

    def __init__(self, store: LinkStore, presigner: Presigner, clock: Callable[[], datetime]) -> None:
        self._store = store
        self._presigner = presigner
        self._clock = clock

    def resolve(self, token: str) -> str | None:
        """A presigned URL for a live link, or None for an unknown, malformed or expired one."""
        if not TOKEN.fullmatch(token):
            return None
        link = self._store.find(token)
        if link is None or int(link.expires_at.timestamp()) <= int(self._clock().timestamp()):
            return None
        return self._presigner.presigned_get(link.key, content_type=link.content_type, bucket=link.bucket)
