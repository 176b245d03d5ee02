"""What the read use cases need: the table's records (``mmsrelay.storage.reads``) and media links
(``mmsrelay.media.presign``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from mmsrelay.domain.records import (
    ConversationPage,
    Delivery,
    InboundRecord,
    JobRecord,
    PageKey,
    TransactionRecord,
)


class MessageStore(Protocol):
    def message(self, message_id: str) -> JobRecord | None: ...

    def transaction(self, transaction_guid: str) -> InboundRecord | TransactionRecord | None: ...

    def transactions(self, transaction_guids: Sequence[str]) -> dict[str, Delivery]:
        """The deliveries found, by GUID."""
        ...

    def conversation(self, number: str, limit: int, start: PageKey | None) -> ConversationPage:
        """Up to ``limit`` of the number's messages, newest first, after ``start``; raises a
        ``PermanentError`` when the table refuses ``start``."""
        ...

    def start_key(self, number: str, document: Mapping[str, object]) -> PageKey | None:
        """``document`` as a start key of ``number``'s conversation, or None when it is not one."""
        ...


class MediaLinks(Protocol):
    expires_in: int  # seconds a link is valid

    def presigned_get(self, key: str) -> str: ...
