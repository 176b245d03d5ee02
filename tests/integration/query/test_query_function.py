"""The query handler as Lambda runs it, on moto: the sample events, the items as the relay writes them.

The inbound message is written by the inbound repository itself; outbound items are put in the
layout ``mmsrelay.storage.outbound`` writes. Answers are checked as the caller would read them,
presigned media links included (fetched from moto's S3).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
import requests

from functions.query import app as query_app
from mmsrelay import aws as clients
from mmsrelay.domain.inbound import Attachment, InboundMessage
from mmsrelay.domain.media import StoredMedia
from mmsrelay.storage.errors import StorageUnavailable
from mmsrelay.storage.messages import MessageRepository
from mmsrelay.storage.reads import DynamoMessageStore
from mmsrelay.wiring import query as wiring
from tests.integration.conftest import REGION, TABLE, cold_function, create_messages_table
from tests.support import LambdaContextStub, load_event

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

BUCKET = "media"
MESSAGE_ID = "order-1234-shipped"  # events/query_message.json
INBOUND_GUID = "7A2B3C4D-5E6F-4A7B-8C9D-0E1F2A3B4C5D"  # events/query_transaction.json
HANDSET = "+13105551212"  # events/query_conversation.json
OTHER_HANDSET = "+13105559999"
RELAY_NUMBER = "+12223334444"
RECIPIENTS = {
    "+13105551212": ("AAAAAAAA-0000-4000-8000-000000000001", "delivered"),
    "+13105551213": ("AAAAAAAA-0000-4000-8000-000000000002", "undelivered"),
    "+13105551214": ("AAAAAAAA-0000-4000-8000-000000000003", "enroute"),
}
T0 = datetime(2026, 11, 25, 16, 0, tzinfo=UTC)


@pytest.fixture
def deployed(aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """The table and bucket on moto, and the environment the template gives the query function."""
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    create_messages_table(dynamodb)
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=BUCKET)
    environment = {
        "POWERTOOLS_SERVICE_NAME": "mms-relay",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "MESSAGES_TABLE_NAME": TABLE,
        "MEDIA_BUCKET_NAME": BUCKET,
        "DEFAULT_COUNTRY_CODE": "1",
    }
    with cold_function(monkeypatch, environment, wiring.query_api):
        yield {"dynamodb": dynamodb, "s3": s3}


def invoke(event: dict[str, Any]) -> tuple[int, Any]:
    answer = query_app.lambda_handler(event, LambdaContextStub())  # type: ignore[arg-type]
    assert answer["headers"]["Content-Type"] == "application/json"
    return answer["statusCode"], json.loads(answer["body"])


def message_event(identifier: str) -> dict[str, Any]:
    event = load_event("query_message.json")
    event["pathParameters"] = {"id": identifier}
    return event


def conversation_event(number: str, limit: str = "10", cursor: str | None = None) -> dict[str, Any]:
    event = load_event("query_conversation.json")
    event["pathParameters"] = {"number": number}
    query = {"limit": limit} | ({"cursor": cursor} if cursor is not None else {})
    event["queryStringParameters"] = query
    event["multiValueQueryStringParameters"] = {name: [value] for name, value in query.items()}
    return event


def count_dynamodb_calls() -> Counter[str]:
    calls: Counter[str] = Counter()
    clients.dynamodb_client().meta.events.register(
        "before-call.dynamodb.*", lambda model, **_: calls.update([model.name])
    )
    return calls


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def s(value: str) -> dict[str, str]:
    return {"S": value}


def history(*events: tuple[str, datetime]) -> dict[str, Any]:
    return {"L": [{"M": {"status": s(status), "at": s(iso(at))}} for status, at in events]}


def put_outbound_message(dynamodb: DynamoDBClient) -> None:
    """A job sent over MM4 to three recipients, and each recipient's TX# item after its receipts."""
    sent = T0 + timedelta(seconds=3)
    request = {"messageId": MESSAGE_ID, "from": "12223334444", "to": list(RECIPIENTS), "text": "Your order shipped"}
    dynamodb.put_item(
        TableName=TABLE,
        Item={
            "pk": s(f"MSG#{MESSAGE_ID}"),
            "sk": s("MSG"),
            "entity": s("message"),
            "direction": s("outbound"),
            "messageId": s(MESSAGE_ID),
            "request": s(json.dumps(request, separators=(",", ":"), sort_keys=True)),
            "transport": s("auto"),
            "sentOver": s("mm4"),
            "status": s("sent"),
            "statusAt": s(iso(sent)),
            "createdAt": s(iso(T0)),
            "sentAt": s(iso(sent)),
            "attempts": {"N": "2"},
            "history": history(("queued", T0), ("queued", T0), ("sending", T0), ("sent", sent)),
            "recipients": {
                "L": [
                    {"M": {"number": s(number), "status": s("sent"), "transactionGuid": s(guid)}}
                    for number, (guid, _) in RECIPIENTS.items()
                ]
            },
            "expiresAt": {"N": "1800000000"},
        },
    )
    for n, (number, (guid, status)) in enumerate(RECIPIENTS.items()):
        receipt = T0 + timedelta(minutes=1 + n)
        dynamodb.put_item(
            TableName=TABLE,
            Item={
                "pk": s(f"TX#{guid}"),
                "sk": s("TX"),
                "entity": s("transaction"),
                "direction": s("outbound"),
                "transactionGuid": s(guid),
                "messageId": s(MESSAGE_ID),
                "from": s(RELAY_NUMBER),
                "to": s(number),
                "recipients": {"L": [s(number)]},
                "transport": s("mm4"),
                "sentAt": s(iso(sent)),
                "status": s(status),
                "statusRank": {"N": "5" if status != "enroute" else "3"},
                "statusAt": s(iso(receipt)),
                "history": history(("sent", sent), (status, receipt)),
                "gsi1pk": s(f"NUM#{number}"),
                "gsi1sk": s(f"{iso(sent)}#TX#{guid}"),
            },
        )


