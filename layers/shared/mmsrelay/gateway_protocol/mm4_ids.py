"""MM4 identifiers derived from our messageId: the same job always carries the same IDs.

Kept apart from the MIME builder (and its e-mail imports) because the repository needs the
message ID too: MM4 delivery reports name the original message by it, not by a transaction GUID.
"""

from __future__ import annotations

import re
import uuid
from typing import Final

_ID_NAMESPACE: Final = uuid.UUID("6f1f0d52-3c1e-4d0e-9a57-2f52b8d9c0a4")
_MESSAGE_KEY: Final = re.compile(r"[0-9a-f]{32}")


def mm4_transaction_id(message_id: str) -> str:
    """``X-Mms-Transaction-ID`` of the MM4_forward.REQ for ``message_id``."""
    return uuid.uuid5(_ID_NAMESPACE, f"mm4-transaction:{message_id}").hex


def mm4_message_key(message_id: str) -> str:
    """The local part of ``X-Mms-Message-ID`` (``<key@domain>``) for ``message_id``."""
    return uuid.uuid5(_ID_NAMESPACE, f"mm4-message:{message_id}").hex


def message_key_of(header: str) -> str:
    """The local part of an ``X-Mms-Message-ID`` header value (``<key@domain>`` or bare)."""
    return header.strip().strip("<>").split("@", 1)[0].strip().lower()


def is_message_key(key: str) -> bool:
    """Whether ``key`` has the shape of :func:`mm4_message_key` (32 lower-case hex digits)."""
    return _MESSAGE_KEY.fullmatch(key) is not None
