"""The query API over an in-memory store: routing, parameter checks, cursors, answer shapes."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mmsrelay.domain.records import ConversationPage, Delivery, InboundRecord, JobRecord, PageKey, TransactionRecord
from mmsrelay.query.api import QueryApi
from mmsrelay.query.cursor import encode_cursor
from mmsrelay.query.queries import MessageQueries
from mmsrelay.storage import records
from mmsrelay.storage.errors import StorageUnavailable
from mmsrelay.storage.items import number_partition
from mmsrelay.storage.reads import conversation_start_key
from tests.support import load_event

GUID = "7A2B3C4D-5E6F-4A7B-8C9D-0E1F2A3B4C5D"
HANDSET = "+13105551212"
TEXT = "meet me at the usual place"


Item = dict[str, Any]  # an item as the table holds it (plain values)


@dataclass
class FakeStore:
    """Answers like the table would (its items read back through storage's records); records every read."""

    messages: dict[str, Item] = field(default_factory=dict)
    transactions_by_guid: dict[str, Item] = field(default_factory=dict)
    conversations: dict[str, list[Item]] = field(default_factory=dict)
    calls: list[tuple[Any, ...]] = field(default_factory=list)
    page_cut: int | None = None  # DynamoDB's 1 MB page: stop after this many items, with a key
    failure: Exception | None = None

    def message(self, message_id: str) -> JobRecord | None:
        self._read("message", message_id)
        item = self.messages.get(message_id)
        return records.job_record(item) if item is not None else None

    def transaction(self, transaction_guid: str) -> InboundRecord | TransactionRecord | None:
        self._read("transaction", transaction_guid)
        item = self.transactions_by_guid.get(transaction_guid)
        return records.transaction_of(item) if item is not None else None

    def transactions(self, transaction_guids: Sequence[str]) -> dict[str, Delivery]:
        self._read("transactions", tuple(transaction_guids))
        return {
            guid: records.delivery(self.transactions_by_guid[guid])
            for guid in transaction_guids
            if guid in self.transactions_by_guid
        }

    def start_key(self, number: str, document: Mapping[str, object]) -> PageKey | None:
        return conversation_start_key(number, document)

    def conversation(self, number: str, limit: int, start: PageKey | None) -> ConversationPage:
        self._read("conversation", number, limit, start)
        items = sorted(self.conversations.get(number, []), key=lambda item: item["gsi1sk"], reverse=True)
        if start is not None:
            items = [item for item in items if item["gsi1sk"] < start["gsi1sk"]]
        page = items[: min(limit, self.page_cut or limit)]
        stopped = len(page) == limit or (self.page_cut is not None and len(items) > len(page))
        last = {name: page[-1][name] for name in ("pk", "sk", "gsi1pk", "gsi1sk")} if stopped and page else None
        return ConversationPage(
            tuple(records.conversation_entry(item) for item in page), records.page_key(last) if last else None
        )

    def _read(self, *call: Any) -> None:
        self.calls.append(call)
        if self.failure is not None:
            raise self.failure


class FakeLinks:
    expires_in = 300

    def presigned_get(self, key: str) -> str:
        return f"https://media.example/{key}?X-Amz-Expires=300&X-Amz-Signature=abc"


class Harness:
    def __init__(self, country_code: str = "1") -> None:
        self.store = FakeStore()
        self.api = QueryApi(MessageQueries(self.store, FakeLinks()), default_country_code=country_code)

    def get(self, event: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        answer = self.api.handle(event)
        return answer["statusCode"], json.loads(answer["body"]), answer["headers"]

    def message(self, identifier: str) -> tuple[int, Any]:
        event = load_event("query_message.json")
        event["pathParameters"] = {"id": identifier}
        status, body, _ = self.get(event)
        return status, body

    def conversation(self, number: str = "%2B13105551212", **query: str | list[str]) -> tuple[int, Any]:
        event = load_event("query_conversation.json")
        event["pathParameters"] = {"number": number}
        event["queryStringParameters"] = {name: v if isinstance(v, str) else v[-1] for name, v in query.items()}
        event["multiValueQueryStringParameters"] = {name: [v] if isinstance(v, str) else v for name, v in query.items()}
        status, body, _ = self.get(event)
        return status, body


@pytest.fixture
def harness() -> Harness:
    return Harness()


def outbound_message(message_id: str = "order-1234-shipped") -> dict[str, Any]:
    return {
        "pk": f"MSG#{message_id}",
        "sk": "MSG",
        "entity": "message",
        "direction": "outbound",
        "messageId": message_id,
        "request": json.dumps({"messageId": message_id, "to": ["+13105551212", "+13105551213"], "text": "hi"}),
        "transport": "auto",
        "sentOver": "mm4",
        "status": "sent",
        "statusAt": "2026-11-25T16:20:03.000Z",
        "createdAt": "2026-11-25T16:20:01.000Z",
        "sentAt": "2026-11-25T16:20:03.000Z",
        "attempts": 1,
        "history": [
            {"status": "queued", "at": "2026-11-25T16:20:01.000Z"},
            {"status": "sending", "at": "2026-11-25T16:20:02.000Z"},
            {"status": "sent", "at": "2026-11-25T16:20:03.000Z"},
        ],
        "recipients": [
            {"number": "+13105551212", "status": "sent", "transactionGuid": "AAAAAAAA-0000-4000-8000-000000000001"},
            {"number": "+13105551213", "status": "refused", "code": "E200001"},
        ],
    }


def inbound_transaction(guid: str = GUID) -> dict[str, Any]:
    return {
        "pk": f"TX#{guid}",
        "sk": "TX",
        "direction": "inbound",
        "transactionGuid": guid,
        "from": HANDSET,
        "to": "+12223334444",
        "text": TEXT,
        "subject": "Photo",
        "status": "received",
        "receivedAt": "2026-11-25T16:20:01.123Z",
        "statusAt": "2026-11-25T16:20:01.123Z",
        "flags": ["messageText:too_long"],
        "segment": {"reference": "17", "count": 2, "number": 1},
        "media": [
            {
                "index": 0,
                "sourceUrl": "https://mms.aerialink.net/media/1.jpg?token=secret",
                "status": "stored",
                "s3Key": f"inbound/2026/11/25/{guid}/0.jpg",
                "contentType": "image/jpeg",
                "size": 2048,
                "sha256": "ab" * 32,
                "storedAt": "2026-11-25T16:20:02.000Z",
            },
            {"index": 1, "sourceUrl": "https://mms.aerialink.net/media/2.png", "status": "pending"},
            {
                "index": 2,
                "sourceUrl": "https://mms.aerialink.net/media/3.gif",
                "status": "failed",
                "error": "too_large",
                "attempts": 3,
                "failedAt": "2026-11-25T16:30:00.000Z",
            },
        ],
        "raw": {"messageText": TEXT, "source": "13105551212", "password": "should-never-leave"},
        "gsi1pk": f"NUM#{HANDSET}",
        "gsi1sk": f"2026-11-25T16:20:01.123Z#TX#{guid}",
    }


def conversation_item(n: int, number: str = HANDSET) -> dict[str, Any]:
    guid = f"00000000-0000-4000-8000-{n:012d}"
    at = f"2026-11-25T16:{n // 60:02d}:{n % 60:02d}.000Z"
    inbound = n % 2 == 0
    item: dict[str, Any] = {
        "pk": f"TX#{guid}",
        "sk": "TX",
        "gsi1pk": number_partition(number),
        "gsi1sk": f"{at}#TX#{guid}",
        "transactionGuid": guid,
        "direction": "inbound" if inbound else "outbound",
        "from": number if inbound else "+12223334444",
        "to": "+12223334444" if inbound else number,
        "status": "received" if inbound else "delivered",
    }
    if inbound:
        item |= {"receivedAt": at, "text": f"message {n}"}
    else:
        item |= {"sentAt": at, "messageId": f"job-{n}"}
    return item


def cursor_of(document: object) -> str:
    text = json.dumps(document, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(text).rstrip(b"=").decode()


VALID_KEY = {
    "gsi1pk": f"NUM#{HANDSET}",
    "gsi1sk": f"2026-11-25T16:00:05.000Z#TX#{GUID}",
    "pk": f"TX#{GUID}",
    "sk": "TX",
}


# --- routing ------------------------------------------------------------------------------------


def test_an_unknown_route_is_a_404(harness: Harness) -> None:
    event = load_event("query_message.json")
    event["resource"] = "/messages"
    status, body, headers = harness.get(event)
    assert (status, body) == (404, {"error": "not_found"})
    assert headers["Content-Type"] == "application/json"
    assert harness.store.calls == []


def test_other_methods_are_a_405(harness: Harness) -> None:
    event = load_event("query_message.json")
    event["httpMethod"] = "DELETE"
    status, body, _ = harness.get(event)
    assert (status, body) == (405, {"error": "method_not_allowed"})
    assert harness.store.calls == []


# --- GET /messages/{id} -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "identifier",
    ["", "x" * 129, "a/b", "a b", "order#1", "caf\u00e9", "../MSG", "id%20", "a\nb", "TX#" + GUID],
)
def test_a_malformed_id_is_a_400_and_nothing_is_read(harness: Harness, identifier: str) -> None:
    assert harness.message(identifier) == (400, {"error": "invalid_id"})
    assert harness.store.calls == []


def test_a_missing_id_is_a_400(harness: Harness) -> None:
    event = load_event("query_message.json")
    event["pathParameters"] = None
    assert harness.get(event)[:2] == (400, {"error": "invalid_id"})


def test_an_unknown_id_is_a_404_after_both_lookups(harness: Harness) -> None:
    # Given an empty table, When an id of the longest allowed form is asked for
    identifier = "a.b_c:d-" + "e" * 120
    # Then the answer is 404, after the messageId and then the transaction were looked up
    assert harness.message(identifier) == (404, {"error": "not_found"})
    assert harness.store.calls == [("message", identifier), ("transaction", identifier)]


def test_an_outbound_message_answers_its_job_and_each_recipients_delivery(harness: Harness) -> None:
    # Given a job sent to two recipients, one refused, and the accepted one's delivery receipt
    harness.store.messages["order-1234-shipped"] = outbound_message()
    harness.store.transactions_by_guid["AAAAAAAA-0000-4000-8000-000000000001"] = {
        "pk": "TX#AAAAAAAA-0000-4000-8000-000000000001",
        "status": "delivered",
        "statusAt": "2026-11-25T16:21:00.000Z",
        "history": [
            {"status": "sent", "at": "2026-11-25T16:20:03.000Z"},
            {
                "status": "delivered",
                "at": "2026-11-25T16:21:00.000Z",
                "state": "DELIVRD",
                "source": "smpp_text",
                "detail": "Delivered to handset",
            },
        ],
    }
    # When the message is asked for by its messageId
    status, body = harness.message("order-1234-shipped")
    # Then the job comes back with its request parsed and each recipient's delivery
    assert status == 200
    assert body["messageId"] == "order-1234-shipped"
    assert body["direction"] == "outbound"
    assert (body["status"], body["transport"], body["sentOver"], body["attempts"]) == ("sent", "auto", "mm4", 1)
    assert body["request"]["to"] == ["+13105551212", "+13105551213"]
    assert [event["status"] for event in body["history"]] == ["queued", "sending", "sent"]
    assert body["lastError"] is None
    accepted, refused = body["recipients"]
    assert accepted["delivery"]["status"] == "delivered"
    assert accepted["delivery"]["history"][-1] == {
        "status": "delivered",
        "at": "2026-11-25T16:21:00.000Z",
        "state": "DELIVRD",
        "source": "smpp_text",
        "detail": "Delivered to handset",
    }
    assert refused == {
        "number": "+13105551213",
        "status": "refused",
        "transactionGUID": None,
        "code": "E200001",
        "delivery": None,
    }
    # And the deliveries were read in one batch, the message first
    assert harness.store.calls == [
        ("message", "order-1234-shipped"),
        ("transactions", ("AAAAAAAA-0000-4000-8000-000000000001",)),
    ]


def test_recipients_sharing_one_guid_are_read_once(harness: Harness) -> None:
    item = outbound_message()
    shared = "BBBBBBBB-0000-4000-8000-000000000002"
    item["recipients"] = [{"number": f"+1310555121{n}", "status": "sent", "transactionGuid": shared} for n in range(3)]
    harness.store.messages["group"] = item
    harness.store.transactions_by_guid[shared] = {"pk": f"TX#{shared}", "status": "sent", "history": []}
    status, body = harness.message("group")
    assert status == 200
    assert [recipient["delivery"]["status"] for recipient in body["recipients"]] == ["sent"] * 3
    assert harness.store.calls[-1] == ("transactions", (shared,))


def test_an_invalid_job_answers_what_was_wrong_never_its_body(harness: Harness) -> None:
    harness.store.messages["invalid-abc"] = {
        "pk": "MSG#invalid-abc",
        "sk": "MSG",
        "direction": "outbound",
        "messageId": "invalid-abc",
        "rawBody": '{"to": "+13105551212", "text": "private words"}',
        "validationErrors": ["from: field required"],
        "status": "failed",
        "lastError": {"code": "invalid_job", "at": "2026-11-25T16:20:01.000Z"},
        "createdAt": "2026-11-25T16:20:01.000Z",
    }
    status, body = harness.message("invalid-abc")
    assert status == 200
    assert body["validationErrors"] == ["from: field required"]
    assert body["lastError"] == {"code": "invalid_job", "detail": None, "at": "2026-11-25T16:20:01.000Z"}
    assert (body["request"], body["recipients"], body["attempts"]) == (None, [], 0)
    assert "private words" not in json.dumps(body)
    # And a job that was never sent costs no batch read
    assert harness.store.calls == [("message", "invalid-abc")]


def test_an_inbound_message_answers_its_media_as_presigned_links_never_its_raw_fields(harness: Harness) -> None:
    harness.store.transactions_by_guid[GUID] = inbound_transaction()
    # When it is asked for by its transactionGUID, in lower case
    status, body = harness.message(GUID.lower())
    assert status == 200
    assert body["direction"] == "inbound"
    assert (body["from"], body["text"], body["subject"]) == (HANDSET, TEXT, "Photo")
    assert body["flags"] == ["messageText:too_long"]
    assert body["segment"] == {"reference": "17", "count": 2, "number": 1}
    stored, pending, failed = body["media"]
    assert stored["url"].startswith(f"https://media.example/inbound/2026/11/25/{GUID}/0.jpg?")
    assert (stored["contentType"], stored["size"], stored["sha256"], stored["urlExpiresIn"]) == (
        "image/jpeg",
        2048,
        "ab" * 32,
        300,
    )
    assert pending == {"index": 1, "status": "pending"}
    assert failed == {
        "index": 2,
        "status": "failed",
        "error": "too_large",
        "attempts": 3,
        "failedAt": "2026-11-25T16:30:00.000Z",
    }
    answered = json.dumps(body)
    assert "raw" not in body
    assert "should-never-leave" not in answered
    assert "aerialink.net" not in answered  # the gateway's media URLs stay inside
    # And a GUID is looked up as a transaction first, in its canonical upper case
    assert harness.store.calls == [("transaction", GUID)]


def test_a_guid_shaped_message_id_is_found_after_the_transaction_lookups(harness: Harness) -> None:
    identifier = "6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f"
    harness.store.messages[identifier] = outbound_message(identifier) | {"recipients": []}
    status, body = harness.message(identifier)
    assert (status, body["messageId"]) == (200, identifier)
    assert harness.store.calls == [
        ("transaction", identifier.upper()),
        ("transaction", identifier),
        ("message", identifier),
    ]


def test_an_outbound_transaction_answers_its_status_and_history(harness: Harness) -> None:
    harness.store.transactions_by_guid[GUID] = {
        "pk": f"TX#{GUID}",
        "direction": "outbound",
        "transactionGuid": GUID,
        "messageId": "order-1234-shipped",
        "from": "+12223334444",
        "to": HANDSET,
        "recipients": [HANDSET],
        "transport": "https",
        "sentAt": "2026-11-25T16:20:03.000Z",
        "status": "delivered",
        "statusRank": 5,
        "statusAt": "2026-11-25T16:21:00.000Z",
        "history": [{"status": "sent", "at": "2026-11-25T16:20:03.000Z"}],
        "gsi1pk": f"NUM#{HANDSET}",
    }
    status, body = harness.message(GUID)
    assert status == 200
    assert body == {
        "transactionGUID": GUID,
        "direction": "outbound",
        "messageId": "order-1234-shipped",
        "from": "+12223334444",
        "to": HANDSET,
        "recipients": [HANDSET],
        "transport": "https",
        "sentAt": "2026-11-25T16:20:03.000Z",
        "status": "delivered",
        "statusRank": 5,
        "statusAt": "2026-11-25T16:21:00.000Z",
        "history": [{"status": "sent", "at": "2026-11-25T16:20:03.000Z"}],
    }


def test_a_receipt_that_came_before_the_send_is_answered_with_no_direction(harness: Harness) -> None:
    harness.store.transactions_by_guid[GUID] = {
        "pk": f"TX#{GUID}",
        "transactionGuid": GUID,
        "status": "delivered",
        "statusRank": 5,
        "statusAt": "2026-11-25T16:21:00.000Z",
        "history": [{"status": "delivered", "at": "2026-11-25T16:21:00.000Z", "code": "000"}],
    }
    status, body = harness.message(GUID)
    assert status == 200
    assert (body["direction"], body["messageId"], body["status"], body["statusRank"]) == (None, None, "delivered", 5)
    assert body["history"] == [{"status": "delivered", "at": "2026-11-25T16:21:00.000Z", "code": "000"}]


def test_a_throttled_table_is_a_503_to_retry(harness: Harness) -> None:
    harness.store.failure = StorageUnavailable("ThrottlingException")
    event = load_event("query_message.json")
    status, body, headers = harness.get(event)
    assert (status, body) == (503, {"error": "temporarily_unavailable"})
    assert headers["Retry-After"] == "30"


def test_an_unexpected_failure_is_a_bare_500(harness: Harness) -> None:
    harness.store.failure = RuntimeError("table name and internals")
    status, body, _ = harness.get(load_event("query_transaction.json"))
    assert (status, body) == (500, {"error": "internal_error"})


# --- GET /numbers/{number}/messages -------------------------------------------------------------


@pytest.mark.parametrize("number", ["%2B13105551212", "+13105551212", "13105551212", "3105551212", "(310) 555-1212"])
def test_the_number_is_read_as_e164(harness: Harness, number: str) -> None:
    status, body = harness.conversation(number)
    assert (status, body) == (200, {"number": HANDSET, "messages": [], "nextCursor": None})
    assert harness.store.calls == [("conversation", HANDSET, 21, None)]


def test_a_short_code_is_kept_as_its_digits(harness: Harness) -> None:
    assert harness.conversation("72345")[1]["number"] == "72345"


def test_a_national_number_with_a_trunk_prefix_is_read_in_the_default_country() -> None:
    # Given a query API whose default country code is 44
    harness = Harness(country_code="44")
    # When a UK number is asked for as it is dialled at home (trunk prefix 0)
    status, body = harness.conversation("07700900123")
    # Then it is the number's E.164 conversation that is read
    assert (status, body["number"]) == (200, "+447700900123")


@pytest.mark.parametrize("number", ["5551212", "1234", "310555121", "%2B999123456789"])
def test_an_impossible_number_is_a_400(harness: Harness, number: str) -> None:
    assert harness.conversation(number) == (400, {"error": "invalid_number"})
    assert harness.store.calls == []


@pytest.mark.parametrize("number", ["", "abc", "%2Babc", "12", "+1" + "2" * 20, "1" * 65, "%"])
def test_what_is_not_a_number_is_a_400(harness: Harness, number: str) -> None:
    assert harness.conversation(number) == (400, {"error": "invalid_number"})
    assert harness.store.calls == []


@pytest.mark.parametrize(("limit", "asked"), [("1", 2), ("20", 21), ("100", 101), ("007", 8)])
def test_a_limit_within_bounds_is_read_with_one_more_item(harness: Harness, limit: str, asked: int) -> None:
    assert harness.conversation(limit=limit)[0] == 200
    assert harness.store.calls == [("conversation", HANDSET, asked, None)]


@pytest.mark.parametrize("limit", ["0", "101", "1000", "-1", "1.5", "", " 5", "ten", "1e2", ["5", "6"]])
def test_a_limit_out_of_bounds_is_a_400(harness: Harness, limit: str | list[str]) -> None:
    assert harness.conversation(limit=limit) == (400, {"error": "invalid_limit"})
    assert harness.store.calls == []


@given(st.integers())
@settings(max_examples=60)
def test_only_limits_from_1_to_100_are_accepted(limit: int) -> None:
    harness = Harness()
    status, _ = harness.conversation(limit=str(limit))
    assert status == (200 if 1 <= limit <= 100 else 400)


def test_a_conversation_is_answered_newest_first_with_what_each_entry_needs(harness: Harness) -> None:
    harness.store.conversations[HANDSET] = [conversation_item(n) for n in range(4)]
    status, body = harness.conversation(limit="10")
    assert status == 200
    assert [entry["transactionGUID"][-2:] for entry in body["messages"]] == ["03", "02", "01", "00"]
    outbound, inbound = body["messages"][:2]
    assert outbound == {
        "transactionGUID": "00000000-0000-4000-8000-000000000003",
        "direction": "outbound",
        "from": "+12223334444",
        "to": HANDSET,
        "at": "2026-11-25T16:00:03.000Z",
        "status": "delivered",
        "messageId": "job-3",
        "text": None,
    }
    assert (inbound["text"], inbound["at"], inbound["messageId"]) == ("message 2", "2026-11-25T16:00:02.000Z", None)
    # And four items under a limit of ten: no next page
    assert body["nextCursor"] is None


def test_pages_follow_each_other_and_the_last_full_page_has_no_cursor(harness: Harness) -> None:
    # Given exactly two pages' worth of messages
    harness.store.conversations[HANDSET] = [conversation_item(n) for n in range(10)]
    first = harness.conversation(limit="5")[1]
    second = harness.conversation(limit="5", cursor=first["nextCursor"])[1]
    # Then the second page continues the first and, being the last, offers no cursor
    guids = [entry["transactionGUID"] for entry in first["messages"] + second["messages"]]
    assert guids == [conversation_item(n)["transactionGuid"] for n in range(9, -1, -1)]
    assert second["nextCursor"] is None
    # And the second read started after the first page's last item
    assert harness.store.calls[1][3]["pk"] == conversation_item(5)["pk"]


def test_a_page_cut_short_by_the_table_still_offers_the_rest(harness: Harness) -> None:
    # Given a table that stops a page early (DynamoDB's 1 MB limit) with its last key
    harness.store.conversations[HANDSET] = [conversation_item(n) for n in range(6)]
    harness.store.page_cut = 2
    status, body = harness.conversation(limit="5")
    assert (status, len(body["messages"])) == (200, 2)
    assert body["nextCursor"] is not None
    rest = harness.conversation(limit="5", cursor=body["nextCursor"])[1]
    assert [entry["transactionGUID"][-2:] for entry in rest["messages"]] == ["03", "02"]


TAMPERED_CURSORS = {
    "another number's": cursor_of(VALID_KEY | {"gsi1pk": "NUM#+13105559999"}),
    "the table's own index key": cursor_of(VALID_KEY | {"gsi1pk": "DUE#2026-11-25"}),
    "an extra attribute": cursor_of(VALID_KEY | {"extra": "x"}),
    "a missing attribute": cursor_of({name: value for name, value in VALID_KEY.items() if name != "sk"}),
    "a typed attribute value": cursor_of(VALID_KEY | {"pk": {"S": f"TX#{GUID}"}}),
    "a number for a string": cursor_of(VALID_KEY | {"sk": 1}),
    "an empty value": cursor_of(VALID_KEY | {"sk": ""}),
    "a huge value": cursor_of(VALID_KEY | {"sk": "x" * 600}),
    "a sort key of another item": cursor_of(VALID_KEY | {"gsi1sk": "2026-11-25T16:00:05.000Z#TX#OTHER"}),
    "a list": cursor_of([VALID_KEY]),
    "null": cursor_of(None),
    "not JSON": base64.urlsafe_b64encode(b"pk=TX#1&sk=TX").rstrip(b"=").decode(),
    "not UTF-8": base64.urlsafe_b64encode(b"\xff\xfe{}").rstrip(b"=").decode(),
    "padding": cursor_of(VALID_KEY) + "==",
    "standard base64": base64.b64encode(json.dumps(VALID_KEY).encode() + b"\xfb\xff").decode().rstrip("="),
    "not base64": "!!!!",
    "one character too many": cursor_of(VALID_KEY) + "A",
    "too long": "A" * 1028,
    "empty": "",
    "deep nesting": base64.urlsafe_b64encode(b"[" * 700 + b"]" * 700).rstrip(b"=").decode(),
    "a repeated name": base64.urlsafe_b64encode(b'{"gsi1pk":"NUM#+13105559999",' + json.dumps(VALID_KEY).encode()[1:])
    .rstrip(b"=")
    .decode(),
}


@pytest.mark.parametrize("cursor", TAMPERED_CURSORS.values(), ids=TAMPERED_CURSORS.keys())
def test_a_tampered_cursor_is_a_400_and_nothing_is_read(harness: Harness, cursor: str) -> None:
    assert harness.conversation(cursor=cursor) == (400, {"error": "invalid_cursor"})
    assert harness.store.calls == []


def test_a_non_canonical_spelling_of_a_valid_cursor_is_refused(harness: Harness) -> None:
    # Given a valid cursor whose last character carries unused bits (its JSON is not a multiple
    # of 3 bytes long): set one of them
    key = next(
        candidate
        for candidate in (
            VALID_KEY | {"pk": f"TX#{GUID}{'A' * n}", "gsi1sk": f"t#TX#{GUID}{'A' * n}"} for n in range(3)
        )
        if len(json.dumps(candidate, separators=(",", ":"))) % 3
    )
    valid = encode_cursor(key)
    assert harness.conversation(cursor=valid)[0] == 200
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    other = alphabet[alphabet.index(valid[-1]) + 1]
    # Then the same bytes spelled otherwise are refused
    assert harness.conversation(cursor=valid[:-1] + other) == (400, {"error": "invalid_cursor"})


def test_two_cursors_are_a_400(harness: Harness) -> None:
    cursor = encode_cursor(VALID_KEY)
    assert harness.conversation(cursor=[cursor, cursor]) == (400, {"error": "invalid_cursor"})


@given(st.text(max_size=300))
@settings(max_examples=200)
def test_any_made_up_cursor_is_a_400_never_a_5xx(cursor: str) -> None:
    harness = Harness()
    status, body = harness.conversation(cursor=cursor)
    assert status == 400
    assert body == {"error": "invalid_cursor"}


def test_a_valid_cursor_starts_the_read_at_its_key(harness: Harness) -> None:
    assert harness.conversation(cursor=encode_cursor(VALID_KEY), limit="3")[0] == 200
    assert harness.store.calls == [("conversation", HANDSET, 4, VALID_KEY)]


def test_logs_show_neither_the_number_nor_the_text(harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    harness.store.conversations[HANDSET] = [conversation_item(n) for n in range(2)]
    harness.store.transactions_by_guid[GUID] = inbound_transaction()
    with caplog.at_level(logging.INFO, logger="mmsrelay"):
        assert harness.conversation()[0] == 200
        assert harness.message(GUID)[0] == 200
    logged = " ".join(str(record.__dict__) for record in caplog.records)
    assert "***1212" in logged
    assert "assumed-role/mms-relay-operator" in logged  # who read
    for secret in ("3105551212", TEXT, "message 0", "should-never-leave"):
        assert secret not in logged
