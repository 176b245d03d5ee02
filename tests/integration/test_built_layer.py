"""The functions as ``sam build`` made them, run the way Lambda runs them: nothing else on the path.

Locally, functions also see the emulator's own virtualenv, and the test process sees the dev venv,
so a package missing from the layer (or too old in the Lambda runtime) would go unnoticed there.
Here each built function runs in a fresh interpreter (``devstack.invoke``: ``python -I -S``) whose
``sys.path`` is exactly the built function, the built layer and the stand-in for the Lambda
runtime's own packages (``.venvs/lambda-runtime``, installed by ``make setup`` from
``requirements/lambda-runtime.txt``), plus the standard library, with an environment built from the
template. Each ``events/`` sample is answered against moto in server mode and, for outbound sends,
the gateway simulator, all on 127.0.0.1: the sample media hosts are refused by the allow-lists
(as on the local stack) before any name is looked up. This is the Docker-free ``sam local invoke``.

Which layer build: the interpreter of the app venv runs the functions, and the layer's compiled
wheels must match its version: Python 3.13 (the runtime's) runs ``make build``'s output; another
version (a machine with only 3.11 or 3.12) runs the local stack's build, which is made for it.
"""

from __future__ import annotations

import ast
import base64
import json
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from moto.server import ThreadedMotoServer

from devstack.gateway import gateway_overrides
from devstack.invoke import AwsTarget, BuiltFunction, Invocation, base_interpreter, host_layer, invoke, probe
from devstack.sam import RepoPaths, SamCli, build_lock
from gatewaysim import images
from gatewaysim.simulator import GatewaySimulator
from tests import photos
from tests.integration.conftest import create_messages_table
from tests.openapi import check_answer, is_api_event
from tests.support import EVENT_PASSWORD, EVENT_USERNAME, EVENTS, load_event
from tests.template import ROOT, function_environment, resources, template

REGION = "us-east-1"
RUNTIME_STAND_IN = ROOT / ".venvs" / "lambda-runtime"
RUNTIME_PINS = ROOT / "requirements" / "lambda-runtime.txt"
# The runtime's packages as modules (distribution name -> import name where they differ).
RUNTIME_MODULES = {"python-dateutil": "dateutil"}
# The bucket the outbound samples name (s3://mms-relay-media-bucket/...).
MEDIA_BUCKET = "mms-relay-media-bucket"
# Keeps every fetch on 127.0.0.1: the samples' media hosts are refused by name, before DNS.
LOCAL_PARAMETERS = {
    "MediaAllowedHosts": "127.0.0.1,localhost",
    "OutboundMediaAllowedHosts": "127.0.0.1",
    "AllowInsecureMediaFetch": "true",
}


@dataclass(frozen=True)
class Sample:
    """One ``events/`` sample, the function that handles it and what it must answer.

    ``answer``: what the answer must contain (dicts: at least these keys, lists: these items in
    order; ``"body"`` is compared decoded); ``given``: samples answered first, whose writes this one
    reads; ``seed``: what it reads that no sample writes; ``redirects_to``: parts of the
    ``Location`` it must answer; ``sent_to``: a number the gateway simulator must have taken a
    message for."""

    event: str
    function: str
    answer: Mapping[str, Any]
    given: tuple[str, ...] = ()
    seed: Callable[[Deployed], None] | None = None
    redirects_to: tuple[str, ...] = ()
    sent_to: str | None = None
    id: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "id", self.event.removesuffix(".json"))


def label_link(deployed: Deployed) -> None:
    """The short link media_link_get.json asks for, as an HTTPS send leaves it (mmsrelay.outbound.links)."""
    deployed.client("dynamodb").put_item(
        TableName=deployed.names["MessagesTable"],
        Item={
            "pk": {"S": "LINK#Q7Zk3pX9aB2cD4eFg5Hi6J"},
            "sk": {"S": "LINK"},
            "bucket": {"S": MEDIA_BUCKET},
            "key": {"S": "outbound/labels/1234.png"},
            "contentType": {"S": "image/png"},
            "expiresAt": {"N": "4102444800"},
        },
    )


