"""One invocation of the outbound function: a batch sent over the batch's senders, idempotently."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig

from mmsrelay.outbound.records import OutboundRecords, PartialBatchResponse, process_batch
from mmsrelay.outbound.senders import GatewaySenders


@dataclass(frozen=True)
class OutboundRelay:
    records: OutboundRecords
    senders: GatewaySenders
    idempotency: IdempotencyConfig
    max_concurrent_sends: int

    def handle_batch(self, event: dict[str, Any], context: Any) -> PartialBatchResponse:
        self.idempotency.register_lambda_context(context)
        with self.senders.open() as send:
            return process_batch(event, lambda record: self.records.handle(record, send), self.max_concurrent_sends)
