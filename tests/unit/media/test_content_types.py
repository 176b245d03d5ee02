"""MMS content types: the allow list, header normalisation, extensions and sniffing."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mmsrelay.domain.content_types import (
    ALLOWED_CONTENT_TYPES,
    SNIFF_BYTES,
    extension_for,
    is_allowed,
    needs_sniffing,
    normalize_content_type,
    resolve_content_type,
    sniff,
)
from mmsrelay.domain.errors import UnsupportedMediaType

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
GIF = b"GIF89a\x01\x00\x01\x00"
MP4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00"
AMR = b"#!AMR\n\x3c\x91"


def test_allow_list_is_exactly_the_mms_types() -> None:
    # Given the relay's allow list
    # When it is read
    # Then it holds exactly the MMS types agreed with the gateway
    assert {
        "image/jpeg",
        "image/png",
        "image/gif",
        "image/bmp",
        "image/webp",
        "video/3gpp",
        "video/mp4",
        "video/quicktime",
        "audio/amr",
        "audio/mpeg",
        "audio/mp4",
        "audio/aac",
        "audio/ogg",
        "text/vcard",
        "text/x-vcard",
        "text/plain",
        "application/smil",
    } == ALLOWED_CONTENT_TYPES


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("image/jpeg", "image/jpeg"),
        ("IMAGE/JPEG", "image/jpeg"),
        (' image/png ; name="a.png"', "image/png"),
        ("text/plain; charset=utf-8", "text/plain"),
        ("image/jpg", "image/jpeg"),
        ("image/pjpeg", "image/jpeg"),
        ("audio/mp3", "audio/mpeg"),
        ("audio/x-m4a", "audio/mp4"),
        ("video/3gp", "video/3gpp"),
        ("application/smil+xml", "application/smil"),
        ("binary/octet-stream", "application/octet-stream"),
        ("text/html", "text/html"),
        (None, None),
        ("", None),
        ("jpeg", None),
        ("image/", None),
        ("/jpeg", None),
        ("image/jp eg", None),
    ],
)
def test_header_is_normalised(header: str | None, expected: str | None) -> None:
    # Given a Content-Type header as a media host sends it
    # When it is normalised
    # Then parameters and case are gone and aliases are mapped
    assert normalize_content_type(header) == expected


@pytest.mark.parametrize("content_type", sorted(ALLOWED_CONTENT_TYPES))
def test_every_allowed_type_has_an_extension(content_type: str) -> None:
    # Given an allowed type
    # When its extension is asked
    extension = extension_for(content_type)

    # Then it is a short alphanumeric extension without a dot
    assert extension.isalnum()
    assert 2 <= len(extension) <= 4


def test_extensions_of_common_types() -> None:
    # Given the most common MMS types
    # When their extensions are asked
    # Then they are the usual ones
    assert extension_for("image/jpeg") == "jpg"
    assert extension_for("video/3gpp") == "3gp"
    assert extension_for("video/quicktime") == "mov"
    assert extension_for("text/x-vcard") == "vcf"


def test_no_extension_for_a_type_not_allowed() -> None:
    # Given a type outside the allow list
    # When its extension is asked
    # Then it is refused
    with pytest.raises(UnsupportedMediaType):
        extension_for("text/html")


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        (JPEG, "image/jpeg"),
        (PNG, "image/png"),
        (b"GIF87a\x01\x00", "image/gif"),
        (GIF, "image/gif"),
        (MP4, "video/mp4"),
        (b"\x00\x00\x00\x14ftyp3gp4\x00\x00\x00\x00", "video/3gpp"),
        (b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00", "video/quicktime"),
        (b"\x00\x00\x00\x1cftypM4A \x00\x00\x00\x00", "audio/mp4"),
        (AMR, "audio/amr"),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"OggS\x00\x02", "audio/ogg"),
        (b"ID3\x04\x00", "audio/mpeg"),
        (b"BEGIN:VCARD\r\nVERSION:3.0", "text/vcard"),
        (b"<html><body>", None),
        (b"\x00\x01\x02\x03", None),
        (b"", None),
    ],
    ids=[
        "jpeg",
        "png",
        "gif87",
        "gif89",
        "mp4",
        "3gp",
        "quicktime",
        "m4a",
        "amr",
        "webp",
        "ogg",
        "mp3",
        "vcard",
        "html",
        "garbage",
        "empty",
    ],
)
def test_first_bytes_are_sniffed(prefix: bytes, expected: str | None) -> None:
    # Given the first bytes of a body
    # When they are sniffed
    # Then the type is recognised, or None when unknown
    assert sniff(prefix) == expected


@given(st.binary(max_size=SNIFF_BYTES))
def test_sniffing_only_ever_answers_allowed_types(prefix: bytes) -> None:
    # Given any bytes
    # When they are sniffed
    result = sniff(prefix)

    # Then the answer is None or an allowed type
    assert result is None or is_allowed(result)


@pytest.mark.parametrize(
    ("header", "prefix", "expected"),
    [
        ("image/png", JPEG, "image/png"),
        ("image/jpg; x=1", b"", "image/jpeg"),
        (None, PNG, "image/png"),
        ("application/octet-stream", GIF, "image/gif"),
        ("binary/octet-stream", AMR, "audio/amr"),
        ("not a type", MP4, "video/mp4"),
    ],
    ids=[
        "declared-wins",
        "alias",
        "missing-header",
        "octet-stream",
        "binary-octet-stream",
        "malformed-header",
    ],
)
def test_content_type_is_resolved(header: str | None, prefix: bytes, expected: str) -> None:
    # Given a header and the first bytes
    # When the content type is resolved
    # Then a specific header is trusted and an uninformative one is replaced by sniffing
    assert resolve_content_type(header, prefix) == expected


@pytest.mark.parametrize(
    ("header", "prefix", "reason"),
    [
        ("text/html", JPEG, "type_not_allowed"),
        ("application/x-msdownload", b"MZ", "type_not_allowed"),
        ("application/octet-stream", b"MZ\x90\x00", "type_unknown"),
        (None, b"", "type_unknown"),
    ],
    ids=["html-declared", "exe-declared", "exe-undeclared", "empty-undeclared"],
)
def test_unacceptable_content_type_is_refused(header: str | None, prefix: bytes, reason: str) -> None:
    # Given a declared type outside the allow list, or bytes nobody recognises
    # When the content type is resolved
    with pytest.raises(UnsupportedMediaType) as caught:
        resolve_content_type(header, prefix)

    # Then it is refused with its reason
    assert caught.value.code == reason


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, True),
        ("", True),
        ("not a type", True),
        ("Application/Octet-Stream; charset=binary", True),
        ("image/jpeg", False),
        ("IMAGE/JPG", False),
        ("text/html", False),
    ],
)
def test_only_a_header_that_says_nothing_needs_sniffing(header: str | None, expected: bool) -> None:
    # Given a Content-Type header (or none)
    # When asked whether the body must be sniffed
    # Then only a missing, malformed or octet-stream header says yes (a refused type is still specific)
    assert needs_sniffing(header) is expected
