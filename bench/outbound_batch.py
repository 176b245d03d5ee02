"""A batch of 10 HTTPS jobs against a gateway answering in 100 ms: concurrent vs one send.

In-process: the outbound handler sends to the gateway simulator's v4 API (TLS, 100 ms latency per
request); DynamoDB and Secrets Manager answer at once (canned answers registered on the clients'
``before-call`` events), so what is measured is the relay's own work and the gateway's latency.
The baseline is one job's batch; the sequential figure is the same 10 jobs with one worker.
Target: the batch of 10 in at most 2x one send's time, and every job sent: "met" needs both.

Logging and metrics are as the template configures them (``LogLevel`` INFO, Powertools metrics
on, flushed as EMF after each invocation); what the function prints goes to a file, as Lambda's
goes to its log pipe, so the figures stay readable, and the file must hold the metrics.

The jobs' sending code is allowed 1,000 messages per second, so that its pace (10 by default: a
batch of 10 would then take 0.9 s by design) does not hide the concurrency measured here;
``bench/outbound_stack.py`` measures the pace.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from contextlib import redirect_stdout
from typing import Any

from botocore.awsrequest import AWSResponse, HTTPHeaders

from bench.cold_start_outbound import environment
from bench.coldstart.harness import median_interval
from gatewaysim.http_api import HttpApi
from tests.support import LambdaContextStub, load_event

LATENCY_MS = 100
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "9"))
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
    with HttpApi(latency_ms=LATENCY_MS) as gateway, tempfile.TemporaryFile("w+") as logs, redirect_stdout(logs):
        settings = environment(gateway)  # the template's LogLevel (INFO) and metrics: nothing quieter
        os.environ.pop("POWERTOOLS_METRICS_DISABLED", None)
        settings["SEND_RATE_PER_SECOND"] = "1000"
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
        # Paired rounds: one job's batch, then the batch of 10, so that noise hits both alike.
        pairs = [(timed(app, 1), timed(app, 10)) for _ in range(ROUNDS)]
        os.environ["MAX_CONCURRENT_SENDS"] = "1"
        wiring.outbound_relay.cache_clear()
        sequential = statistics.median(timed(app, 10) for _ in range(max(1, ROUNDS // 2)))
        sent = len(gateway.sent)
        logs.seek(0)
        emitted = logs.read()
    if '"MessagesSent"' not in emitted or '"level":"INFO"' not in emitted.replace(" ", ""):
        raise RuntimeError("the function wrote no INFO log line or no MessagesSent metric: not run as deployed")
    single = statistics.median(one for one, _ in pairs)
    concurrent = statistics.median(ten for _, ten in pairs)
    per_round = [ten / one for one, ten in pairs]
    ratio = statistics.median(per_round)
    (low, high), coverage = median_interval(per_round)
    expected = 1 + ROUNDS + ROUNDS * 10 + max(1, ROUNDS // 2) * 10
    # Every job must have reached the gateway: a batch that skipped sends could not be "met".
    verdict = "NOT MET" if sent != expected or low > TARGET_RATIO else "met" if high <= TARGET_RATIO else "inconclusive"
    print(f"outbound_single_send: {single:.1f} ms (1.00x single send)")
    target = f"target <= {TARGET_RATIO:.2f}x with every job sent ({sent} of {expected}): {verdict}"
    spread = (
        f"median of {ROUNDS} paired rounds; min {min(per_round):.2f}x, max {max(per_round):.2f}x; "
        f"median's {coverage:.0%} interval {low:.2f}x-{high:.2f}x, spread {high - low:.2f}x"
    )
    print(f"outbound_batch_of_10: {concurrent:.1f} ms ({ratio:.2f}x single send, {spread}; {target})")
    if verdict == "inconclusive":
        print(f"warning: outbound_batch_of_10: the spread {high - low:.2f}x is wider than the margin to the target")
    print(f"outbound_batch_of_10_sequential: {sequential:.1f} ms ({sequential / single:.2f}x single send)")
    print(f"outbound_batch_messages_sent: {sent} messages ({sent / expected:.2f}x the {expected} jobs handled)")


if __name__ == "__main__":
    main()
