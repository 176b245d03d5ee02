"""The read use cases: a message or a transaction by id, and a number's conversation page by page.

Reads: an id costs one read when found on the first try (an outbound message adds one batch read
for its recipients' deliveries); a conversation page is one query of the number's index.
"""

from __future__ import annotations

import logging
import re

from mmsrelay.domain.errors import PermanentError
from mmsrelay.domain.phone import mask
from mmsrelay.query.cursor import decode_cursor, encode_cursor
from mmsrelay.query.documents import Document, conversation_entry, message_document, transaction_document
from mmsrelay.query.errors import InvalidCursor
from mmsrelay.query.ports import MediaLinks, MessageStore

logger = logging.getLogger(__name__)

GUID = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")


class MessageQueries:
    def __init__(self, store: MessageStore, links: MediaLinks) -> None:
        self._store = store
        self._links = links

    def find(self, identifier: str) -> Document | None:
        """An outbound job (by messageId) or a transaction (by transactionGUID), or None.

        A GUID-shaped id is looked up as a transaction first (in upper case, the canonical form,
        then as given), then as a messageId (producers may use UUIDs); any other id the other
        way round (the HTTPS API's GUIDs are not always GUID-shaped).
        """
        as_message = ("message", self._message)
        as_transaction = ("transaction", self._transaction)
        lookups = (as_transaction, as_message) if GUID.fullmatch(identifier) else (as_message, as_transaction)
        for kind, lookup in lookups:
            document = lookup(identifier)
            if document is not None:
                logger.info("id looked up", extra={"found": kind})
                return document
        logger.info("id looked up", extra={"found": None})
        return None

    def conversation(self, number: str, limit: int, cursor: str | None) -> Document:
        """One page of ``number``'s messages, newest first, and the cursor of the next one.

        One more item than asked is read, so that the last page is known to be last (no empty
        page after it); the cursor is then built from the page's last item.
        """
        start = self._start_key(cursor, number) if cursor is not None else None
        try:
            page = self._store.conversation(number, limit + 1, start)
        except PermanentError as error:
            if start is None:
                raise
            raise InvalidCursor("refused as a start key") from error
        items = list(page.entries[:limit])
        next_key = items[-1].key if len(page.entries) > limit else page.last_key
        logger.info(
            "conversation read",
            extra={
                "number": mask(number),
                "count": len(items),
                "more": next_key is not None,
                "from_cursor": bool(start),
            },
        )
        return {
            "number": number,
            "messages": [conversation_entry(item) for item in items],
            "nextCursor": encode_cursor(next_key) if next_key is not None else None,
        }

    def _start_key(self, cursor: str, number: str) -> dict[str, str]:
        key = self._store.start_key(number, decode_cursor(cursor))
        if key is None:
            raise InvalidCursor("not a key of this conversation")
        return dict(key)

    def _message(self, message_id: str) -> Document | None:
        job = self._store.message(message_id)
        if job is None:
            return None
        guids = [entry.transaction_guid for entry in job.recipients if isinstance(entry.transaction_guid, str)]
        deliveries = self._store.transactions(list(dict.fromkeys(guids))) if guids else {}
        return message_document(job, deliveries)

    def _transaction(self, identifier: str) -> Document | None:
        candidates = [identifier.upper(), identifier] if GUID.fullmatch(identifier) else [identifier]
        for guid in dict.fromkeys(candidates):
            record = self._store.transaction(guid)
            if record is not None:
                return transaction_document(record, self._links)
        return None
