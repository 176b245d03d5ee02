"""Parsing the gateway's inbound post: strict on what protects the system, tolerant elsewhere."""

from datetime import UTC, datetime
from urllib.parse import parse_qs

import pytest

from mmsrelay.inbound.payload import parse_inbound
from mmsrelay.webhooks.errors import InvalidPayload
from mmsrelay.webhooks.http import Fields, WebhookRequest
from tests.support import load_event

NOW = datetime(2026, 11, 25, 16, 20, 1, 123000, tzinfo=UTC)


def fields_of(event_name: str) -> Fields:
    return WebhookRequest.from_event(load_event(event_name)).fields(limit=1_000_000)


def valid_fields(**changes: str | list[str]) -> Fields:
    fields = fields_of("inbound_post.json")
    for name, value in changes.items():
        fields[name] = value if isinstance(value, list) else [value]
    return fields


def test_every_documented_field_is_parsed_and_kept() -> None:
    # Given the gateway's post as documented
    # When it is parsed
    message = parse_inbound(fields_of("inbound_post.json"), NOW, "1")
    # Then the domain fields are mapped and the raw payload keeps every field
    assert message.transaction_guid == "6F1C2D3E-4A5B-4C6D-8E9F-0A1B2C3D4E5F"
    assert message.connection_guid == "0B1C2D3E-4F5A-4B6C-9D8E-7F6A5B4C3D2E"
    assert message.sender == "+13105551212"
    assert message.recipient == "+12223334444"
    assert message.text == "Here is the photo from today"
    assert message.subject == "Photo"
    assert [a.source_url for a in message.attachments] == ["https://mms.aerialink.net/media/6F1C2D3E/1.jpg"]
    assert message.segment is None
    assert message.flags == ()
    assert message.raw["sourceCountry"] == "United States"
    assert set(message.raw) == set(parse_qs(load_event("inbound_post.json")["body"]))
    assert message.received_at == NOW


def test_the_get_form_is_parsed_like_the_post() -> None:
    message = parse_inbound(fields_of("inbound_get.json"), NOW, "1")
    assert message.transaction_guid == "7A2B3C4D-5E6F-4A7B-8C9D-0E1F2A3B4C5D"
    assert message.sender == "+13105551212"


def test_segments_and_unknown_fields_are_kept() -> None:
    message = parse_inbound(fields_of("inbound_post_segment_unknown_fields.json"), NOW, "1")
    assert message.segment is not None
    assert (message.segment.reference, message.segment.count, message.segment.number) == ("4F2", 3, 2)
    assert message.raw["concatenatedMessageSegmentHash"] == "b2c9f0"
    assert message.raw["udh"] == "0500034F0302"
    assert message.attachments == ()


def test_overlong_fields_are_kept_and_flagged_not_refused() -> None:
    message = parse_inbound(fields_of("inbound_post_long_fields.json"), NOW, "1")
    assert len(message.text) > 160
    assert message.subject is not None
    assert len(message.subject) > 40
    assert set(message.flags) == {"messageText:too_long", "mmsSubject:too_long"}


def test_a_json_list_of_attachments_follows_mms_url_once_each() -> None:
    message = parse_inbound(fields_of("inbound_post_attachments_json.json"), NOW, "1")
    assert [(a.index, a.source_url.rsplit("/", 1)[1]) for a in message.attachments] == [
        (0, "1.jpg"),
        (1, "2.png"),
        (2, "3.3gp"),
    ]


def test_repeated_attachment_fields_are_all_kept() -> None:
    message = parse_inbound(fields_of("inbound_post_attachments_repeated.json"), NOW, "1")
    assert [a.source_url.rsplit("/", 1)[1] for a in message.attachments] == ["1.jpg", "2.gif"]
    assert message.raw["attachments"] == (
        "https://mms.aerialink.net/media/9C4D5E6F/1.jpg",
        "https://mms.aerialink.net/media/9C4D5E6F/2.gif",
    )


@pytest.mark.parametrize(
    ("attachments", "expected"),
    [
        pytest.param(
            ['[{"url": "https://a.aerialink.net/1.png", "contentType": "image/png"}]'],
            ["1.png"],
            id="objects",
        ),
        pytest.param(["https://a.aerialink.net/1.png,https://a.aerialink.net/2.png"], ["1.png", "2.png"], id="commas"),
        pytest.param(['{"items": ["https://a.aerialink.net/3.gif"]}'], ["3.gif"], id="nested-object"),
        pytest.param([""], [], id="empty"),
    ],
)
def test_attachment_shapes_the_gateway_may_use(attachments: list[str], expected: list[str]) -> None:
    fields = valid_fields(attachments=attachments)
    del fields["mmsURL"]
    message = parse_inbound(fields, NOW, "1")
    assert [a.source_url.rsplit("/", 1)[1] for a in message.attachments] == expected
    assert message.flags == ()


