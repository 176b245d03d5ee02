"""AWS clients, created once per execution environment and handed to adapters, and the code of their errors.

Timeouts are short and retries bounded: a webhook must answer the gateway within API Gateway's
29 seconds, and SQS redelivers what a worker could not finish.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from botocore.exceptions import ClientError
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_sqs import SQSClient

_CONFIG = Config(connect_timeout=3, read_timeout=10, retries={"mode": "standard", "max_attempts": 3})
# Presigned media links must be SigV4: S3 refuses SigV2 signatures on buckets created since 2020,
# and botocore still presigns with SigV2 unless told otherwise.
_S3_CONFIG = _CONFIG.merge(Config(signature_version="s3v4"))


@cache
def dynamodb_client() -> DynamoDBClient:
    return boto3.client("dynamodb", config=_CONFIG)


@cache
def s3_client() -> S3Client:
    return boto3.client("s3", config=_S3_CONFIG)


@cache
def sqs_client() -> SQSClient:
    return boto3.client("sqs", config=_CONFIG)


@cache
def secretsmanager_client() -> SecretsManagerClient:
    return boto3.client("secretsmanager", config=_CONFIG)


@cache
def events_client() -> EventBridgeClient:
    return boto3.client("events", config=_CONFIG)


def secret_string(secret_id: str) -> str:
    """The secret's current value (its ``SecretString``), read from Secrets Manager."""
    return secretsmanager_client().get_secret_value(SecretId=secret_id)["SecretString"]


def reset_clients() -> None:
    """Forgets every client built so far: the next call of a factory builds a new one (after a
    SnapStart restore, with connections and credentials of the restored environment)."""
    for factory in (dynamodb_client, s3_client, sqs_client, secretsmanager_client, events_client):
        factory.cache_clear()


def preload_models(*services: str) -> None:
    """Loads these services' API models and endpoint rules into boto3's default session, which
    keeps them, by building a client with placeholder keys and dropping it: no credential is looked
    up or kept, no connection opened, no request made. Before a SnapStart snapshot, this moves the
    models' loading out of the first request after every restore."""
    for service in services:
        boto3.client(
            service,  # type: ignore[call-overload]
            aws_access_key_id="preload",
            aws_secret_access_key="preload",  # noqa: S106 (a placeholder: never sent)
            config=_CONFIG,
        )


def error_code(error: ClientError) -> str:
    """The AWS error code a ``ClientError`` carries (``""`` when it carries none)."""
    return str(error.response.get("Error", {}).get("Code", ""))
