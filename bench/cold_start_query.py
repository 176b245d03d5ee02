"""Cold start of the query function on ``GET /messages/{id}``, against its floor (bench/README.md).

Each sample is a fresh Python process that imports the handler and answers one outbound job sent
to three recipients: the job's item, then the recipients' transactions in one BatchGetItem, the
document as JSON. AWS is a moto server on 127.0.0.1, holding the items in the relay's layout.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import boto3

from bench.coldstart.harness import (
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
from tests.integration.conftest import TABLE, create_messages_table
from tests.integration.query.test_query_function import MESSAGE_ID, RECIPIENTS, put_outbound_message
from tests.support import load_event

TARGET_RATIO = 1.25
FUNCTION = ROOT / "functions" / "query"


def answered_the_job(variant: str) -> Any:
    def check(_: int, answer: Any) -> None:
        body = json.loads(answer.get("body") or "{}") if answer.get("statusCode") == 200 else {}
        deliveries = {entry["number"]: entry["delivery"]["status"] for entry in body.get("recipients", [])}
        if body.get("messageId") != MESSAGE_ID or deliveries != {n: status for n, (_, status) in RECIPIENTS.items()}:
            raise RuntimeError(f"{variant}: answered {answer}, not the job with its three deliveries")

    return check


def main() -> None:
    print("cold start, query function: preparing moto server", file=sys.stderr)
    with local_aws() as endpoint, tempfile.TemporaryDirectory() as scratch:
        session = boto3.Session(aws_access_key_id="bench", aws_secret_access_key="bench", region_name="us-east-1")  # noqa: S106
        dynamodb = session.client("dynamodb", endpoint_url=endpoint)
        create_messages_table(dynamodb, TABLE)
        put_outbound_message(dynamodb)
        settings = {
            **GLOBAL_ENVIRONMENT,
            "MESSAGES_TABLE_NAME": TABLE,
            "MEDIA_BUCKET_NAME": "media",
            "DEFAULT_COUNTRY_CODE": "1",
        }
        folder = Path(scratch)
        event = folder / "event.json"
        event.write_text(json.dumps(load_event("query_message.json")))  # GET /messages/order-1234-shipped
        setup = folder / "floor.json"
        setup.write_text(json.dumps({"table": TABLE, "message_id": MESSAGE_ID}))
        variants = [
            Variant(
                "floor",
                lambda _: child_command("query_floor", setup),
                (FUNCTION, LAYER),
                answered_the_job("floor"),
            ),
            Variant(
                "handler",
                lambda _: child_command("app", event),
                (FUNCTION, LAYER),
                answered_the_job("handler"),
            ),
        ]
        samples = run_rounds(
            variants, ROUNDS, lambda variant: child_environment(endpoint, settings, variant.pythonpath)
        )
    print_report("query_cold_start_floor", samples, "floor")
    print_report("query_cold_start", samples, "handler", target=TARGET_RATIO)


if __name__ == "__main__":
    main()
