"""``send``: a job checked against the published schema, its local files uploaded to the media
bucket, the job put on the outbound queue and, with ``--wait``, followed to its outcome.

The job is checked by the model ``schemas/outbound-job.schema.json`` is generated from
(``mmsrelay.outbound.contract``), and its numbers by the parser the relay uses, in the stack's
``DefaultCountryCode``: what this command accepts, the relay accepts. Nothing is uploaded or sent
for a job that would be refused.
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from mmsrelay.domain.phone import InvalidPhoneNumber, is_phone_number, parse_number
from mmsrelay.outbound.contract import OutboundJob
from mmsrelay.outbound.job import derived_message_id
from mmsrelay_cli.errors import Failed, NotFound, TimedOut, UsageError
from mmsrelay_cli.messages import DELIVERED, FINAL_DELIVERY, describe, failure
from mmsrelay_cli.query_api import MessageReader, QueryApi
from mmsrelay_cli.render import Output, Progress
from mmsrelay_cli.stack import Stack

UPLOAD_PREFIX = "outbound/cli"
POLL_SECONDS = 1.0
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class SendRequest:
    """The command line's arguments, before anything is checked."""

    sender: str
    to: Sequence[str]
    text: str = ""
    subject: str | None = None
    media: Sequence[str] = ()
    message_id: str | None = None
    delivery_report: bool = False
    transport: str = "auto"


@dataclass(frozen=True)
class Upload:
    path: Path
    key: str
    content_type: str
    size: int


@dataclass
class PreparedJob:
    job: dict[str, Any]
    uploads: list[Upload] = field(default_factory=list)

    @property
    def body(self) -> str:
        return json.dumps(self.job, separators=(",", ":"))

    @property
    def message_id(self) -> str:
        """The job's messageId, or the one the relay derives from the body (the same function)."""
        return str(self.job.get("messageId") or derived_message_id(self.body))


def prepare(request: SendRequest, bucket: str, country_code: str) -> PreparedJob:
    """The job as it will be put on the queue, checked; ``UsageError`` names every field refused."""
    media: list[dict[str, str]] = []
    uploads: list[Upload] = []
    for reference in request.media:
        if "://" in reference and not reference.startswith("s3://"):
            media.append({"url": reference})  # the schema refuses what is not https
        elif reference.startswith("s3://"):
            media.append({"s3": reference})
        else:
            upload = _upload_of(Path(reference))
            uploads.append(upload)
            media.append({"s3": f"s3://{bucket}/{upload.key}"})
    job: dict[str, Any] = {"from": request.sender, "to": list(request.to), "text": request.text, "media": media}
    if request.message_id:
        job["messageId"] = request.message_id
    if request.subject is not None:
        job["subject"] = request.subject
    if request.delivery_report:
        job["deliveryReport"] = True
    if request.transport != "auto":
        job["transport"] = request.transport
    problems = schema_problems(job) + number_problems(job, country_code)
    if problems:
        raise UsageError("the job is refused:\n  " + "\n  ".join(problems))
    return PreparedJob(job, uploads)


def schema_problems(job: dict[str, Any]) -> list[str]:
    """What the published schema refuses, each naming its field (``to[1]``, ``media[0].url``)."""
    try:
        OutboundJob.model_validate_json(json.dumps(job))
    except ValidationError as error:
        problems = [problem for problem in error.errors() if not _other_members_complaint(problem, error.errors())]
        return list(dict.fromkeys(f"{field_name(problem['loc'])}: {problem['msg']}" for problem in problems))
    return []


def _other_members_complaint(problem: Any, problems: Sequence[Any]) -> bool:
    """An attachment is a ``{"url"}`` or an ``{"s3"}``: when it is meant as one, the other's
    "field required" and "extra input" complaints say nothing useful."""
    item = _union_item(problem["loc"])
    if item is None or problem["type"] not in ("missing", "extra_forbidden"):
        return False
    return any(
        other is not problem
        and _union_item(other["loc"]) == item
        and other["type"] not in ("missing", "extra_forbidden")
        for other in problems
    )


def _union_item(location: Sequence[int | str]) -> tuple[int | str, ...] | None:
    for n, part in enumerate(location):
        if isinstance(part, str) and part[:1].isupper():
            return tuple(location[:n])
    return None


def field_name(location: Sequence[int | str]) -> str:
    """A pydantic error location as a job's field: ``("to", 1)`` is ``to[1]``; union tags are dropped."""
    name = ""
    for part in location:
        if isinstance(part, int):
            name += f"[{part}]"
        elif part[:1].isupper():  # the member of a union pydantic tried (UrlMedia, S3Media)
            continue
        else:
            name += f".{part}" if name else part
    return name or "job"


