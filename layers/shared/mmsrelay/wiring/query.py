"""Builds the query API from settings and AWS clients, once per execution environment."""

from __future__ import annotations

import os
from functools import cache

from mmsrelay import aws
from mmsrelay.media.presign import S3Presigner
from mmsrelay.query.api import QueryApi
from mmsrelay.query.queries import MessageQueries
from mmsrelay.query.settings import QuerySettings
from mmsrelay.storage.reads import DynamoMessageStore
from mmsrelay.wiring.snapstart import snapshot_safe


@cache
def query_api() -> QueryApi:
    settings = QuerySettings.from_environ(os.environ)
    queries = MessageQueries(
        DynamoMessageStore(aws.dynamodb_client(), settings.messages_table_name),
        S3Presigner(aws.s3_client, settings.media_bucket_name),
    )
    return QueryApi(queries, settings.default_country_code)


# SnapStart (EnableSnapStart): models loaded before the snapshot, everything built dropped after a restore.
snapshot_safe(("dynamodb", "s3"), query_api)
