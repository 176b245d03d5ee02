"""Use case: transactions still without a final receipt at their deadline become ``no_receipt``.

Reads only the sparse ``ByReceiptDue`` index (one small partition per day of deadlines), never the
table. A real receipt that arrives later still wins: ``no_receipt`` ranks below every final status.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from mmsrelay.observability import COUNT, MetricsSink

logger = logging.getLogger(__name__)


class DueReceipts(Protocol):
    """What the sweep needs of the table (``mmsrelay.storage.receipts.ReceiptRepository``)."""

    def due_receipts(self, day: datetime, now: datetime, limit: int) -> Iterator[str]:
        """Transaction GUIDs whose receipt deadline fell on ``day`` (UTC) and has passed, oldest first."""
        ...

    def mark_no_receipt(self, guid: str, at: datetime) -> bool:
        """no_receipt when nothing ranked higher arrived; either way it leaves the due list."""
        ...


@dataclass(frozen=True)
class SweepResult:
    marked: int  # moved to no_receipt
    cleared: int  # already final: only taken out of the index


class SweepNoReceipts:
    def __init__(
        self,
        repository: DueReceipts,
        metrics: MetricsSink,
        clock: Callable[[], datetime],
        lookback_days: int,
        max_per_run: int,
    ) -> None:
        self._repository = repository
        self._metrics = metrics
        self._clock = clock
        self._lookback_days = lookback_days
        self._max_per_run = max_per_run

    def __call__(self) -> SweepResult:
        now = self._clock()
        marked = cleared = 0
        for days_ago in range(self._lookback_days, -1, -1):
            day = now - timedelta(days=days_ago)
            budget = self._max_per_run - marked - cleared
            if budget <= 0:
                logger.warning("no-receipt sweep stopped at its limit", extra={"limit": self._max_per_run})
                break
            for guid in self._repository.due_receipts(day, now, budget):
                if self._repository.mark_no_receipt(guid, now):
                    marked += 1
                else:
                    cleared += 1
        if marked:
            self._metrics.add_metric(name="NoReceipt", unit=COUNT, value=marked)
        logger.info("no-receipt sweep done", extra={"marked": marked, "cleared": cleared})
        return SweepResult(marked, cleared)
