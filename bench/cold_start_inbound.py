"""Cold start of the inbound function, against its floor (bench/README.md).

Each sample is a fresh Python process (this venv's interpreter: 3.13, the runtime's version)
that imports the handler and serves its first request: an MO with one attachment, so it reads
the webhook secret, writes the item, fetches the image from a local media host, stores it in S3
and records it. AWS is a moto server on 127.0.0.1; nothing leaves the machine.
"""

from __future__ import annotations

import json
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import boto3

from bench.coldstart.harness import (
    CHILDREN,
    GLOBAL_ENVIRONMENT,
    LAYER,
    ROOT,
    ROUNDS,
    Variant,
    child_command,
    child_environment,
    local_aws,
    print_report,
    run_rounds,
)
from gatewaysim import images
from gatewaysim.media_host import MediaHost
from tests.integration.conftest import create_messages_table
from tests.support import EVENT_PASSWORD, EVENT_USERNAME, load_event
from tests.template import function_environment

TARGET_RATIO = 1.25
FUNCTION = ROOT / "functions" / "inbound"


def provision(endpoint: str) -> dict[str, str]:
    """The resources the template would create, on the moto server; returns the functions' environment."""
    return provision_with(
        boto3.Session(aws_access_key_id="bench", aws_secret_access_key="bench", region_name="us-east-1"),  # noqa: S106
        endpoint,
    )


def provision_with(session: boto3.Session, endpoint: str | None = None) -> dict[str, str]:
    """Creates the inbound function's resources through ``session``; returns its environment as
    template.yaml sets it (its defaults, but media fetched from the local host over plain HTTP)."""
    create_messages_table(session.client("dynamodb", endpoint_url=endpoint), "messages")
    session.client("s3", endpoint_url=endpoint).create_bucket(Bucket="media")
    queue = session.client("sqs", endpoint_url=endpoint).create_queue(QueueName="media-retry")["QueueUrl"]
    secret = session.client("secretsmanager", endpoint_url=endpoint).create_secret(
        Name="webhook", SecretString=json.dumps({"username": EVENT_USERNAME, "password": EVENT_PASSWORD})
    )["ARN"]
    names = {
        "MessagesTable": "messages",
        "MediaBucket": "media",
        "MediaRetryQueue": queue,
        "WebhookCredentialsSecret.Id": secret,
    }
    parameters = {"MediaAllowedHosts": "127.0.0.1", "AllowInsecureMediaFetch": "true"}
    return {**GLOBAL_ENVIRONMENT, **function_environment("InboundFunction", names, parameters)}


class CopyCheck:
    """Proves a sample stored the message and copied its attachment, as the floor does: the item's
    attachment is ``stored`` and the object holds the media host's bytes (not merely an answer
    saying ``stored`` while the copy was refused or left to the retry queue)."""

    def __init__(self, endpoint: str, media: bytes) -> None:
        session = boto3.Session(aws_access_key_id="bench", aws_secret_access_key="bench", region_name="us-east-1")  # noqa: S106
        self._dynamodb = session.client("dynamodb", endpoint_url=endpoint)
        self._s3 = session.client("s3", endpoint_url=endpoint)
        self._media = media
        self.guids: dict[tuple[str, int], str] = {}

    def guid(self, variant: str, number: int) -> str:
        self.guids[variant, number] = str(uuid.uuid4()).upper()
        return self.guids[variant, number]

    def __call__(self, variant: str, number: int, answer: Any) -> None:
        guid = self.guids[variant, number]
        body = json.loads(answer.get("body") or "{}")
        if answer.get("statusCode") != 200 or body.get("status") != "stored":
            raise RuntimeError(f"{variant}: answered {answer}")
        item = self._dynamodb.get_item(
            TableName="messages", Key={"pk": {"S": f"TX#{guid}"}, "sk": {"S": "TX"}}, ConsistentRead=True
        ).get("Item", {})
        media = item.get("media", {}).get("L", [])
        if len(media) != 1 or media[0]["M"]["status"]["S"] != "stored":
            raise RuntimeError(f"{variant}: the attachment was not recorded as stored: {media}")
        keys = [
            entry["Key"]
            for entry in self._s3.list_objects_v2(Bucket="media").get("Contents", [])
            if guid in entry["Key"]
        ]
        if len(keys) != 1 or self._s3.get_object(Bucket="media", Key=keys[0])["Body"].read() != self._media:
            raise RuntimeError(f"{variant}: the attachment was not copied to S3: {keys}")


def main() -> None:
    print("cold start, inbound function: preparing moto server and media host", file=sys.stderr)
    with local_aws() as endpoint, MediaHost() as media, tempfile.TemporaryDirectory() as scratch:
        settings = provision(endpoint)
        image = images.png(64, 64)
        media_url = media.add("photo.png", image, "image/png")
        folder = Path(scratch)
        copied = CopyCheck(endpoint, image)

        def handler_event(number: int, variant: str) -> list[str]:
            event = load_event("inbound_post.json")
            event["body"] = urlencode(
                {
                    "transactionGUID": copied.guid(variant, number),
                    "source": "13105551212",
                    "sourceCountryCode": "1",
                    "destination": "12223334444",
                    "messageText": "bench",
                    "mmsURL": media_url,
                }
            )
            path = folder / f"{variant}-{number}.json"
            path.write_text(json.dumps(event))
            module = "app" if variant == "handler" else "inbound_plain"
            return child_command(module, path)

        def floor_setup(number: int) -> list[str]:
            path = folder / f"floor-{number}.json"
            path.write_text(
                json.dumps(
                    {
                        "secret_arn": settings["WEBHOOK_CREDENTIALS_SECRET_ARN"],
                        "table": "messages",
                        "bucket": "media",
                        "guid": copied.guid("floor", number),
                        "media_url": media_url,
                    }
                )
            )
            return child_command("inbound_floor", path)

        variants = [
            # Same sys.path for every variant: in Lambda the floor would see /var/task and /opt too.
            Variant("floor", floor_setup, (FUNCTION, LAYER), lambda n, a: copied("floor", n, a)),
            Variant(
                "handler",
                lambda n: handler_event(n, "handler"),
                (FUNCTION, LAYER),
                lambda n, a: copied("handler", n, a),
            ),
            Variant(
                "plain",
                lambda n: handler_event(n, "plain"),
                (CHILDREN, FUNCTION, LAYER),
                lambda n, a: copied("plain", n, a),
            ),
        ]
        samples = run_rounds(
            variants, ROUNDS, lambda variant: child_environment(endpoint, settings, variant.pythonpath)
        )
    print_report("inbound_cold_start_floor", samples, "floor")
    print_report("inbound_cold_start", samples, "handler", target=TARGET_RATIO)
    print_report("inbound_cold_start_plain_imports", samples, "plain")


if __name__ == "__main__":
    main()
