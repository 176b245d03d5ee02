"""The HTTP API's answers (JSON and XML), their classification, Retry-After and the posted form."""

from __future__ import annotations

import contextlib
import json
import logging
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from defusedxml import DefusedXmlException
from hypothesis import given, settings
from hypothesis import strategies as st

from mmsrelay.domain.errors import GatewayThrottled, PermanentSendError, SendError, TransientSendError
from mmsrelay.domain.outbound import OutboundAttachment, OutboundMessage, RecipientResult, SendResult
from mmsrelay.gateway.https_client import form_fields
from mmsrelay.gateway_protocol import http_answers
from mmsrelay.gateway_protocol.http_answers import (
    MAX_DETAIL_INPUT,
    MAX_RETRY_AFTER,
    NO_GUID,
    GatewayAnswer,
    Transaction,
    UnparsableAnswer,
    classify,
    interpret,
    parse_answer,
    parse_retry_after,
)

GUID = "6C5B1A2E-9D3F-4E8A-B7C6-0D1E2F3A4B5C"
OTHER_GUID = "0A1B2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D"
NOW = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)
JSON = "application/json"
XML = "application/xml; charset=utf-8"

DOCUMENTED_CODES = [
    ("E100001", PermanentSendError),
    ("E100002", PermanentSendError),
    ("E100003", PermanentSendError),
    ("E100004", PermanentSendError),
    ("E100005", PermanentSendError),
    ("E200001", PermanentSendError),
    ("E200002", PermanentSendError),
    ("E200003", PermanentSendError),
    ("E500001", TransientSendError),
]


def json_success(transactions: object) -> bytes:
    return json.dumps(
        {
            "aerialink": {
                "version": "v4",
                "resource": "messages",
                "method": "post",
                "type": "synchronous",
                "transactions": transactions,
            }
        }
    ).encode()


def xml_success(*pairs: tuple[str, str]) -> bytes:
    transactions = "".join(
        f"<transaction><transactionGUID>{guid}</transactionGUID><destination>{destination}</destination></transaction>"
        for guid, destination in pairs
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<aerialink><version>v4</version>'
        "<resource>messages</resource><method>post</method><type>synchronous</type>"
        f"<transactions>{transactions}</transactions></aerialink>"
    ).encode()


def json_error(code: str, detail: str = "Invalid source address specified.") -> bytes:
    return json.dumps({"aerialink": {"errorCode": code, "detail": detail}}).encode()


def xml_error(code: str, detail: str = "Invalid source address specified.") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<aerialink><errorCode>{code}</errorCode><detail>{detail}</detail></aerialink>"
    ).encode()


def message(**overrides: object) -> OutboundMessage:
    base = OutboundMessage(
        message_id="msg-1",
        sender="+13105550100",
        recipients=("+12223334444",),
        text="Hello there",
        subject="Photo",
        attachments=(OutboundAttachment("image/jpeg", "1.jpg", url="https://media.example.com/a/1.jpg"),),
        delivery_report=True,
    )
    return replace(base, **overrides)  # type: ignore[arg-type]


def raised(status: int, body: bytes, content_type: str | None = JSON, retry_after: str | None = None) -> SendError:
    with pytest.raises(SendError) as caught:
        interpret(
            status=status,
            content_type=content_type,
            body=body,
            retry_after_header=retry_after,
            recipient="+12223334444",
            now=NOW,
        )
    return caught.value


# --------------------------------------------------------------------------------------------
# Success answers
# --------------------------------------------------------------------------------------------


def test_json_answer_with_a_list_of_transactions() -> None:
    # Given the documented JSON answer: transactions as a list of {"transaction": {...}}
    body = json_success([{"transaction": {"transactionGUID": GUID, "destination": "12223334444"}}])

    # When it is parsed
    answer = parse_answer(body, JSON)

    # Then the GUID and destination are read
    assert answer == GatewayAnswer(transactions=(Transaction(GUID, "12223334444"),))


