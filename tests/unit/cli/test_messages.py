"""``status`` and ``conversation``: the query API's documents laid out, and their outcome judged."""

from __future__ import annotations

import io

import pytest

from mmsrelay_cli.errors import Failed, NotFound, UsageError
from mmsrelay_cli.messages import conversation, describe, failure, status
from mmsrelay_cli.render import Output
from tests.unit.cli.fakes import FakeQueryApi, job_document

INBOUND = {
    "transactionGUID": "8B3C4D5E-6F7A-4B8C-9DAE-1F2A3B4C5D6E",
    "direction": "inbound",
    "from": "+13105551212",
    "to": "+12223334444",
    "text": "Here is the photo",
    "subject": None,
    "receivedAt": "2026-11-25T16:20:01.123Z",
    "status": "received",
    "statusAt": "2026-11-25T16:20:01.123Z",
    "flags": [],
    "segment": None,
    "media": [
        {"index": 0, "status": "stored", "contentType": "image/jpeg", "size": 2048, "url": "https://s3/x?sig=1"},
        {"index": 1, "status": "failed", "error": "http_404", "attempts": 1, "failedAt": "z"},
    ],
}


def test_a_job_shows_its_recipients_deliveries_and_history() -> None:
    text = describe(job_document("sent", ("delivered",)))
    assert "order-1 (outbound job)" in text
    assert "auto: sent over https" in text
    recipients = text.split("recipients\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert recipients[0].split() == ["NUMBER", "SEND", "TRANSACTION", "GUID", "DELIVERY", "AT", "CODE"]
    assert recipients[1].split()[:4] == ["+13105551210", "sent", "3F2504E0-4F89-41D3-9A0C-0305E82C3300", "delivered"]
    assert "history" in text
    assert "queued" in text


def test_an_inbound_message_shows_its_media_links_and_errors() -> None:
    text = describe(INBOUND)
    assert "(inbound)" in text
    assert "Here is the photo" in text
    assert "https://s3/x?sig=1" in text  # the link is whole: it is to be opened
    assert "http_404" in text


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        (job_document("sent", ("delivered",)), None),
        (job_document("sent", (None,)), None),
        (job_document("sent", ("delivered", "undelivered")), "not delivered: undelivered"),
        (job_document("failed"), "the message failed: E100002: invalid"),
        (INBOUND, None),
        ({"transactionGUID": "G", "direction": "outbound", "status": "expired"}, "not delivered: expired"),
    ],
)
def test_an_outcome_is_a_failure_only_when_the_message_failed_or_was_not_delivered(
    document: dict[str, object], problem: str | None
) -> None:
    assert failure(document) == problem


def test_status_exits_as_failed_for_an_undelivered_message_and_not_found_for_an_unknown_id() -> None:
    api = FakeQueryApi({"order-1": job_document("sent", ("rejected",))})
    with pytest.raises(Failed, match="not delivered: rejected"):
        status(api, "order-1", Output(False, io.StringIO()))
    with pytest.raises(NotFound, match="no message or transaction nope"):
        status(api, "nope", Output(False, io.StringIO()))


class FakeConversations:
    def __init__(self) -> None:
        self.asked: list[tuple[str, int, str | None]] = []

    def conversation(self, number: str, limit: int, cursor: str | None = None) -> dict[str, object]:
        self.asked.append((number, limit, cursor))
        entry = {"at": "t", "direction": "inbound", "from": number, "to": "+1", "status": "received", "text": "hi"}
        return {"number": number, "messages": [entry], "nextCursor": None if cursor else "next"}


def test_a_conversation_is_read_for_the_number_as_the_relay_parses_it() -> None:
    api = FakeConversations()
    stream = io.StringIO()
    conversation(api, "07700900123", "44", 20, None, True, Output(False, stream))
    assert api.asked == [("+447700900123", 20, None), ("+447700900123", 100, "next")]
    assert stream.getvalue().count(" in ") == 2  # both pages' messages
    with pytest.raises(UsageError, match="number: a local number: add its area code"):
        conversation(api, "5551212", "1", 20, None, False, Output(False, io.StringIO()))
