"""The MMS content types the relay accepts: allow list, normalisation, extensions, sniffing."""

from types import MappingProxyType
from typing import Final

from mmsrelay.domain.errors import UnsupportedMediaType

OCTET_STREAM: Final = "application/octet-stream"

# Canonical type -> file extension (without the dot). The keys are the allow list.
_EXTENSIONS: Final = MappingProxyType(
    {
        "image/jpeg": "jpg",
        "image/png": "png",
        "image/gif": "gif",
        "image/bmp": "bmp",
        "image/webp": "webp",
        "video/3gpp": "3gp",
        "video/mp4": "mp4",
        "video/quicktime": "mov",
        "audio/amr": "amr",
        "audio/mpeg": "mp3",
        "audio/mp4": "m4a",
        "audio/aac": "aac",
        "audio/ogg": "ogg",
        "text/vcard": "vcf",
        "text/x-vcard": "vcf",
        "text/plain": "txt",
        "application/smil": "smil",
    }
)

ALLOWED_CONTENT_TYPES: Final = frozenset(_EXTENSIONS)

# Images the relay can re-encode to fit a carrier's size limit; anything else is sent as given or refused.
FITTABLE_IMAGE_TYPES: Final = frozenset({"image/jpeg", "image/png", "image/gif", "image/bmp", "image/webp"})

# Non-standard spellings seen in the wild -> canonical type.
_ALIASES: Final = MappingProxyType(
    {
        "image/jpg": "image/jpeg",
        "image/pjpeg": "image/jpeg",
        "image/x-png": "image/png",
        "image/x-bmp": "image/bmp",
        "image/x-ms-bmp": "image/bmp",
        "video/3gp": "video/3gpp",
        "audio/mp3": "audio/mpeg",
        "audio/x-mp3": "audio/mpeg",
        "audio/mpeg3": "audio/mpeg",
        "audio/x-mpeg": "audio/mpeg",
        "audio/x-m4a": "audio/mp4",
        "audio/m4a": "audio/mp4",
        "audio/x-aac": "audio/aac",
        "audio/x-amr": "audio/amr",
        "application/smil+xml": "application/smil",
        "binary/octet-stream": OCTET_STREAM,
    }
)

# How many leading bytes :func:`sniff` looks at.
SNIFF_BYTES: Final = 32

_FTYP_BRANDS: Final = MappingProxyType(
    {
        b"3gp": "video/3gpp",
        b"3g2": "video/3gpp",
        b"qt ": "video/quicktime",
        b"M4A": "audio/mp4",
        b"M4B": "audio/mp4",
    }
)


# Leading bytes -> type, compared against the uppercased prefix (only vCard is textual).
_MAGIC: Final = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87A", "image/gif"),
    (b"GIF89A", "image/gif"),
    (b"#!AMR", "audio/amr"),
    (b"OGGS", "audio/ogg"),
    (b"ID3", "audio/mpeg"),
    (b"BEGIN:VCARD", "text/vcard"),
)


def normalize_content_type(header: str | None) -> str | None:
    """Return the canonical ``type/subtype`` of a Content-Type header, or None when absent or malformed.

    Lowercases, strips parameters (``; charset=...``) and maps known aliases (``image/jpg``).
    """
    if header is None:
        return None
    media_type = header.split(";", 1)[0].strip().lower()
    kind, slash, subtype = media_type.partition("/")
    if not slash or not kind or not subtype or not _is_token(kind) or not _is_token(subtype):
        return None
    return _ALIASES.get(media_type, media_type)


def is_allowed(content_type: str) -> bool:
    """Tell whether a canonical content type is on the MMS allow list."""
    return content_type in ALLOWED_CONTENT_TYPES


def extension_for(content_type: str) -> str:
    """Return the file extension (no dot) for an allow-listed type; raise UnsupportedMediaType otherwise."""
    try:
        return _EXTENSIONS[content_type]
    except KeyError:
        raise UnsupportedMediaType("type_not_allowed", "no extension for this content type") from None


def sniff(prefix: bytes) -> str | None:
    """Guess a canonical content type from the first bytes of a body; None when unrecognised."""
    if prefix[4:8] == b"ftyp":
        return _FTYP_BRANDS.get(prefix[8:11], "video/mp4")
    if prefix[:4] == b"RIFF" and prefix[8:12] == b"WEBP":
        return "image/webp"
    upper = prefix[:16].upper()
    return next((kind for magic, kind in _MAGIC if upper.startswith(magic)), None)


def needs_sniffing(header: str | None) -> bool:
    """Tell whether a Content-Type header says nothing about the body (missing, malformed, octet-stream)."""
    return normalize_content_type(header) in (None, OCTET_STREAM)


def resolve_content_type(header: str | None, prefix: bytes) -> str:
    """Decide the content type of a body from its header, sniffing ``prefix`` when the header says nothing.

    The header is trusted when it names a specific type; it is ignored when missing, malformed or
    ``application/octet-stream``. Raises UnsupportedMediaType when the result is not allow-listed.
    """
    declared = normalize_content_type(header)
    if declared is not None and declared != OCTET_STREAM:
        if not is_allowed(declared):
            raise UnsupportedMediaType("type_not_allowed", "declared content type is not allowed")
        return declared
    sniffed = sniff(prefix)
    if sniffed is None:
        raise UnsupportedMediaType("type_unknown", "content type missing and not recognisable")
    return sniffed


def _is_token(text: str) -> bool:
    return all(char.isascii() and (char.isalnum() or char in "!#$&-^_.+") for char in text)
