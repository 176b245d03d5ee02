"""The inbound and media retry functions' settings (see ``mmsrelay.settings``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

from mmsrelay.settings import COUNTRY_CODE_PATTERN, EnvironmentReader, FunctionSettings
from mmsrelay.webhooks.settings import WebhookSettings


@dataclass(frozen=True)
class MediaSettings(FunctionSettings):
    """What copying inbound media needs (the inbound and the media retry functions)."""

    messages_table_name: str
    media_bucket_name: str
    media_retry_queue_url: str
    media_allowed_hosts: str
    allow_insecure_media_fetch: bool
    max_media_bytes: int
    media_retry_max_attempts: int
    media_retry_first_delay_seconds: int
    message_retention_days: int
    # PEM bundle trusted for media hosts; empty means the system's trust store.
    media_ca_bundle: str

    @classmethod
    def read(cls, env: EnvironmentReader) -> Self:
        return cls(
            messages_table_name=env.text("MESSAGES_TABLE_NAME"),
            media_bucket_name=env.text("MEDIA_BUCKET_NAME"),
            media_retry_queue_url=env.text("MEDIA_RETRY_QUEUE_URL"),
            media_allowed_hosts=env.text("MEDIA_ALLOWED_HOSTS"),
            allow_insecure_media_fetch=env.flag("ALLOW_INSECURE_MEDIA_FETCH", default=False),
            max_media_bytes=env.integer("MAX_MEDIA_BYTES", minimum=1),
            media_retry_max_attempts=env.integer("MEDIA_RETRY_MAX_ATTEMPTS", minimum=1, maximum=50),
            media_retry_first_delay_seconds=env.integer("MEDIA_RETRY_FIRST_DELAY_SECONDS", minimum=0, maximum=900),
            message_retention_days=env.integer("MESSAGE_RETENTION_DAYS", minimum=1),
            media_ca_bundle=env.text("MEDIA_CA_BUNDLE", default=""),
        )


@dataclass(frozen=True)
class InboundSettings(FunctionSettings):
    media: MediaSettings
    webhook: WebhookSettings
    default_country_code: str
    # How long the webhook copies media after storing the message before it answers; the rest is queued.
    inline_media_budget_ms: int
    # Copy media inline only while more than this remains of the invocation; the rest is queued.
    inline_media_reserve_ms: int

    @classmethod
    def read(cls, env: EnvironmentReader) -> Self:
        return cls(
            media=MediaSettings.read(env),
            webhook=WebhookSettings.read(env),
            default_country_code=env.text("DEFAULT_COUNTRY_CODE", pattern=COUNTRY_CODE_PATTERN),
            inline_media_budget_ms=env.integer("INLINE_MEDIA_BUDGET_MS", minimum=0, maximum=20000, default=2000),
            inline_media_reserve_ms=env.integer("INLINE_MEDIA_RESERVE_MS", minimum=0, default=8000),
        )
