"""Stand-ins for the command line's tests: the query API as a table of documents."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mmsrelay_cli.errors import NotFound


class FakeQueryApi:
    """Answers ``message(id)`` from ``documents``, or in turn from ``sequence`` (one per call)."""

    def __init__(self, documents: Mapping[str, Any] | None = None, sequence: list[Any] | None = None) -> None:
        self.documents = dict(documents or {})
        self.sequence = list(sequence or [])
        self.asked: list[str] = []

    def message(self, identifier: str) -> dict[str, Any]:
        self.asked.append(identifier)
        if self.sequence:
            document = self.sequence.pop(0) if len(self.sequence) > 1 else self.sequence[0]
        else:
            document = self.documents.get(identifier)
        if document is None:
            raise NotFound("not found")
        return dict(document)


def job_document(status: str = "sent", deliveries: tuple[str | None, ...] = ("delivered",)) -> dict[str, Any]:
    """A job as the query API answers it (schemas/openapi.yaml, Message)."""
    return {
        "messageId": "order-1",
        "direction": "outbound",
        "status": status,
        "statusAt": "2026-11-25T16:25:00.612Z",
        "transport": "auto",
        "sentOver": "https" if status == "sent" else None,
        "createdAt": "2026-11-25T16:24:59.000Z",
        "sentAt": "2026-11-25T16:25:00.612Z" if status == "sent" else None,
        "attempts": 1,
        "lastError": None if status != "failed" else {"code": "E100002", "detail": "invalid", "at": "x"},
        "history": [{"status": "queued", "at": "2026-11-25T16:24:59.000Z"}, {"status": status, "at": "x"}],
        "request": {"from": "12223334444", "to": ["+13105551212"], "text": "hi", "deliveryReport": True},
        "recipients": [
            {
                "number": f"+1310555121{n}",
                "status": "sent",
                "transactionGUID": f"3F2504E0-4F89-41D3-9A0C-0305E82C330{n}",
                "code": None,
                "delivery": None if delivery is None else {"status": delivery, "statusAt": "y", "history": []},
            }
            for n, delivery in enumerate(deliveries)
        ]
        if status == "sent"
        else [],
    }
