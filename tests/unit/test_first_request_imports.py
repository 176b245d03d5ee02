"""The webhook handlers import only what their first request uses (their cold start is a target:
bench/README.md): no module of another function's use case, and none of the heavy libraries the
outbound function needs (pydantic, requests, Powertools' idempotency, batch processor and
parameters), nor the X-Ray SDK with tracing off."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = (
    "pydantic",
    "requests",
    "aws_xray_sdk",
    "phonenumbers",
    "aws_lambda_powertools.utilities.idempotency",
    "aws_lambda_powertools.utilities.batch",
    "aws_lambda_powertools.event_handler",
    "aws_lambda_powertools.utilities.parameters",  # every provider, for one secret (webhooks/credentials.py)
)
# Modules of the same wiring module's other functions (the sweep, the mailed MM4 reports).
OTHER_FUNCTIONS = ("mmsrelay.receipts.sweep", "mmsrelay.receipts.mailed", "mmsrelay.storage.report_objects")


def imported_by(function: str) -> set[str]:
    script = "import json, sys; import app; print(json.dumps(sorted(sys.modules)))"
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


@pytest.mark.parametrize("function", ["inbound", "receipts", "media_link", "query"])
def test_a_webhook_handler_imports_no_heavy_library(function: str) -> None:
    # Given a fresh interpreter, When the handler module is imported as Lambda imports it
    modules = imported_by(function)
    # Then none of the libraries only the outbound function needs was imported
    assert sorted(modules & set(HEAVY)) == []


def test_the_receipt_handler_imports_no_module_of_the_sweep_or_the_mailed_reports() -> None:
    # Given a fresh interpreter, When the receipt webhook's handler module is imported
    modules = imported_by("receipts")
    # Then the wiring module's other builders left their use cases and adapters unimported
    assert sorted(modules & set(OTHER_FUNCTIONS)) == []