def mm4_send_reported(deployed: Deployed) -> None:
    """The MM4 send the sample reports name (their X-Mms-Message-ID and recipient), as recorded."""
    deployed.client("dynamodb").put_item(
        TableName=deployed.names["MessagesTable"],
        Item={
            "pk": {"S": f"TX#{MM4_GUID}"},
            "sk": {"S": "TX"},
            "entity": {"S": "transaction"},
            "direction": {"S": "outbound"},
            "transactionGuid": {"S": MM4_GUID},
            "to": {"S": "+13105550201"},
            "recipients": {"L": [{"S": "+13105550201"}]},
            "mm4MessageId": {"S": "3c8a2f0e9b1d4e7f8a6c5b4d3e2f1a0b"},
            "status": {"S": "sent"},
            "statusRank": {"N": "2"},
        },
    )


def report_stored_by_ses(deployed: Deployed) -> None:
    """The raw report mm4_report_s3.json names, where SES's receipt rule would have stored it, and
    the send it reports on."""
    mm4_send_reported(deployed)
    record = load_event("mm4_report_s3.json")["Records"][0]["s3"]
    s3 = deployed.client("s3")
    s3.create_bucket(Bucket=record["bucket"]["name"])
    raw = (EVENTS / "mm4_report_stored.eml").read_bytes()
    s3.put_object(Bucket=record["bucket"]["name"], Key=record["object"]["key"], Body=raw)


def large_photo(deployed: Deployed) -> None:
    """The 2.4 MB camera photo outbound_sqs_large_photo.json sends: over the 1 MiB limit, so fitted with Pillow."""
    deployed.client("s3").put_object(
        Bucket=MEDIA_BUCKET,
        Key="outbound/photos/beach.jpg",
        Body=photos.camera_jpeg(4032, 3024, seed=1),
        ContentType="image/jpeg",
    )


def stored(guid: str) -> dict[str, Any]:
    return {"statusCode": 200, "body": {"transactionGUID": guid}}


def receipt(guid: str | None, delivery: str | None, status: str | None = None) -> dict[str, Any]:
    body = {"transactionGUID": guid, "deliveryStatus": delivery} | ({"status": status} if status else {})
    return {"statusCode": 200, "body": body}


