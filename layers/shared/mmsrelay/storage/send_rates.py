"""Send schedules: ``RATE#<code>`` / ``RATE``, one item per sending code, shared by every invocation.

Attributes: ``nextAt`` (microseconds since the epoch: the schedule's next free moment), ``version``
(bumped by every slow-down) and, after a gateway 429, ``reducedRate``, ``reducedAt`` and
``pausedUntil``. The arithmetic is the domain's (``mmsrelay.domain.send_rate``); this module makes
it hold across concurrent invocations with conditional writes and no reads:

- **A reservation is one update.** While the schedule is ahead of now (a busy code) it is
  ``SET nextAt = nextAt + :spacing``, on condition that the schedule is still ahead and still of the
  version the spacing was computed for. DynamoDB applies writes to one item one after another, so
  concurrent reservations do not conflict: each gets its own slot (the ``nextAt`` it returns, minus
  its spacing). An idle code's reservation sets ``nextAt`` outright, on the opposite condition.
- **A refused condition teaches.** It returns the item as it is (``ALL_OLD``) and the reservation is
  tried again from there: an execution environment learns a code's state from its first write
  (creating the item if there is none), and from every refusal after that.
- **A slow-down never writes ``nextAt``.** It sets the back-off fields and the next version on
  condition of the version it saw, so it cannot undo a concurrent reservation; reservations of the
  old version are refused from then on and retried at the new rate.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Final

from mmsrelay.domain.send_rate import SendRateState, Slot, earliest_us, slowed_down, spacing_us
from mmsrelay.storage.errors import ConditionFailed, StorageUnavailable, dynamodb_call
from mmsrelay.storage.items import send_rate_key

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

logger = logging.getLogger(__name__)

# Conditional attempts per call: a busy code needs one, a changed version or a first use one more.
MAX_ATTEMPTS: Final = 8
ENTITY: Final = "send_rate"


class SendRateRepository:
    """Implements the outbound use case's ``SendRates``; safe to share between threads."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name
        # The newest state seen per code (None: the item did not exist); a guide, never trusted.
        self._known: dict[str, SendRateState | None] = {}
        self._lock = threading.Lock()

    def seen_version(self, code: str) -> int | None:
        """The newest schedule version this environment has seen for ``code`` (None: none yet)."""
        with self._lock:
            state = self._known.get(code)
        return None if state is None else state.version

    def reserve(self, code: str, rate: float, cost: int, now_us: int) -> Slot:
        """The next slot of ``code`` for a job of ``cost`` messages (``StorageUnavailable`` when contended)."""
        state = self._guide(code)
        for _ in range(MAX_ATTEMPTS):
            try:
                return self._reserve_once(code, state, rate, cost, now_us)
            except ConditionFailed as refused:
                state = self._learn(code, refused.item)
        logger.warning("send schedule contended: no slot reserved", extra={"send_code": code})
        raise StorageUnavailable("send schedule contended")

    def slow_down(self, code: str, rate: float, pause_seconds: float | None, now_us: int) -> None:
        """Applies a gateway 429 to ``code``'s schedule (given up, logged, when contended)."""
        state = self._guide(code)
        for _ in range(MAX_ATTEMPTS):
            after = slowed_down(state or SendRateState(), rate, pause_seconds, now_us)
            values: dict[str, Any] = {
                ":version": {"N": str(after.version)},
                ":reduced": {"N": f"{after.reduced_rate:.6f}"},
                ":reduced_at": {"N": str(after.reduced_at_us)},
                ":paused": {"N": str(after.paused_until_us)},
            }
            assignments = "version = :version, reducedRate = :reduced, reducedAt = :reduced_at, pausedUntil = :paused"
            if state is None:
                condition = "attribute_not_exists(pk)"
                assignments += ", entity = :entity, code = :code"
                values |= {":entity": {"S": ENTITY}, ":code": {"S": code}}
            else:
                condition = "version = :seen"
                values[":seen"] = {"N": str(state.version)}
            try:
                self._update(code, "SET " + assignments, condition, values)
            except ConditionFailed as refused:
                state = self._learn(code, refused.item)
                continue
            self._remember(code, after)
            return
        logger.warning("send schedule contended: slow-down not recorded", extra={"send_code": code})

    def _reserve_once(self, code: str, state: SendRateState | None, rate: float, cost: int, now_us: int) -> Slot:
        if state is None:  # no item yet, or none seen: create it (refused, with the item, if it exists)
            spacing = spacing_us(SendRateState(), rate, cost, now_us)
            self._update(
                code,
                "SET entity = :entity, code = :code, nextAt = :next, version = :zero",
                "attribute_not_exists(pk)",
                {
                    ":entity": {"S": ENTITY},
                    ":code": {"S": code},
                    ":next": {"N": str(now_us + spacing)},
                    ":zero": {"N": "0"},
                },
            )
            self._remember(code, SendRateState(next_at_us=now_us + spacing))
            return Slot(now_us, 0)
        spacing = spacing_us(state, rate, cost, now_us)
        floor = max(now_us, state.paused_until_us or now_us)
        values = {":version": {"N": str(state.version)}, ":floor": {"N": str(floor)}, ":spacing": {"N": str(spacing)}}
        if state.next_at_us is not None and earliest_us(state, now_us) == state.next_at_us:
            answer = self._update(
                code, "SET nextAt = nextAt + :spacing", "version = :version AND nextAt >= :floor", values
            )
            next_at = int(answer.get("nextAt", {}).get("N", state.next_at_us + spacing))
        else:
            answer = self._update(
                code,
                "SET nextAt = :floor + :spacing",
                "version = :version AND (attribute_not_exists(nextAt) OR nextAt < :floor)",
                values,
            )
            next_at = floor + spacing
        self._remember(code, replace(state, next_at_us=next_at))
        return Slot(next_at - spacing, state.version)

    def _update(self, code: str, expression: str, condition: str, values: dict[str, Any]) -> Mapping[str, Any]:
        answer = dynamodb_call(
            self._client.update_item,
            TableName=self._table,
            Key=send_rate_key(code),
            UpdateExpression=expression,
            ConditionExpression=condition,
            ExpressionAttributeValues=values,
            ReturnValues="UPDATED_NEW",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
        attributes: Mapping[str, Any] = answer.get("Attributes", {})
        return attributes

    def _guide(self, code: str) -> SendRateState | None:
        with self._lock:
            return self._known.get(code)

    def _learn(self, code: str, item: Mapping[str, Any]) -> SendRateState | None:
        state = state_of(item)
        if state is not None:
            self._remember(code, state)
        else:
            with self._lock:
                self._known.pop(code, None)
        return state

    def _remember(self, code: str, state: SendRateState) -> None:
        with self._lock:
            known = self._known.get(code)
            if known is None or state.version >= known.version:
                self._known[code] = state


def state_of(item: Mapping[str, Any]) -> SendRateState | None:
    """The state a ``RATE#`` item holds (None: no item)."""
    if not item:
        return None

    def number(name: str) -> str | None:
        value = item.get(name, {}).get("N")
        return None if value is None else str(value)

    next_at, version, reduced = number("nextAt"), number("version"), number("reducedRate")
    reduced_at, paused = number("reducedAt"), number("pausedUntil")
    return SendRateState(
        next_at_us=None if next_at is None else int(next_at),
        version=0 if version is None else int(version),
        reduced_rate=None if reduced is None else float(reduced),
        reduced_at_us=None if reduced_at is None else int(reduced_at),
        paused_until_us=None if paused is None else int(paused),
    )