def test_json_answer_with_transactions_as_an_object() -> None:
    # Given transactions as an object {"transaction": {...}} (how public client code reads it)
    body = json_success({"transaction": {"transactionGUID": GUID, "destination": "12223334444"}})

    # When it is parsed
    answer = parse_answer(body, JSON)

    # Then it is read the same way
    assert answer.transactions == (Transaction(GUID, "12223334444"),)
    assert answer.error_code is None


def test_xml_answer_with_several_transactions() -> None:
    # Given an XML answer listing two transactions
    body = xml_success((OTHER_GUID, "15556667777"), (GUID, "12223334444"))

    # When it is parsed
    answer = parse_answer(body, XML)

    # Then both are read, in order
    assert answer.transactions == (Transaction(OTHER_GUID, "15556667777"), Transaction(GUID, "12223334444"))


def test_xml_answer_with_a_single_transaction() -> None:
    # Given an XML answer with one transaction
    body = xml_success((GUID, "12223334444"))

    # When it is parsed
    answer = parse_answer(body, "text/xml")

    # Then it is read
    assert answer.transactions == (Transaction(GUID, "12223334444"),)


def test_interpret_picks_the_transaction_of_the_recipient() -> None:
    # Given a 200 answer listing another destination first
    body = json_success(
        [
            {"transaction": {"transactionGUID": OTHER_GUID, "destination": "15556667777"}},
            {"transaction": {"transactionGUID": GUID, "destination": "12223334444"}},
        ]
    )

    # When it is interpreted for +12223334444
    result = interpret(
        status=200, content_type=JSON, body=body, retry_after_header=None, recipient="+12223334444", now=NOW
    )

    # Then the recipient gets its own GUID
    assert result == SendResult("https", (RecipientResult("+12223334444", GUID),))


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        (JSON, json_success([])),
        (JSON, b'{"aerialink": {"version": "v4"}}'),
        (JSON, json_success([{"transaction": {"transactionGUID": "not a guid!"}}])),
        (JSON, b"<html>oops</html>"),
        ("text/html", b"Accepted"),
        (None, b""),
        (XML, b"<aerialink><transactions/></aerialink>"),
    ],
    ids=["empty-list", "no-transactions", "bad-guid", "mislabelled", "plain-text", "empty", "xml-empty"],
)
def test_a_2xx_without_a_guid_is_accepted_without_one(content_type: str | None, body: bytes) -> None:
    # Given a 2xx answer that names no usable transaction GUID
    # When it is interpreted
    result = interpret(
        status=202,
        content_type=content_type,
        body=body,
        retry_after_header=None,
        recipient="+12223334444",
        now=NOW,
    )

    # Then the message counts as accepted (no resend, no duplicate) and says why it has no GUID
    (outcome,) = result.recipients
    assert outcome.transaction_guid is None
    assert outcome.code == NO_GUID
    assert not outcome.refused


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/plain", json_success([{"transaction": {"transactionGUID": GUID}}])),
        (None, b"  \n" + xml_success((GUID, "12223334444"))),
        ("application/vnd.aerialink+json", json_success({"transaction": {"transactionGUID": GUID}})),
    ],
    ids=["json-as-text", "xml-without-type", "vendor-json"],
)
def test_the_parser_is_sniffed_when_the_content_type_does_not_say(content_type: str | None, body: bytes) -> None:
    # Given a body whose Content-Type is missing or generic
    # When it is parsed
    answer = parse_answer(body, content_type)

    # Then the first non-space character chose the right parser
    assert answer.transactions[0].guid == GUID


# --------------------------------------------------------------------------------------------
# Errors and their classification
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("code", "kind"), DOCUMENTED_CODES)
@pytest.mark.parametrize("schema", ["json", "xml"])
def test_every_documented_error_code_is_classified(code: str, kind: type[SendError], schema: str) -> None:
    # Given the gateway's error body for ``code`` (status 400, as an error answer would come)
    body, content_type = (json_error(code), JSON) if schema == "json" else (xml_error(code), XML)

    # When it is interpreted
    error = raised(400, body, content_type)

    # Then it has the documented classification, the gateway's code, and no request data
    assert type(error) is kind
    assert error.code == code
    assert error.detail
    assert not any(character.isdigit() for character in error.detail)