UNAUTHORIZED = {"statusCode": 401, "body": {"error": "unauthorized"}}
INVALID = {"statusCode": 400, "body": {"error": "invalid_payload"}}
NO_FAILURES: dict[str, Any] = {"batchItemFailures": []}
DLR_GUID = "11111111-2222-4333-8444-555555555555"
MM4_GUID = "22222222-3333-4444-8555-666666666666"
# One row per events/ sample that is a Lambda event. A new function needs its rows here.
SAMPLES = (
    Sample("inbound_post.json", "InboundFunction", stored("6F1C2D3E-4A5B-4C6D-8E9F-0A1B2C3D4E5F")),
    Sample("inbound_get.json", "InboundFunction", stored("7A2B3C4D-5E6F-4A7B-8C9D-0E1F2A3B4C5D")),
    Sample("inbound_post_base64.json", "InboundFunction", stored("CF7A8B9C-ADBE-4FC0-D1E2-5D6E7F8A9BAC")),
    Sample("inbound_post_attachments_json.json", "InboundFunction", stored("8B3C4D5E-6F7A-4B8C-9DAE-1F2A3B4C5D6E")),
    Sample("inbound_post_attachments_repeated.json", "InboundFunction", stored("9C4D5E6F-7A8B-4C9D-AEBF-2A3B4C5D6E7F")),
    Sample("inbound_post_long_fields.json", "InboundFunction", stored("BE6F7A8B-9CAD-4EBF-C0D1-4C5D6E7F8A9B")),
    Sample(
        "inbound_post_segment_unknown_fields.json", "InboundFunction", stored("AD5E6F7A-8B9C-4DAE-BFC0-3B4C5D6E7F8A")
    ),
    Sample("inbound_invalid.json", "InboundFunction", INVALID),
    Sample("inbound_no_credentials.json", "InboundFunction", UNAUTHORIZED),
    Sample("inbound_wrong_credentials.json", "InboundFunction", UNAUTHORIZED),
    Sample("media_retry_sqs.json", "MediaRetryFunction", NO_FAILURES, given=("inbound_post_attachments_json.json",)),
    # order-1234-shipped is sent over HTTPS; team-dinner-photos fails for good (its URL's host is
    # not allowed); the third job is invalid: no record is left to retry.
    Sample("outbound_sqs_batch.json", "OutboundFunction", NO_FAILURES, sent_to="13105551212"),
    # Sent only once the layer's Pillow has fitted the photo (a photo that cannot be fitted fails the job).
    Sample("outbound_sqs_large_photo.json", "OutboundFunction", NO_FAILURES, seed=large_photo, sent_to="13105551214"),
    Sample(
        "media_link_get.json",
        "MediaLinkFunction",
        {"statusCode": 302},
        seed=label_link,
        redirects_to=(f"/{MEDIA_BUCKET}/outbound/labels/1234.png?", "X-Amz-Algorithm=AWS4-HMAC-SHA256"),
    ),
    Sample("dlr_post_word.json", "ReceiptFunction", receipt(DLR_GUID, "delivered")),
    Sample("dlr_get_code.json", "ReceiptFunction", receipt(DLR_GUID, "enroute")),
    Sample("dlr_post_smpp_text.json", "ReceiptFunction", receipt(DLR_GUID, "undelivered")),
    Sample("dlr_post_unknown_state.json", "ReceiptFunction", receipt(DLR_GUID, None)),
    Sample("dlr_json_carrier_event.json", "ReceiptFunction", receipt(DLR_GUID, "failed")),
    Sample("dlr_mm4_delivery_report.json", "ReceiptFunction", receipt(MM4_GUID, "delivered"), seed=mm4_send_reported),
    Sample("dlr_no_guid.json", "ReceiptFunction", INVALID),
    Sample("dlr_no_credentials.json", "ReceiptFunction", UNAUTHORIZED),
    Sample("no_receipt_schedule.json", "NoReceiptFunction", {"marked": 0, "cleared": 0}),
    Sample(
        "query_message.json",
        "QueryFunction",
        {"statusCode": 200, "body": {"messageId": "order-1234-shipped", "status": "sent", "sentOver": "https"}},
        given=("outbound_sqs_batch.json",),
    ),
    Sample(
        "query_transaction.json",
        "QueryFunction",
        # The sample's media host is not on the allow-list here: the attachment failed, the message did not.
        {
            "statusCode": 200,
            "body": {
                "transactionGUID": "7A2B3C4D-5E6F-4A7B-8C9D-0E1F2A3B4C5D",
                "status": "received",
                "media": [{"index": 0, "status": "failed", "error": "host_not_allowed"}],
            },
        },
        given=("inbound_get.json",),
    ),
    Sample("query_conversation.json", "QueryFunction", {"statusCode": 200, "body": {"number": "+13105551212"}}),
    Sample("stream_records.json", "EventsFunction", NO_FAILURES),
    # The stored report names an MM4 send no sample makes: seeded as the sender records it.
    Sample("mm4_report_s3.json", "Mm4ReportFunction", {"outcomes": ["advanced"]}, seed=report_stored_by_ses),
)
# events/ files that are not Lambda events: outbound job bodies, as a producer puts them on the queue.
JOB_BODIES = (
    "outbound_group_mm4.json",
    "outbound_https_one_image.json",
    "outbound_https_url.json",
    "outbound_invalid.json",
    "outbound_mm4_forced.json",
    "outbound_text_only.json",
)


def functions() -> dict[str, dict[str, Any]]:
    return resources("AWS::Serverless::Function")


def runtime_python_version() -> str:
    return str(template()["Globals"]["Function"]["Runtime"]).removeprefix("python")


# ---------------------------------------------------------------- what runs


@dataclass(frozen=True)
class LayerBuild:
    python: Path  # the layer's python folder
    described: str


@pytest.fixture(scope="module")
def python() -> Path:
    return base_interpreter()


