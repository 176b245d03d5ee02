"""What a run counted, per operation and in total, and what it found wrong."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field

FAILURES_KEPT = 20  # per operation, for the report (all are counted)
STATUS_CLASSES = ("2xx", "3xx", "4xx", "5xx")
NO_ANSWER = "no answer"


def status_class(status: int) -> str:
    return f"{status // 100}xx"


@dataclass
class OperationTally:
    """One operation's requests and answers."""

    label: str  # "POST /inbound"
    needs_credentials: bool
    requests: int = 0
    answers: Counter[str] = field(default_factory=Counter)  # by status class, or NO_ANSWER
    statuses: Counter[int] = field(default_factory=Counter)
    with_valid_credentials: int = 0
    without_valid_credentials: int = 0
    failures: int = 0  # requests with a failed check, or no answer
    failure_reports: list[str] = field(default_factory=list)

    @property
    def server_errors(self) -> int:
        return self.answers["5xx"]


@dataclass
class FuzzReport:
    """A whole run: its tallies, then what the checks after the run found."""

    examples_per_operation: int
    seed: int
    operations: dict[str, OperationTally] = field(default_factory=dict)
    seconds: float = 0.0
    unhandled_exceptions: list[str] | None = None  # None: the logs were not read
    refused_guids_checked: int = 0
    stored_from_refused: list[str] | None = None  # None: the table was not checked
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(
        self, label: str, status: int | None, valid_credentials: bool | None, failure_report: str | None
    ) -> None:
        with self._lock:
            tally = self.operations[label]
            tally.requests += 1
            tally.answers[status_class(status) if status is not None else NO_ANSWER] += 1
            if status is not None:
                tally.statuses[status] += 1
            if valid_credentials is True:
                tally.with_valid_credentials += 1
            elif valid_credentials is False:
                tally.without_valid_credentials += 1
            if failure_report is not None:
                tally.failures += 1
                if len(tally.failure_reports) < FAILURES_KEPT:
                    tally.failure_reports.append(failure_report)

    def snapshot(self, label: str) -> tuple[int, dict[str, int], int]:
        """One operation's requests, answers by class and failures so far (while workers record)."""
        with self._lock:
            tally = self.operations[label]
            return tally.requests, dict(tally.answers), tally.failures

    @property
    def requests(self) -> int:
        return sum(tally.requests for tally in self.operations.values())

    def problems(self) -> list[str]:
        """Everything that fails the run; empty when it passed."""
        found = []
        for label, tally in self.operations.items():
            if tally.requests < self.examples_per_operation:
                found.append(f"{label}: {tally.requests} requests, fewer than {self.examples_per_operation}")
            if tally.server_errors:
                found.append(f"{label}: {tally.server_errors} answers 5xx")
            if tally.failures:
                found.append(f"{label}: {tally.failures} requests failed a check:")
                found.extend(tally.failure_reports)
            if tally.needs_credentials and not (tally.with_valid_credentials and tally.without_valid_credentials):
                found.append(f"{label}: not exercised both with and without valid credentials")
        if self.unhandled_exceptions:
            found.append(f"{len(self.unhandled_exceptions)} unhandled exceptions in the functions' logs:")
            found.extend(self.unhandled_exceptions)
        if self.stored_from_refused:
            found.append(f"items stored for GUIDs only refused requests carried: {', '.join(self.stored_from_refused)}")
        return found

    def figures(self) -> list[str]:
        """One line per figure, ``name: value``, per operation then in total."""
        lines = []
        for label, tally in self.operations.items():
            lines.append(f"{label} requests: {tally.requests}")
            for name in (*STATUS_CLASSES, NO_ANSWER):
                if name in STATUS_CLASSES or tally.answers[name]:
                    lines.append(f"{label} {name}: {tally.answers[name]}{_statuses(tally, name)}")
            if tally.needs_credentials:
                lines.append(f"{label} with valid credentials: {tally.with_valid_credentials}")
                lines.append(f"{label} without valid credentials: {tally.without_valid_credentials}")
            lines.append(f"{label} failures: {tally.failures}")
        total: Counter[str] = Counter()
        for tally in self.operations.values():
            total.update(tally.answers)
        lines.append(f"total requests: {self.requests} ({len(self.operations)} operations, seed {self.seed})")
        lines.extend(f"total {name}: {total[name]}" for name in STATUS_CLASSES)
        lines.append(f"total failures: {sum(tally.failures for tally in self.operations.values())}")
        if self.unhandled_exceptions is not None:
            lines.append(f"unhandled exceptions logged: {len(self.unhandled_exceptions)}")
        if self.stored_from_refused is not None:
            lines.append(
                f"GUIDs only refused requests carried: {self.refused_guids_checked}, "
                f"with an item stored: {len(self.stored_from_refused)}"
            )
        lines.append(f"time: {self.seconds:.0f} s ({self.requests / max(self.seconds, 0.001):.1f} requests/s)")
        return lines


def _statuses(tally: OperationTally, name: str) -> str:
    statuses = sorted(status for status in tally.statuses if status_class(status) == name)
    if not statuses:
        return ""
    return " (" + ", ".join(f"{status}: {tally.statuses[status]}" for status in statuses) + ")"
