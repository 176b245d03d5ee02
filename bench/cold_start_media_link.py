"""Cold start of the media link function (``GET /m/{token}``), against its floor (bench/README.md).

Each sample is a fresh Python process that imports the handler and answers one live link: the
link's item read from DynamoDB, a presigned S3 URL signed locally, a 302. AWS is a moto server
on 127.0.0.1; each sample reads a link of its own, written by the relay's own repository.
"""

from __future__ import annotations

import json
import sys
import tempfile
from datetime import UTC, datetime, timedelta
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
from mmsrelay.domain.media import MediaLink
from mmsrelay.storage.links import LinkRepository
from tests.integration.conftest import create_messages_table
from tests.support import load_event

TARGET_RATIO = 1.25
FUNCTION = ROOT / "functions" / "media_link"
TABLE = "messages"
BUCKET = "media"


def main() -> None:
    print("cold start, media link function: preparing moto server", file=sys.stderr)
    with local_aws() as endpoint, tempfile.TemporaryDirectory() as scratch:
        session = boto3.Session(aws_access_key_id="bench", aws_secret_access_key="bench", region_name="us-east-1")  # noqa: S106
        dynamodb = session.client("dynamodb", endpoint_url=endpoint)
        create_messages_table(dynamodb, TABLE)
        session.client("s3", endpoint_url=endpoint).create_bucket(Bucket=BUCKET)
        links = LinkRepository(dynamodb, TABLE)
        settings = {**GLOBAL_ENVIRONMENT, "MESSAGES_TABLE_NAME": TABLE, "MEDIA_BUCKET_NAME": BUCKET}
        folder = Path(scratch)
        keys: dict[tuple[str, int], str] = {}

        def new_link(variant: str, number: int) -> str:
            token = f"{variant[:5]:_<5}{number:017d}"  # 22 URL-safe characters, like a real token
            keys[variant, number] = f"outbound/bench/{variant}-{number}.jpg"
            now = datetime.now(UTC)
            links.add(
                token, MediaLink(BUCKET, keys[variant, number], "image/jpeg", "bench", now + timedelta(hours=1)), now
            )
            return token

        def handler(number: int) -> list[str]:
            event = load_event("media_link_get.json")
            token = new_link("handler", number)
            event["path"] = f"/m/{token}"
            event["pathParameters"] = {"token": token}
            path = folder / f"handler-{number}.json"
            path.write_text(json.dumps(event))
            return child_command("app", path)

        def floor(number: int) -> list[str]:
            path = folder / f"floor-{number}.json"
            path.write_text(json.dumps({"table": TABLE, "token": new_link("floor", number)}))
            return child_command("media_link_floor", path)

        def redirected(variant: str) -> Any:
            def check(number: int, answer: Any) -> None:
                location = str((answer.get("headers") or {}).get("Location", ""))
                signed = "X-Amz-Signature=" in location and keys[variant, number] in location
                if answer.get("statusCode") != 302 or not signed:
                    raise RuntimeError(f"{variant}: answered {answer}, not a redirect to a presigned URL")

            return check

        variants = [
            Variant("floor", floor, (FUNCTION, LAYER), redirected("floor")),
            Variant("handler", handler, (FUNCTION, LAYER), redirected("handler")),
        ]
        samples = run_rounds(
            variants, ROUNDS, lambda variant: child_environment(endpoint, settings, variant.pythonpath)
        )
    print_report("media_link_cold_start_floor", samples, "floor")
    print_report("media_link_cold_start", samples, "handler", target=TARGET_RATIO)


if __name__ == "__main__":
    main()
