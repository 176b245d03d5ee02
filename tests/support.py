"""Helpers shared by the test tiers: the sample events and a metrics recorder."""

from __future__ import annotations

import copy
import json
from collections import Counter
from pathlib import Path
from typing import Any

EVENTS = Path(__file__).resolve().parents[1] / "events"
# The credentials the sample events carry (events/*.json); not a secret of any deployment.
EVENT_USERNAME = "aerialink"
EVENT_PASSWORD = "example-webhook-password"


def load_event(name: str) -> dict[str, Any]:
    """A fresh copy of ``events/<name>`` (the same files ``sam local invoke -e`` uses)."""
    document: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return copy.deepcopy(document)


class MetricsRecorder:
    """Stands in for Powertools ``Metrics``: counts what was added, by name."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def add_metric(self, name: str, unit: Any, value: float, resolution: Any = 60) -> None:
        self.counts[name] += int(value)