@pytest.fixture(scope="module")
def layer_build(python: Path, request: pytest.FixtureRequest) -> LayerBuild:
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    if version == runtime_python_version():
        build = ROOT / ".aws-sam" / "build"
        chosen = LayerBuild(host_layer(build), f"`make build` output for python{version}")
        if not chosen.python.is_dir():
            pytest.fail(f"{chosen.python} is missing: run `make build` first (make test does)")
    else:
        paths = RepoPaths.discover()
        chosen = LayerBuild(
            host_layer(paths.build_dir),
            f"the local stack's build for python{version} (the runtime's python{runtime_python_version()} "
            "layer cannot load on this interpreter)",
        )
        if not chosen.python.is_dir():
            with build_lock(paths):
                SamCli(paths).build()
        if not chosen.python.is_dir():
            pytest.fail(f"{chosen.python} is missing after sam build into {paths.build_dir}")
    say(request, f"built layer under test: {chosen.python} ({chosen.described}), run by {python}")
    return chosen


def say(request: pytest.FixtureRequest, line: str) -> None:
    """Writes ``line`` to the terminal whatever the capture mode (which build ran must be visible)."""
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():
            reporter.write_line(f"\n{line}")


@pytest.fixture(scope="module")
def runtime_stand_in() -> Path:
    if not (RUNTIME_STAND_IN / ".installed").exists():
        pytest.fail(f"{RUNTIME_STAND_IN} is missing: run `make setup` first (make test does)")
    return RUNTIME_STAND_IN


def built(function: str, layer: LayerBuild) -> BuiltFunction:
    properties = functions()[function]["Properties"]
    defaults = template()["Globals"]["Function"]
    return BuiltFunction(
        name=function,
        code_dir=layer.python.parents[1] / function,
        handler=properties["Handler"],
        layer_dir=layer.python,
        timeout_s=int(properties.get("Timeout", defaults["Timeout"])),
        memory_mb=int(properties.get("MemorySize", defaults["MemorySize"])),
    )


# ---------------------------------------------------------------- AWS (moto) and the gateway


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture(scope="module")
def simulator() -> Iterator[GatewaySimulator]:
    with GatewaySimulator() as running:
        yield running


@dataclass(frozen=True)
class Deployed:
    aws: AwsTarget
    names: dict[str, str]  # template references ("MessagesTable", "WebhookCredentialsSecret.Id") -> created
    parameters: dict[str, str]

    def environment(self, function: str) -> dict[str, str]:
        return function_environment(function, self.names, self.parameters)

    def client(self, service: str) -> Any:
        return boto3.client(
            service,  # type: ignore[call-overload]
            endpoint_url=self.aws.endpoint_url,
            region_name=self.aws.region,
            aws_access_key_id=self.aws.access_key_id,
            aws_secret_access_key=self.aws.secret_access_key,
            config=Config(connect_timeout=5, read_timeout=30, retries={"max_attempts": 2}),
        )


@pytest.fixture(scope="module")
def deployed(moto_endpoint: str, simulator: GatewaySimulator) -> Deployed:
    """The resources the functions' environments name, created on moto as the template declares them."""
    names = {"Api": "abc123defg", "AWS::Region": REGION, "MediaBucket": MEDIA_BUCKET}
    stack = Deployed(
        AwsTarget(moto_endpoint, REGION, "testing", "testing"),
        names,
        {**gateway_overrides(simulator), **LOCAL_PARAMETERS},
    )
    client = stack.client
    dynamodb, s3, sqs, secrets = client("dynamodb"), client("s3"), client("sqs"), client("secretsmanager")
    names["MessagesTable"] = create_messages_table(dynamodb, "mms-relay-messages")
    dynamodb.create_table(
        TableName="mms-relay-idempotency",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
    )
    names["IdempotencyTable"] = "mms-relay-idempotency"
    s3.create_bucket(Bucket=MEDIA_BUCKET)
    s3.put_object(Bucket=MEDIA_BUCKET, Key="outbound/labels/1234.png", Body=images.png(), ContentType="image/png")
    s3.put_object(Bucket=MEDIA_BUCKET, Key="outbound/dinner/1.jpg", Body=images.jpeg(), ContentType="image/jpeg")
    for queue in ("MediaRetryQueue", "OutboundQueue"):
        names[queue] = sqs.create_queue(QueueName=f"mms-relay-{queue}")["QueueUrl"]
    webhook = {"username": EVENT_USERNAME, "password": EVENT_PASSWORD}
    gateway = {"apiKey": simulator.api_key, "apiSecret": simulator.api_secret}
    for secret, value in (("WebhookCredentialsSecret", webhook), ("GatewayCredentialsSecret", gateway)):
        names[f"{secret}.Id"] = secrets.create_secret(Name=f"mms-relay-{secret}", SecretString=json.dumps(value))["ARN"]
    names["EventBus"] = client("events").create_event_bus(Name="mms-relay-events")["EventBusArn"].rsplit("/", 1)[1]
    return stack


