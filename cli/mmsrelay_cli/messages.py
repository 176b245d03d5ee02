"""``status`` and ``conversation``: what the query API answers, as readable tables.

The documents are the query API's (schemas/openapi.yaml: ``Message``, ``InboundTransaction``,
``OutboundTransaction``, ``Conversation``); this module lays them out, and says whether a
message's outcome is a success (delivered, or sent when no receipt was asked for) or a failure.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from mmsrelay.domain.phone import InvalidPhoneNumber, parse_number
from mmsrelay_cli.documents import items, mapping, mappings
from mmsrelay_cli.errors import Failed, NotFound, UsageError
from mmsrelay_cli.query_api import ConversationReader, MessageReader
from mmsrelay_cli.render import Output, block, table

Document = Mapping[str, Any]

# A recipient's delivery is over once it reaches one of these (the status model's ranks 4 to 6).
FINAL_DELIVERY = frozenset({"no_receipt", "delivered", "undelivered", "expired", "rejected", "failed", "read"})
DELIVERED = frozenset({"delivered", "read"})
MAX_CONVERSATION_PAGE = 100


def status(api: MessageReader, identifier: str, output: Output) -> None:
    """Prints the message or transaction; raises ``Failed`` when its outcome is a failure."""
    try:
        document = api.message(identifier)
    except NotFound:
        raise NotFound(f"no message or transaction {identifier}") from None
    output.emit(document, describe(document))
    problem = failure(document)
    if problem:
        raise Failed(problem)


def conversation(
    api: ConversationReader,
    number: str,
    country_code: str,
    limit: int,
    cursor: str | None,
    every_page: bool,
    output: Output,
) -> None:
    try:
        e164 = parse_number(number, country_code)
    except InvalidPhoneNumber as error:
        raise UsageError(f"number: {error}") from None
    pages = [api.conversation(e164, limit, cursor)]
    while every_page and pages[-1].get("nextCursor"):
        pages.append(api.conversation(e164, MAX_CONVERSATION_PAGE, pages[-1]["nextCursor"]))
    messages = [entry for page in pages for entry in mappings(page.get("messages"))]
    document = {"number": e164, "messages": messages, "nextCursor": pages[-1].get("nextCursor")}
    output.emit(document, describe_conversation(document))


def describe(document: Document) -> str:
    """A job (no ``transactionGUID`` of its own), an inbound message, or one outbound transaction."""
    if "transactionGUID" not in document:
        return describe_job(document)
    if document.get("direction") == "inbound":
        return describe_inbound(document)
    return describe_transaction(document)


def describe_job(document: Document) -> str:
    request = mapping(document.get("request"))
    error = mapping(document.get("lastError"))
    head = block(
        [
            ("message", f"{document.get('messageId')} (outbound job)"),
            ("status", _at(document.get("status"), document.get("statusAt"))),
            ("transport", _transport(document)),
            ("attempts", document.get("attempts")),
            ("last error", _error(error)),
            ("from", request.get("from")),
            ("to", ", ".join(str(number) for number in items(request.get("to"))) or None),
            ("text", request.get("text")),
            ("subject", request.get("subject")),
            ("media", ", ".join(_media_ref(item) for item in items(request.get("media"))) or None),
            ("receipts asked", request.get("deliveryReport", False)),
        ]
    )
    if document.get("validationErrors"):
        head += "\n\nthe job could not be read:\n" + "\n".join(f"  {e}" for e in document["validationErrors"])
    recipients = table(
        ["number", "send", "transaction guid", "delivery", "at", "code"],
        [
            [
                recipient.get("number"),
                recipient.get("status"),
                recipient.get("transactionGUID"),
                mapping(recipient.get("delivery")).get("status"),
                mapping(recipient.get("delivery")).get("statusAt"),
                recipient.get("code"),
            ]
            for recipient in mappings(document.get("recipients"))
        ],
    )
    return f"{head}\n\nrecipients\n{recipients}\n\nhistory\n{history(document.get('history'))}"


def describe_transaction(document: Document) -> str:
    head = block(
        [
            ("transaction", f"{document.get('transactionGUID')} ({document.get('direction') or 'receipt only'})"),
            ("message", document.get("messageId")),
            ("status", _at(document.get("status"), document.get("statusAt"))),
            ("from", document.get("from")),
            ("to", ", ".join(str(number) for number in items(document.get("recipients"))) or document.get("to")),
            ("transport", document.get("transport")),
            ("sent at", document.get("sentAt")),
        ]
    )
    return f"{head}\n\nhistory\n{history(document.get('history'))}"


def describe_inbound(document: Document) -> str:
    head = block(
        [
            ("transaction", f"{document.get('transactionGUID')} (inbound)"),
            ("status", _at(document.get("status"), document.get("statusAt"))),
            ("received at", document.get("receivedAt")),
            ("from", document.get("from")),
            ("to", document.get("to")),
            ("subject", document.get("subject")),
            ("text", document.get("text")),
            ("flags", ", ".join(document.get("flags") or []) or None),
        ]
    )
    media = table(
        ["#", "status", "type", "bytes", "link (expires in 5 min) or error"],
        [
            [
                item.get("index"),
                item.get("status"),
                item.get("contentType"),
                item.get("size"),
                item.get("url") or item.get("error"),
            ]
            for item in mappings(document.get("media"))
        ],
        width=2000,
    )
    return f"{head}\n\nmedia\n{media}"


def history(events: object) -> str:
    return table(
        ["status", "at", "state", "code", "source"],
        [
            [event.get("status"), event.get("at"), event.get("state"), event.get("code"), event.get("source")]
            for event in mappings(events)
        ],
    )


def describe_conversation(document: Document) -> str:
    rows = [
        [
            entry.get("at"),
            "in" if entry.get("direction") == "inbound" else "out",
            entry.get("from"),
            entry.get("to"),
            entry.get("status"),
            entry.get("transactionGUID"),
            entry.get("messageId") or entry.get("text"),
        ]
        for entry in mappings(document.get("messages"))
    ]
    listing = table(["at", "dir", "from", "to", "status", "transaction guid", "message id or text"], rows)
    more = f"\n\nmore: --cursor {document['nextCursor']}" if document.get("nextCursor") else ""
    return f"conversation of {document.get('number')}, newest first\n\n{listing}{more}"


def failure(document: Document) -> str | None:
    """What went wrong with a message, or None while it is fine (sent, on its way, delivered)."""
    if document.get("direction") == "inbound":
        return None
    if document.get("status") == "failed" and "transactionGUID" not in document:
        return f"the message failed: {_error(mapping(document.get('lastError'))) or 'see its history'}"
    recipients = mappings(document.get("recipients"))
    refused = [r for r in recipients if r.get("status") == "refused"]
    if refused:
        return f"the gateway refused {len(refused)} recipient(s)"
    if "transactionGUID" in document:
        deliveries = [document.get("status")]
    else:
        deliveries = [mapping(r.get("delivery")).get("status") for r in recipients]
    undelivered = sorted({s for s in deliveries if s in FINAL_DELIVERY and s not in DELIVERED})
    return f"not delivered: {', '.join(str(s) for s in undelivered)}" if undelivered else None


def _at(status: object, at: object) -> str | None:
    if status is None:
        return None
    return f"{status} at {at}" if at else str(status)


def _transport(document: Document) -> str | None:
    asked, used = document.get("transport"), document.get("sentOver")
    if used:
        return f"{asked or 'auto'}: sent over {used}"
    return str(asked) if asked else None


def _error(error: Document) -> str | None:
    if not error or not error.get("code"):
        return None
    return f"{error.get('code')}: {error.get('detail') or ''}".rstrip(": ")


def _media_ref(item: Any) -> str:
    if not isinstance(item, Mapping):
        return str(item)
    if item.get("url"):
        parts = urlsplit(str(item["url"]))
        return f"{parts.scheme}://{parts.netloc}{parts.path}"  # never a signed query string
    return str(item.get("s3") or item)
