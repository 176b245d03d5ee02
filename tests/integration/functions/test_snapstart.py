"""The webhook functions through a simulated SnapStart restore (``EnableSnapStart``): init, the
runtime hooks, then requests; in a fresh interpreter, because the hooks are registered while the
wiring modules are imported (as the Lambda runtime requires), before anything else may import them.

The runtime's hook library (``snapshot_restore_py``, shipped by the Lambda Python runtimes, not by
the layer) is stood in for by a registry of the same two functions; the child runs the registered
hooks as the runtime does: before the snapshot in reverse order, after a restore in order.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[3]
CHILD = """
import importlib.util, json, os, random, sys, types
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode, urlsplit

before, after = [], []
hooks = types.ModuleType("snapshot_restore_py")
hooks.register_before_snapshot = lambda f, *a, **k: before.append((f, a, k)) or f
hooks.register_after_restore = lambda f, *a, **k: after.append((f, a, k)) or f
sys.modules["snapshot_restore_py"] = hooks

import boto3
from moto import mock_aws
from tests.integration.conftest import TABLE, create_messages_table
from tests.integration.query.test_query_function import MESSAGE_ID, put_outbound_message
from tests.support import EVENT_PASSWORD, EVENT_USERNAME, LambdaContextStub, load_event

TOKEN = "Q7Zk3pX9aB2cD4eFg5Hi6J"  # events/media_link_get.json
FUNCTIONS = ("inbound", "receipts", "media_link", "query")

