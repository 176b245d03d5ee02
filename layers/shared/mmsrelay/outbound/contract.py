"""The outbound job's contract: the JSON body other services put on the outbound queue.

These models are the contract. ``make schema`` generates from them the JSON Schema producers may
validate with (``schemas/outbound-job.schema.json``) and the core schema the relay validates with
(``job_core_schema.json``, read by ``mmsrelay.outbound.job``, which does without pydantic); tests
fail when either file is stale, and hold the relay's reading to these models.

Example::

    {"messageId": "order-1234-shipped", "from": "12223334444", "to": ["+13105551212"],
     "text": "Your order shipped", "subject": "Order 1234",
     "media": [{"s3": "s3://<MediaBucketName>/outbound/labels/1234.png"}],
     "deliveryReport": true}
"""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from mmsrelay.outbound.job import check_content

# A number or short code as producers write it: optional +, digits, common separators.
NUMBER_PATTERN = r"^\+?[0-9][0-9 ().\-]{2,20}$"
MESSAGE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:\-]{0,127}$"
# A character that cannot break a header or a line: no C0 or C1 control (CR, LF, NUL, tab...), no
# Unicode line or paragraph separator. Spelt so that pydantic's engine and a JSON Schema (ECMA-262)
# validator read it alike (ECMA's "." would exclude CR and the separators, Rust's only LF).
NO_CONTROL = r"[^\x00-\x1F\x7F-\x9F\u2028\u2029]"
SUBJECT_PATTERN = rf"^{NO_CONTROL}*$"
MAX_RECIPIENTS = 10  # carriers commonly cap a group MMS at 10 participants
MAX_MEDIA = 10

Number = Annotated[str, Field(pattern=NUMBER_PATTERN, examples=["+13105551212"])]


class UrlMedia(BaseModel):
    """An attachment the relay (MM4) or the gateway (HTTPS) fetches from a public https URL."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = Field(
        pattern=r"^https://[^\s\x00-\x1F\x7F-\x9F]+$", max_length=2048, examples=["https://cdn.example.com/a.jpg"]
    )


class S3Media(BaseModel):
    """An attachment stored in the relay's media bucket (``s3://<bucket>/<key>``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    s3: str = Field(pattern=rf"^s3://[a-z0-9][a-z0-9.\-]{{1,61}}[a-z0-9]/{NO_CONTROL}+$", max_length=1100)


class OutboundJob(BaseModel):
    """One MMS to send: to one number (HTTPS or MM4) or to a group of up to 10 (MM4)."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        populate_by_name=True,
        str_strip_whitespace=True,
        title="mms-relay outbound job",
    )

    message_id: str | None = Field(
        default=None,
        alias="messageId",
        pattern=MESSAGE_ID_PATTERN,
        description="Idempotency key: a job with a messageId already sent is not sent again. "
        "When absent, one is derived from the body, so an identical body is sent once.",
    )
    sender: Number = Field(alias="from", description="Our short or long code sending the message.")
    to: list[Number] = Field(
        min_length=1, max_length=MAX_RECIPIENTS, description="Recipients; more than one is a group MMS (MM4)."
    )
    text: str = Field(default="", max_length=5000)
    subject: str | None = Field(
        default=None,
        max_length=100,
        pattern=SUBJECT_PATTERN,
        description="One line: it becomes the MM4 Subject header (no control characters, no line breaks).",
    )
    media: list[UrlMedia | S3Media] = Field(default_factory=list, max_length=MAX_MEDIA)
    delivery_report: bool = Field(default=False, alias="deliveryReport")
    transport: Literal["auto", "https", "mm4"] = Field(
        default="auto",
        description="auto: HTTPS for one recipient with one attachment, MM4 otherwise.",
    )

    @model_validator(mode="after")
    def _has_content(self) -> Self:
        check_content(self.text, self.media, self.to)
        return self


def json_schema() -> dict[str, object]:
    schema = OutboundJob.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://mms-relay/schemas/outbound-job.schema.json"
    return schema
