"""Nothing stored from a refused request: the transaction GUIDs webhook requests carried, by outcome.

Every GUID-shaped value in a webhook request (its URL and body, in any field: ``transactionGUID``, a
receipt text's ``id:``, an MM4 report's ``X-Mms-Message-ID``) is noted with the request's outcome.
A GUID that only refused (4xx) requests carried must have no item in the messages table: the relay
keys each transaction ``TX#<GUID>`` (upper case), and an accepted receipt for an unknown GUID is
stored by design, so GUIDs that any accepted request carried are not checked.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote_to_bytes

import requests

GUID = re.compile(rb"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")
# How the relay keys a transaction (layers/shared/mmsrelay/storage/items.py); spelled here to check
# the table from outside, as an operator would.
TRANSACTION_PREFIX = "TX#"


def guids_in(request: requests.PreparedRequest) -> set[str]:
    """The GUID-shaped values in the request as sent (percent-decoded URL, raw body), upper case."""
    body = request.body or b""
    raw = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else bytes(body)
    found = GUID.findall(unquote_to_bytes(request.url or "")) + GUID.findall(raw) + GUID.findall(unquote_to_bytes(raw))
    return {value.decode("ascii").upper() for value in found}


class GuidLedger:
    """Which GUIDs refused requests carried, and which any other request carried (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._refused: set[str] = set()
        self._other: set[str] = set()

    def note(self, guids: Iterable[str], refused: bool) -> None:
        with self._lock:
            (self._refused if refused else self._other).update(guids)

    def only_refused(self) -> set[str]:
        """GUIDs no accepted request carried (nor one whose outcome is unknown)."""
        with self._lock:
            return self._refused - self._other


def stored_of(table: Any, table_name: str, guids: Iterable[str]) -> list[str]:
    """Those of ``guids`` that have any item in the table (one query per GUID, by partition key)."""
    stored = []
    for guid in sorted(guids):
        answer = table.query(
            TableName=table_name,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"{TRANSACTION_PREFIX}{guid}"}},
            Select="COUNT",
        )
        if answer["Count"]:
            stored.append(guid)
    return stored
