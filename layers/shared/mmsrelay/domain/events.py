"""A domain event ready to publish (``MMS Received``, ``MMS Sent``...), and what bounds its size."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any, Final

SOURCE: Final = "mms-relay"
# EventBridge's limit for one entry, and for a whole PutEvents request.
MAX_ENTRY_BYTES: Final = 256 * 1024
_TIME_BYTES: Final = 14  # what a Time field counts for in the size (AWS's sizing rule)


@dataclass(frozen=True)
class EventEntry:
    """One event to publish, and the stream record (``record_id``, its ``eventID``) it comes from."""

    record_id: str
    detail_type: str
    detail: Mapping[str, Any]
    time: datetime | None = None  # when the write happened (the record's ApproximateCreationDateTime)

    @property
    def event_id(self) -> str:
        return str(self.detail["eventId"])

    @cached_property
    def detail_json(self) -> str:
        return json.dumps(self.detail, ensure_ascii=False, separators=(",", ":"))

    @cached_property
    def size(self) -> int:
        """Bytes this entry counts for against EventBridge's 256 KB (AWS's PutEvents sizing rule)."""
        time = _TIME_BYTES if self.time is not None else 0
        return time + len(SOURCE) + len(self.detail_type.encode()) + len(self.detail_json.encode())
