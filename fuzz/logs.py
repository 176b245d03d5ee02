"""Unhandled exceptions in the deployed functions' logs (CloudWatch Logs, as the emulator keeps them).

A line counts when it holds a Python traceback, when it is a structured (Powertools) line at level
ERROR or CRITICAL with an ``exception`` (what ``logger.exception`` writes: the HTTP border's
"unexpected error", an SQS record that failed unexpectedly), or when it is the Lambda runtime's
report of an error the handler did not catch (``errorType``). Errors the relay expects are logged
without a traceback (a media host that failed, a refused send) and do not count.
"""

from __future__ import annotations

import json
from typing import Any

FUNCTION_LOG_GROUPS = "/aws/lambda/"
TRACEBACK = "Traceback (most recent call last)"
LINE_LIMIT = 2000  # characters of a counted line kept for the report
TRACEBACK_LINES = 4  # of a structured line's traceback: where it was raised, and what


def is_unhandled_exception(message: str) -> bool:
    if TRACEBACK in message or '"errorType"' in message:
        return True
    try:
        document = json.loads(message)
    except ValueError:
        return False
    return (
        isinstance(document, dict)
        and str(document.get("level", "")).upper() in {"ERROR", "CRITICAL"}
        and bool(document.get("exception"))
    )


def unhandled_exceptions(logs: Any, since_ms: int) -> list[str]:
    """Every counted line logged since ``since_ms`` (epoch milliseconds), as ``<log group>: <line>``."""
    found = []
    groups = logs.get_paginator("describe_log_groups").paginate(logGroupNamePrefix=FUNCTION_LOG_GROUPS)
    for page in groups:
        for group in page["logGroups"]:
            name = group["logGroupName"]
            for message in _messages(logs, name, since_ms):
                if is_unhandled_exception(message):
                    found.append(f"{name}: {_summary(message)}")
    return found


def _summary(message: str) -> str:
    """A structured line as its message, request id and the traceback's last lines; others cut short."""
    try:
        document = json.loads(message)
    except ValueError:
        return message.rstrip()[:LINE_LIMIT]
    if not isinstance(document, dict) or not document.get("exception"):
        return message.rstrip()[:LINE_LIMIT]
    tail = "\n".join(str(document["exception"]).rstrip().splitlines()[-TRACEBACK_LINES:])
    return f"{document.get('message')} (request {document.get('function_request_id')}):\n{tail}"[:LINE_LIMIT]


def _messages(logs: Any, group: str, since_ms: int) -> list[str]:
    messages: list[str] = []
    token = None
    while True:
        arguments: dict[str, Any] = {"logGroupName": group, "startTime": since_ms}
        if token:
            arguments["nextToken"] = token
        page = logs.filter_log_events(**arguments)
        messages.extend(str(event.get("message", "")) for event in page["events"])
        token = page.get("nextToken")
        if not token or not page["events"]:
            return messages
