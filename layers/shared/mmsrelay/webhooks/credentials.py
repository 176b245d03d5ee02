"""The webhook's expected Basic credentials, read from Secrets Manager through Powertools (cached)."""

from __future__ import annotations

from typing import Any

from mmsrelay.webhooks.basic_auth import BasicCredentials, CredentialsLoader


class SecretShapeError(ValueError):
    """The secret is not the expected JSON document ``{"username": ..., "password": ...}``."""


def secret_credentials(provider: Any, secret_id: str, max_age: int) -> CredentialsLoader:
    """A loader over a Powertools ``SecretsProvider``; ``force`` bypasses its cache."""

    def load(force: bool) -> BasicCredentials:
        document = provider.get(secret_id, max_age=max_age, transform="json", force_fetch=force)
        if not isinstance(document, dict) or not document.get("username") or not document.get("password"):
            raise SecretShapeError("webhook credentials secret must hold username and password")
        return BasicCredentials(str(document["username"]), str(document["password"]))

    return load
