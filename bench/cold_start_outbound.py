"""Cold start of the outbound function, against its floor (bench/README.md).

Each sample is a fresh Python process that imports the handler and handles its first SQS batch:
one HTTPS job (one recipient, one image URL), sent for real to the gateway simulator's v4 API
over TLS. AWS is answered in-process by botocore's Stubber from one plan that the handler and
the floor share (bench/coldstart/stubs.py): a server emulator would charge the handler's richer
update expressions to the handler, where DynamoDB itself answers them in the same time.
"""

from __future__ import annotations

import base64
import json
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

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
from gatewaysim.http_api import HttpApi
from tests.support import load_event

TARGET_RATIO = 1.4
FUNCTION = ROOT / "functions" / "outbound"


SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:gateway-AbCdEf"  # noqa: S105 (a name)


def environment(gateway: HttpApi) -> dict[str, str]:
    """The outbound function's environment as the template sets it (resources named, not created)."""
    return {
        **GLOBAL_ENVIRONMENT,
        "MESSAGES_TABLE_NAME": "messages",
        "MEDIA_BUCKET_NAME": "media",
        "GATEWAY_CREDENTIALS_SECRET_ARN": SECRET_ARN,
        "GATEWAY_BASE_URL": gateway.base_url,
        "GATEWAY_CA_CERTIFICATE": base64.b64encode(Path(str(gateway.ca_file)).read_bytes()).decode(),
        "MM4_HOST": "127.0.0.1",
        "MM4_PORT": "2525",
        "MM4_TLS_MODE": "implicit",
        "MM4_DOMAIN": "mmsc.aerialink.net",
        "MM4_ORIGINATOR_SYSTEM": "mms-relay",
        "IDEMPOTENCY_TABLE_NAME": "idempotency",
        "IDEMPOTENCY_EXPIRY_HOURS": "72",
        "OUTBOUND_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/outbound",
        "OUTBOUND_RETRY_BASE_DELAY_SECONDS": "30",
        "SEND_RATE_PER_SECOND": "10",
        "SEND_RATE_OVERRIDES": "",
        "OUTBOUND_MEDIA_ALLOWED_HOSTS": "*",
        "MAX_OUTBOUND_MESSAGE_BYTES": "1048576",
        "MEDIA_LINK_BASE_URL": "https://abc123.execute-api.us-east-1.amazonaws.com/v1",
        "MEDIA_LINK_TTL_HOURS": "72",
        "DEFAULT_COUNTRY_CODE": "1",
        "RECEIPT_TIMEOUT_HOURS": "72",
        "MESSAGE_RETENTION_DAYS": "400",
    }


def stub_plan(gateway: HttpApi) -> list[list[object]]:
    """The AWS calls of one HTTPS job, in order per service, with their answers."""
    secret = json.dumps({"apiKey": gateway.api_key, "apiSecret": gateway.api_secret})
    return [
        [
            "secretsmanager",
            "get_secret_value",
            {"ARN": SECRET_ARN, "Name": "gateway", "SecretString": secret},
        ],
        ["dynamodb", "put_item", {}],  # idempotency record: in progress
        ["dynamodb", "update_item", {}],  # job queued
        ["dynamodb", "update_item", {}],  # the send slot reserved in the code's schedule
        ["dynamodb", "update_item", {}],  # job sending
        ["dynamodb", "transact_write_items", {}],  # job sent + its transaction
        ["dynamodb", "update_item", {}],  # idempotency record: completed
    ]


def sqs_event(message_id: str) -> dict[str, object]:
    event = load_event("outbound_sqs_batch.json")
    record = event["Records"][0]
    record["body"] = json.dumps(
        {
            "messageId": message_id,
            "from": "12223334444",
            "to": ["+13105551212"],
            "text": "bench",
            "media": [{"url": "https://cdn.example.com/a.jpg"}],
        }
    )
    return {"Records": [record]}


def main() -> None:
    print("cold start, outbound function: starting the gateway's HTTP API", file=sys.stderr)
    with HttpApi() as gateway, tempfile.TemporaryDirectory() as scratch:
        settings = environment(gateway)
        folder = Path(scratch)
        plan = folder / "plan.json"
        plan.write_text(json.dumps(stub_plan(gateway)))

        def handler_batch(number: int) -> list[str]:
            path = folder / f"handler-{number}.json"
            path.write_text(json.dumps(sqs_event(f"bench-{uuid.uuid4().hex}")))
            return child_command("app", path, plan)

        def floor_calls(number: int) -> list[str]:
            path = folder / f"floor-{number}.json"
            path.write_text(
                json.dumps(
                    {
                        "plan": str(plan),
                        "secret_arn": SECRET_ARN,
                        "table": "messages",
                        "idempotency_table": "idempotency",
                        "message_id": f"floor-{uuid.uuid4().hex}",
                        "gateway_url": gateway.messages_url,
                        "ca_file": str(gateway.ca_file),
                    }
                )
            )
            return child_command("outbound_floor", path)

        taken = [0]  # messages the gateway had accepted before the sample

        def one_more_sent(_: int, answer: Any) -> None:
            """The batch reported no failure, and the gateway accepted exactly one more message."""
            if answer != {"batchItemFailures": []} or len(gateway.sent) != taken[0] + 1:
                raise RuntimeError(
                    f"answered {answer}; the gateway holds {len(gateway.sent)} messages, not {taken[0] + 1}"
                )
            taken[0] += 1

        variants = [
            Variant("floor", floor_calls, (FUNCTION, LAYER), one_more_sent),
            Variant("handler", handler_batch, (FUNCTION, LAYER), one_more_sent),
        ]
        samples = run_rounds(variants, ROUNDS, lambda variant: child_environment(None, settings, variant.pythonpath))
    print_report("outbound_cold_start_floor", samples, "floor")
    print_report("outbound_cold_start", samples, "handler", target=TARGET_RATIO)


if __name__ == "__main__":
    main()
