"""The outbound job as the relay reads it from the queue.

What a job may hold is the contract's: the pydantic models of ``mmsrelay.outbound.contract``,
whose JSON Schema producers validate with. The relay reads a job without importing pydantic or
building the model (with pydantic_core, about 113 ms of the outbound function's cold start;
docs/decisions.md): ``pydantic_core`` validates it against the contract model's own core schema,
stored as data by ``make schema`` (``job_core_schema.json``), then runs the model's one rule
across fields, ``check_content``, which the model calls too. Tests hold this reading to the
model's: the same jobs, values and errors.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Final, Literal

from pydantic_core import SchemaValidator, ValidationError
from pydantic_core.core_schema import no_info_after_validator_function

from mmsrelay.domain.errors import PermanentError

# Written by `make schema` from the contract (mmsrelay.outbound.schema); shipped in the layer.
CORE_SCHEMA: Final = Path(__file__).with_name("job_core_schema.json")


@dataclass(frozen=True)
class UrlMedia:
    """An attachment the relay (MM4) or the gateway (HTTPS) fetches from a public https URL."""

    url: str

    def request(self) -> dict[str, str]:
        return {"url": self.url}


@dataclass(frozen=True)
class S3Media:
    """An attachment stored in the relay's media bucket (``s3://<bucket>/<key>``)."""

    s3: str

    @property
    def bucket(self) -> str:
        return self.s3.removeprefix("s3://").split("/", 1)[0]

    @property
    def key(self) -> str:
        return self.s3.removeprefix("s3://").split("/", 1)[1]

    def request(self) -> dict[str, str]:
        return {"s3": self.s3}


@dataclass(frozen=True)
class OutboundJob:
    """One MMS to send, validated: the contract's fields, under the same names."""

    message_id: str | None
    sender: str
    to: tuple[str, ...]
    text: str
    subject: str | None
    media: tuple[UrlMedia | S3Media, ...]
    delivery_report: bool
    transport: Literal["auto", "https", "mm4"]

    def request(self) -> dict[str, Any]:
        """The job as the contract writes it (JSON names, absent values left out): its record keeps this."""
        request = {
            "messageId": self.message_id,
            "from": self.sender,
            "to": list(self.to),
            "text": self.text,
            "subject": self.subject,
            "media": [item.request() for item in self.media],
            "deliveryReport": self.delivery_report,
            "transport": self.transport,
        }
        return {name: value for name, value in request.items() if value is not None}


class InvalidJob(PermanentError):
    """The body is not JSON or breaks the schema; ``errors`` say where (never echo values)."""

    default_code = "invalid_job"

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


def check_content(text: str, media: Sequence[object], to: Sequence[str]) -> None:
    """The job's rule across fields: the contract model's validator, and the relay's after the schema."""
    if not text and not media:
        raise ValueError("a message needs text or media")
    if len(set(to)) != len(to):
        raise ValueError("recipients must be distinct")


def parse_job(body: str) -> OutboundJob:
    try:
        fields = _validator().validate_json(body)
    except ValidationError as error:
        # Without the errors' documentation links: pydantic_core imports pydantic to write them.
        errors = error.errors(include_url=False, include_input=False)
        raise InvalidJob(
            [f"{'.'.join(str(part) for part in e['loc']) or 'body'}: {e['msg']}" for e in errors]
        ) from None
    return OutboundJob(
        message_id=fields["message_id"],
        sender=fields["sender"],
        to=tuple(fields["to"]),
        text=fields["text"],
        subject=fields["subject"],
        media=tuple(UrlMedia(item["url"]) if "url" in item else S3Media(item["s3"]) for item in fields["media"]),
        delivery_report=fields["delivery_report"],
        transport=fields["transport"],
    )


@cache
def _validator() -> SchemaValidator:
    """The stored schema, then ``check_content``; built by the first job, not at import."""
    stored = json.loads(CORE_SCHEMA.read_text(), object_hook=_labelled_choices)
    return SchemaValidator(no_info_after_validator_function(_with_content, stored))


def _labelled_choices(node: dict[str, Any]) -> dict[str, Any]:
    """JSON has no tuples: a union's labelled choice, ``[schema, "UrlMedia"]``, is a tuple again."""
    if node.get("type") == "union":
        node["choices"] = [tuple(choice) if isinstance(choice, list) else choice for choice in node["choices"]]
    return node


def _with_content(fields: dict[str, Any]) -> dict[str, Any]:
    check_content(fields["text"], fields["media"], fields["to"])
    return fields


def derived_message_id(body: str, prefix: str = "auto") -> str:
    """A stable id for a body without ``messageId``: the same content gives the same id."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"))
    except ValueError:
        canonical = body
    return f"{prefix}-{hashlib.sha256(canonical.encode('utf-8', 'surrogatepass')).hexdigest()[:32]}"


def message_id_of(job: OutboundJob, body: str) -> str:
    return job.message_id or derived_message_id(body)
