"""What a failure queue's entry is, and why it failed, in a line each.

- outbound: the job (its messageId, or the id the relay derives from the body); why: the job's
  ``lastError`` and attempts, read through the query API.
- media-retry: which attachment of which inbound message; why: the attachment's state and error,
  through the query API (the worker crashed on it: its logs say more).
- events: Lambda's invocation record: the stream batch (sequence range, arrival times) and the
  condition (retries exhausted, records too old) with the function's error kind.
- mm4-reports: Lambda's invocation record: the stored report's object and the function's error.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from mmsrelay.outbound.job import derived_message_id
from mmsrelay_cli.dlq.queues import Entry
from mmsrelay_cli.documents import items, mapping, mappings
from mmsrelay_cli.errors import CliError, NotFound
from mmsrelay_cli.query_api import MessageReader


@dataclass(frozen=True)
class Explanation:
    what: str
    why: str
    subject: str | None = None  # the messageId or transactionGUID to read with `status`


def explain(entry: Entry, api: MessageReader) -> Explanation:
    document = _json(entry.body)
    if document is None:
        return Explanation("an entry that is not JSON", "unreadable: it cannot be sent back as it is")
    if entry.queue == "outbound":
        return _outbound(entry, document, api)
    if entry.queue == "media-retry":
        return _media_retry(document, api)
    if entry.queue == "events":
        return _events(document)
    return _mm4_report(document)


def _outbound(entry: Entry, job: Mapping[str, Any], api: MessageReader) -> Explanation:
    message_id = str(job.get("messageId") or derived_message_id(entry.body))
    what = f"job {message_id}: {len(items(job.get('to')))} recipient(s), {len(items(job.get('media')))} attachment(s)"
    try:
        message = api.message(message_id)
    except NotFound:
        return Explanation(what, "never recorded: the function failed before its first write (its logs say why)")
    except CliError as unreadable:
        return Explanation(what, f"unknown: the query API could not be read ({unreadable})", message_id)
    error = mapping(message.get("lastError"))
    reason = f"{error.get('code')}: {error.get('detail')}" if error.get("code") else "no error recorded"
    return Explanation(
        what, f"{reason} (status {message.get('status')}, {message.get('attempts')} attempt(s))", message_id
    )


def _media_retry(job: Mapping[str, Any], api: MessageReader) -> Explanation:
    guid, index = str(job.get("transaction_guid")), job.get("index")
    source = urlsplit(str(job.get("source_url") or ""))
    what = f"attachment {index} of {guid} from {source.scheme}://{source.netloc}{source.path}"
    why = f"the media retry worker crashed on it (attempt {job.get('attempt')}); its logs say why"
    try:
        message = api.message(guid)
    except CliError:
        return Explanation(what, why, guid)
    for item in mappings(message.get("media")):
        if item.get("index") == index:
            state = f"{item.get('status')}" + (f" ({item.get('error')})" if item.get("error") else "")
            return Explanation(what, f"{why}; the attachment is {state}", guid)
    return Explanation(what, why, guid)


def _events(record: Mapping[str, Any]) -> Explanation:
    batch = mapping(record.get("DDBStreamBatchInfo"))
    what = (
        f"{batch.get('batchSize')} stream record(s), sequence {batch.get('startSequenceNumber')} to "
        f"{batch.get('endSequenceNumber')}, written {batch.get('approximateArrivalOfFirstRecord')} to "
        f"{batch.get('approximateArrivalOfLastRecord')}"
    )
    return Explanation(what, _condition(record))


def _mm4_report(record: Mapping[str, Any]) -> Explanation:
    objects = [
        f"s3://{mapping(mapping(r.get('s3')).get('bucket')).get('name')}/"
        f"{mapping(mapping(r.get('s3')).get('object')).get('key')}"
        for r in mappings(mapping(record.get("requestPayload")).get("Records"))
    ]
    what = f"MM4 report {', '.join(objects) or '(no object named)'}"
    answer = mapping(record.get("responsePayload"))
    error = f"; {answer.get('errorType')}: {answer.get('errorMessage')}" if answer.get("errorType") else ""
    return Explanation(what, _condition(record) + error)


def _condition(record: Mapping[str, Any]) -> str:
    request = mapping(record.get("requestContext"))
    response = mapping(record.get("responseContext"))
    return (
        f"{request.get('condition') or 'failed'} after {request.get('approximateInvokeCount')} invocation(s), "
        f"function error {response.get('functionError') or 'none'}"
    )


def _json(body: str) -> dict[str, Any] | None:
    try:
        document = json.loads(body)
    except ValueError:
        return None
    return document if isinstance(document, dict) else None
