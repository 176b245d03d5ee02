"""The MM4_forward.REQ message: headers, multipart structure, SMIL, and refusal of unsafe values."""

from __future__ import annotations

import dataclasses
import email
import email.policy
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import pytest
from defusedxml import ElementTree

from mmsrelay.domain.errors import PermanentSendError
from mmsrelay.domain.outbound import OutboundAttachment, OutboundMessage
from mmsrelay.gateway_protocol.mm4_mime import build_mm4_forward, derive_message_ids

DOMAIN = "mmsc.aerialink.net"
NOW = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
SENDER = "+13105550100"
ALICE, BOB, CAROL = "+13105550101", "+13105550102", "+447700900123"
JPEG = b"\xff\xd8\xff\xe0fake-jpeg\x00\r\n.\r\nbytes\xff\xd9"
AMR = b"#!AMR\n" + bytes(range(256))
PHOTO = OutboundAttachment("image/jpeg", "1.jpg", data=JPEG)
VOICE = OutboundAttachment("audio/amr", "2.amr", data=AMR)


def outbound(**changes: Any) -> OutboundMessage:
    message = OutboundMessage(
        message_id="msg-0001",
        sender=SENDER,
        recipients=(ALICE,),
        text="Hello there",
        subject="Greetings",
        attachments=(),
        delivery_report=True,
    )
    return dataclasses.replace(message, **changes)


def build(message: OutboundMessage, **options: Any) -> EmailMessage:
    return build_mm4_forward(message, domain=DOMAIN, originator_system="mms-relay", now=NOW, **options)


