"""``make demo``: the main job end to end on the local stack, printed as it happens.

A handset's MMS with two images reaches the deployed ``/inbound`` the way the gateway sends it;
the demo then shows the stored item, the S3 copies checked against the originals, and what a
repeated post does. Everything runs on 127.0.0.1 and is torn down at the end.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from devstack.stack import DeployedStack, LocalStack
from gatewaysim import images
from gatewaysim.mo import MoMessage
from gatewaysim.simulator import GatewaySimulator

Say = Callable[[str], None]


def say(text: str) -> None:
    print(f"[demo] {text}", flush=True)


def plain(item: dict[str, Any]) -> dict[str, Any]:
    """A DynamoDB item as plain JSON-friendly values."""
    deserializer = TypeDeserializer()
    value = {key: deserializer.deserialize(attribute) for key, attribute in item.items()}
    as_json = json.dumps(
        value, default=lambda number: int(number) if number == int(number) else float(number)
    )
    document: dict[str, Any] = json.loads(as_json)
    return document


def run(say: Say = say) -> int:
    started = time.monotonic()
    local = LocalStack()
    stack = local.up(progress=say)
    try:
        with GatewaySimulator() as simulator:
            say(f"API (as the emulator serves it): {stack.api_url}")
            say(f"gateway simulator media host: {simulator.media.base_url}")
            failures = inbound_demo(stack, simulator, say)
    finally:
        say("tearing down the local stack")
        local.down()
    verdict = "OK" if failures == 0 else f"{failures} check(s) failed"
    say(f"done in {time.monotonic() - started:.1f}s: {verdict}")
    return 0 if failures == 0 else 1


def inbound_demo(stack: DeployedStack, simulator: GatewaySimulator, say: Say) -> int:
    originals = {
        "sunset.jpg": (images.jpeg(96, 64, (230, 120, 40)), "image/jpeg"),
        "map.png": (images.png(48, 48, (40, 160, 90)), "image/png"),
    }
    urls = [simulator.media.add(name, body, content_type) for name, (body, content_type) in originals.items()]
    mo = MoMessage(message_text="Photos from the trip", mms_subject="Trip", attachments=urls)
    username, password = stack.webhook_credentials()
    failures = 0
    with simulator.mo_sender(
        f"{stack.api_url}/inbound", username, password, timeout=60, verify=str(stack.ca_file)
    ) as sender:
        say(f"handset {mo.source} sends an MMS with {len(urls)} images to {mo.destination}")
        say(f"  transactionGUID {mo.transaction_guid}, media on the simulator's host")
        result = sender.send(mo)
        say(f"webhook answered {result.status_code} in {result.elapsed:.2f}s: {result.body}")
        failures += result.status_code != 200

        table = stack.outputs["MessagesTableName"]
        key = {"pk": {"S": f"TX#{mo.transaction_guid}"}, "sk": {"S": "TX"}}
        stored = stack.client("dynamodb").get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
        if stored is None:
            say("no item was stored")
            return failures + 1
        item = plain(stored)
        summary = {
            name: item.get(name) for name in ("pk", "direction", "from", "to", "text", "subject", "status")
        }
        say(f"DynamoDB item in {table}:")
        print(json.dumps(summary, indent=2))
        say("media:")
        bucket = stack.outputs["MediaBucketName"]
        s3 = stack.client("s3")
        for entry, (name, (original, _)) in zip(item["media"], originals.items(), strict=True):
            if entry["status"] != "stored":
                say(f"  {name}: {entry['status']} ({entry.get('error', '')})")
                failures += 1
                continue
            body = s3.get_object(Bucket=bucket, Key=entry["s3Key"])["Body"].read()
            same = body == original and entry["sha256"] == hashlib.sha256(original).hexdigest()
            failures += not same
            verdict = "matches the original" if same else "DIFFERS from the original"
            say(
                f"  s3://{bucket}/{entry['s3Key']}  {entry['contentType']}  {entry['size']} bytes  "
                f"sha256 {entry['sha256'][:16]}... {verdict}"
            )

        fetches = len(simulator.media.requests)
        again = sender.send(mo)
        unchanged = (
            stack.client("dynamodb").get_item(TableName=table, Key=key, ConsistentRead=True)["Item"] == stored
        )
        say(
            f"the gateway posts the same MO again: {again.status_code} {again.body}; "
            f"item {'unchanged' if unchanged else 'CHANGED'}, media fetched again: "
            f"{len(simulator.media.requests) - fetches}"
        )
        failures += again.status_code != 200 or not unchanged

        wrong = sender.send(MoMessage(), credentials="wrong")
        say(f"a post with wrong credentials: {wrong.status_code} {wrong.body}")
        failures += wrong.status_code != 401
    return failures