def test_an_error_code_outranks_a_2xx_status() -> None:
    # Given an error body sent with 200
    # When it is interpreted
    error = raised(200, json_error("E100002"))

    # Then it is the permanent credentials error, not an acceptance
    assert isinstance(error, PermanentSendError)
    assert error.code == "E100002"


def test_a_success_status_code_is_not_an_error() -> None:
    # Given a body with the gateway's success status E000000 and a transaction
    body = b'{"aerialink": {"errorCode": "E000000", "transactions": {"transaction": {"transactionGUID": "%s"}}}}' % (
        GUID.encode()
    )

    # When it is parsed
    answer = parse_answer(body, JSON)

    # Then it is no error and the transaction is read
    assert answer.error_code is None
    assert answer.transactions[0].guid == GUID


@pytest.mark.parametrize(
    ("status", "code", "kind", "expected_code"),
    [
        (503, "E300001", TransientSendError, "E300001"),
        (400, "E300001", PermanentSendError, "E300001"),
        (400, "E512345", TransientSendError, "E512345"),
        (400, "E2", PermanentSendError, "unrecognised_error"),
    ],
)
def test_unknown_error_codes(status: int, code: str, kind: type[SendError], expected_code: str) -> None:
    # Given an error code the gateway's page does not list
    # When it is interpreted with ``status``
    error = raised(status, json_error(code, "Destination 12223334444 see https://x.example/?t=secret"))

    # Then its class follows its prefix (E1/E2 permanent, E5 transient) or else the HTTP status,
    # and the gateway's detail is kept without digits or URLs
    assert type(error) is kind
    assert error.code == expected_code
    assert "12223334444" not in error.detail
    assert "secret" not in error.detail
    assert "Destination" in error.detail


@pytest.mark.parametrize(
    ("status", "kind", "code"),
    [
        (500, TransientSendError, "http_500"),
        (502, TransientSendError, "http_502"),
        (503, TransientSendError, "http_503"),
        (504, TransientSendError, "http_504"),
        (400, PermanentSendError, "http_400"),
        (401, PermanentSendError, "http_401"),
        (404, PermanentSendError, "http_404"),
        (408, PermanentSendError, "http_408"),
        (302, PermanentSendError, "http_302"),
    ],
)
def test_statuses_without_an_error_code(status: int, kind: type[SendError], code: str) -> None:
    # Given a non-2xx answer whose body is not the gateway's (a proxy's HTML page)
    # When it is interpreted
    error = raised(status, b"<html><body>Bad Gateway</body></html>", "text/html")

    # Then 5xx is transient and anything else permanent, named after the status
    assert type(error) is kind
    assert error.code == code


def test_429_is_transient_and_honours_retry_after() -> None:
    # Given a 429 with Retry-After: 30 and no body
    # When it is interpreted
    error = raised(429, b"", None, retry_after="30")

    # Then it is the gateway's throttling (which slows the code down), transient, with the delay
    assert isinstance(error, GatewayThrottled)
    assert error.code == "http_429"
    assert error.retry_after == 30.0


def test_429_keeps_the_gateway_code_and_stays_transient() -> None:
    # Given a 429 whose body carries a permanent-looking code
    # When it is interpreted
    error = raised(429, json_error("E100005"), retry_after="5")

    # Then throttling wins: transient, with the gateway's code for the logs
    assert isinstance(error, GatewayThrottled)
    assert error.code == "E100005"
    assert error.retry_after == 5.0


def test_retry_after_is_honoured_on_a_503() -> None:
    # Given a 503 with an HTTP-date Retry-After two minutes ahead
    header = format_datetime(NOW + timedelta(minutes=2), usegmt=True)

    # When it is interpreted
    error = raised(503, b"", None, retry_after=header)

    # Then the delay is kept, and it is no throttling
    assert isinstance(error, TransientSendError)
    assert not isinstance(error, GatewayThrottled)
    assert error.retry_after == 120.0


def test_classify_accepts_a_2xx_without_a_body() -> None:
    # Given a 200 with nothing parsed
    # When it is classified
    # Then it is no error
    assert classify(200, None, None) is None


