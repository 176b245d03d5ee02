"""The PutEvents adapter: botocore errors become ``EventsUnavailable`` (transient) or ``EventRefused``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

from botocore.exceptions import BotoCoreError, ClientError

from mmsrelay.aws import error_code
from mmsrelay.domain.errors import MmsRelayError, PermanentError, TransientError
from mmsrelay.domain.events import SOURCE, EventEntry

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_events.type_defs import PutEventsRequestEntryTypeDef

# Codes (of the whole call, or of one entry) that say "try again later".
TRANSIENT_CODES: Final = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "LimitExceededException",
        "InternalException",
        "InternalFailure",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)


class EventsUnavailable(TransientError):
    """EventBridge throttled or failed the call or the entry; the same entry may succeed later."""


class EventRefused(PermanentError):
    """EventBridge refused the call or the entry (permissions, a missing bus, a malformed entry)."""


class EventBridgeBus:
    """The PutEvents adapter: botocore errors become ``EventsUnavailable`` or ``EventRefused``."""

    def __init__(self, client: EventBridgeClient, bus_name: str) -> None:
        self._client = client
        self._bus = bus_name

    def put(self, entries: Sequence[EventEntry]) -> list[MmsRelayError | None]:
        """One PutEvents call (the caller keeps it within 10 entries and 256 KB): None per entry taken,
        the error per entry refused. Raises when the whole call failed."""
        request: list[PutEventsRequestEntryTypeDef] = []
        for entry in entries:
            item: PutEventsRequestEntryTypeDef = {
                "Source": SOURCE,
                "DetailType": entry.detail_type,
                "Detail": entry.detail_json,
                "EventBusName": self._bus,
            }
            if entry.time is not None:
                item["Time"] = entry.time
            request.append(item)
        try:
            answer = self._client.put_events(Entries=request)
        except ClientError as error:
            raise _call_error(error) from error
        except BotoCoreError as error:
            raise EventsUnavailable("eventbridge unreachable") from error
        results = answer.get("Entries", [])
        if len(results) != len(entries):
            raise EventsUnavailable("PutEvents answered for another number of entries")
        return [_entry_error(result.get("ErrorCode"), result.get("EventId")) for result in results]


def _call_error(error: ClientError) -> MmsRelayError:
    code = error_code(error)
    status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    if code in TRANSIENT_CODES or status == 429 or status >= 500:
        return EventsUnavailable(code or str(status))
    return EventRefused(code or str(status))


def _entry_error(code: str | None, event_id: str | None) -> MmsRelayError | None:
    if code:
        return EventsUnavailable(code) if code in TRANSIENT_CODES else EventRefused(code)
    if not event_id:
        return EventsUnavailable("no event id in the answer")
    return None
