"""The webhook's expected Basic credentials, read from their secret and kept ``max_age`` seconds.

The secret is read through the function the wiring passes in (Secrets Manager's
``GetSecretValue``); the cache is this loader's own, not Powertools parameters': that utility
imports every provider it has (SSM, AppConfig, DynamoDB with ``boto3.dynamodb``), about 5 ms of
a webhook's cold start for one call (bench/README.md).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from mmsrelay.webhooks.basic_auth import BasicCredentials, CredentialsLoader


class SecretShapeError(ValueError):
    """The secret is not the expected JSON document ``{"username": ..., "password": ...}``."""


def secret_credentials(
    read: Callable[[str], str], secret_id: str, max_age: int, clock: Callable[[], float] = time.monotonic
) -> CredentialsLoader:
    """A loader over ``read(secret_id)`` (the secret's string): the credentials are read again when
    ``max_age`` seconds have passed since the last read, or when ``force`` asks for it."""
    cached: list[tuple[float, BasicCredentials]] = []  # at most one: (read at, credentials)

    def load(force: bool) -> BasicCredentials:
        now = clock()
        if cached and not force and now - cached[0][0] < max_age:
            return cached[0][1]
        try:
            document = json.loads(read(secret_id))
        except ValueError as error:
            raise SecretShapeError("webhook credentials secret must be a JSON document") from error
        if not isinstance(document, dict) or not document.get("username") or not document.get("password"):
            raise SecretShapeError("webhook credentials secret must hold username and password")
        credentials = BasicCredentials(str(document["username"]), str(document["password"]))
        cached[:] = [(now, credentials)]
        return credentials

    return load
