"""The conversation cursor: a page's last key as base64url JSON, read back strictly.

There is no secret to sign it, so it is checked strictly instead: canonical base64url, bounded,
a JSON object without repeated names; the store then accepts it only as a key of the number the
caller asked for (``MessageStore.start_key``). A tampered cursor can only move within that number.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from typing import Any

from mmsrelay.query.errors import InvalidCursor

MAX_CURSOR_CHARS = 1024  # a real cursor is about 300; the bound also caps JSON nesting
_CURSOR_TEXT = re.compile(r"[A-Za-z0-9_-]+")


def encode_cursor(key: Mapping[str, str]) -> str:
    text = json.dumps(dict(key), separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode("utf-8")).rstrip(b"=").decode("ascii")


def decode_cursor(token: str) -> dict[str, Any]:
    """The JSON object a cursor holds, refused unless it is exactly one this API could have made."""
    if len(token) > MAX_CURSOR_CHARS or not _CURSOR_TEXT.fullmatch(token):
        raise InvalidCursor("not base64url")
    try:
        data = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        document = json.loads(data.decode("utf-8"), object_pairs_hook=_no_repeated_names)
    except (binascii.Error, ValueError, RecursionError) as error:
        raise InvalidCursor("not a cursor") from error
    if base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii") != token:
        raise InvalidCursor("not canonical base64url")  # no second spelling of one cursor
    if not isinstance(document, dict):
        raise InvalidCursor("not a key")
    return document


def _no_repeated_names(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document = dict(pairs)
    if len(document) != len(pairs):
        raise ValueError("repeated name")
    return document
