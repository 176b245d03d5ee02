"""What one message costs: AWS requests, bytes, events and Lambda time, counted per scenario.

Each scenario runs the real handlers in-process: AWS is moto (the messages table with its indexes
and its stream, the idempotency table, the bucket, the queues, the secrets, the event bus), the
gateway is the simulator (HTTPS API and MM4 over TLS on 127.0.0.1), the handset's media a local
host. Every call the functions' clients make is counted on botocore's events (operation, items,
bytes), and so are the producer's own calls; the stream records a scenario leaves are then handed
to the events function, as Lambda would, which counts the EventBridge events. Each scenario runs
twice and the second message is the one reported: the first pays what an execution environment
pays once (the secret, clients, connections; listed apart).

DynamoDB capacity is computed from the items as stored: a write costs one write unit per started
KiB of the item (the larger of before and after; two per item in a transaction), plus the index
writes it causes (docs/costs.md says how). Lambda time is the handler's wall time on this machine
(x86_64, shared): AWS bills arm64 at 512 MB (the template's MemorySize), per started millisecond.

Scenarios: an inbound MMS with one 200 KiB image; an HTTPS send (one recipient, a producer's image
from the bucket, sent as a short link the carrier fetches once); an MM4 group send to three (the
same image, read from the bucket and carried in the message); a delivery receipt.
"""

from __future__ import annotations

import base64
import json
import math
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from contextlib import redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlencode

import boto3
from moto import mock_aws

from gatewaysim import images
from gatewaysim.simulator import GatewaySimulator
from tests.integration.conftest import TABLE, create_messages_table
from tests.support import EVENT_PASSWORD, EVENT_USERNAME, LambdaContextStub, load_event
from tests.template import function_environment