def put_conversation(dynamodb: DynamoDBClient, number: str, count: int, start: datetime = T0) -> list[str]:
    """``count`` messages with ``number``, alternately in and out, a minute apart: their GUIDs, oldest first."""
    guids = []
    for n in range(count):
        at = iso(start + timedelta(minutes=n))
        guid = f"{n:08X}-1111-4000-8000-{number.lstrip('+').zfill(12)[-12:]}"
        pk = f"TX#{guid}"
        common: dict[str, Any] = {
            "pk": s(pk),
            "sk": s("TX"),
            "entity": s("transaction"),
            "transactionGuid": s(guid),
            "gsi1pk": s(f"NUM#{number}"),
            "gsi1sk": s(f"{at}#{pk}"),
        }
        item: dict[str, Any]
        if n % 2 == 0:
            item = common | {
                "direction": s("inbound"),
                "from": s(number),
                "to": s(RELAY_NUMBER),
                "text": s(f"handset words {n}"),
                "status": s("received"),
                "receivedAt": s(at),
                "statusAt": s(at),
                "media": {"L": []},
                "raw": {"M": {"messageText": s(f"handset words {n}")}},
            }
        else:
            item = common | {
                "direction": s("outbound"),
                "messageId": s(f"job-{n}"),
                "from": s(RELAY_NUMBER),
                "to": s(number),
                "transport": s("https"),
                "sentAt": s(at),
                "status": s("delivered"),
                "statusRank": {"N": "5"},
                "statusAt": s(at),
                "history": history(("sent", start)),
            }
        dynamodb.put_item(TableName=TABLE, Item=item)
        guids.append(guid)
    return guids


def store_inbound_with_media(deployed: dict[str, Any]) -> list[bytes]:
    """The inbound message of events/inbound_get.json with three attachments: stored, stored, failed."""
    repository = MessageRepository(deployed["dynamodb"], TABLE, timedelta(days=30))
    message = InboundMessage(
        transaction_guid=INBOUND_GUID,
        connection_guid="0B1C2D3E-4F5A-4B6C-9D8E-7F6A5B4C3D2E",
        sender=HANDSET,
        recipient=RELAY_NUMBER,
        text="Here is the photo from today",
        subject="Photo",
        attachments=tuple(
            Attachment(index, f"https://mms.aerialink.net/media/6F1C2D3E/{index}.jpg?sig=gateway-secret")
            for index in range(3)
        ),
        segment=None,
        flags=(),
        raw={"messageText": "Here is the photo from today", "source": "13105551212"},
        received_at=T0,
    )
    repository.add_inbound(message)
    bodies = [b"\xff\xd8\xff photo one", b"\x89PNG photo two"]
    for index, (body, content_type) in enumerate(zip(bodies, ("image/jpeg", "image/png"), strict=True)):
        key = f"inbound/2026/11/25/{INBOUND_GUID}/{index}.{content_type.split('/')[1]}"
        deployed["s3"].put_object(Bucket=BUCKET, Key=key, Body=body, ContentType=content_type)
        stored = StoredMedia(key, content_type, len(body), hashlib.sha256(body).hexdigest())
        repository.record_media_stored(INBOUND_GUID, index, stored, T0)
    repository.record_media_failed(INBOUND_GUID, 2, "too_large", 3, T0)
    return bodies