# --------------------------------------------------------------------------------------------
# Malformed and hostile bodies
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        (JSON, b'{"aerialink": {"transactions": ['),
        (JSON, b"[1, 2, 3]"),
        (JSON, b'{"aerialink": "nope"}'),
        (JSON, b"[" * 100_000 + b"]" * 100_000),
        (XML, b"<aerialink><transactions><transaction>"),
        (XML, b"not xml at all"),
        ("text/plain", b"OK"),
        (None, b""),
    ],
    ids=[
        "truncated-json",
        "json-list",
        "json-root-string",
        "deep-json",
        "truncated-xml",
        "not-xml",
        "text",
        "empty",
    ],
)
def test_malformed_answers_are_unparsable(content_type: str | None, body: bytes) -> None:
    # Given a malformed body
    # When it is parsed
    # Then it is refused as unparsable
    with pytest.raises(UnparsableAnswer):
        parse_answer(body, content_type)


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE aerialink [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<aerialink><errorCode>E500001</errorCode><detail>&lol9;</detail></aerialink>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE aerialink [<!ENTITY guid SYSTEM "file:///etc/hostname">]>
<aerialink><transactions><transaction><transactionGUID>&guid;</transactionGUID></transaction></transactions>
</aerialink>"""

INTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE aerialink [<!ENTITY guid "6C5B1A2E-9D3F-4E8A-B7C6-0D1E2F3A4B5C">]>
<aerialink><transactions><transaction><transactionGUID>&guid;</transactionGUID></transaction></transactions>
</aerialink>"""


@pytest.mark.parametrize(
    "body", [BILLION_LAUGHS, EXTERNAL_ENTITY, INTERNAL_ENTITY], ids=["bomb", "external", "internal"]
)
def test_xml_with_entities_is_refused_not_expanded(body: bytes) -> None:
    # Given XML declaring entities (an expansion bomb, an external file, a harmless-looking one)
    # When it is parsed
    # Then defusedxml refuses it at the declaration, before any expansion: an unparsable answer
    with pytest.raises(UnparsableAnswer) as caught:
        parse_answer(body, XML)
    assert isinstance(caught.value.__context__, DefusedXmlException)


def test_an_xml_bomb_in_a_2xx_is_accepted_without_a_guid() -> None:
    # Given a 200 whose body is an entity bomb naming a GUID through an entity
    # When it is interpreted
    result = interpret(
        status=200,
        content_type=XML,
        body=INTERNAL_ENTITY,
        retry_after_header=None,
        recipient="+12223334444",
        now=NOW,
    )

    # Then nothing was expanded: the message is accepted without a GUID
    assert result.recipients[0].transaction_guid is None
    assert result.recipients[0].code == NO_GUID


def test_an_xml_bomb_in_an_error_answer_falls_back_to_the_status() -> None:
    # Given a 500 whose body is an entity bomb carrying E500001
    # When it is interpreted
    error = raised(500, BILLION_LAUGHS, XML)

    # Then the body was not read: the status decides
    assert isinstance(error, TransientSendError)
    assert error.code == "http_500"


@pytest.mark.parametrize(
    "body",
    [
        b'<?xml version="1.0"?><!DOCTYPE aerialink SYSTEM "http://127.0.0.1:9/answer.dtd"><aerialink/>',
        b'<?xml version="1.0"?><!DOCTYPE aerialink SYSTEM "file:///etc/passwd"><aerialink/>',
        b'<?xml version="1.0"?><!DOCTYPE aerialink [<!ENTITY % p SYSTEM "http://127.0.0.1:9/p"> %p;]><aerialink/>',
        b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "'
        + b"x" * 30_000
        + b'">]><aerialink>'
        + b"&x;" * 8000
        + b"</aerialink>",
        b'<!DOCTYPE aerialink [<!ENTITY guid SYSTEM "http://127.0.0.1:9/guid">]><aerialink><transactions>'
        b"<transaction><transactionGUID>&guid;</transactionGUID></transaction></transactions></aerialink>",
    ],
    ids=["external-dtd-http", "external-dtd-file", "parameter-entity", "quadratic-blowup", "external-entity-http"],
)
def test_dtds_of_every_kind_are_refused(body: bytes) -> None:
    # Given XML naming a DTD or entity to fetch, or expanding one entity many times
    # When it is parsed
    # Then it is refused before anything is fetched or expanded
    with pytest.raises(UnparsableAnswer) as caught:
        parse_answer(body, XML)
    assert isinstance(caught.value.__context__, DefusedXmlException)


def test_an_xinclude_is_not_resolved() -> None:
    # Given an answer whose GUID is an XInclude of a local file
    body = (
        b'<aerialink xmlns:xi="http://www.w3.org/2001/XInclude"><transactions><transaction><transactionGUID>'
        b'<xi:include href="file:///etc/hostname" parse="text"/></transactionGUID></transaction></transactions>'
        b"</aerialink>"
    )
    # When it is parsed
    answer = parse_answer(body, XML)
    # Then nothing was included: the transaction has no GUID
    assert answer == GatewayAnswer()


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        (JSON, b'{"aerialink": {"transactions": [{"transaction": {"transactionGUID": ' + b"1" * 5000 + b"}}]}}"),
        (JSON, b'{"aerialink": {"transactions": [{"transaction": {"transactionGUID": "\xff\xfe"}}]}}'),
        (XML, b"<aerialink><transactionGUID>\xff\xfe</transactionGUID></aerialink>"),
        (XML, (b"<a>" * 20_000 + b"</a>" * 20_000)[: 64 * 1024 + 1]),
        (JSON, json_success([{"transaction": {"transactionGUID": GUID}}])[:-30]),
        (XML, xml_success((GUID, "12223334444"))[:-40]),
    ],
    ids=[
        "json-int-past-python-limit",
        "json-not-utf-8",
        "xml-not-utf-8",
        "xml-cut-at-the-read-limit",
        "json-cut-mid-answer",
        "xml-cut-mid-answer",
    ],
)
def test_huge_undecodable_or_truncated_bodies_are_unparsable(content_type: str, body: bytes) -> None:
    with pytest.raises(UnparsableAnswer):
        parse_answer(body, content_type)