with mock_aws():
    setup = boto3.Session()  # not the default session, which the functions' clients come from
    dynamodb = setup.client("dynamodb")
    create_messages_table(dynamodb)
    setup.client("s3").create_bucket(Bucket="media")
    secret = setup.client("secretsmanager").create_secret(
        Name="webhook", SecretString=json.dumps({"username": EVENT_USERNAME, "password": EVENT_PASSWORD})
    )["ARN"]
    queue = setup.client("sqs").create_queue(QueueName="media-retry")["QueueUrl"]
    put_outbound_message(dynamodb)
    from mmsrelay.domain.media import MediaLink
    from mmsrelay.storage.links import LinkRepository
    now = datetime.now(UTC)
    link = MediaLink("media", "outbound/a.jpg", "image/jpeg", "m", now + timedelta(hours=1))
    LinkRepository(dynamodb, TABLE).add(TOKEN, link, now)
    os.environ.update({
        "MESSAGES_TABLE_NAME": TABLE, "MEDIA_BUCKET_NAME": "media", "WEBHOOK_CREDENTIALS_SECRET_ARN": secret,
        "MAX_WEBHOOK_BODY_BYTES": "262144", "RECEIPT_GUID_FIELD": "transactionGUID", "DEFAULT_COUNTRY_CODE": "1",
        "MEDIA_ALLOWED_HOSTS": "aerialink.net", "ALLOW_INSECURE_MEDIA_FETCH": "false", "MAX_MEDIA_BYTES": "5242880",
        "MEDIA_RETRY_QUEUE_URL": queue, "MEDIA_RETRY_MAX_ATTEMPTS": "8", "MEDIA_RETRY_FIRST_DELAY_SECONDS": "30",
        "MESSAGE_RETENTION_DAYS": "400",
    })

    # Init: each handler module imported as the runtime imports it.
    modules = {}
    for name in FUNCTIONS:
        spec = importlib.util.spec_from_file_location(f"{name}_app", f"functions/{name}/app.py")
        modules[name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(modules[name])

    # The snapshot: the before-snapshot hooks, in reverse order of registration.
    for hook, args, kwargs in reversed(before):
        hook(*args, **kwargs)
    models_loaded = boto3.DEFAULT_SESSION is not None
    credentials_in_snapshot = models_loaded and boto3.DEFAULT_SESSION._session._credentials is not None
    snapshot_random = random.getstate()

    inbound = load_event("inbound_post.json")
    inbound["body"] = urlencode({"transactionGUID": "6F1C2D3E-4A5B-4C6D-8E9F-0A1B2C3D4E5F", "source": "13105551212",
                                 "destination": "12223334444", "messageText": "hello"})
    events = {"inbound": inbound, "receipts": load_event("dlr_post_word.json"),
              "media_link": load_event("media_link_get.json"), "query": load_event("query_message.json")}

    def serve():
        answers = {}
        for name in FUNCTIONS:
            answer = modules[name].lambda_handler(dict(events[name]), LambdaContextStub())
            body = json.loads(answer["body"]) if answer["body"] else {}
            shown = body.get("status") or urlsplit(answer["headers"]["Location"]).path
            answers[name] = [answer["statusCode"], shown]
        return answers

    from mmsrelay import aws
    from mmsrelay.wiring import inbound as w_inbound, media_link as w_link, query as w_query, receipts as w_receipts
    # The objects themselves, held: an id alone could be the same address reused once the first is freed.
    def built():
        return [
            aws.dynamodb_client(),
            w_inbound.inbound_webhook(modules["inbound"].metrics),
            w_receipts.receipt_webhook(modules["receipts"].metrics),
            w_link.link_resolver(),
            w_query.query_api(),
        ]

    # An environment that served before (or built at init by a later change), then a restore.
    first = serve()
    before_restore = built()
    def restore():
        random.setstate(snapshot_random)
        for hook, args, kwargs in after:
            hook(*args, **kwargs)
        return random.random()
    one = restore()
    after_restore = built()
    second = serve()
    two = restore()

print(json.dumps({
    "registered": [len(before), len(after)],
    "models_loaded": models_loaded,
    "credentials_in_snapshot": credentials_in_snapshot,
    "first": first, "second": second,
    "rebuilt": [a is not b for a, b in zip(before_restore, after_restore)],
    "random_differs": one != two,
}))
"""


@pytest.fixture(scope="module")
def restored() -> dict[str, Any]:
    environment = {
        **{key: value for key, value in os.environ.items() if not key.startswith("AWS_")},
        "PYTHONPATH": os.pathsep.join([str(ROOT / "layers" / "shared"), str(ROOT / "local"), str(ROOT)]),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_SERVICE_NAME": "mms-relay",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "MmsRelay",
    }
    run = subprocess.run(
        [sys.executable, "-c", CHILD],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    result: dict[str, Any] = json.loads(run.stdout.strip().splitlines()[-1])
    return result


def test_each_webhook_wiring_registers_its_hooks_at_init(restored: dict[str, Any]) -> None:
    # Given the four webhook handlers imported (init), Then each wiring module registered one hook of each kind
    assert restored["registered"] == [4, 4]


def test_the_snapshot_holds_no_credentials(restored: dict[str, Any]) -> None:
    # Given the before-snapshot hooks run, Then the API models were loaded and no credential resolved
    assert (restored["models_loaded"], restored["credentials_in_snapshot"]) == (True, False)


def test_the_webhooks_answer_before_and_after_a_restore(restored: dict[str, Any]) -> None:
    # When each webhook serves a request, then the environment is restored and each serves again
    # Then the answers are the functions' usual ones, both times (the repeat of the MO is a duplicate)
    assert restored["first"] == {
        "inbound": [200, "stored"],
        "receipts": [200, "advanced"],
        "media_link": [302, "/outbound/a.jpg"],
        "query": [200, "sent"],
    }
    assert restored["second"] == {
        **restored["first"],
        "inbound": [200, "duplicate"],
        "receipts": [200, "kept_in_history"],
    }


def test_a_restore_rebuilds_clients_and_use_cases(restored: dict[str, Any]) -> None:
    # Then the AWS client and each function's use case built before the restore were built anew after it
    assert restored["rebuilt"] == [True, True, True, True, True]


def test_two_restores_of_one_snapshot_draw_different_random_numbers(restored: dict[str, Any]) -> None:
    # Given one snapshot's random state restored twice, Then the hook reseeded it differently each time
    assert restored["random_differs"] is True