def test_an_outbound_message_answers_three_recipients_with_one_batch_read(deployed: dict[str, Any]) -> None:
    # Given a job sent to three recipients whose receipts moved each one on
    put_outbound_message(deployed["dynamodb"])
    calls = count_dynamodb_calls()
    # When the sample event asks for it by messageId
    status, body = invoke(load_event("query_message.json"))
    # Then the job comes back with each recipient's current delivery status
    assert status == 200
    assert (body["messageId"], body["direction"], body["status"], body["sentOver"]) == (
        MESSAGE_ID,
        "outbound",
        "sent",
        "mm4",
    )
    assert body["attempts"] == 2
    assert body["request"]["to"] == list(RECIPIENTS)
    assert [event["status"] for event in body["history"]] == ["queued", "queued", "sending", "sent"]
    answered = {
        recipient["number"]: (recipient["transactionGUID"], recipient["delivery"]["status"])
        for recipient in body["recipients"]
    }
    assert answered == RECIPIENTS
    enroute = body["recipients"][2]["delivery"]
    assert enroute["statusAt"] == "2026-11-25T16:03:00.000Z"
    assert [event["status"] for event in enroute["history"]] == ["sent", "enroute"]
    # And it cost one GetItem and one BatchGetItem
    assert calls == Counter({"GetItem": 1, "BatchGetItem": 1})


def test_a_job_is_answered_without_building_an_s3_client(deployed: dict[str, Any]) -> None:
    # Given a job (no media link to sign) and a function started cold
    put_outbound_message(deployed["dynamodb"])
    # When the sample event asks for it
    status, _ = invoke(load_event("query_message.json"))
    # Then it was answered without an S3 client (about 40 ms of a cold start: bench/README.md)
    assert status == 200
    assert clients.s3_client.cache_info().currsize == 0


def test_an_inbound_message_answers_its_media_as_working_presigned_links(deployed: dict[str, Any]) -> None:
    # Given an inbound message whose first two attachments are stored and the third failed
    bodies = store_inbound_with_media(deployed)
    # When the sample event asks for its transactionGUID
    status, body = invoke(load_event("query_transaction.json"))
    # Then the message comes back without its raw fields or the gateway's URLs
    assert status == 200
    assert (body["transactionGUID"], body["direction"], body["from"], body["to"]) == (
        INBOUND_GUID,
        "inbound",
        HANDSET,
        RELAY_NUMBER,
    )
    assert (body["text"], body["subject"], body["status"]) == ("Here is the photo from today", "Photo", "received")
    assert "raw" not in body
    assert "gateway-secret" not in json.dumps(body)
    # And each stored attachment is a SigV4 link valid 300 s that fetches the stored bytes
    *stored, failed = body["media"]
    for media, original in zip(stored, bodies, strict=True):
        assert media["status"] == "stored"
        assert (media["size"], media["sha256"]) == (len(original), hashlib.sha256(original).hexdigest())
        query = parse_qs(urlsplit(media["url"]).query)
        assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
        assert query["X-Amz-Expires"] == ["300"]
        fetched = requests.get(media["url"], timeout=5)
        assert (fetched.status_code, fetched.content) == (200, original)
        assert fetched.headers["Content-Type"] == media["contentType"]
    assert (failed["status"], failed["error"], failed["attempts"]) == ("failed", "too_large", 3)
    assert "url" not in failed


def test_a_recipients_transaction_is_found_by_its_guid_in_any_case(deployed: dict[str, Any]) -> None:
    put_outbound_message(deployed["dynamodb"])
    guid, _ = RECIPIENTS["+13105551213"]
    status, body = invoke(message_event(guid.lower()))
    assert status == 200
    assert (body["transactionGUID"], body["messageId"], body["status"], body["statusRank"]) == (
        guid,
        MESSAGE_ID,
        "undelivered",
        5,
    )


def test_a_conversation_of_25_is_paged_10_10_5_newest_first(deployed: dict[str, Any]) -> None:
    # Given 25 messages with the handset and a few with another number
    guids = put_conversation(deployed["dynamodb"], HANDSET, 25)
    put_conversation(deployed["dynamodb"], OTHER_HANDSET, 3)
    # When the pages are read one after the other, each with the previous page's cursor
    pages = []
    status, page = invoke(load_event("query_conversation.json"))
    pages.append((status, page))
    while page["nextCursor"] is not None and len(pages) < 5:
        status, page = invoke(conversation_event(HANDSET, cursor=page["nextCursor"]))
        pages.append((status, page))
    # Then there are three pages of 10, 10 and 5, the last without a cursor
    assert [status for status, _ in pages] == [200, 200, 200]
    assert [len(page["messages"]) for _, page in pages] == [10, 10, 5]
    assert pages[-1][1]["nextCursor"] is None
    # And together they are the handset's 25 messages, newest first, none of the other number's
    answered = [entry for _, page in pages for entry in page["messages"]]
    assert [entry["transactionGUID"] for entry in answered] == guids[::-1]
    times = [entry["at"] for entry in answered]
    assert times == sorted(times, reverse=True)
    assert {page["number"] for _, page in pages} == {HANDSET}
    newest, before = answered[:2]
    assert (newest["direction"], newest["text"], newest["from"]) == ("inbound", "handset words 24", HANDSET)
    assert (before["direction"], before["messageId"], before["to"], before["text"]) == (
        "outbound",
        "job-23",
        HANDSET,
        None,
    )