REGION = "us-east-1"
BUCKET = "media"
IMAGE_BYTES = 200 * 1024
MEMORY_MB = 512  # template.yaml Globals.Function.MemorySize
# The functions the four scenarios run, whose environments the handlers are given (their union).
FUNCTIONS = ("InboundFunction", "OutboundFunction", "MediaLinkFunction", "ReceiptFunction", "EventsFunction")
WRITES = {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"}
READS = {"GetItem", "Query", "BatchGetItem", "Scan"}
# Index projections (template.yaml): an item with the index's key attribute is written to it too.
INDEXES = {"gsi1pk": "ALL", "gsi2pk": "KEYS_ONLY", "mm4MessageId": "INCLUDE"}


@dataclass
class Usage:
    """What one scenario's message cost, as counted."""

    calls: Counter[str] = field(default_factory=Counter)  # "service.Operation" -> requests
    s3_bytes_in: int = 0
    s3_bytes_out: int = 0
    events: int = 0
    lambda_ms: dict[str, float] = field(default_factory=dict)  # function -> handler wall time
    log_bytes: int = 0
    write_units: int = 0
    read_units: float = 0.0
    gateway_bytes: int = 0  # sent to the gateway (out to the internet)
    carrier_bytes: int = 0  # fetched by the carrier from S3 through a presigned link (out to the internet)
    api_requests: int = 0

    def count(self, name: str, value: int = 1) -> None:
        self.calls[name] += value


class Meter:
    """Counts the calls of every client it watches into the current ``Usage``; for each DynamoDB write
    it reads the item before and after (through a client of its own) for the write units and for
    the stream record DynamoDB Streams would emit (one per item changed, old and new image)."""

    def __init__(self, images: Any, stream_arn: str) -> None:
        self.usage = Usage()
        self.stream: list[dict[str, Any]] = []
        self._images = images
        self._stream_arn = stream_arn
        self._pending: list[tuple[str, dict[str, Any], int, dict[str, Any]]] = []  # table, key, factor, old

    def watch(self, client: Any) -> Any:
        events = client.meta.events
        service = client.meta.service_model.service_name
        events.register(f"before-parameter-build.{service}.*", self._before)
        events.register(f"after-call.{service}.*", self._after)
        return client

    def begin(self) -> None:
        self.usage = Usage()
        self.stream = []

    def _before(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        service = model.service_model.service_name
        operation = model.name
        self.usage.count(f"{service}.{operation}")
        if service == "s3" and operation in ("PutObject", "UploadPart"):
            self.usage.s3_bytes_in += _length(params.get("Body"))
        if service == "events" and operation == "PutEvents":
            self.usage.events += len(params.get("Entries", []))
        if service == "dynamodb" and operation in WRITES:
            self._pending = [
                (table, key, factor, self._image(table, key)) for table, key, factor in _written(operation, params)
            ]

    def _after(self, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        service = model.service_model.service_name
        if service == "s3" and model.name == "GetObject":
            self.usage.s3_bytes_out += int(parsed.get("ContentLength", 0))
        if service != "dynamodb":
            return
        if model.name in WRITES:
            for table, key, factor, old in self._pending:
                self._written(table, key, factor, old, self._image(table, key))
            self._pending = []
        for item in [parsed.get("Item")] + [i for items in parsed.get("Responses", {}).values() for i in items]:
            if item:  # eventually consistent reads: half a unit per started 4 KiB
                self.usage.read_units += max(1, math.ceil(item_size(item) / 4096)) / 2

    def _image(self, table: str, key: dict[str, Any]) -> dict[str, Any]:
        item: dict[str, Any] = self._images.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item", {})
        return item

    def _written(self, table: str, key: dict[str, Any], factor: int, old: dict[str, Any], new: dict[str, Any]) -> None:
        size = max(item_size(old), item_size(new))
        units = max(1, math.ceil(size / 1024)) * factor  # a refused conditional write costs its units too
        for attribute, projection in INDEXES.items():
            if old != new and (attribute in old or attribute in new):
                units += max(1, math.ceil(item_size(new) / 1024)) if projection == "ALL" else 1
        self.usage.write_units += units
        if old != new and table == TABLE:  # the messages table has the stream
            name = "INSERT" if not old else "REMOVE" if not new else "MODIFY"
            change: dict[str, Any] = {
                "Keys": key,
                "StreamViewType": "NEW_AND_OLD_IMAGES",
                "SizeBytes": size,
                "SequenceNumber": str(len(self.stream) + 1),
                "ApproximateCreationDateTime": time.time(),
            }
            if new:
                change["NewImage"] = new
            if old:
                change["OldImage"] = old
            self.stream.append(
                {
                    "eventID": f"bench-{len(self.stream)}",
                    "eventName": name,
                    "eventVersion": "1.1",
                    "eventSource": "aws:dynamodb",
                    "awsRegion": REGION,
                    "dynamodb": change,
                    "eventSourceARN": self._stream_arn,
                }
            )


def _written(operation: str, params: dict[str, Any]) -> list[tuple[str, dict[str, Any], int]]:
    """The (table, key, units factor) of each item a write request names."""
    if operation == "TransactWriteItems":
        found = []
        for entry in params["TransactItems"]:
            body = next(iter(entry.values()))
            found.append((body["TableName"], body.get("Key") or _key(body["Item"]), 2))
        return found
    return [(params["TableName"], params.get("Key") or _key(params["Item"]), 1)]


def _key(item: dict[str, Any]) -> dict[str, Any]:
    return {name: item[name] for name in ("pk", "sk", "id") if name in item}


def _length(body: Any) -> int:
    if body is None:
        return 0
    if isinstance(body, bytes | bytearray):
        return len(body)
    position = int(body.tell())
    body.seek(0, os.SEEK_END)
    size = int(body.tell())
    body.seek(position)
    return size - position


def item_size(item: dict[str, Any]) -> int:
    """An item's size by DynamoDB's rules: each attribute's name and value (numbers about one byte
    per two digits, lists and maps three bytes plus one per element)."""
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


def _value_size(value: dict[str, Any]) -> int:
    kind, inner = next(iter(value.items()))
    sizes: dict[str, Callable[[Any], int]] = {
        "S": lambda text: len(str(text).encode()),
        "N": lambda number: math.ceil(len(str(number).strip("-").replace(".", "").lstrip("0") or "0") / 2) + 1,
        "B": len,
        "BOOL": lambda _: 1,
        "NULL": lambda _: 1,
        "L": lambda elements: 3 + sum(1 + _value_size(element) for element in elements),
        "M": lambda fields: 3 + sum(1 + len(name.encode()) + _value_size(v) for name, v in fields.items()),
    }
    measure = sizes.get(kind, lambda members: sum(len(str(member).encode()) for member in members))  # sets
    return int(measure(inner))


def provision(simulator: GatewaySimulator, media_allowed: str) -> dict[str, str]:
    """The resources the template creates, on moto; the union of the functions' environments."""
    setup = boto3.Session(region_name=REGION)
    dynamodb = setup.client("dynamodb")
    create_messages_table(dynamodb, TABLE)
    stream_arn = f"arn:aws:dynamodb:{REGION}:123456789012:table/{TABLE}/stream/2026-12-01T00:00:00.000"
    dynamodb.create_table(
        TableName="idempotency",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
    )
    setup.client("s3").create_bucket(Bucket=BUCKET)
    sqs = setup.client("sqs")
    secrets = setup.client("secretsmanager")
    webhook = json.dumps({"username": EVENT_USERNAME, "password": EVENT_PASSWORD})
    gateway = json.dumps({"apiKey": simulator.api_key, "apiSecret": simulator.api_secret})
    setup.client("events").create_event_bus(Name="mms-relay")
    bundle = b"".join(Path(str(p)).read_bytes() for p in (simulator.http_api.ca_file, simulator.mm4.ca_file))
    # The functions' variables as template.yaml gives them, the resources above named, the
    # gateway's settings pointing at the simulator.
    names = {
        "MessagesTable": TABLE,
        "MediaBucket": BUCKET,
        "IdempotencyTable": "idempotency",
        "EventBus": "mms-relay",
        "MediaRetryQueue": sqs.create_queue(QueueName="media-retry")["QueueUrl"],
        "OutboundQueue": sqs.create_queue(QueueName="outbound")["QueueUrl"],
        "WebhookCredentialsSecret.Id": secrets.create_secret(Name="webhook", SecretString=webhook)["ARN"],
        "GatewayCredentialsSecret.Id": secrets.create_secret(Name="gateway", SecretString=gateway)["ARN"],
    }
    parameters = {
        "MediaAllowedHosts": media_allowed,
        "AllowInsecureMediaFetch": "true",
        "GatewayBaseUrl": simulator.http_api.base_url,
        "GatewayCaCertificate": base64.b64encode(bundle).decode(),
        "Mm4Host": "127.0.0.1",
        "Mm4Port": str(simulator.mm4.port),
        "Mm4Domain": simulator.mm4.domain,
        "MediaLinkBaseUrl": "https://abc123defg.execute-api.us-east-1.amazonaws.com/v1",
    }
    environment: dict[str, str] = {}
    for function in FUNCTIONS:
        environment |= function_environment(function, names, parameters)
    return environment | {"STREAM_ARN": stream_arn}


class Scenarios:
    """The four messages, each through the real handlers, its calls counted by ``meter``."""

    def __init__(self, simulator: GatewaySimulator, environment: dict[str, str], logs: IO[str]) -> None:
        from functions.events import app as events_app  # noqa: PLC0415 (after the environment is set)
        from functions.inbound import app as inbound_app  # noqa: PLC0415
        from functions.media_link import app as media_link_app  # noqa: PLC0415
        from functions.outbound import app as outbound_app  # noqa: PLC0415
        from functions.receipts import app as receipts_app  # noqa: PLC0415
        from mmsrelay import aws  # noqa: PLC0415

        self.apps = {"events": events_app, "inbound": inbound_app, "media_link": media_link_app}
        self.apps |= {"outbound": outbound_app, "receipts": receipts_app}
        self.meter = Meter(boto3.Session(region_name=REGION).client("dynamodb"), environment["STREAM_ARN"])
        for factory in (aws.dynamodb_client, aws.s3_client, aws.sqs_client, aws.secretsmanager_client):
            self.meter.watch(factory())
        self.meter.watch(aws.events_client())
        producer = boto3.Session(region_name=REGION)
        self.producer_s3 = self.meter.watch(producer.client("s3"))
        self.producer_sqs = self.meter.watch(producer.client("sqs"))
        self.reader = producer.client("dynamodb")
        self.simulator = simulator
        self.environment = environment
        self.logs = logs
        self.image = images.sized_payload(IMAGE_BYTES, "image/jpeg")
        self.media_url = simulator.media.add("photo.jpg", self.image, "image/jpeg")

    def invoke(self, function: str, event: dict[str, Any]) -> Any:
        """The handler's answer; its wall time and what it printed (logs, metrics) counted."""
        usage = self.meter.usage
        before = self.logs.tell()
        started = time.perf_counter()
        answer = self.apps[function].lambda_handler(event, LambdaContextStub())
        usage.lambda_ms[function] = usage.lambda_ms.get(function, 0.0) + (time.perf_counter() - started) * 1000
        usage.log_bytes += self.logs.tell() - before
        return answer

    def publish_events(self) -> None:
        """The stream records the message left, handed to the events function in one batch."""
        records, self.meter.stream = self.meter.stream, []
        if records and self.invoke("events", {"Records": records}).get("batchItemFailures"):
            raise RuntimeError("events not published")

    def inbound(self, number: int) -> None:
        fields = {"transactionGUID": f"6F1C2D3E-4A5B-4C6D-8E9F-0A1B2C3D4E{number:02d}", "source": "13105551212"}
        fields |= {"destination": "12223334444", "messageText": "Here is the photo", "mmsURL": self.media_url}
        event = load_event("inbound_post.json")
        event["body"] = urlencode(fields)
        self.meter.usage.api_requests += 1
        answer = self.invoke("inbound", event)
        if json.loads(answer["body"]).get("status") != "stored":
            raise RuntimeError(f"inbound answered {answer}")

    def outbound(self, number: int, recipients: list[str], transport: str) -> None:
        key = f"outbound/bench/{transport}-{number}.jpg"
        self.producer_s3.put_object(Bucket=BUCKET, Key=key, Body=self.image, ContentType="image/jpeg")
        job: dict[str, Any] = {"messageId": f"{transport}-{number}", "from": "12223334444", "to": recipients}
        job |= {"text": "Shipped"}
        job |= {"media": [{"s3": f"s3://{BUCKET}/{key}"}], "deliveryReport": True}
        self.producer_sqs.send_message(QueueUrl=self.environment["OUTBOUND_QUEUE_URL"], MessageBody=json.dumps(job))
        http_before, mm4_before = len(self.simulator.http_api.sent), len(self.simulator.mm4.accepted)
        record = load_event("outbound_sqs_batch.json")["Records"][0]
        record["body"] = json.dumps(job)
        answer = self.invoke("outbound", {"Records": [record]})
        if answer != {"batchItemFailures": []}:
            raise RuntimeError(f"outbound answered {answer}")
        if transport == "mm4":
            (accepted,) = self.simulator.mm4.accepted[mm4_before:]
            self.meter.usage.gateway_bytes += len(accepted.raw)
            if len(accepted.recipients) != len(recipients):
                raise RuntimeError(f"MM4 took {accepted.recipients}")
            return
        (sent,) = self.simulator.http_api.sent[http_before:]
        self.meter.usage.gateway_bytes += len(urlencode(sent.fields))
        token = sent.mms_url.rsplit("/", 1)[1]
        self.meter.usage.api_requests += 1  # the carrier fetches the link once
        link = {"httpMethod": "GET", "path": f"/m/{token}", "pathParameters": {"token": token}, "headers": {}}
        redirect = self.invoke("media_link", link)
        if redirect["statusCode"] != 302:
            raise RuntimeError(f"media link answered {redirect}")
        fetched = self.producer_s3.get_object(Bucket=BUCKET, Key=key)  # the carrier follows the presigned URL
        self.meter.usage.carrier_bytes += len(fetched["Body"].read())

    def receipt(self, number: int) -> None:
        item = self.reader.get_item(TableName=TABLE, Key={"pk": {"S": f"MSG#https-{number}"}, "sk": {"S": "MSG"}})
        event = load_event("dlr_post_word.json")
        guid = item["Item"]["recipients"]["L"][0]["M"]["transactionGuid"]["S"]
        event["body"] = urlencode({"transactionGUID": guid, "status": "DELIVRD"})
        self.meter.usage.api_requests += 1
        answer = self.invoke("receipts", event)
        if json.loads(answer["body"]).get("status") != "advanced":
            raise RuntimeError(f"receipt answered {answer}")


def run() -> tuple[dict[str, Usage], dict[str, Usage]]:
    """Each scenario's second message, and its first (which also paid the environment's set-up)."""
    results: dict[str, Usage] = {}
    first_runs: dict[str, Usage] = {}
    with mock_aws(), GatewaySimulator() as simulator, tempfile.TemporaryFile("w+") as logs, redirect_stdout(logs):
        os.environ.update(
            {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": REGION}
        )
        for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "POWERTOOLS_METRICS_DISABLED"):
            os.environ.pop(name, None)
        environment = provision(simulator, "127.0.0.1")
        os.environ.update(environment)
        messages = Scenarios(simulator, environment, logs)
        group = ["+13105551212", "+13105551213", "+13105551214"]
        scenarios: dict[str, Callable[[int], None]] = {
            "inbound_mms_one_image": messages.inbound,
            "https_send": lambda n: messages.outbound(n, ["+13105551212"], "https"),
            "mm4_group_send_to_three": lambda n: messages.outbound(n, group, "mm4"),
            "receipt": messages.receipt,
        }
        for name, scenario in scenarios.items():
            for number in (1, 2):  # the first pays the environment's one-time costs
                messages.meter.begin()
                scenario(number)
                messages.publish_events()
                first_runs.setdefault(name, messages.meter.usage)
            results[name] = messages.meter.usage
            print(f"  {name} counted", file=sys.stderr, flush=True)
    return results, first_runs


# us-east-1 list prices (USD) used by docs/costs.md, as published on the AWS pricing pages.
PRICES = {
    "lambda_gb_second_arm64": 0.0000133334,
    "lambda_request": 0.20 / 1e6,
    "api_rest_request": 3.50 / 1e6,
    "dynamodb_write_unit": 0.625 / 1e6,
    "dynamodb_read_unit": 0.125 / 1e6,
    "s3_put": 0.005 / 1000,
    "s3_get": 0.0004 / 1000,
    "sqs_request": 0.40 / 1e6,
    "eventbridge_event": 1.00 / 1e6,
    "logs_gb": 0.50,
    "transfer_out_gb": 0.09,
}


def transfer_price(usage: Usage) -> float:
    """Data transfer out to the internet of one message, in USD (the gateway's and the carrier's bytes)."""
    return (usage.gateway_bytes + usage.carrier_bytes) / 1e9 * PRICES["transfer_out_gb"]


def price(usage: Usage) -> float:
    """Request and duration charges of one message, in USD (storage and data transfer aside)."""
    seconds = sum(math.ceil(ms) for ms in usage.lambda_ms.values()) / 1000
    s3_puts = sum(
        usage.calls[f"s3.{op}"]
        for op in ("PutObject", "CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload")
    )
    sqs = sum(count for name, count in usage.calls.items() if name.startswith("sqs."))
    return (
        seconds * MEMORY_MB / 1024 * PRICES["lambda_gb_second_arm64"]
        + len(usage.lambda_ms) * PRICES["lambda_request"]
        + usage.api_requests * PRICES["api_rest_request"]
        + usage.write_units * PRICES["dynamodb_write_unit"]
        + usage.read_units * PRICES["dynamodb_read_unit"]
        + s3_puts * PRICES["s3_put"]
        + usage.calls["s3.GetObject"] * PRICES["s3_get"]
        + sqs * PRICES["sqs_request"]
        + usage.events * PRICES["eventbridge_event"]
        + usage.log_bytes / 1e9 * PRICES["logs_gb"]
    )


def report(name: str, usage: Usage, first: Usage) -> list[str]:
    calls = usage.calls
    dynamodb = {op.split(".", 1)[1]: n for op, n in sorted(calls.items()) if op.startswith("dynamodb.")}
    s3 = {op.split(".", 1)[1]: n for op, n in sorted(calls.items()) if op.startswith("s3.")}
    sqs = {op.split(".", 1)[1]: n for op, n in sorted(calls.items()) if op.startswith("sqs.")}
    functions = ", ".join(f"{fn} {ms:.1f} ms" for fn, ms in usage.lambda_ms.items())
    once = first.calls - calls
    requests, transfer = price(usage) * 1e6, transfer_price(usage) * 1e6
    internet = f"{usage.gateway_bytes} bytes to the gateway, {usage.carrier_bytes} to the carrier"
    return [
        f"{name}_lambda: {sum(usage.lambda_ms.values()):.1f} ms ({len(usage.lambda_ms)} invocations, {functions})",
        f"{name}_dynamodb_writes: {sum(n for op, n in dynamodb.items() if op in WRITES)} requests "
        f"({usage.write_units} write units; calls {dynamodb})",
        f"{name}_dynamodb_reads: {sum(n for op, n in dynamodb.items() if op in READS)} requests "
        f"({usage.read_units:g} read units)",
        f"{name}_s3_requests: {sum(s3.values())} requests ({s3}; {usage.s3_bytes_in} bytes in, "
        f"{usage.s3_bytes_out} bytes out)",
        f"{name}_sqs_requests: {sum(sqs.values())} requests ({sqs})",
        f"{name}_eventbridge_events: {usage.events} events",
        f"{name}_api_requests: {usage.api_requests} requests (logs {usage.log_bytes} bytes; "
        f"out to the internet {internet})",
        f"{name}_once_per_environment: {sum(once.values())} requests ({dict(once)}: the first message only)",
        f"{name}_price: {requests + transfer:.2f} USD per million ({requests:.2f} requests and duration, "
        f"{transfer:.2f} data transfer out; us-east-1 list prices in docs/costs.md)",
    ]


def main() -> None:
    print("message costs: counting four scenarios on moto and the gateway simulator", file=sys.stderr)
    results, first_runs = run()
    for name, usage in results.items():
        for line in report(name, usage, first_runs[name]):
            print(line)


if __name__ == "__main__":
    main()
