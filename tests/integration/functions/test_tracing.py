"""A handler run with tracing off and on, as Lambda runs it with ``EnableTracing`` false and true:
in a fresh interpreter (the X-Ray SDK patches botocore, requests and http.client for the whole
process, for good), its subsegments sent to a UDP port on 127.0.0.1 standing in for the X-Ray
daemon."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[3]
TRACE_ID = "1-5759e988-bd862e3fe1be46a994272793"
# Imports the media link handler twice, as two cold starts (its decorator reads the environment
# at import): tracing off, then on. Each answers one request; what each was is printed.
CHILD = """
import importlib.util, json, os, sys
from tests.support import LambdaContextStub

def cold_start(name):
    spec = importlib.util.spec_from_file_location(name, "functions/media_link/app.py")
    app = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(app)
    event = {"httpMethod": "GET", "path": "/m/not-a-token", "pathParameters": {"token": "not-a-token"}}
    answer = app.lambda_handler(event, LambdaContextStub())
    layers, handler = [], app.lambda_handler
    while handler is not None:
        layers.append(handler.__code__.co_filename.replace(os.sep, "/"))
        handler = getattr(handler, "__wrapped__", None)
    traced = any(name.endswith("aws_lambda_powertools/tracing/tracer.py") for name in layers)
    return {"answer": answer, "traced": traced, "xray_sdk": "aws_xray_sdk" in sys.modules}

off = cold_start("media_link_off")
os.environ["POWERTOOLS_TRACE_DISABLED"] = "false"
on = cold_start("media_link_on")
print(json.dumps({"off": off, "on": on}))
"""


@dataclass(frozen=True)
class Run:
    off: dict[str, Any]
    on: dict[str, Any]
    entities: list[dict[str, Any]]  # what reached the daemon


def received(daemon: socket.socket) -> list[dict[str, Any]]:
    """Every entity sent (``{"format":"json","version":1}`` then the document, per datagram)."""
    daemon.settimeout(0.1)  # the child has exited: what it sent over loopback is already here
    entities = []
    try:
        while True:
            header, _, document = daemon.recv(65535).partition(b"\n")
            assert json.loads(header) == {"format": "json", "version": 1}
            entities.append(json.loads(document))
    except TimeoutError:
        return entities


@pytest.fixture(scope="module")
def run() -> Iterator[Run]:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as daemon:
        daemon.bind(("127.0.0.1", 0))
        environment = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "_X_AMZN", "POWERTOOLS_"))}
        environment |= {
            "PYTHONPATH": os.pathsep.join(str(ROOT / part) for part in ("layers/shared", "local", ".")),
            "POWERTOOLS_SERVICE_NAME": "mms-relay",
            "POWERTOOLS_TRACE_DISABLED": "true",
            # What Lambda gives a traced function: its task root, the trace header, the daemon's address
            "LAMBDA_TASK_ROOT": "/var/task",
            "AWS_LAMBDA_FUNCTION_NAME": "mms-relay-MediaLinkFunction",
            "_X_AMZN_TRACE_ID": f"Root={TRACE_ID};Parent=53995c3f42cd8ad8;Sampled=1",
            "AWS_XRAY_DAEMON_ADDRESS": f"127.0.0.1:{daemon.getsockname()[1]}",
            # Outside a traced invocation (at import) the SDK finds no segment: not an error here
            "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR",
            "MESSAGES_TABLE_NAME": "messages",
            "MEDIA_BUCKET_NAME": "media",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_EC2_METADATA_DISABLED": "true",
        }
        command = [sys.executable, "-c", CHILD]
        result = subprocess.run(
            command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60, check=False
        )
        assert result.returncode == 0, result.stderr[-3000:]
        outcome = json.loads(result.stdout.strip().splitlines()[-1])
        yield Run(outcome["off"], outcome["on"], received(daemon))


def test_a_handler_with_tracing_off_never_loads_the_xray_sdk(run: Run) -> None:
    assert run.off["answer"]["statusCode"] == 404
    assert (run.off["traced"], run.off["xray_sdk"]) == (False, False)


def test_a_handler_with_tracing_on_answers_and_records_its_subsegment(run: Run) -> None:
    # Given the media link handler imported with tracing on, in a traced invocation
    # When it answers a request, Then it answers as without tracing, through Powertools' Tracer
    assert run.on["answer"] == run.off["answer"]
    assert (run.on["traced"], run.on["xray_sdk"]) == (True, True)
    # And one subsegment reached the daemon, the traced handler's, in the invocation's trace, annotated
    (handler,) = run.entities
    assert handler["name"] == "## lambda_handler"
    assert handler["trace_id"] == TRACE_ID
    assert handler["type"] == "subsegment"
    assert handler["in_progress"] is False
    assert handler["annotations"] == {"ColdStart": True, "Service": "mms-relay"}
    # And the answer is not recorded: answers carry numbers, texts and presigned links
    assert "response" not in json.dumps(handler.get("metadata", {}))
