"""Applying an MM4 report: which message identifiers are looked up, and which cannot name ours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal

import pytest

from mmsrelay.domain.history import StatusEvent
from mmsrelay.gateway_protocol.mm4_ids import mm4_message_key
from mmsrelay.receipts.apply import CLOCK_SKEW, EARLY_REPORT_WINDOW, ApplyReceipt, ReportAwaitsItsSend
from mmsrelay.receipts.model import Receipt
from tests.support import MetricsRecorder

NOW = datetime(2026, 11, 25, 17, 0, tzinfo=UTC)
GUID = "99999999-8888-4777-8666-555555555555"
KEY = mm4_message_key("demo-group-photos")


class Records:
    """The table as the use case sees it: one MM4 send, every lookup and write recorded."""

    def __init__(self) -> None:
        self.lookups: list[str] = []
        self.applied: list[str] = []

    def apply(self, guid: str, event: StatusEvent) -> Literal["advanced", "kept_in_history"]:
        self.applied.append(guid)
        return "advanced"

    def guid_for_mm4_report(self, mm4_message_key: str, recipient: str | None) -> str | None:
        self.lookups.append(mm4_message_key)
        return GUID if mm4_message_key == KEY else None


def report(message_id: str, dated: datetime | None = None) -> Receipt:
    return Receipt(None, None, "delivered", "Retrieved", None, None, dated, "mm4_delivery_report", message_id, None)


UNSENT = mm4_message_key("not-recorded-yet")


def test_our_message_key_is_looked_up_and_a_gateway_guid_applied_directly() -> None:
    records = Records()
    apply = ApplyReceipt(records, MetricsRecorder(), lambda: NOW)
    assert apply(report(f"<{KEY}@mmsc.aerialink.net>")).transaction_guid == GUID
    assert apply(report(f"<{GUID.lower()}@mmsc.aerialink.net>")).transaction_guid == GUID
    assert records.lookups == [KEY]
    assert records.applied == [GUID, GUID]


@pytest.mark.parametrize(
    "message_id",
    [
        "<@mmsc.aerialink.net>",  # an empty key: DynamoDB refuses the query outright
        "<" + "a" * 3000 + "@mmsc.aerialink.net>",  # over DynamoDB's 2,048-byte key limit
        f"<{KEY}x@mmsc.aerialink.net>",  # one character too many
        f"<{KEY[:-1]}@mmsc.aerialink.net>",  # one too few
        f"<{KEY[:-1]}g@mmsc.aerialink.net>",  # not hex
        "<\ufffd\ufffd@mmsc.aerialink.net>",  # bytes that were not text
    ],
    ids=["empty", "over-long", "long-by-one", "short-by-one", "not-hex", "undecodable"],
)
def test_an_identifier_of_neither_shape_matches_nothing_without_a_lookup(message_id: str) -> None:
    # Given a report whose X-Mms-Message-ID is neither our 32-hex-digit key nor a GUID
    records, metrics = Records(), MetricsRecorder()
    # When it is applied
    applied = ApplyReceipt(records, metrics, lambda: NOW)(report(message_id))
    # Then it matches no transaction, the table is not asked, nothing is written
    assert (applied.outcome, applied.transaction_guid) == ("unmatched", None)
    assert records.lookups == []
    assert records.applied == []
    assert metrics.counts["ReceiptsUnmatched"] == 1


@pytest.mark.parametrize(
    "dated",
    [NOW, NOW - EARLY_REPORT_WINDOW, NOW + CLOCK_SKEW, NOW - timedelta(seconds=2)],
    ids=["now", "at-the-window", "ahead-by-the-skew", "seconds-ago"],
)
def test_a_recent_report_naming_an_unrecorded_forward_is_asked_for_again(dated: datetime) -> None:
    # Given a report dated within the window, naming a forward of ours no recorded send carries
    records, metrics = Records(), MetricsRecorder()
    # When it is applied, Then it is refused as transient (its send may be about to be recorded)
    with pytest.raises(ReportAwaitsItsSend):
        ApplyReceipt(records, metrics, lambda: NOW)(report(f"<{UNSENT}@mmsc.aerialink.net>", dated))
    assert records.lookups == [UNSENT]
    assert records.applied == []


@pytest.mark.parametrize(
    "dated",
    [None, NOW - EARLY_REPORT_WINDOW - timedelta(seconds=1), NOW + CLOCK_SKEW + timedelta(seconds=1)],
    ids=["undated", "older-than-the-window", "too-far-ahead"],
)
def test_an_undated_or_old_report_naming_an_unrecorded_forward_is_unmatched(dated: datetime | None) -> None:
    # Given a report naming a key of our forwards' shape that no send carries, undated or dated
    # outside the window (a key nobody will record, or a send long given up)
    records, metrics = Records(), MetricsRecorder()
    # When it is applied
    applied = ApplyReceipt(records, metrics, lambda: NOW)(report(f"<{UNSENT}@mmsc.aerialink.net>", dated))
    # Then it is answered unmatched, not asked for again forever
    assert (applied.outcome, applied.transaction_guid) == ("unmatched", None)
    assert records.applied == []
    assert metrics.counts["ReceiptsUnmatched"] == 1