def parsed(mime: EmailMessage) -> EmailMessage:
    """What the gateway reads: the serialised bytes parsed back."""
    message = email.message_from_bytes(mime.as_bytes(), policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def parts(message: EmailMessage) -> list[EmailMessage]:
    payload = message.get_payload()
    assert isinstance(payload, list)
    return [part for part in payload if isinstance(part, EmailMessage)]


def text_of(part: EmailMessage) -> str:
    """A text part's content with the canonical CRLF line breaks read as newlines."""
    content = part.get_content()
    assert isinstance(content, str)
    return content.replace("\r\n", "\n")


def smil_sources(smil: EmailMessage) -> list[list[str]]:
    """The ``src`` of every media element, slide by slide."""
    document = ElementTree.fromstring(smil.get_content())
    return [[element.attrib["src"] for element in par] for par in document.iter("par")]


def raises_code(code: str) -> Any:
    return pytest.raises(PermanentSendError, check=lambda error: error.code == code)


class TestHeaders:
    def test_single_recipient_carries_every_mm4_header(self) -> None:
        # Given a message to one recipient, with a subject and a delivery report requested
        message = outbound()
        transaction_id, message_id = derive_message_ids("msg-0001", DOMAIN)
        # When the MM4 message is built and read back
        headers = parsed(build(message))
        # Then every header is there, with the expected value
        assert headers["X-Mms-3GPP-MMS-Version"] == "6.10.0"
        assert headers["X-Mms-Message-Type"] == "MM4_forward.REQ"
        assert headers["X-Mms-Transaction-ID"] == transaction_id
        assert headers["X-Mms-Message-ID"] == message_id
        assert headers["X-Mms-Ack-Request"] == "Yes"
        assert headers["X-Mms-Originator-System"] == "mms-relay"
        assert headers["X-Mms-Delivery-Report"] == "Yes"
        assert headers["X-Mms-Read-Reply"] == "No"
        assert headers["Date"].datetime == NOW
        assert headers["From"] == "+13105550100@mmsc.aerialink.net"
        assert headers["Sender"] == "+13105550100@mmsc.aerialink.net"
        assert headers["To"] == "+13105550101@mmsc.aerialink.net"
        assert headers["Subject"] == "Greetings"
        assert headers["Message-ID"] == message_id
        assert headers["MIME-Version"] == "1.0"
        assert message_id.startswith("<")
        assert message_id.endswith("@mmsc.aerialink.net>")

    def test_group_of_three_lists_every_recipient_in_order(self) -> None:
        # Given a group MMS to three recipients
        message = outbound(recipients=(ALICE, BOB, CAROL))
        # When it is built
        headers = parsed(build(message))
        # Then To names all three, in order, each as +<digits>@domain
        assert [address.addr_spec for address in headers["To"].addresses] == [
            "+13105550101@mmsc.aerialink.net",
            "+13105550102@mmsc.aerialink.net",
            "+447700900123@mmsc.aerialink.net",
        ]
        assert len(headers.get_all("To") or []) == 1

    def test_no_subject_means_no_subject_header(self) -> None:
        # Given a message without a subject
        message = outbound(subject=None)
        # When it is built
        headers = parsed(build(message))
        # Then there is no Subject header at all
        assert "Subject" not in headers

    def test_non_ascii_subject_round_trips(self) -> None:
        # Given a subject outside ASCII
        message = outbound(subject="Café ✓ 😀")
        # When it is built and read back
        raw = build(message).as_bytes()
        # Then the subject reads back the same, encoded in 7-bit header text
        assert parsed(build(message))["Subject"] == "Café ✓ 😀"
        assert max(raw) < 128

    def test_delivery_report_header_only_when_asked(self) -> None:
        # Given the same message with and without a delivery report
        wanted = parsed(build(outbound(delivery_report=True)))
        unwanted = parsed(build(outbound(delivery_report=False)))
        # Then only the first asks for one
        assert wanted["X-Mms-Delivery-Report"] == "Yes"
        assert "X-Mms-Delivery-Report" not in unwanted

    @pytest.mark.parametrize(("sender", "expected"), [("12345", "+12345"), ("+12345", "+12345")])
    def test_short_code_sender_gets_one_plus(self, sender: str, expected: str) -> None:
        # Given a short code as the sender, with or without "+"
        message = outbound(sender=sender)
        # When it is built
        headers = parsed(build(message))
        # Then From and Sender carry its digits with exactly one "+"
        assert headers["From"] == f"{expected}@mmsc.aerialink.net"
        assert headers["Sender"] == headers["From"]

    def test_national_digits_get_a_plus_too(self) -> None:
        # Given a recipient written without "+"
        message = outbound(recipients=("13105550101",))
        # Then the address has one "+"
        assert parsed(build(message))["To"] == "+13105550101@mmsc.aerialink.net"

    def test_serialisation_uses_crlf_only(self) -> None:
        # Given a message with attachments
        raw = build(outbound(attachments=(PHOTO, VOICE))).as_bytes()
        # Then every line ends with CRLF, and the bytes are 7-bit clean
        assert raw.count(b"\n") == raw.count(b"\r\n")
        assert max(raw) < 128


class TestIdentifiers:
    def test_same_message_id_gives_the_same_ids(self) -> None:
        # Given the same message built twice, at different times
        first = parsed(build(outbound()))
        second = parsed(build_mm4_forward(outbound(), domain=DOMAIN, originator_system="mms-relay"))
        # Then a resend carries the same IDs
        for header in ("X-Mms-Transaction-ID", "X-Mms-Message-ID", "Message-ID"):
            assert first[header] == second[header]

    def test_another_message_id_gives_other_ids(self) -> None:
        # Given two messages with different IDs
        first = parsed(build(outbound(message_id="a")))
        second = parsed(build(outbound(message_id="b")))
        # Then their IDs differ, and the transaction ID differs from the message ID
        assert first["X-Mms-Transaction-ID"] != second["X-Mms-Transaction-ID"]
        assert first["Message-ID"] != second["Message-ID"]
        assert first["X-Mms-Transaction-ID"] not in first["Message-ID"]

    def test_given_ids_are_used(self) -> None:
        # Given explicit IDs, the message ID bare
        headers = parsed(build(outbound(), message_ids=("tx-42", "m-42")))
        # Then the transaction ID is used as is, the message ID in <id@domain> form
        assert headers["X-Mms-Transaction-ID"] == "tx-42"
        assert headers["X-Mms-Message-ID"] == "<m-42@mmsc.aerialink.net>"
        assert headers["Message-ID"] == "<m-42@mmsc.aerialink.net>"

    def test_given_message_id_in_angle_brackets_is_kept(self) -> None:
        headers = parsed(build(outbound(), message_ids=("tx-42", "<m-42@example.org>")))
        assert headers["Message-ID"] == "<m-42@example.org>"


class TestRelatedLayout:
    def test_text_and_two_attachments_in_order_after_the_smil(self) -> None:
        # Given a message with text and two attachments
        message = outbound(attachments=(PHOTO, VOICE))
        # When it is built
        mime = parsed(build(message))
        # Then it is multipart/related, typed and started by the SMIL part
        assert mime.get_content_type() == "multipart/related"
        assert mime.get_param("type") == "application/smil"
        assert mime.get_param("start") == "<smil>"
        smil, text, photo, voice = parts(mime)
        assert smil.get_content_type() == "application/smil"
        assert smil["Content-ID"] == "<smil>"
        # And the text part is UTF-8 plain text
        assert text.get_content_type() == "text/plain"
        assert text.get_content_charset() == "utf-8"
        assert text_of(text) == "Hello there\n"
        assert text["Content-ID"] == "<text.txt>"
        # And each attachment is its own base64 part, named, with its exact bytes
        for part, attachment in ((photo, PHOTO), (voice, VOICE)):
            assert part.get_content_type() == attachment.content_type
            assert part["Content-ID"] == f"<{attachment.name}>"
            assert part["Content-Location"] == attachment.name
            assert part["Content-Transfer-Encoding"] == "base64"
            assert part.get_content() == attachment.data

    def test_smil_has_one_slide_per_attachment_referencing_every_part(self) -> None:
        # Given text and two attachments
        smil = parts(parsed(build(outbound(attachments=(PHOTO, VOICE)))))[0]
        # When the SMIL is read
        slides = smil_sources(smil)
        # Then there is one <par> per attachment, the text with the first one
        assert slides == [["cid:1.jpg", "cid:text.txt"], ["cid:2.amr"]]

    def test_smil_elements_follow_the_media_type(self) -> None:
        # Given an image and an audio clip
        smil = parts(parsed(build(outbound(attachments=(PHOTO, VOICE)))))[0]
        document = ElementTree.fromstring(smil.get_content())
        # Then the image is an <img> in the image region, the audio an <audio>, the text a <text>
        elements = {element.attrib["src"]: element for element in document.iter() if "src" in element.attrib}
        assert elements["cid:1.jpg"].tag == "img"
        assert elements["cid:1.jpg"].attrib["region"] == "Image"
        assert elements["cid:2.amr"].tag == "audio"
        assert elements["cid:text.txt"].tag == "text"
        assert {region.attrib["id"] for region in document.iter("region")} == {"Image", "Text"}

    def test_text_only_message_has_smil_and_text(self) -> None:
        # Given a message with text and no attachment
        mime = parsed(build(outbound()))
        # Then it holds the SMIL and the text, the SMIL showing the text alone
        smil, text = parts(mime)
        assert smil_sources(smil) == [["cid:text.txt"]]
        assert text_of(text) == "Hello there\n"

    def test_attachments_without_text_have_no_text_part(self) -> None:
        # Given attachments and no text
        mime = parsed(build(outbound(text="", attachments=(PHOTO,))))
        # Then the parts are the SMIL and the photo only
        assert [part.get_content_type() for part in parts(mime)] == ["application/smil", "image/jpeg"]
        assert smil_sources(parts(mime)[0]) == [["cid:1.jpg"]]

    def test_non_ascii_text_round_trips_seven_bit_clean(self) -> None:
        # Given text beyond ASCII with a long line
        text = "Héllo 😀\n" + "x" * 200
        mime = build(outbound(text=text))
        # When it is serialised and read back
        part = parts(parsed(mime))[1]
        # Then the text is the same, and nothing travels as 8bit
        assert text_of(part) == text + "\n"
        assert part["Content-Transfer-Encoding"] == "quoted-printable"
        assert max(mime.as_bytes()) < 128

    def test_an_attachment_named_like_the_text_part_does_not_clash(self) -> None:
        # Given an attachment named text.txt
        note = OutboundAttachment("text/plain", "text.txt", data=b"note")
        mime = parsed(build(outbound(attachments=(note,))))
        # Then the text part takes another name, and the SMIL references both
        smil, text, attachment = parts(mime)
        assert text["Content-ID"] == "<text-1.txt>"
        assert attachment["Content-ID"] == "<text.txt>"
        assert smil_sources(smil) == [["cid:text.txt", "cid:text-1.txt"]]


class TestMixedLayout:
    def test_mixed_has_text_and_attachments_without_smil(self) -> None:
        # Given the "mixed" layout
        mime = parsed(build(outbound(attachments=(PHOTO, VOICE)), layout="mixed"))
        # Then it is multipart/mixed with the text then the attachments, and no SMIL
        assert mime.get_content_type() == "multipart/mixed"
        assert mime.get_param("start") is None
        assert [part.get_content_type() for part in parts(mime)] == ["text/plain", "image/jpeg", "audio/amr"]
        assert parts(mime)[1].get_content() == JPEG
        assert parts(mime)[2]["Content-Location"] == "2.amr"
        assert mime["X-Mms-Message-Type"] == "MM4_forward.REQ"


INJECTIONS = [
    "evil\r\nBcc: x@example.org",
    "evil\nX-Injected: 1",
    "evil\r",
    "nul\x00",
    "line\u2028sep",
    "t\tab",
]


class TestUnsafeValues:
    @pytest.mark.parametrize("value", INJECTIONS)
    def test_subject(self, value: str) -> None:
        with raises_code("invalid_header"):
            build(outbound(subject=value))

    @pytest.mark.parametrize("value", [SENDER + suffix for suffix in ("\r\nBcc: x", "\n", "\r")])
    def test_sender(self, value: str) -> None:
        with raises_code("invalid_header"):
            build(outbound(sender=value))

    @pytest.mark.parametrize("value", [ALICE + "\r\nBcc: +13105559999", "\n" + ALICE])
    def test_recipient(self, value: str) -> None:
        with raises_code("invalid_header"):
            build(outbound(recipients=(BOB, value)))

    @pytest.mark.parametrize("value", ["1.jpg\r\nX-Injected: 1", "1.jpg\n", "a b.jpg", "<1.jpg>", '1".jpg'])
    def test_attachment_name(self, value: str) -> None:
        with raises_code("invalid_header"):
            build(outbound(attachments=(dataclasses.replace(PHOTO, name=value),)))

    @pytest.mark.parametrize("value", ["image/jpeg\r\nX-Injected: 1", "image/jpeg; x=1"])
    def test_content_type(self, value: str) -> None:
        with pytest.raises(PermanentSendError):
            build(outbound(attachments=(dataclasses.replace(PHOTO, content_type=value),)))

    @pytest.mark.parametrize("value", [DOMAIN + "\r\nBcc: x", DOMAIN + "\n", "mmsc aerialink.net", "a@b"])
    def test_domain(self, value: str) -> None:
        with raises_code("invalid_header"):
            build_mm4_forward(outbound(), domain=value, originator_system="mms-relay")

    @pytest.mark.parametrize("value", ["relay\r\nBcc: x", ""])
    def test_originator_system(self, value: str) -> None:
        with raises_code("invalid_header"):
            build_mm4_forward(outbound(), domain=DOMAIN, originator_system=value)

    @pytest.mark.parametrize("ids", [("tx\r\nBcc: x", "m"), ("tx", "m\r\nBcc: x"), ("tx", "<a@b> <c@d>")])
    def test_message_ids(self, ids: tuple[str, str]) -> None:
        with raises_code("invalid_header"):
            build(outbound(), message_ids=ids)

    @pytest.mark.parametrize("number", ["abc", "+1-310-555-0101", "++13105550101", "12", "+1310555010112345"])
    def test_numbers_must_be_digits(self, number: str) -> None:
        with raises_code("invalid_header"):
            build(outbound(recipients=(number,)))


class TestUnsendable:
    def test_attachment_without_bytes(self) -> None:
        # Given an attachment known only by URL (the HTTPS transport's form)
        remote = OutboundAttachment("image/jpeg", "1.jpg", url="https://media.example.org/1.jpg")
        # Then MM4 cannot carry it
        with raises_code("missing_attachment_data"):
            build(outbound(attachments=(remote,)))

    def test_duplicate_attachment_names(self) -> None:
        with raises_code("duplicate_attachment_name"):
            build(outbound(attachments=(PHOTO, dataclasses.replace(VOICE, name=PHOTO.name))))

    def test_attachment_named_like_the_smil(self) -> None:
        with raises_code("duplicate_attachment_name"):
            build(outbound(attachments=(dataclasses.replace(PHOTO, name="smil"),)))

    def test_container_content_type(self) -> None:
        with raises_code("invalid_content_type"):
            build(outbound(attachments=(dataclasses.replace(PHOTO, content_type="multipart/mixed"),)))

    def test_no_recipient(self) -> None:
        with raises_code("no_recipients"):
            build(outbound(recipients=()))

    def test_duplicate_recipient(self) -> None:
        with raises_code("duplicate_recipient"):
            build(outbound(recipients=(ALICE, ALICE.lstrip("+"))))

    def test_nothing_to_send(self) -> None:
        with raises_code("empty_message"):
            build(outbound(text="", attachments=()))
