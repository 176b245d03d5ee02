"""The outbound and media link functions' settings (see ``mmsrelay.settings``)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final, Self

from mmsrelay.outbound.pace import SendRatePlan
from mmsrelay.settings import COUNTRY_CODE_PATTERN, EnvironmentReader, FunctionSettings

# Messages per second a code may be configured for (the template's SendRatePerSecond bounds).
MIN_SEND_RATE: Final = 0.1
MAX_SEND_RATE: Final = 1000.0
# One override: a code's digits, "=", its rate ("12223334444=10"); several are comma-separated.
_OVERRIDE: Final = re.compile(r"([0-9]{3,15})=([0-9]+(?:\.[0-9]+)?)")


@dataclass(frozen=True)
class GatewaySettings(FunctionSettings):
    """Where and how the gateway is reached; credentials stay in Secrets Manager."""

    credentials_secret_arn: str
    base_url: str
    # Base64 of a PEM CA bundle trusted for the gateway (HTTPS and MM4); empty: the system's store.
    ca_certificate: str
    mm4_host: str
    mm4_port: int
    mm4_tls_mode: str
    mm4_domain: str
    # X-Mms-Originator-System of our forwards: where the gateway mails MM4 reports.
    mm4_originator_system: str

    @classmethod
    def read(cls, env: EnvironmentReader) -> Self:
        return cls(
            credentials_secret_arn=env.text("GATEWAY_CREDENTIALS_SECRET_ARN"),
            base_url=env.text("GATEWAY_BASE_URL", pattern=r"https://[^\s/]+(/[^\s]*)?"),
            ca_certificate=env.text("GATEWAY_CA_CERTIFICATE", default=""),
            mm4_host=env.text("MM4_HOST"),
            mm4_port=env.integer("MM4_PORT", minimum=1, maximum=65535),
            mm4_tls_mode=env.text("MM4_TLS_MODE", pattern=r"implicit|starttls"),
            mm4_domain=env.text("MM4_DOMAIN", pattern=r"[A-Za-z0-9.-]+"),
            mm4_originator_system=env.text("MM4_ORIGINATOR_SYSTEM", pattern=r"[A-Za-z0-9._+-]+(@[A-Za-z0-9.-]+)?"),
        )


@dataclass(frozen=True)
class MediaLinkSettings(FunctionSettings):
    """Where short links to media live (the outbound and media-link functions)."""

    messages_table_name: str
    media_bucket_name: str

    @classmethod
    def read(cls, env: EnvironmentReader) -> Self:
        return cls(
            messages_table_name=env.text("MESSAGES_TABLE_NAME"),
            media_bucket_name=env.text("MEDIA_BUCKET_NAME"),
        )


@dataclass(frozen=True)
class OutboundSettings(FunctionSettings):
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
    # The carriers' limit a message is fitted into (media plus text).
    max_outbound_message_bytes: int
    # The most original media of one message the relay reads (and fits).
    max_outbound_original_bytes: int
    default_country_code: str
    message_retention_days: int
    secret_cache_seconds: int
    max_concurrent_sends: int
    outbound_retry_base_delay_seconds: int
    receipt_timeout_hours: int
    send_rates: SendRatePlan

    @classmethod
    def read(cls, env: EnvironmentReader) -> Self:
        return cls(
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
            max_outbound_original_bytes=env.integer("MAX_OUTBOUND_ORIGINAL_BYTES", minimum=1024, default=20_971_520),
            default_country_code=env.text("DEFAULT_COUNTRY_CODE", pattern=COUNTRY_CODE_PATTERN),
            message_retention_days=env.integer("MESSAGE_RETENTION_DAYS", minimum=1),
            secret_cache_seconds=env.integer("SECRET_CACHE_SECONDS", minimum=0, default=300),
            max_concurrent_sends=env.integer("MAX_CONCURRENT_SENDS", minimum=1, maximum=10, default=10),
            receipt_timeout_hours=env.integer("RECEIPT_TIMEOUT_HOURS", minimum=1, maximum=24 * 30),
            outbound_retry_base_delay_seconds=env.integer("OUTBOUND_RETRY_BASE_DELAY_SECONDS", minimum=0, maximum=900),
            send_rates=SendRatePlan(
                default=env.number("SEND_RATE_PER_SECOND", minimum=MIN_SEND_RATE, maximum=MAX_SEND_RATE),
                overrides=read_rate_overrides(env, "SEND_RATE_OVERRIDES"),
            ),
        )


def read_rate_overrides(env: EnvironmentReader, name: str) -> Mapping[str, float]:
    """``12223334444=10,55555=20`` (empty: none): each code's digits and its messages per second."""
    text = env.text(name, default="").replace(" ", "")
    overrides: dict[str, float] = {}
    for entry in filter(None, text.split(",")):
        match = _OVERRIDE.fullmatch(entry)
        if match is None:
            env.problem(f"{name} entry {entry[:40]!r} is not <code digits>=<messages per second>")
            continue
        code, rate = match.group(1), float(match.group(2))
        if not MIN_SEND_RATE <= rate <= MAX_SEND_RATE:
            env.problem(f"{name} gives {code} a rate that is not between {MIN_SEND_RATE:g} and {MAX_SEND_RATE:g}")
        elif code in overrides:
            env.problem(f"{name} gives {code} twice")
        overrides[code] = rate
    return MappingProxyType(overrides)