def test_a_truncated_2xx_is_accepted_without_a_guid_and_a_truncated_5xx_decided_by_its_status() -> None:
    # Given answers cut in the middle (the client keeps at most 64 KiB of a body)
    cut_success = json_success([{"transaction": {"transactionGUID": GUID, "destination": "12223334444"}}])[:-25]
    cut_error = json_error("E200002")[:-10]
    # When they are interpreted
    accepted = interpret(
        status=200, content_type=JSON, body=cut_success, retry_after_header=None, recipient="+12223334444", now=NOW
    )
    error = raised(503, cut_error)
    # Then the 2xx is taken (resending risks a duplicate) without a GUID, the 5xx is transient by status
    assert accepted.recipients[0].code == NO_GUID
    assert isinstance(error, TransientSendError)
    assert error.code == "http_503"


class CountingNames:
    """Counts how often the parser looks at an element's name: the work reading an answer costs."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        local_name = http_answers._local_name

        def counted(node: object) -> str:
            self.calls += 1
            return local_name(node)  # type: ignore[arg-type]

        monkeypatch.setattr(http_answers, "_local_name", counted)


@pytest.mark.parametrize("wrapper", [b"aerialink", b"transactions"])
def test_reading_nested_transactions_costs_linear_work(monkeypatch: pytest.MonkeyPatch, wrapper: bytes) -> None:
    # Given an answer within the 64 KiB the client reads: 1,000 transactions nested in each other
    depth = 1000
    opening = b"<transaction><" + wrapper + b">"
    closing = b"</" + wrapper + b"></transaction>"
    body = b"<aerialink>" + opening * depth + closing * depth + b"</aerialink>"
    assert len(body) <= 64 * 1024
    counting = CountingNames(monkeypatch)
    # When it is parsed
    answer = parse_answer(body, XML)
    # Then each element was looked at a few times, not once per transaction above it
    # (searching each transaction's whole subtree costs about depth * depth / 2 = 500,000 looks)
    assert answer == GatewayAnswer()
    assert counting.calls <= 10 * 2 * depth


def test_a_transactions_fields_are_its_own_children() -> None:
    # Given a transaction with no GUID of its own holding one that has a GUID
    body = (
        b"<aerialink><transactions><transaction><destination>12223334444</destination>"
        b"<transaction><transactionGUID>" + GUID.encode() + b"</transactionGUID></transaction>"
        b"</transaction></transactions></aerialink>"
    )
    # When it is parsed, the inner one is read, with its own (absent) destination
    assert parse_answer(body, XML).transactions == (Transaction(GUID, None),)


def test_only_the_start_of_a_long_detail_is_cleaned(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given an error answer whose detail is 60,000 characters without a space (the URL pattern
    # backtracks over each: seconds of CPU for one answer), and the substitutions watched
    lengths: list[int] = []

    class WatchedRe:
        def __getattr__(self, name: str) -> object:
            return getattr(re, name)

        @staticmethod
        def sub(pattern: str, replacement: str, string: str) -> str:
            lengths.append(len(string))
            return re.sub(pattern, replacement, string)

    body = json_error("E999999", "x" * 60_000 + " https://host/secret?token=1")
    monkeypatch.setattr(http_answers, "re", WatchedRe())
    # When it is parsed
    answer = parse_answer(body, JSON)
    # Then the detail is cleaned from a bounded prefix, and stays short
    assert answer.error_code == "E999999"
    assert answer.detail == "x" * 80
    assert lengths
    assert max(lengths) <= MAX_DETAIL_INPUT


@given(body=st.binary(max_size=512), content_type=st.sampled_from([JSON, XML, None, "text/html"]))
@settings(max_examples=300, deadline=None)
def test_any_body_is_an_answer_or_unparsable_never_another_error(body: bytes, content_type: str | None) -> None:
    with contextlib.suppress(UnparsableAnswer):
        parse_answer(body, content_type)


@given(
    document=st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20),
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(
                st.sampled_from(
                    [
                        "aerialink",
                        "transactions",
                        "transaction",
                        "transactionGUID",
                        "destination",
                        "errorCode",
                        "detail",
                        "x",
                    ]
                ),
                children,
                max_size=4,
            )
        ),
        max_leaves=12,
    )
)
@settings(max_examples=100, deadline=None)
def test_any_json_document_is_classified_without_another_error(document: object) -> None:
    # Given any JSON document in the shapes the gateway's answers use (and others)
    body = json.dumps(document).encode()
    # When a 200 carrying it is interpreted, it is accepted (with or without a GUID) or refused as a SendError
    with contextlib.suppress(SendError):
        interpret(status=200, content_type=JSON, body=body, retry_after_header=None, recipient="+1222", now=NOW)


# --------------------------------------------------------------------------------------------
# Retry-After
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("120", 120.0),
        (" 0 ", 0.0),
        ("900", 900.0),
        ("901", MAX_RETRY_AFTER),
        ("99999999999999999999", MAX_RETRY_AFTER),
        (format_datetime(NOW + timedelta(seconds=45), usegmt=True), 45.0),
        ("Sat, 01 Mar 2025 12:01:30 GMT", 90.0),
        (format_datetime(NOW - timedelta(hours=1), usegmt=True), 0.0),
        (format_datetime(NOW + timedelta(days=3), usegmt=True), MAX_RETRY_AFTER),
        ("Sat, 01 Mar 2025 12:00:10 -0000", 10.0),
        ("soon", None),
        ("-5", None),
        ("1.5", None),
        ("", None),
        (None, None),
        ("Sat, 99 Foo 2025 99:99:99 GMT", None),
    ],
)
def test_retry_after(header: str | None, expected: float | None) -> None:
    # Given a Retry-After header (seconds, an HTTP date, garbage, huge values)
    # When it is parsed at NOW
    # Then it gives seconds from now, capped, or None when unreadable
    assert parse_retry_after(header, NOW) == expected


# --------------------------------------------------------------------------------------------
# The posted form
# --------------------------------------------------------------------------------------------


def test_form_fields_for_a_message_with_a_subject_and_a_receipt() -> None:
    # Given a message from an E.164 number, with a subject, asking for a delivery receipt
    # When its form is built
    fields = form_fields(message())

    # Then numbers are digits without "+", international format is declared, all fields are there
    assert fields == {
        "source": "13105550100",
        "destination": "12223334444",
        "destinationFormat": "1",
        "messageText": "Hello there",
        "mmsURL": "https://media.example.com/a/1.jpg",
        "mmsSubject": "Photo",
        "registeredDelivery": "1",
    }


@pytest.mark.parametrize("subject", [None, ""])
def test_form_fields_without_subject_or_receipt(subject: str | None) -> None:
    # Given a short-code sender, no subject and no receipt
    # When its form is built
    fields = form_fields(message(sender="12345", subject=subject, delivery_report=False))

    # Then mmsSubject is absent and registeredDelivery is 0
    assert fields == {
        "source": "12345",
        "destination": "12223334444",
        "destinationFormat": "1",
        "messageText": "Hello there",
        "mmsURL": "https://media.example.com/a/1.jpg",
        "registeredDelivery": "0",
    }


def test_a_message_without_media_cannot_go_over_https() -> None:
    # mmsURL is required by the MMS API: such a message goes over MM4 instead
    with pytest.raises(PermanentSendError) as caught:
        form_fields(message(attachments=()))
    assert caught.value.code == "https_cannot_carry"


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"recipients": ("+12223334444", "+15556667777")}, "https_cannot_carry"),
        ({"recipients": ()}, "https_cannot_carry"),
        (
            {"attachments": (OutboundAttachment("image/jpeg", "1.jpg", url="https://a/1"),) * 2},
            "https_cannot_carry",
        ),
        (
            {"attachments": (OutboundAttachment("image/jpeg", "1.jpg", data=b"\xff\xd8"),)},
            "https_cannot_carry",
        ),
        (
            {"attachments": (OutboundAttachment("image/jpeg", "1.jpg", url="https://m.example/" + "a" * 143),)},
            "https_cannot_carry",
        ),
        ({"recipients": ("+1234567890123456",)}, "invalid_number"),
        ({"sender": "1234567890123456"}, "invalid_number"),
        ({"sender": "ACME"}, "invalid_number"),
        ({"recipients": ("+1 222 333 4444",)}, "invalid_number"),
    ],
    ids=[
        "two-recipients",
        "no-recipient",
        "two-attachments",
        "no-url",
        "long-url",
        "long-recipient",
        "long-sender",
        "alphanumeric-sender",
        "formatted-number",
    ],
)
def test_messages_the_http_api_cannot_carry(overrides: dict[str, object], code: str) -> None:
    # Given a message the HTTP API cannot carry as is
    # When its form is built
    # Then it is refused for good with a code saying why
    with pytest.raises(PermanentSendError) as caught:
        form_fields(message(**overrides))
    assert caught.value.code == code


def test_a_160_character_url_is_carried() -> None:
    # Given an attachment URL of exactly 160 characters
    url = "https://m.example/" + "a" * 142
    assert len(url) == 160

    # When the form is built
    # Then the URL is sent
    assert form_fields(message(attachments=(OutboundAttachment("image/jpeg", "1.jpg", url=url),)))["mmsURL"] == url


def test_long_text_and_subject_are_sent_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    # Given a 200-character text and a 50-character subject
    text, subject = "t" * 200, "s" * 50
    caplog.set_level(logging.WARNING, logger="mmsrelay.gateway.https_client")

    # When the form is built
    fields = form_fields(message(text=text, subject=subject))

    # Then both are sent unchanged, and warnings give their lengths, never their content
    assert fields["messageText"] == text
    assert fields["mmsSubject"] == subject
    lengths = {
        name: getattr(record, name)
        for record in caplog.records
        for name in ("text_length", "subject_length")
        if hasattr(record, name)
    }
    assert lengths == {"text_length": 200, "subject_length": 50}
    assert all(text not in record.getMessage() and subject not in record.getMessage() for record in caplog.records)
