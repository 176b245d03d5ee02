"""Typed settings, one class per function, validated from the environment on first use.

Only the wiring reads the environment (``from_environ``); logic receives these objects. No silent
defaults for resource names: a missing or malformed variable fails the first invocation with one
error naming every problem.

Why not a pydantic model here: importing pydantic and building a first model costs about 45 ms
of cold start, a third of what the webhook's cold start may add to its floor (bench/README.md).
The webhook path therefore validates its environment and its input with the small, explicit
readers below; pydantic stays where a published JSON Schema is the contract (the outbound job).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Self


class SettingsError(ValueError):
    """The function's environment is incomplete or malformed (a deployment error)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid function settings: " + "; ".join(problems))
        self.problems = tuple(problems)


class EnvironmentReader:
    """Reads typed values from an environment, collecting every problem before failing."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ
        self._problems: list[str] = []

    def text(self, name: str, pattern: str | None = None, default: str | None = None) -> str:
        value = self._environ.get(name, default)
        if value is None or (not value.strip() and default is None):
            self._problems.append(f"{name} is required")
            return ""
        value = value.strip()
        if pattern is not None and not re.fullmatch(pattern, value):
            self._problems.append(f"{name} must match {pattern}")
        return value

    def integer(self, name: str, minimum: int, maximum: int | None = None, default: int | None = None) -> int:
        raw = self._environ.get(name)
        if raw is None and default is not None:
            return default
        try:
            value = int((raw or "").strip())
        except ValueError:
            self._problems.append(f"{name} must be an integer")
            return minimum
        if value < minimum or (maximum is not None and value > maximum):
            bounds = f">= {minimum}" if maximum is None else f"between {minimum} and {maximum}"
            self._problems.append(f"{name} must be {bounds}")
        return value

    def flag(self, name: str, default: bool) -> bool:
        raw = self._environ.get(name)
        if raw is None:
            return default
        value = raw.strip().lower()
        if value not in ("true", "false"):
            self._problems.append(f"{name} must be true or false")
        return value == "true"

    def check(self) -> None:
        if self._problems:
            raise SettingsError(self._problems)


@dataclass(frozen=True)
class MediaSettings:
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
    def read(cls, env: EnvironmentReader) -> MediaSettings:
        return MediaSettings(
            messages_table_name=env.text("MESSAGES_TABLE_NAME"),
            media_bucket_name=env.text("MEDIA_BUCKET_NAME"),
            media_retry_queue_url=env.text("MEDIA_RETRY_QUEUE_URL"),
            media_allowed_hosts=env.text("MEDIA_ALLOWED_HOSTS"),
            allow_insecure_media_fetch=env.flag("ALLOW_INSECURE_MEDIA_FETCH", default=False),
            max_media_bytes=env.integer("MAX_MEDIA_BYTES", minimum=1),
            media_retry_max_attempts=env.integer("MEDIA_RETRY_MAX_ATTEMPTS", minimum=1, maximum=50),
            media_retry_first_delay_seconds=env.integer(
                "MEDIA_RETRY_FIRST_DELAY_SECONDS", minimum=0, maximum=900
            ),
            message_retention_days=env.integer("MESSAGE_RETENTION_DAYS", minimum=1),
            media_ca_bundle=env.text("MEDIA_CA_BUNDLE", default=""),
        )

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> MediaSettings:
        env = EnvironmentReader(environ)
        settings = cls.read(env)
        env.check()
        return settings


@dataclass(frozen=True)
class InboundSettings:
    media: MediaSettings
    webhook_credentials_secret_arn: str
    max_webhook_body_bytes: int
    default_country_code: str
    secret_cache_seconds: int
    # Copy media inline only while more than this remains of the invocation; the rest is queued.
    inline_media_reserve_ms: int

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Self:
        env = EnvironmentReader(environ)
        settings = cls(
            media=MediaSettings.read(env),
            webhook_credentials_secret_arn=env.text("WEBHOOK_CREDENTIALS_SECRET_ARN"),
            max_webhook_body_bytes=env.integer("MAX_WEBHOOK_BODY_BYTES", minimum=1024),
            default_country_code=env.text("DEFAULT_COUNTRY_CODE", pattern=r"[1-9][0-9]{0,2}"),
            secret_cache_seconds=env.integer("SECRET_CACHE_SECONDS", minimum=0, default=300),
            inline_media_reserve_ms=env.integer("INLINE_MEDIA_RESERVE_MS", minimum=0, default=8000),
        )
        env.check()
        return settings


@dataclass(frozen=True)
class GatewaySettings:
    """Where and how the gateway is reached; credentials stay in Secrets Manager."""

    credentials_secret_arn: str
    base_url: str
    # Base64 of a PEM CA bundle trusted for the gateway (HTTPS and MM4); empty: the system's store.
    ca_certificate: str
    mm4_host: str
    mm4_port: int
    mm4_tls_mode: str
    mm4_domain: str

    @classmethod
    def read(cls, env: EnvironmentReader) -> GatewaySettings:
        return cls(
            credentials_secret_arn=env.text("GATEWAY_CREDENTIALS_SECRET_ARN"),
            base_url=env.text("GATEWAY_BASE_URL", pattern=r"https://[^\s/]+(/[^\s]*)?"),
            ca_certificate=env.text("GATEWAY_CA_CERTIFICATE", default=""),
            mm4_host=env.text("MM4_HOST"),
            mm4_port=env.integer("MM4_PORT", minimum=1, maximum=65535),
            mm4_tls_mode=env.text("MM4_TLS_MODE", pattern=r"implicit|starttls"),
            mm4_domain=env.text("MM4_DOMAIN", pattern=r"[A-Za-z0-9.-]+"),
        )


@dataclass(frozen=True)
class MediaLinkSettings:
    """Where short links to media live (the outbound and media-link functions)."""

    messages_table_name: str
    media_bucket_name: str

    @classmethod
    def read(cls, env: EnvironmentReader) -> MediaLinkSettings:
        return cls(
            messages_table_name=env.text("MESSAGES_TABLE_NAME"),
            media_bucket_name=env.text("MEDIA_BUCKET_NAME"),
        )

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> MediaLinkSettings:
        env = EnvironmentReader(environ)
        settings = cls.read(env)
        env.check()
        return settings


@dataclass(frozen=True)
class OutboundSettings:
    links: MediaLinkSettings
    gateway: GatewaySettings
    # The API's public base URL, for links the gateway fetches (GET <base>/m/<token>).
    media_link_base_url: str
    media_link_ttl_hours: int
    idempotency_table_name: str
    idempotency_expiry_hours: int
    outbound_queue_url: str
    outbound_media_allowed_hosts: str
    allow_insecure_media_fetch: bool
    max_outbound_message_bytes: int
    default_country_code: str
    message_retention_days: int
    secret_cache_seconds: int
    max_concurrent_sends: int
    outbound_retry_base_delay_seconds: int

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Self:
        env = EnvironmentReader(environ)
        settings = cls(
            links=MediaLinkSettings.read(env),
            gateway=GatewaySettings.read(env),
            media_link_base_url=env.text("MEDIA_LINK_BASE_URL", pattern=r"https?://[^\s]+"),
            media_link_ttl_hours=env.integer("MEDIA_LINK_TTL_HOURS", minimum=1, maximum=24 * 30),
            idempotency_table_name=env.text("IDEMPOTENCY_TABLE_NAME"),
            idempotency_expiry_hours=env.integer("IDEMPOTENCY_EXPIRY_HOURS", minimum=1, maximum=24 * 14),
            outbound_queue_url=env.text("OUTBOUND_QUEUE_URL"),
            outbound_media_allowed_hosts=env.text("OUTBOUND_MEDIA_ALLOWED_HOSTS"),
            allow_insecure_media_fetch=env.flag("ALLOW_INSECURE_MEDIA_FETCH", default=False),
            max_outbound_message_bytes=env.integer("MAX_OUTBOUND_MESSAGE_BYTES", minimum=1024),
            default_country_code=env.text("DEFAULT_COUNTRY_CODE", pattern=r"[1-9][0-9]{0,2}"),
            message_retention_days=env.integer("MESSAGE_RETENTION_DAYS", minimum=1),
            secret_cache_seconds=env.integer("SECRET_CACHE_SECONDS", minimum=0, default=300),
            max_concurrent_sends=env.integer("MAX_CONCURRENT_SENDS", minimum=1, maximum=10, default=10),
            outbound_retry_base_delay_seconds=env.integer(
                "OUTBOUND_RETRY_BASE_DELAY_SECONDS", minimum=0, maximum=900
            ),
        )
        env.check()
        return settings
