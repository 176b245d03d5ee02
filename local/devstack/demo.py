"""``make demo``: the main jobs end to end on the local stack, printed as they happen.

Inbound: a handset's MMS with two images reaches the deployed ``/inbound`` the way the gateway
sends it; the demo shows the stored item, the S3 copies checked against the originals, and what
a repeated post does. Outbound: a job with an image from S3 goes over the gateway's HTTPS API
(through a short media link), and a group MMS with two attachments over MM4; the demo shows what
the simulated gateway received and the items written. Receipts: the gateway's delivery receipts
(HTTP callbacks, one late, one duplicated, and MM4 reports, one posted, one mailed to the stack's
MM4 domain and stored by SES) move each recipient's status forward,
read back through the IAM-signed query API; and the events the relay published reach a
subscriber's queue. Everything runs on 127.0.0.1 and is torn down at the end.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from typing import Any

import requests

from devstack.gateway import stack_on
from devstack.ses import store_as_ses
from devstack.stack import DeployedStack
from gatewaysim import images
from gatewaysim.mo import MoMessage
from gatewaysim.receipts import Mm4ReportBuilder, receipts_for_http, reports_for_mm4
from gatewaysim.simulator import GatewaySimulator
from mmsrelay.storage.items import plain_item

Say = Callable[[str], None]


def say(text: str) -> None:
    print(f"[demo] {text}", flush=True)


def run(say: Say = say) -> int:
    started = time.monotonic()
    with GatewaySimulator() as simulator, stack_on(simulator, progress=say) as stack:
        try:
            say(f"API (as the emulator serves it): {stack.api_url}")
            say(f"gateway simulator: HTTPS API {simulator.http_api.base_url}, MM4 127.0.0.1:{simulator.mm4.port}")
            subscriber = subscribe_to_events(stack)
            say("--- inbound: a handset's MMS reaches the webhook")
            failures = inbound_demo(stack, simulator, say)
            say("--- outbound: jobs put on the outbound queue reach the gateway")
            failures += outbound_demo(stack, simulator, say)
            say("--- receipts: the gateway reports delivery, in its own order")
            failures += receipts_demo(stack, simulator, say)
            say("--- events: what a subscriber to the relay's bus received")
            failures += events_demo(stack, subscriber, say)
        finally:
            say("tearing down the local stack")
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

        stored = stack.transaction_item(mo.transaction_guid)
        if stored is None:
            say("no item was stored")
            return failures + 1
        item = plain_item(stored)
        summary = {name: item.get(name) for name in ("pk", "direction", "from", "to", "text", "subject", "status")}
        say(f"DynamoDB item in {stack.outputs['MessagesTableName']}:")
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
        unchanged = stack.transaction_item(mo.transaction_guid) == stored
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


def outbound_demo(stack: DeployedStack, simulator: GatewaySimulator, say: Say) -> int:
    bucket = stack.outputs["MediaBucketName"]
    s3 = stack.client("s3")
    label, photo, map_image = images.png(64, 40, (20, 20, 200)), images.jpeg(80, 60), images.gif()
    s3.put_object(Bucket=bucket, Key="outbound/demo/label.png", Body=label, ContentType="image/png")
    s3.put_object(Bucket=bucket, Key="outbound/demo/photo.jpg", Body=photo, ContentType="image/jpeg")
    s3.put_object(Bucket=bucket, Key="outbound/demo/map.gif", Body=map_image, ContentType="image/gif")
    https_job: dict[str, Any] = {
        "messageId": "demo-https-label",
        "from": "12223334444",
        "to": ["+13105550101"],
        "text": "Your shipping label",
        "media": [{"s3": f"s3://{bucket}/outbound/demo/label.png"}],
        "deliveryReport": True,
    }
    group_job: dict[str, Any] = {
        "messageId": "demo-group-photos",
        "from": "+12223334444",
        "to": ["+13105550201", "+13105550202", "+13105550203"],
        "text": "Photos from the trip",
        "subject": "Trip",
        "media": [
            {"s3": f"s3://{bucket}/outbound/demo/photo.jpg"},
            {"s3": f"s3://{bucket}/outbound/demo/map.gif"},
        ],
        "deliveryReport": True,
    }
    queue = stack.outputs["OutboundQueueUrl"]
    for job in (https_job, group_job):
        stack.client("sqs").send_message(QueueUrl=queue, MessageBody=json.dumps(job))
        say(
            f"put job {job['messageId']} on the outbound queue: "
            f"{len(job['to'])} recipient(s), {len(job['media'])} attachment(s)"
        )
    failures = 0
    for job in (https_job, group_job):
        item = _wait_for_outcome(stack, str(job["messageId"]))
        if item is None or item["status"] != "sent":
            say(f"  {job['messageId']}: {item and item['status']} {item and item.get('lastError')}")
            failures += 1
            continue
        say(f"  {job['messageId']}: sent over {item['sentOver']}; history {[e['status'] for e in item['history']]}")
        for recipient in item["recipients"]:
            say(f"    {recipient['number']}: {recipient['status']}, transactionGUID {recipient.get('transactionGuid')}")
    https_sent = [m for m in simulator.http_api.sent if m.destination == "13105550101"]
    if https_sent:
        link = https_sent[0].mms_url
        fetched = requests.get(stack.local_url(link), timeout=30, verify=str(stack.ca_file))
        same = fetched.content == label
        failures += not same
        say(
            f"gateway's HTTPS API got mmsURL {link} ({len(link)} chars); it serves the label: {'yes' if same else 'NO'}"
        )
    else:
        failures += 1
    groups = [t for t in simulator.mm4.transactions if len(t.recipients) == 3]
    if groups:
        transaction = groups[0]
        parts = [f"{part.content_type} ({len(part.data)} bytes)" for part in transaction.parts]
        say(
            f"gateway's MM4 endpoint got one transaction to {len(transaction.recipients)} recipients: "
            f"{', '.join(parts)}"
        )
    else:
        failures += 1
    return failures


def _wait_for_outcome(stack: DeployedStack, message_id: str, timeout: float = 60.0) -> dict[str, Any] | None:
    deadline = time.monotonic() + timeout
    key = {"pk": {"S": f"MSG#{message_id}"}, "sk": {"S": "MSG"}}
    while time.monotonic() < deadline:
        found = stack.client("dynamodb").get_item(
            TableName=stack.outputs["MessagesTableName"], Key=key, ConsistentRead=True
        )
        item = plain_item(found["Item"]) if "Item" in found else None
        if item is not None and item["status"] in ("sent", "failed"):
            return item
        time.sleep(0.5)
    return None


def subscribe_to_events(stack: DeployedStack) -> str:
    """A queue subscribed to every event on the relay's bus, as another service would subscribe."""
    sqs, events = stack.client("sqs"), stack.client("events")
    queue_url: str = sqs.create_queue(QueueName="demo-subscriber")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bus = stack.outputs["EventBusName"]
    events.put_rule(Name="demo-all-mms", EventBusName=bus, EventPattern=json.dumps({"source": ["mms-relay"]}))
    events.put_targets(Rule="demo-all-mms", EventBusName=bus, Targets=[{"Id": "queue", "Arn": queue_arn}])
    return queue_url