def test_an_attachment_value_without_any_url_is_flagged_and_kept_raw() -> None:
    fields = valid_fields(attachments="image/jpeg;size=2048")
    message = parse_inbound(fields, NOW, "1")
    assert "attachments:unparsed" in message.flags
    assert message.raw["attachments"] == "image/jpeg;size=2048"


def test_missing_and_malformed_required_fields_are_named() -> None:
    # Given a post with a malformed GUID, a non-number source and no destination
    # When it is parsed
    with pytest.raises(InvalidPayload) as caught:
        parse_inbound(fields_of("inbound_invalid.json"), NOW, "1")
    # Then the error names exactly those fields
    assert set(caught.value.fields) == {"transactionGUID", "source", "destination"}


@pytest.mark.parametrize("field", ["transactionGUID", "source", "destination"])
def test_each_required_field_is_required(field: str) -> None:
    fields = valid_fields()
    del fields[field]
    with pytest.raises(InvalidPayload) as caught:
        parse_inbound(fields, NOW, "1")
    assert caught.value.fields == (field,)


def test_the_guid_is_stored_in_upper_case() -> None:
    message = parse_inbound(valid_fields(transactionGUID="6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f"), NOW, "1")
    assert message.transaction_guid == "6F1C2D3E-4A5B-4C6D-8E9F-0A1B2C3D4E5F"


def test_the_default_country_code_applies_when_the_post_has_none() -> None:
    fields = valid_fields(source="7700900123", destination="7700900999")
    del fields["sourceCountryCode"]
    message = parse_inbound(fields, NOW, "44")
    assert (message.sender, message.recipient) == ("+447700900123", "+447700900999")


def test_a_trunk_prefix_is_dropped_in_the_senders_country() -> None:
    message = parse_inbound(valid_fields(source="07700900123", sourceCountryCode="44"), NOW, "1")
    assert message.sender == "+447700900123"
    assert not [flag for flag in message.flags if flag.startswith("source:")]


@pytest.mark.parametrize("source", ["5551212", "1234", "+1310555121"])
def test_a_sender_that_cannot_be_a_number_is_kept_as_sent_and_flagged(source: str) -> None:
    # Given an MO whose sender is no possible number (the handset's message is stored regardless)
    message = parse_inbound(valid_fields(source=source), NOW, "1")
    # Then it is kept as the gateway sent it, flagged, and the message is not refused
    assert message.sender == source
    assert "source:not_a_possible_number" in message.flags
    assert "destination:not_a_possible_number" not in message.flags


def test_a_non_numeric_integer_field_is_flagged() -> None:
    message = parse_inbound(valid_fields(concatenatedMessageSegments="three"), NOW, "1")
    assert "concatenatedMessageSegments:not_an_integer" in message.flags


@pytest.mark.parametrize("value", ["\u00b2", "\u0663", "9" * 40, "9" * 5000, "123456", "three"])
@pytest.mark.parametrize("field", ["concatenatedMessageSegments", "concatenatedMessageSegmentNumber"])
def test_a_segment_field_that_is_no_small_integer_is_flagged_and_not_read(field: str, value: str) -> None:
    # Given a segment count or number that int() refuses or misreads ("²", 5,000 digits) or that
    # DynamoDB cannot store as a number (40 digits): each was a 500 on /inbound, found by make fuzz
    fields = valid_fields(concatenatedMessage="true", concatenatedMessageReference="7", **{field: value})
    # When the MO is parsed, Then it is kept, the value flagged and not read as a number
    message = parse_inbound(fields, NOW, "1")
    assert f"{field}:not_an_integer" in message.flags
    assert message.segment is not None
    assert None in (message.segment.count, message.segment.number)


def test_a_segment_field_with_spaces_around_its_digits_is_read_and_not_flagged() -> None:
    fields = valid_fields(
        concatenatedMessage="true", concatenatedMessageSegments=" 3 ", concatenatedMessageSegmentNumber="2"
    )
    message = parse_inbound(fields, NOW, "1")
    assert message.segment is not None
    assert (message.segment.count, message.segment.number) == (3, 2)
    assert not [flag for flag in message.flags if flag.endswith(":not_an_integer")]


@pytest.mark.parametrize(("code", "flagged"), [("\u00b3", True), ("\u0663", True), ("9" * 5000, True), ("1234", False)])
def test_a_sent_country_code_that_cannot_be_one_is_not_used(code: str, flagged: bool) -> None:
    # Given a sourceCountryCode that is not 1 to 3 ASCII digits ("³" and 5,000 digits were a 500)
    fields = valid_fields(source="7700900123", destination="7700900999", sourceCountryCode=code)
    # When the MO is parsed, Then the stack's default country code applies (and a non-integer is flagged)
    message = parse_inbound(fields, NOW, "44")
    assert (message.sender, message.recipient) == ("+447700900123", "+447700900999")
    assert ("sourceCountryCode:not_an_integer" in message.flags) is flagged
