"""Posting to the relay's webhooks the way the gateway does: again until a 2xx, then no more.

Every answer is kept. At each 2xx the run checks at once, on the emulator directly, that what the
post carried is stored: a 2xx for something not stored would be lost (the gateway does not post it
again). An answer is *retryable* when it is no answer, a 429 or a 5xx (the gateway tries again);
any other 4xx would be a refusal, the gateway dropping the post.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from gatewaysim.mo import MoResult

RETRY_FIRST_S = 0.5
RETRY_MAX_S = 4.0


@dataclass
class Delivery:
    key: str
    statuses: list[int | None] = field(default_factory=list)
    bodies: list[str] = field(default_factory=list)
    stored_at_2xx: bool | None = None  # None: no 2xx came

    @property
    def answered_2xx(self) -> bool:
        return self.stored_at_2xx is not None

    @property
    def retryable(self) -> int:
        return sum(1 for status in self.statuses if is_retryable(status))

    @property
    def refused(self) -> int:
        return sum(1 for status in self.statuses if status is not None and 400 <= status < 500 and status != 429)

    @property
    def said(self) -> str:
        """The ``status`` of the last answer's JSON body ("?" when there is none)."""
        try:
            return str(json.loads(self.bodies[-1]).get("status"))
        except (json.JSONDecodeError, IndexError, AttributeError):
            return "?"


def is_retryable(status: int | None) -> bool:
    return status is None or status == 429 or status >= 500


def deliver(
    key: str,
    post: Callable[[], MoResult],
    stored: Callable[[], bool],
    attempts: int = 40,
    after_first: Callable[[], object] | None = None,
) -> Delivery:
    """Posts until a 2xx (at most ``attempts`` times, waiting 0.5 s doubling up to 4 s between);
    ``after_first`` is called once the first answer came."""
    delivery = Delivery(key)
    for attempt in range(attempts):
        result = post()
        delivery.statuses.append(result.status_code)
        delivery.bodies.append(result.body[:200])
        if attempt == 0 and after_first is not None:
            after_first()
        if result.ok:
            delivery.stored_at_2xx = stored()
            return delivery
        if result.status_code is not None and not is_retryable(result.status_code):
            return delivery  # refused: the gateway would not post it again
        time.sleep(min(RETRY_FIRST_S * 2**attempt, RETRY_MAX_S))
    return delivery


@dataclass(frozen=True)
class Tally:
    posts: int
    answered_2xx: int
    retryable_answers: int
    refused_answers: int
    not_stored_at_2xx: int
    never_2xx: int


def tally(deliveries: Iterable[Delivery]) -> Tally:
    found = list(deliveries)
    return Tally(
        posts=sum(len(d.statuses) for d in found),
        answered_2xx=sum(1 for d in found if d.answered_2xx),
        retryable_answers=sum(d.retryable for d in found),
        refused_answers=sum(d.refused for d in found),
        not_stored_at_2xx=sum(1 for d in found if d.stored_at_2xx is False),
        never_2xx=sum(1 for d in found if not d.answered_2xx),
    )
