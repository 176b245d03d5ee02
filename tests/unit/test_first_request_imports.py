"""The webhook handlers import only what their first request uses (their cold start is a target:
bench/README.md): no module of another function's use case, no pydantic (the outbound job's
contract; no function imports it: tests/unit/outbound/test_job_imports.py), none of the heavy
libraries the outbound function needs (requests, Powertools' idempotency, batch processor and
parameters), nor the X-Ray SDK with tracing off."""

from __future__ import annotations

import pytest

from tests.support import imported_by

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