def number_problems(job: dict[str, Any], country_code: str) -> list[str]:
    """Numbers that cannot exist, as the relay would refuse them (in the stack's country code)."""
    named = [("from", job.get("from"))] + [(f"to[{n}]", number) for n, number in enumerate(job.get("to") or [])]
    problems = []
    for name, number in named:
        if not isinstance(number, str) or not is_phone_number(number):
            continue  # the schema said what is wrong with it
        try:
            parse_number(number, country_code)
        except InvalidPhoneNumber as error:
            problems.append(f"{name}: {number!r} is refused: {error}")
    return problems


def _upload_of(path: Path) -> Upload:
    if not path.is_file():
        raise UsageError(
            f"media: {str(path)!r} is no file (an attachment is a file, an https:// URL or an s3:// object)"
        )
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()[:32]
    name = _UNSAFE_NAME.sub("-", path.name).strip("-.") or "media"
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return Upload(path, f"{UPLOAD_PREFIX}/{digest}/{name}", content_type, len(data))


def upload(stack: Stack, prepared: PreparedJob, bucket: str) -> None:
    """Local files to the media bucket, under ``outbound/cli/<content hash>/`` (a resend reuses them)."""
    s3 = stack.client("s3")
    for item in prepared.uploads:
        s3.put_object(Bucket=bucket, Key=item.key, Body=item.path.read_bytes(), ContentType=item.content_type)


def put_on_queue(stack: Stack, prepared: PreparedJob) -> str:
    answer = stack.client("sqs").send_message(QueueUrl=stack.output("OutboundQueueUrl"), MessageBody=prepared.body)
    return str(answer["MessageId"])


def run(
    stack: Stack,
    request: SendRequest,
    output: Output,
    progress: Progress,
    wait: bool,
    timeout: float,
    dry_run: bool,
) -> None:
    bucket = stack.output("MediaBucketName")
    prepared = prepare(request, bucket, stack.country_code)
    document: dict[str, Any] = {
        "messageId": prepared.message_id,
        "job": prepared.job,
        "uploads": [f"s3://{bucket}/{item.key}" for item in prepared.uploads],
        "queueUrl": stack.output("OutboundQueueUrl"),
    }
    if dry_run:
        output.emit({**document, "sent": False}, f"the job is valid (not sent: --dry-run)\n{json.dumps(prepared.job)}")
        return
    upload(stack, prepared, bucket)
    document["sqsMessageId"] = put_on_queue(stack, prepared)
    summary = (
        f"job {prepared.message_id} is on the outbound queue: {len(prepared.job['to'])} recipient(s), "
        f"{len(prepared.job['media'])} attachment(s)"
        + (f", {len(prepared.uploads)} uploaded to s3://{bucket}/{UPLOAD_PREFIX}/" if prepared.uploads else "")
    )
    if not wait:
        output.emit(document, summary)
        return
    outcome = follow(QueryApi(stack), prepared.message_id, bool(request.delivery_report), timeout, progress)
    output.emit({**document, "outcome": outcome}, f"{summary}\n\n{describe(outcome)}")
    problem = failure(outcome)
    if problem:
        raise Failed(problem)


def follow(
    api: MessageReader,
    message_id: str,
    receipts: bool,
    timeout: float,
    progress: Progress,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """The job's document once it is sent or failed and, when it asked for receipts, once every
    recipient has a final one (or no_receipt); ``TimedOut`` saying where it stood otherwise."""
    deadline = clock() + timeout
    state = "on the queue, not taken by the relay yet"
    try:
        while True:
            document = _read(api, message_id)
            if document is not None:
                state, done = where(document, receipts)
                if done:
                    return document
            progress.update(f"{message_id}: {state}")
            if clock() >= deadline:
                raise TimedOut(f"{message_id} is still {state} after {timeout:.0f}s")
            sleep(POLL_SECONDS)
    finally:
        progress.done()


def _read(api: MessageReader, message_id: str) -> dict[str, Any] | None:
    try:
        return api.message(message_id)
    except NotFound:
        return None  # the relay has not written the job yet


def where(document: dict[str, Any], receipts: bool) -> tuple[str, bool]:
    """Where a job stands, in a few words, and whether following it is over."""
    status = str(document.get("status"))
    if status == "failed":
        return "failed", True
    if status != "sent":
        error = document.get("lastError") or {}
        retry = f" (will retry after {error.get('code')})" if error.get("code") else ""
        return f"{status}{retry}", False
    sent = f"sent over {document.get('sentOver')}"
    recipients = [r for r in document.get("recipients") or [] if r.get("status") != "refused"]
    if not receipts or not recipients:
        return sent, True
    deliveries = [str((r.get("delivery") or {}).get("status") or "no receipt yet") for r in recipients]
    final = [d for d in deliveries if d in FINAL_DELIVERY]
    delivered = [d for d in final if d in DELIVERED]
    counts = ", ".join(f"{deliveries.count(d)} {d}" for d in sorted(set(deliveries)))
    return f"{sent}; receipts {len(final)}/{len(deliveries)} final, {len(delivered)} delivered ({counts})", len(
        final
    ) == len(deliveries)
