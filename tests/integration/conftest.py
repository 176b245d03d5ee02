"""Integration fixtures: AWS emulated in-process by moto (no network beyond 127.0.0.1)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Protocol

import boto3
import pytest
from moto import mock_aws
from moto.dynamodb.responses import DynamoHandler

from mmsrelay import aws as clients

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

REGION = "us-east-1"
TABLE = "messages"
# The functions' cached AWS clients (mmsrelay.aws): built once per execution environment.
CLIENT_FACTORIES = (
    clients.dynamodb_client,
    clients.s3_client,
    clients.sqs_client,
    clients.secretsmanager_client,
    clients.events_client,
)


class Cached(Protocol):
    def cache_clear(self) -> None: ...


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto for every AWS call of the test; fake credentials so nothing can reach AWS."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        yield


@contextlib.contextmanager
def cold_function(monkeypatch: pytest.MonkeyPatch, environment: Mapping[str, str], *wiring: Cached) -> Iterator[None]:
    """A function started cold with ``environment``: its cached AWS clients and ``wiring`` (the
    module's cached builders) are built anew inside the block, and dropped again after it."""
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    caches = (*CLIENT_FACTORIES, *wiring)
    for cache in caches:
        cache.cache_clear()
    try:
        yield
    finally:
        for cache in caches:
            cache.cache_clear()


def create_messages_table(client: DynamoDBClient, name: str = TABLE) -> str:
    """The table as template.yaml declares it (keys and its three indexes; a template check compares)."""
    client.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": attribute, "AttributeType": "S"}
            for attribute in ("pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk", "mm4MessageId")
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "ByNumber",
                "KeySchema": [
                    {"AttributeName": "gsi1pk", "KeyType": "HASH"},
                    {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            },
            {
                "IndexName": "ByReceiptDue",
                "KeySchema": [
                    {"AttributeName": "gsi2pk", "KeyType": "HASH"},
                    {"AttributeName": "gsi2sk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            },
            {
                "IndexName": "ByMm4MessageId",
                "KeySchema": [{"AttributeName": "mm4MessageId", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["to", "recipients"]},
            },
        ],
    )
    return name


@pytest.fixture
def dynamodb(aws: None) -> DynamoDBClient:
    client = boto3.client("dynamodb", region_name=REGION)
    create_messages_table(client)
    return client


@pytest.fixture
def atomic_items(monkeypatch: pytest.MonkeyPatch) -> None:
    """DynamoDB applies a conditional write to one item atomically, and what it returns (``ALL_OLD``
    on a refusal, ``UPDATED_NEW``) is the item as that write saw and left it. moto's in-process
    backend does neither under threads: two threads can both find an item absent, and the values a
    call returns are read before and after its write, outside it. Each write call is serialised here
    whole, as DynamoDB serialises writes to an item: what is left to the test is the code's own logic."""
    lock = threading.Lock()
    for name in ("put_item", "update_item"):
        original = getattr(DynamoHandler, name)

        def serialised(self: object, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            with lock:
                return _original(self, *args, **kwargs)

        monkeypatch.setattr(DynamoHandler, name, serialised)
