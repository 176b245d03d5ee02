"""One entry of a status history: the one shape every writer uses and every reader gets.

A ``TX#`` transaction's history holds the sender's ``sent`` and each receipt (and the no-receipt
sweep's ``no_receipt``); a ``MSG#`` job's holds its steps (queued, sending, sent, failed). Every
field but ``at`` is optional: the relay's own steps name no ``source`` (as they never did), a
receipt whose state the vocabulary does not know has no ``status``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StatusEvent:
    status: str | None  # normalised; None for a state the vocabulary does not know
    at: str | None  # when we recorded it (ISO, ``clock.iso_time``)
    source: str | None = None  # http | smpp_text | carrier_event | mm4_delivery_report | mm4_read_reply | no_receipt
    state: str | None = None  # as received: DELIVRD, 40001, Retrieved...
    code: str | None = None  # an error code: SMPP err, smppStatusCode, a send error's code
    occurred_at: str | None = None  # the receipt's own time (done date), when given
    detail: str | None = None  # a receipt's short text (numbers masked, <= 200 characters), when given
