"""Cold start of the receipt function, against its floor (bench/README.md), and its writes.

Each sample is a fresh Python process that imports the handler and answers one receipt (a POST
form: transactionGUID and DELIVRD). AWS is answered in-process by botocore's Stubber from one plan
shared with the floor: the webhook secret, then one conditional update. The writes per receipt
are counted in-process on moto: one for a receipt that moves the status forward, and the extra
history append a duplicate costs.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import uuid
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import boto3
from moto import mock_aws

from bench.coldstart.harness import (
    GLOBAL_ENVIRONMENT,
    LAYER,
    ROOT,
    ROUNDS,
    Variant,
    child_command,
    child_environment,
    print_report,
    run_rounds,
)
from tests.support import EVENT_PASSWORD, EVENT_USERNAME, LambdaContextStub, load_event

TARGET_RATIO = 1.25
FUNCTION = ROOT / "functions" / "receipts"
SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:webhook-AbCdEf"  # noqa: S105 (a name)


def environment() -> dict[str, str]:
    return {
        **GLOBAL_ENVIRONMENT,
        "MESSAGES_TABLE_NAME": "messages",
        "WEBHOOK_CREDENTIALS_SECRET_ARN": SECRET_ARN,
        "MAX_WEBHOOK_BODY_BYTES": "262144",
        "RECEIPT_GUID_FIELD": "transactionGUID",
    }


def receipt_event(guid: str) -> dict[str, Any]:
    event = load_event("dlr_post_word.json")
    event["body"] = urlencode({"transactionGUID": guid, "status": "DELIVRD"})
    return event


def stub_plan() -> list[list[object]]:
    secret = json.dumps({"username": EVENT_USERNAME, "password": EVENT_PASSWORD})
    history = {"L": [{"M": {"status": {"S": "delivered"}}}]}
    return [
        ["secretsmanager", "get_secret_value", {"ARN": SECRET_ARN, "Name": "webhook", "SecretString": secret}],
        ["dynamodb", "update_item", {"Attributes": {"history": history}}],
    ]


def cold_start() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        plan = folder / "plan.json"
        plan.write_text(json.dumps(stub_plan()))

        def handler(number: int) -> list[str]:
            path = folder / f"handler-{number}.json"
            path.write_text(json.dumps(receipt_event(str(uuid.uuid4()).upper())))
            return child_command("app", path, plan)

        def floor(number: int) -> list[str]:
            path = folder / f"floor-{number}.json"
            path.write_text(json.dumps({"plan": str(plan), "secret_arn": SECRET_ARN, "guid": str(uuid.uuid4())}))
            return child_command("receipt_floor", path)

        variants = [
            Variant("floor", floor, (FUNCTION, LAYER), lambda _, answer: advanced("floor", answer)),
            Variant("handler", handler, (FUNCTION, LAYER), lambda _, answer: advanced("handler", answer)),
        ]
        samples = run_rounds(
            variants, ROUNDS, lambda variant: child_environment(None, environment(), variant.pythonpath)
        )
    print_report("receipt_cold_start_floor", samples, "floor")
    print_report("receipt_cold_start", samples, "handler", target=TARGET_RATIO)


def advanced(variant: str, answer: Any, outcome: str = "advanced") -> None:
    """A receipt counts only when it was taken (200) and did what it was sent for: the status moved
    (``advanced``), or for a duplicate, kept in the history. A 401 or a 503 is never "0 writes"."""
    body = json.loads(answer.get("body") or "{}")
    if answer.get("statusCode") != 200 or body.get("status") != outcome:
        raise RuntimeError(f"{variant}: the receipt was answered {answer}, not {outcome}")


def writes() -> None:
    os.environ.update({**environment(), "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench"})
    os.environ.update({"AWS_DEFAULT_REGION": "us-east-1", "POWERTOOLS_LOG_LEVEL": "WARNING"})
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
    os.environ.pop("AWS_ENDPOINT_URL", None)
    with mock_aws():
        from tests.integration.conftest import create_messages_table  # noqa: PLC0415

        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        create_messages_table(dynamodb, "messages")
        secret = json.dumps({"username": EVENT_USERNAME, "password": EVENT_PASSWORD})
        arn = boto3.client("secretsmanager", region_name="us-east-1").create_secret(Name="webhook", SecretString=secret)
        os.environ["WEBHOOK_CREDENTIALS_SECRET_ARN"] = arn["ARN"]
        from functions.receipts import app  # noqa: PLC0415 (after the environment is set)
        from mmsrelay import aws  # noqa: PLC0415

        calls: Counter[str] = Counter()
        aws.dynamodb_client().meta.events.register(
            "before-call.dynamodb.*", lambda model, **_: calls.update([model.name])
        )
        guid = str(uuid.uuid4()).upper()
        advanced("handler", app.lambda_handler(receipt_event(guid), LambdaContextStub()))
        forward = sum(calls.values())
        calls.clear()
        advanced("handler", app.lambda_handler(receipt_event(guid), LambdaContextStub()), "kept_in_history")
        duplicate = sum(calls.values())
        item = dynamodb.get_item(TableName="messages", Key={"pk": {"S": f"TX#{guid}"}, "sk": {"S": "TX"}})["Item"]
        if item["status"]["S"] != "delivered" or len(item["history"]["L"]) != 2:
            raise RuntimeError(f"the receipts were not both applied: {item}")
    print(f"receipt_dynamodb_writes: {forward} writes ({forward / 1:.2f}x budget of 1 per receipt)")
    why = "the refused conditional update, then the history append"
    print(f"receipt_dynamodb_writes_duplicate: {duplicate} writes ({duplicate / 1:.2f}x budget of 1: {why})")


def main() -> None:
    print("cold start, receipt function", file=sys.stderr)
    cold_start()
    writes()


if __name__ == "__main__":
    main()