def run(sample: str, function: str, layer: LayerBuild, deployed: Deployed, runtime: Path, python: Path) -> Invocation:
    return invoke(
        built(function, layer),
        load_event(sample),
        deployed.environment(function),
        deployed.aws,
        runtime_dir=runtime,
        python=python,
        probe=("mmsrelay", "botocore", "urllib3"),
    )


def contains(actual: Any, expected: Any) -> bool:
    """``actual`` has what ``expected`` says: the keys of a dict, the items of a list in order."""
    if isinstance(expected, Mapping):
        return isinstance(actual, Mapping) and all(
            key in actual and contains(actual[key], value) for key, value in expected.items()
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(expected)
            and all(contains(item, wanted) for item, wanted in zip(actual, expected, strict=True))
        )
    return bool(actual == expected)


def answered(invocation: Invocation) -> str:
    """What a failed check shows: the answer or the error with its traceback, and the function's logs."""
    if invocation.error is not None:
        error = invocation.error
        outcome = f"{error.error_type}: {error.message}\n{''.join(error.stack_trace)}"
    else:
        outcome = f"answer {json.dumps(invocation.answer)[:2000]}"
    return f"{outcome}\nlogs:\n{invocation.logs[-4000:]}"


# ---------------------------------------------------------------- the table is complete


def test_every_function_in_the_template_has_sample_rows() -> None:
    covered = {sample.function for sample in SAMPLES}
    missing = sorted(set(functions()) - covered)
    assert not missing, (
        f"{', '.join(missing)} in template.yaml has no row in SAMPLES: add a Sample(<events/ file>, <function>, "
        "<answer>) for each of its sample events"
    )


def test_every_sample_event_is_in_the_table() -> None:
    listed = {sample.event for sample in SAMPLES} | set(JOB_BODIES)
    unlisted = sorted(path.name for path in EVENTS.glob("*.json") if path.name not in listed)
    assert not unlisted, f"events/ files in neither SAMPLES nor JOB_BODIES: {unlisted}"
    assert all((EVENTS / sample.event).exists() for sample in SAMPLES)


# Modules the Lambda runtime supplies and the layer deliberately does not carry: SnapStart's hook
# registry (docs/decisions.md, "SnapStart for the webhooks"). The code imports it only where present.
RUNTIME_ONLY = frozenset({"snapshot_restore_py"})


def third_party_imports() -> set[str]:
    """Top-level packages the functions and the shared package import (stdlib and typing-only stubs aside)."""
    sources = [*(ROOT / "functions").rglob("*.py"), *(ROOT / "layers" / "shared" / "mmsrelay").rglob("*.py")]
    found: set[str] = set()
    for source in sources:
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return {
        name
        for name in found
        if name not in sys.stdlib_module_names
        and name != "mmsrelay"
        and not name.startswith("mypy_boto3_")
        and name not in RUNTIME_ONLY
    }


# ---------------------------------------------------------------- the runtime stand-in


def pinned_runtime() -> dict[str, str]:
    pins = {}
    for line in RUNTIME_PINS.read_text().splitlines():
        if "==" in line and not line.startswith((" ", "#")):
            name, _, version = line.split(" ", 1)[0].partition("==")
            pins[RUNTIME_MODULES.get(name, name.replace("-", "_"))] = version
    return pins


