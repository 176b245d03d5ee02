"""At most once at the gateway: the send use case behind Powertools idempotency, keyed by ``messageId``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    BasePersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)

from mmsrelay.outbound.job import OutboundJob
from mmsrelay.outbound.send import Outcome, Sender


class IdempotentJobs:
    """The send use case behind Powertools idempotency, keyed by ``messageId``.

    A job redelivered by SQS, or put twice with one ``messageId``, reaches the gateway at most
    once: the first run leaves a record (in progress, then completed with its outcome) in the
    idempotency table; a repeat returns that outcome. A ``messageId`` reused for a different body
    is refused (the body's hash is validated). If the function crashes after the gateway accepted
    a message but before the send is recorded, the in-progress record expires with the invocation
    and a redelivery sends again: the one window for a duplicate (docs/architecture.md). A crash
    after the send was recorded sends nothing again: the use case finds the job ``sent``.
    """

    def __init__(self, use_case: Outcome, persistence: BasePersistenceLayer, config: IdempotencyConfig) -> None:
        self._use_case = use_case
        self._run: Callable[..., dict[str, Any]] = idempotent_function(
            data_keyword_argument="key", persistence_store=persistence, config=config
        )(self._send)

    def __call__(self, job: OutboundJob, message_id: str, body_hash: str, send: Sender) -> dict[str, Any]:
        return self._run(key={"messageId": message_id, "bodyHash": body_hash}, job=job, send=send)

    def _send(self, *, key: dict[str, str], job: OutboundJob, send: Sender) -> dict[str, Any]:
        return self._use_case(job, key["messageId"], send)
