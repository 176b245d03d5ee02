"""Builds the media links' resolver (``GET /m/{token}``) from settings and clients, once per environment."""

from __future__ import annotations

import os
from functools import cache

from mmsrelay import aws
from mmsrelay.domain.clock import utc_now
from mmsrelay.media.presign import S3Presigner
from mmsrelay.outbound.links import MediaLinkResolver
from mmsrelay.outbound.settings import MediaLinkSettings
from mmsrelay.storage.links import LinkRepository
from mmsrelay.wiring.snapstart import snapshot_safe


@cache
def link_resolver() -> MediaLinkResolver:
    settings = MediaLinkSettings.from_environ(os.environ)
    return MediaLinkResolver(
        LinkRepository(aws.dynamodb_client(), settings.messages_table_name),
        S3Presigner(aws.s3_client, settings.media_bucket_name),
        utc_now,
    )


# SnapStart (EnableSnapStart): models loaded before the snapshot, everything built dropped after a restore.
snapshot_safe(("dynamodb", "s3"), link_resolver)
