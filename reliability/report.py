"""A run's figures, printed one per line as the benchmarks print theirs, and what they must meet.

``name: value unit (note)``: the note gives the ratio or the share a reader compares the value
with, and, for a figure with a target, the target and whether it was met. A run's assertions are
its targets: the system tests run the same code with smaller counts and fail on ``violations``.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import TextIO


@dataclass(frozen=True)
class Figure:
    name: str
    value: int | float | str
    unit: str
    note: str = ""

    def line(self) -> str:
        value = f"{self.value:.1f}" if isinstance(self.value, float) else str(self.value)
        unit = f" {self.unit}" if self.unit else ""
        note = f" ({self.note})" if self.note else ""
        return f"{self.name}: {value}{unit}{note}"


@dataclass
class Report:
    """The figures of one run (``run`` prefixes every name) and the targets they missed."""

    run: str
    figures: list[Figure] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)

    def add(self, name: str, value: int | float | str, unit: str, note: str = "") -> None:
        self.figures.append(Figure(f"{self.run}_{name}", value, unit, note))

    def expect(self, name: str, value: int | float, unit: str, target: str, met: bool, note: str = "") -> None:
        """A figure with a target: ``met`` says whether ``value`` meets ``target`` (a short text)."""
        verdict = f"target {target}: {'met' if met else 'NOT MET'}"
        self.add(name, value, unit, f"{note}; {verdict}" if note else verdict)
        if not met:
            self.violations.append(f"{self.run}_{name} = {value} {unit}, target {target}")

    def fail(self, problem: str) -> None:
        """A problem found by a check that is not a figure (listed after the figures)."""
        self.violations.append(problem)

    def lines(self) -> list[str]:
        return [figure.line() for figure in self.figures]

    def print(self, stream: TextIO = sys.stdout, problems_to: TextIO = sys.stderr) -> None:
        for line in self.lines():
            print(line, file=stream, flush=True)
        for problem in self.violations[:50]:
            print(f"{self.run}: {problem}", file=problems_to, flush=True)
        if len(self.violations) > 50:
            print(f"{self.run}: ... and {len(self.violations) - 50} more", file=problems_to, flush=True)


def share(part: float, whole: float) -> str:
    """``12.5% of <whole>``-style helper: the percentage, or ``-`` when ``whole`` is 0."""
    return f"{100.0 * part / whole:.1f}%" if whole else "-"


def ratio(part: float, whole: float) -> str:
    return f"{part / whole:.2f}x" if whole else "-"
