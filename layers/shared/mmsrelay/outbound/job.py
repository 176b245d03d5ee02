"""The outbound job as the relay reads it from the queue (the contract: ``mmsrelay.outbound.contract``)."""

from __future__ import annotations

import hashlib
import json

from pydantic import ValidationError

from mmsrelay.domain.errors import PermanentError
from mmsrelay.outbound.contract import OutboundJob, S3Media, UrlMedia

__all__ = ["InvalidJob", "OutboundJob", "S3Media", "UrlMedia", "derived_message_id", "message_id_of", "parse_job"]


class InvalidJob(PermanentError):
    """The body is not JSON or breaks the schema; ``errors`` say where (never echo values)."""

    default_code = "invalid_job"

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


def parse_job(body: str) -> OutboundJob:
    try:
        return OutboundJob.model_validate_json(body)
    except ValidationError as error:
        raise InvalidJob(
            [f"{'.'.join(str(part) for part in e['loc']) or 'body'}: {e['msg']}" for e in error.errors()]
        ) from None


def derived_message_id(body: str, prefix: str = "auto") -> str:
    """A stable id for a body without ``messageId``: the same content gives the same id."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"))
    except ValueError:
        canonical = body
    return f"{prefix}-{hashlib.sha256(canonical.encode('utf-8', 'surrogatepass')).hexdigest()[:32]}"


def message_id_of(job: OutboundJob, body: str) -> str:
    return job.message_id or derived_message_id(body)