def test_another_numbers_cursor_is_refused(deployed: dict[str, Any]) -> None:
    # Given a cursor from the handset's first page
    put_conversation(deployed["dynamodb"], HANDSET, 12)
    put_conversation(deployed["dynamodb"], OTHER_HANDSET, 12)
    _, first = invoke(conversation_event("%2B13105551212"))
    assert first["nextCursor"] is not None
    # When it is presented for another number
    status, body = invoke(conversation_event(OTHER_HANDSET, cursor=first["nextCursor"]))
    # Then it is refused rather than read
    assert (status, body) == (400, {"error": "invalid_cursor"})
    # While on its own number it continues where the first page stopped
    status, rest = invoke(conversation_event("13105551212", cursor=first["nextCursor"]))
    assert (status, len(rest["messages"]), rest["nextCursor"]) == (200, 2, None)


@pytest.mark.parametrize("identifier", ["no-such-job", "DEADBEEF-0000-4000-8000-000000000000"])
def test_unknown_ids_are_a_404(deployed: dict[str, Any], identifier: str) -> None:
    put_outbound_message(deployed["dynamodb"])
    assert invoke(message_event(identifier)) == (404, {"error": "not_found"})


def test_a_number_without_messages_is_an_empty_first_page(deployed: dict[str, Any]) -> None:
    assert invoke(conversation_event("%2B13105550000")) == (
        200,
        {"number": "+13105550000", "messages": [], "nextCursor": None},
    )


def test_a_missing_setting_fails_loudly_not_quietly(deployed: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MEDIA_BUCKET_NAME")
    wiring.query_api.cache_clear()
    with pytest.raises(ValueError, match="MEDIA_BUCKET_NAME is required"):
        query_app.lambda_handler(load_event("query_message.json"), LambdaContextStub())  # type: ignore[arg-type]


class FlakyBatches:
    """Delegates to the real client, but leaves keys unprocessed for the first ``flaky`` batch calls."""

    def __init__(self, client: DynamoDBClient, flaky: int) -> None:
        self._client = client
        self.flaky = flaky
        self.batch_calls = 0

    def batch_get_item(self, **request: Any) -> Any:
        self.batch_calls += 1
        table = request["RequestItems"][TABLE]
        if self.batch_calls > self.flaky:
            return self._client.batch_get_item(**request)
        *asked, left = table["Keys"]
        answer: Any = self._client.batch_get_item(RequestItems={TABLE: table | {"Keys": asked}}) if asked else {}
        return {"Responses": answer.get("Responses", {}), "UnprocessedKeys": {TABLE: table | {"Keys": [left]}}}


def test_unprocessed_keys_are_retried_until_every_recipient_is_read(deployed: dict[str, Any]) -> None:
    put_outbound_message(deployed["dynamodb"])
    flaky = FlakyBatches(deployed["dynamodb"], flaky=2)
    pauses: list[float] = []
    store = DynamoMessageStore(flaky, TABLE, sleep=pauses.append)  # type: ignore[arg-type]
    found = store.transactions([guid for guid, _ in RECIPIENTS.values()])
    assert {guid: delivery.status for guid, delivery in found.items()} == dict(RECIPIENTS.values())
    assert (flaky.batch_calls, pauses) == (3, [0.05, 0.1])


def test_keys_left_unprocessed_after_the_retries_are_a_transient_failure(deployed: dict[str, Any]) -> None:
    put_outbound_message(deployed["dynamodb"])
    flaky = FlakyBatches(deployed["dynamodb"], flaky=100)
    pauses: list[float] = []
    store = DynamoMessageStore(flaky, TABLE, sleep=pauses.append)  # type: ignore[arg-type]
    with pytest.raises(StorageUnavailable):
        store.transactions([guid for guid, _ in RECIPIENTS.values()])
    assert (flaky.batch_calls, len(pauses)) == (4, 3)
