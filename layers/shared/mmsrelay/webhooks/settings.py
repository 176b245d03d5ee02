"""What every Basic-authenticated webhook reads from its environment (inbound MOs, receipts)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

from mmsrelay.settings import EnvironmentReader, FunctionSettings


@dataclass(frozen=True)
class WebhookSettings(FunctionSettings):
    # The Secrets Manager secret holding {"username": ..., "password": ...}.
    credentials_secret_arn: str
    max_body_bytes: int
    # How long the secret is kept in memory before it is read again.
    secret_cache_seconds: int

    @classmethod
    def read(cls, env: EnvironmentReader) -> Self:
        return cls(
            credentials_secret_arn=env.text("WEBHOOK_CREDENTIALS_SECRET_ARN"),
            max_body_bytes=env.integer("MAX_WEBHOOK_BODY_BYTES", minimum=1024),
            secret_cache_seconds=env.integer("SECRET_CACHE_SECONDS", minimum=0, default=300),
        )
