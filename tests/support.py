"""Helpers shared by the test tiers: the sample events, a metrics recorder, a handler's imports."""

from __future__ import annotations

import contextlib
import copy
import json
import os
import socketserver
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

from devstack.stack import SAMPLE_WEBHOOK_PASSWORD, SAMPLE_WEBHOOK_USERNAME
from tests.template import ROOT

EVENTS = ROOT / "events"
# The credentials the sample events carry (events/*.json); not a secret of any deployment.
EVENT_USERNAME = SAMPLE_WEBHOOK_USERNAME
EVENT_PASSWORD = SAMPLE_WEBHOOK_PASSWORD


def load_event(name: str) -> dict[str, Any]:
    """A fresh copy of ``events/<name>`` (the same files ``sam local invoke -e`` uses)."""
    document: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return copy.deepcopy(document)


class MetricsRecorder:
    """Stands in for Powertools ``Metrics``: counts what was added, by name."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def add_metric(self, name: str, unit: Any, value: float, resolution: Any = 60) -> None:
        self.counts[name] += int(value)


class LambdaContextStub:
    """What the handlers read of Lambda's context object."""

    function_name = "mms-relay-test"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:mms-relay-test"
    aws_request_id = "0f0e0d0c-0b0a-4990-8887-766554433221"

    def __init__(self, remaining_ms: int = 25_000) -> None:
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@contextlib.contextmanager
def serving(
    server: socketserver.BaseServer, stop_wait: float = 5.0, stopping: threading.Event | None = None
) -> Iterator[None]:
    """Serves ``server`` from a daemon thread for the block; then sets ``stopping`` (waking handlers
    that wait on it), stops and closes the server, and joins the thread (at most ``stop_wait`` s)."""
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield
    finally:
        if stopping is not None:
            stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=stop_wait)


def imported_by(function: str, then: str = "") -> set[str]:
    """The modules a fresh interpreter holds once it has imported ``functions/<function>/app.py`` as
    Lambda does (the function's folder, then the layer, on its path) and run ``then``, as a cold
    start sees them."""
    script = f"import json, sys\nimport app\n{then}\nprint(json.dumps(sorted(sys.modules)))"
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "functions" / function), str(ROOT / "layers" / "shared")]),
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_SERVICE_NAME": "mms-relay",
    }
    loaded = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120, env=environment
    )
    return set(json.loads(loaded.stdout))
