"""Builds a webhook's Basic-auth verifier over its Secrets Manager secret (Powertools, cached)."""

from __future__ import annotations

from aws_lambda_powertools.utilities.parameters import SecretsProvider

from mmsrelay import aws
from mmsrelay.webhooks.basic_auth import BasicAuthVerifier
from mmsrelay.webhooks.credentials import secret_credentials
from mmsrelay.webhooks.settings import WebhookSettings


def basic_auth_verifier(settings: WebhookSettings) -> BasicAuthVerifier:
    provider = SecretsProvider(boto3_client=aws.secretsmanager_client())
    return BasicAuthVerifier(
        secret_credentials(provider, settings.credentials_secret_arn, settings.secret_cache_seconds)
    )
