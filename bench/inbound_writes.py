"""DynamoDB calls per inbound message: one write for the message, one per media status change.

Runs the inbound handler in-process against moto with a message carrying two attachments served
by a local media host, counting every DynamoDB operation its client makes (botocore's
``before-call`` event). The baseline is the design's budget: 1 write for the message + 1 per
attachment, and no read.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections import Counter
from contextlib import redirect_stdout
from urllib.parse import urlencode

import boto3
from moto import mock_aws

from bench.cold_start_inbound import provision_with
from gatewaysim import images
from gatewaysim.media_host import MediaHost
from tests.support import LambdaContextStub, load_event

READS = {"GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"}
WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}


def main() -> None:
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_DEFAULT_REGION": "us-east-1",
            "POWERTOOLS_METRICS_DISABLED": "true",
        }
    )
    os.environ.pop("AWS_ENDPOINT_URL", None)
    # What the function prints (its INFO logs and metrics, as deployed) goes to a file: the figures stay readable.
    with mock_aws(), MediaHost() as media, tempfile.TemporaryFile("w+") as logs, redirect_stdout(logs):
        os.environ.update(provision_with(boto3.Session()))
        from functions.inbound import app  # noqa: PLC0415 (after the environment is set)
        from mmsrelay import aws  # noqa: PLC0415

        calls: Counter[str] = Counter()
        aws.dynamodb_client().meta.events.register(
            "before-call.dynamodb.*", lambda model, **_: calls.update([model.name])
        )
        urls = [
            media.add("a.jpg", images.jpeg(), "image/jpeg"),
            media.add("b.png", images.png(), "image/png"),
        ]
        event = load_event("inbound_post.json")
        event["body"] = urlencode(
            {
                "transactionGUID": "6F1C2D3E-4A5B-4C6D-8E9F-0A1B2C3D4E5F",
                "source": "13105551212",
                "destination": "12223334444",
                "attachments": json.dumps(urls),
            }
        )
        answer = app.lambda_handler(event, LambdaContextStub())
        if answer["statusCode"] != 200:
            raise RuntimeError(f"inbound answered {answer}")
    writes = sum(count for name, count in calls.items() if name in WRITES)
    reads = sum(count for name, count in calls.items() if name in READS)
    budget = 1 + len(urls)
    ratio = writes / budget
    print(f"inbound_dynamodb_writes: {writes} writes ({ratio:.2f}x budget of {budget}: 1 + 1 per attachment)")
    print(f"inbound_dynamodb_reads: {reads} reads (budget 0)")


if __name__ == "__main__":
    main()
