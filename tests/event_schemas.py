"""schemas/events/*.json: the JSON Schema of each event the relay publishes, by detail-type."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

from tests.template import ROOT

SCHEMAS = ROOT / "schemas" / "events"
FILES = {
    "MMS Received": "mms-received.json",
    "MMS Sent": "mms-sent.json",
    "MMS Send Failed": "mms-send-failed.json",
    "MMS Status Changed": "mms-status-changed.json",
}


@cache
def validator(detail_type: str) -> Draft202012Validator:
    schema = json.loads((SCHEMAS / FILES[detail_type]).read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=FormatChecker())


def check_event(event: dict[str, Any]) -> None:
    """Raises jsonschema's ValidationError unless ``event`` (as a rule's target gets it) matches its schema."""
    validator(str(event["detail-type"])).validate(event)
