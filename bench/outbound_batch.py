"""A batch of 10 HTTPS jobs against a gateway answering in 100 ms: concurrent vs one send.

In-process: the outbound handler sends to the gateway simulator's v4 API (TLS, 100 ms latency per
request); DynamoDB and Secrets Manager answer at once (canned answers registered on the clients'
``before-call`` events), so what is measured is the relay's own work and the gateway's latency.
The baseline is one job's batch; the sequential figure is the same 10 jobs with one worker.
Target: the batch of 10 in at most 2x one send's time. The jobs' sending code is allowed 1,000
messages per second, so that its pace (10 by default: a batch of 10 would then take 0.9 s by
design) does not hide the concurrency measured here; ``bench/send_rate.py`` measures the pace.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
import uuid
from typing import Any

from botocore.awsrequest import AWSResponse, HTTPHeaders

from bench.cold_start_outbound import environment
from gatewaysim.http_api import HttpApi
from tests.support import LambdaContextStub, load_event

LATENCY_MS = 100
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
TARGET_RATIO = 2.0


def canned(client: Any, answers: dict[str, dict[str, Any]]) -> None:
    """Answers every call of ``client`` at once with ``answers[operation]`` (default: empty)."""

    def answer(model: Any, **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        return AWSResponse("https://canned.invalid", 200, HTTPHeaders(), None), answers.get(model.name, {})

    client.meta.events.register("before-call.*.*", answer)


def batch(jobs: int) -> dict[str, Any]:
    template = load_event("outbound_sqs_batch.json")["Records"][0]
    records = []
    for number in range(jobs):
        record = json.loads(json.dumps(template))
        record["messageId"] = f"sqs-{number}"
        record["body"] = json.dumps(
            {
                "messageId": f"bench-{uuid.uuid4().hex}",
                "from": "12223334444",
                "to": [f"+1310555{number:04d}"],
                "text": "bench",
                "media": [{"url": "https://cdn.example.com/a.jpg"}],
            }
        )
        records.append(record)
    return {"Records": records}


def timed(app: Any, jobs: int) -> float:
    started = time.perf_counter()
    answer = app.lambda_handler(batch(jobs), LambdaContextStub())
    elapsed = (time.perf_counter() - started) * 1000
    if answer != {"batchItemFailures": []}:
        raise RuntimeError(f"the batch failed: {answer}")
    return elapsed


def main() -> None:
    print(f"outbound batch: gateway latency {LATENCY_MS} ms, {ROUNDS} rounds", file=sys.stderr)
    with HttpApi(latency_ms=LATENCY_MS) as gateway:
        settings = environment(gateway)
        settings["SEND_RATE_PER_SECOND"] = "1000"
        settings["POWERTOOLS_LOG_LEVEL"] = "WARNING"
        settings["POWERTOOLS_METRICS_DISABLED"] = "true"
        os.environ.update(settings)
        os.environ.update(
            {
                "AWS_ACCESS_KEY_ID": "bench",
                "AWS_SECRET_ACCESS_KEY": "bench",
                "AWS_DEFAULT_REGION": "us-east-1",
            }
        )
        from functions.outbound import app  # noqa: PLC0415 (after the environment is set)
        from mmsrelay import aws  # noqa: PLC0415
        from mmsrelay.wiring import outbound as wiring  # noqa: PLC0415

        secret = json.dumps({"apiKey": gateway.api_key, "apiSecret": gateway.api_secret})
        canned(aws.dynamodb_client(), {})
        canned(aws.secretsmanager_client(), {"GetSecretValue": {"SecretString": secret}})
        timed(app, 1)  # warm: clients, TLS session, imports
        single = statistics.median(timed(app, 1) for _ in range(ROUNDS))
        concurrent = statistics.median(timed(app, 10) for _ in range(ROUNDS))
        os.environ["MAX_CONCURRENT_SENDS"] = "1"
        wiring.outbound_relay.cache_clear()
        sequential = statistics.median(timed(app, 10) for _ in range(max(1, ROUNDS // 2)))
        sent = len(gateway.sent)
    ratio = concurrent / single
    verdict = "met" if ratio <= TARGET_RATIO else "NOT MET"
    expected = 1 + ROUNDS + ROUNDS * 10 + max(1, ROUNDS // 2) * 10
    print(f"outbound_single_send: {single:.1f} ms (1.00x single send)")
    target = f"target <= {TARGET_RATIO:.2f}x: {verdict}"
    print(f"outbound_batch_of_10: {concurrent:.1f} ms ({ratio:.2f}x single send; {target})")
    print(f"outbound_batch_of_10_sequential: {sequential:.1f} ms ({sequential / single:.2f}x single send)")
    print(f"outbound_batch_messages_sent: {sent} messages ({sent / expected:.2f}x the {expected} jobs handled)")


if __name__ == "__main__":
    main()
