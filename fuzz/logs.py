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
# The lines are searched for by term (server-side, as CloudWatch Logs' filter patterns do), then each
# is read whole: a traceback's first line, the runtime's error report, a structured exception.
# One query per term: the emulator knows no "?a ?b" (or) in a pattern. It also answers at most
# 10,000 events per call, without a nextToken: after a full page the search goes on from its last
# moment (duplicates are dropped).
SEARCH_TERMS = ("Traceback", "errorType", "exception_name")
PAGE_CAP = 10_000
MAX_QUERIES = 100  # per term and group
TRACEBACK = "Traceback (most recent call last)"
LINE_LIMIT = 2000  # characters of a counted line kept for the report
TRACEBACK_LINES = 4  # of a structured line's traceback: where it was raised, and what


class IncompleteLogScan(RuntimeError):
    """A log group could not be read to its end."""


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
            try:
                messages = _messages(logs, name, since_ms)
            except IncompleteLogScan as error:
                found.append(f"could not read every line: {error}")
                continue
            found.extend(f"{name}: {_summary(message)}" for message in messages if is_unhandled_exception(message))
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
    """The group's lines since ``since_ms`` that hold any of SEARCH_TERMS, each once."""
    found: dict[tuple[str, int, str], str] = {}
    for term in SEARCH_TERMS:
        start, token = since_ms, None
        for _ in range(MAX_QUERIES):
            arguments: dict[str, Any] = {"logGroupName": group, "startTime": start, "filterPattern": term}
            if token:
                arguments["nextToken"] = token
            page = logs.filter_log_events(**arguments)
            events = page["events"]
            for event in events:
                message = str(event.get("message", ""))
                found[(str(event.get("logStreamName", "")), int(event.get("timestamp", 0)), message)] = message
            token = page.get("nextToken")
            if token:
                continue
            if len(events) < PAGE_CAP:
                break
            start = max(int(event.get("timestamp", 0)) for event in events)  # a full page: on from its end
        else:
            raise IncompleteLogScan(f"{group}: more than {MAX_QUERIES} pages of lines holding {term!r}")
    return list(found.values())
