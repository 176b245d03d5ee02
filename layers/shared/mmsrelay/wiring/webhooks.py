"""Builds a webhook's Basic-auth verifier over its Secrets Manager secret (cached by the loader)."""

from __future__ import annotations

from mmsrelay import aws
from mmsrelay.webhooks.basic_auth import BasicAuthVerifier
from mmsrelay.webhooks.credentials import secret_credentials
from mmsrelay.webhooks.settings import WebhookSettings


def basic_auth_verifier(settings: WebhookSettings) -> BasicAuthVerifier:
    return BasicAuthVerifier(
        secret_credentials(aws.secret_string, settings.credentials_secret_arn, settings.secret_cache_seconds)
    )