def receipts_demo(stack: DeployedStack, simulator: GatewaySimulator, say: Say) -> int:
    username, password = stack.webhook_credentials()
    failures = 0
    https = [m for m in simulator.http_api.sent if m.destination == "13105550101"]
    if not https:
        return 1
    with simulator.receipt_sender(
        f"{stack.api_url}/dlr", username, password, timeout=60, verify=str(stack.ca_file)
    ) as sender:
        posted = sender.send_many(receipts_for_http(https[0], ["ENROUTE", "DELIVRD"]), order="reversed", duplicates=1)
        say(
            "gateway posts receipts for the label to /dlr, the final one first and each twice: "
            + ", ".join(f"{d.receipt.state}->{d.result.status_code}" for d in posted)
        )
    guid = https[0].transaction_guid
    document: dict[str, Any] = stack.signed_get(f"/messages/{guid}").json()
    say(f"  GET /messages/{guid} (SigV4): status {document.get('status')}, history {_history(document)}")
    failures += document.get("status") != "delivered"
    groups = [t for t in simulator.mm4.transactions if len(t.recipients) == 3]
    if not groups:
        return failures + 1
    group = groups[0]
    with simulator.receipt_sender(
        f"{stack.api_url}/dlr/mm4", username, password, timeout=60, verify=str(stack.ca_file)
    ) as mm4_sender:
        (report,) = reports_for_mm4(group, ["Retrieved"])[:1]
        code = mm4_sender.send_raw(report).status_code
        say(f"gateway posts an MM4 delivery report (Retrieved) for the 1st group recipient to /dlr/mm4: {code}")
    # In AWS the gateway mails reports to the stack's MM4 domain and SES stores them in the bucket;
    # the emulator has no SES receiving, so the demo stores the report as SES's rule would.
    second = list(group.guids)[1]
    mailed = Mm4ReportBuilder(message_id="guid").delivery_report(group, second, "Retrieved")
    key = store_as_ses(stack, mailed)
    reports_to = group.header("X-Mms-Originator-System")
    say(
        f"gateway mails an MM4 report for the 2nd, naming its transaction GUID, to {reports_to}: "
        f"SES stores it as s3://{stack.outputs['MediaBucketName']}/{key}, which triggers Mm4ReportFunction"
    )
    job = _until(lambda: _group_job(stack), lambda found: len(_delivered(found)) >= 2)
    for recipient in job.get("recipients", []):
        delivery = recipient.get("delivery") or {}
        say(f"  {recipient['number']}: {delivery.get('status')}")
    failures += len(_delivered(job)) != 2
    return failures


def _group_job(stack: DeployedStack) -> dict[str, Any]:
    job: dict[str, Any] = stack.signed_get("/messages/demo-group-photos").json()
    return job


def _delivered(job: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in job.get("recipients", []) if (r.get("delivery") or {}).get("status") == "delivered"]


def _until(
    read: Callable[[], dict[str, Any]], done: Callable[[dict[str, Any]], bool], seconds: float = 30
) -> dict[str, Any]:
    """``read()`` again until ``done`` holds for it (the mailed report is applied asynchronously)."""
    deadline = time.monotonic() + seconds
    found = read()
    while not done(found) and time.monotonic() < deadline:
        time.sleep(0.5)
        found = read()
    return found


def events_demo(stack: DeployedStack, queue_url: str, say: Say) -> int:
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len({e["detail-type"] for e in seen}) < 3:
        answer = stack.client("sqs").receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        for message in answer.get("Messages", []):
            seen.append(json.loads(message["Body"]))
            stack.client("sqs").delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    time.sleep(3)  # the stream's last records
    answer = stack.client("sqs").receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
    seen.extend(json.loads(message["Body"]) for message in answer.get("Messages", []))
    for event in seen:
        detail = event["detail"]
        subject = detail.get("messageId") or detail.get("transactionGUID")
        extra = detail.get("status") or detail.get("sentOver") or ""
        say(f"  {event['detail-type']}: {subject} {extra}".rstrip())
    kinds = {e["detail-type"] for e in seen}
    return len({"MMS Received", "MMS Sent", "MMS Status Changed"} - kinds)


def _history(document: dict[str, Any]) -> list[str]:
    return [str(event.get("status") or event.get("state")) for event in document.get("history", [])]
