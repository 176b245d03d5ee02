"""The gateway's connection: its credentials from Secrets Manager (Powertools, cached) and its CA bundle."""

from __future__ import annotations

import base64
import os
import tempfile
from typing import Any

from aws_lambda_powertools.utilities.parameters import SecretsProvider

from mmsrelay import aws
from mmsrelay.domain.outbound import GatewayCredentials


def gateway_ca_file(ca_certificate: str) -> str | None:
    """The configured CA bundle written to /tmp (the Parameter holds it base64-encoded), or None."""
    if not ca_certificate:
        return None
    pem = base64.b64decode(ca_certificate, validate=True)
    handle, path = tempfile.mkstemp(prefix="gateway-ca-", suffix=".pem")
    with os.fdopen(handle, "wb") as file:
        file.write(pem)
    return path


def gateway_credentials(secret_id: str, max_age: int) -> Any:
    provider = SecretsProvider(boto3_client=aws.secretsmanager_client())

    def load() -> GatewayCredentials:
        secret = provider.get(secret_id, max_age=max_age, transform="json")
        if not isinstance(secret, dict) or not secret.get("apiKey") or not secret.get("apiSecret"):
            raise ValueError("the gateway credentials secret must hold apiKey and apiSecret")
        return GatewayCredentials(
            api_key=str(secret["apiKey"]),
            api_secret=str(secret["apiSecret"]),
            # MM4 logs in with the connection's API key and secret unless the secret says otherwise.
            mm4_username=str(secret.get("mm4Username") or secret["apiKey"]),
            mm4_password=str(secret.get("mm4Password") or secret["apiSecret"]),
        )

    return load
