"""Per-source send rates, as a gateway throttling each sending code would enforce them (assumed).

One token bucket per ``source``: it holds up to ``rate * burst_s`` tokens (at least one), starts
full and refills at ``rate`` tokens per second; a submission takes one token, or is refused with
the seconds until one is due (the 429's ``Retry-After``). Sources without a rate are not limited.
The real gateway's limits and burst are not documented: ``burst_s`` is the simulator's guess
(one second of messages by default), to be checked against real traffic.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType


@dataclass
class _Bucket:
    tokens: float
    at: float


class SourceRateLimits:
    """Token buckets by ``source``; thread-safe. Times are ``time.monotonic()`` seconds."""

    def __init__(self, rates: Mapping[str, float], burst_s: float = 1.0) -> None:
        if any(rate <= 0 for rate in rates.values()):
            raise ValueError("a rate is a positive number of messages per second")
        if burst_s <= 0:
            raise ValueError("burst_s must be positive")
        self.rates: Mapping[str, float] = MappingProxyType(dict(rates))
        self.burst_s = burst_s
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def capacity(self, source: str) -> float:
        return max(1.0, self.rates[source] * self.burst_s)

    def take(self, source: str, now: float) -> float | None:
        """None when ``source`` may send at ``now`` (a token taken), else the seconds until it may."""
        rate = self.rates.get(source)
        if rate is None:
            return None
        with self._lock:
            bucket = self._buckets.setdefault(source, _Bucket(self.capacity(source), now))
            elapsed = max(0.0, now - bucket.at)
            bucket.tokens = min(self.capacity(source), bucket.tokens + elapsed * rate)
            bucket.at = max(bucket.at, now)
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return None
            return (1.0 - bucket.tokens) / rate


def retry_after_header(wait_s: float) -> str:
    """``Retry-After`` in whole seconds (at least one), never earlier than the token is due."""
    return str(max(1, math.ceil(wait_s)))
