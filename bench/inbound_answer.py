"""How long ``/inbound`` makes the gateway wait when a media host is slow: p50 and p99 of the answer time.

In-process: the inbound handler on moto (``mock_aws``) with a local media host whose two attachments
answer after 0 s, 2 s or 10 s, against a baseline that only stores the message (no attachment), in
one run. Each sample is a new message (a new transactionGUID) and must prove it did its work: the
message stored and each attachment either stored or pending with its retry job on the queue.
Target: p99 at most the media budget (``InlineMediaBudgetMs``, 2 s by default) plus 0.5 s.

Samples: ``BENCH_SAMPLES`` per case (default 30: the p99 of 30 answers is close to their largest).
The function logs and flushes its metrics as the template configures it (INFO); what it prints goes to
a file, as Lambda's output goes to its log pipe, so that stdout holds only the figures.
"""

from __future__ import annotations

import json
import logging
import os
import statistics
import sys
import tempfile
import time
import uuid
from contextlib import redirect_stdout
from typing import Any
from urllib.parse import urlencode

import boto3
from moto import mock_aws

from bench.cold_start_inbound import provision_with
from gatewaysim import images
from gatewaysim.media_host import MediaFaults, MediaHost
from tests.support import LambdaContextStub, load_event

SAMPLES = int(os.environ.get("BENCH_SAMPLES", "30"))
BUDGET_MS = 2000
SLACK_S = 0.5
DELAYS_S = (0, 2, 10)


def event(guid: str, urls: list[str]) -> dict[str, Any]:
    body = {"transactionGUID": guid, "source": "13105551212", "destination": "12223334444", "messageText": "hi"}
    if urls:
        body["attachments"] = json.dumps(urls)
    posted = load_event("inbound_post.json")
    posted["body"] = urlencode(body)
    return posted


def percentile(values: list[float], share: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[round(share * 100) - 1]


class Run:
    def __init__(self, app: Any, settings: dict[str, str], media: MediaHost) -> None:
        self._app = app
        self._dynamodb = boto3.client("dynamodb")
        self._sqs = boto3.client("sqs")
        self._queue = settings["MEDIA_RETRY_QUEUE_URL"]
        self._media = media
        self.stored = self.deferred = 0

    def sample(self, urls: list[str]) -> float:
        guid = str(uuid.uuid4()).upper()
        started = time.perf_counter()
        answer = self._app.lambda_handler(event(guid, urls), LambdaContextStub())
        elapsed = time.perf_counter() - started
        if answer["statusCode"] != 200 or json.loads(answer["body"])["status"] != "stored":
            raise RuntimeError(f"inbound answered {answer}")
        self._check(guid, len(urls))
        return elapsed

    def _check(self, guid: str, attachments: int) -> None:
        """The sample did its work: message stored, each attachment stored or pending with its retry queued."""
        key = {"pk": {"S": f"TX#{guid}"}, "sk": {"S": "TX"}}
        item = self._dynamodb.get_item(TableName="messages", Key=key, ConsistentRead=True)["Item"]
        statuses = [entry["M"]["status"]["S"] for entry in item.get("media", {}).get("L", [])]
        queued = self._queued(guid)
        pending = {index for index, status in enumerate(statuses) if status == "pending"}
        if len(statuses) != attachments or set(statuses) - {"stored", "pending"} or pending != queued:
            raise RuntimeError(f"sample {guid}: media {statuses}, retries queued for {sorted(queued)}")
        self.stored += statuses.count("stored")
        self.deferred += len(pending)

    def _queued(self, guid: str) -> set[int]:
        found: set[int] = set()
        while True:
            answer = self._sqs.receive_message(QueueUrl=self._queue, MaxNumberOfMessages=10)
            messages = answer.get("Messages", [])
            if not messages:
                return found
            for message in messages:
                job = json.loads(message["Body"])
                if job["transaction_guid"] == guid:
                    found.add(int(job["index"]))
                self._sqs.delete_message(QueueUrl=self._queue, ReceiptHandle=message["ReceiptHandle"])


def main() -> None:
    print(f"inbound answer: {SAMPLES} samples per case, media budget {BUDGET_MS} ms", file=sys.stderr)
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
    )
    os.environ.pop("AWS_ENDPOINT_URL", None)
    # The relay closes connections to hosts it stopped waiting for: the host's reports of that are noise here.
    logging.getLogger("gatewaysim").setLevel(logging.CRITICAL)
    # The function logs as the template has it (INFO, a warning per timed-out fetch) and flushes its
    # metrics: to a file, as Lambda's output goes to its log pipe, so that stdout holds the figures.
    with tempfile.TemporaryFile("w+") as logs, redirect_stdout(logs), mock_aws(), MediaHost(max_wait_s=15) as media:
        settings = provision_with(boto3.Session())
        settings |= {"MEDIA_RETRY_FIRST_DELAY_SECONDS": "0", "INLINE_MEDIA_BUDGET_MS": str(BUDGET_MS)}
        os.environ.update(settings)
        from functions.inbound import app  # noqa: PLC0415 (after the environment is set)

        run = Run(app, settings, media)
        run.sample([])  # warm: clients, imports
        cases: dict[str, list[float]] = {"baseline_message_only": [run.sample([]) for _ in range(SAMPLES)]}
        for delay in DELAYS_S:
            faults = MediaFaults(delay_ms=delay * 1000)
            urls = [
                media.add(f"a{delay}.jpg", images.jpeg(64, 48), "image/jpeg", faults),
                media.add(f"b{delay}.png", images.png(32, 32), "image/png", faults),
            ]
            run.stored = run.deferred = 0
            cases[f"host_{delay}s"] = [run.sample(urls) for _ in range(SAMPLES)]
            print(f"host {delay} s: {run.stored} attachments stored inline, {run.deferred} queued", file=sys.stderr)
    base50, base99 = percentile(cases["baseline_message_only"], 0.5), percentile(cases["baseline_message_only"], 0.99)
    print(f"inbound_answer_p50_baseline_message_only: {base50 * 1000:.0f} ms (1.00x baseline)")
    print(f"inbound_answer_p99_baseline_message_only: {base99 * 1000:.0f} ms (1.00x baseline)")
    target = BUDGET_MS / 1000 + SLACK_S
    for name, values in cases.items():
        if name.startswith("baseline"):
            continue
        p50, p99 = percentile(values, 0.5), percentile(values, 0.99)
        verdict = "met" if p99 <= target else "NOT MET"
        spread = f"min {min(values) * 1000:.0f}, max {max(values) * 1000:.0f} ms"
        print(
            f"inbound_answer_p50_two_attachments_{name}: {p50 * 1000:.0f} ms ({p50 / base50:.1f}x baseline; {spread})"
        )
        print(
            f"inbound_answer_p99_two_attachments_{name}: {p99 * 1000:.0f} ms ({p99 / base99:.1f}x baseline; "
            f"target <= {target * 1000:.0f} ms: {verdict}; {len(values)} samples)"
        )


if __name__ == "__main__":
    main()