def test_the_runtime_stand_in_is_the_pinned_runtime_not_the_dev_venv(runtime_stand_in: Path, python: Path) -> None:
    # Given the packages requirements/lambda-runtime.txt pins
    pins = pinned_runtime()
    assert {"boto3", "botocore", "urllib3"} <= set(pins)
    # When a fresh interpreter with only the stand-in on its path imports them
    found = probe([runtime_stand_in], [*pins, "requests"], python=python)
    # Then each is the pinned version, from a file of the stand-in folder (no link into a venv)
    for module, version in pins.items():
        info = found[module]
        assert info.version == version, (module, info)
        assert info.file is not None
        assert Path(info.file).resolve().is_relative_to(runtime_stand_in.resolve()), (module, info.file)
        assert not Path(info.file).is_relative_to(ROOT / ".venv"), info.file
    # And what the runtime does not ship is not there
    assert found["requests"].file is None


# ---------------------------------------------------------------- each function, from the layer alone


@pytest.mark.parametrize("function", sorted(functions()))
def test_each_handler_imports_from_the_built_layer_alone(
    function: str, layer_build: LayerBuild, runtime_stand_in: Path, python: Path, deployed: Deployed
) -> None:
    # Given the built function and layer, and every third-party package the code imports
    packages = sorted(third_party_imports() | {"mmsrelay"})
    # When a fresh interpreter imports the handler
    invocation = invoke(
        built(function, layer_build),
        None,
        deployed.environment(function),
        deployed.aws,
        runtime_dir=runtime_stand_in,
        python=python,
        probe=packages,
    )
    # Then it imports, on exactly the function, the layer, the runtime and the standard library
    assert invocation.ok, answered(invocation)
    assert invocation.sys_path[:3] == (
        str(built(function, layer_build).code_dir),
        str(layer_build.python),
        str(runtime_stand_in),
    )
    assert not any("site-packages" in entry for entry in invocation.sys_path), invocation.sys_path
    # And each package the code imports comes from the layer, not from the runtime's (older) copy
    for package in packages:
        where = invocation.modules[package].file
        assert where is not None, f"{package} is not importable from {layer_build.python} ({layer_build.described})"
        assert Path(where).is_relative_to(layer_build.python), f"{package} came from {where}, not the layer"


# ---------------------------------------------------------------- each sample, answered


@pytest.mark.parametrize("sample", SAMPLES, ids=[sample.id for sample in SAMPLES])
def test_each_sample_is_answered_by_its_built_function(
    sample: Sample,
    layer_build: LayerBuild,
    runtime_stand_in: Path,
    python: Path,
    deployed: Deployed,
    simulator: GatewaySimulator,
) -> None:
    # Given what the sample reads was written by the samples that write it
    for earlier in sample.given:
        (row,) = (candidate for candidate in SAMPLES if candidate.event == earlier)
        setup = run(row.event, row.function, layer_build, deployed, runtime_stand_in, python)
        assert setup.ok, answered(setup)
    if sample.seed is not None:
        sample.seed(deployed)
    # When the built function handles the sample in a fresh interpreter
    invocation = run(sample.event, sample.function, layer_build, deployed, runtime_stand_in, python)
    # Then it answers as the table says
    assert invocation.ok, answered(invocation)
    answer = dict(invocation.answer)
    if isinstance(answer.get("body"), str) and "body" in sample.answer:
        raw = base64.b64decode(answer["body"]) if answer.get("isBase64Encoded") else answer["body"]
        answer["body"] = json.loads(raw)
    assert contains(answer, sample.answer), answered(invocation)
    for part in sample.redirects_to:
        assert part in answer["headers"]["Location"], answered(invocation)
    # And an HTTP answer is one schemas/openapi.yaml gives for that request
    event = load_event(sample.event)
    if is_api_event(event):
        check_answer(event, invocation.answer)
    # And it ran on the layer's packages
    assert invocation.modules["mmsrelay"].file is not None
    assert Path(invocation.modules["mmsrelay"].file).is_relative_to(layer_build.python)
    if sample.sent_to is not None:
        assert sample.sent_to in {sent.destination for sent in simulator.http_api.sent}, answered(invocation)
