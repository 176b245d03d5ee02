"""Sending one failure queue entry back where it failed (the package's docstring says why this is
safe to repeat): a message to its source queue, an invocation record to its function again."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

from botocore.exceptions import ClientError, ParamValidationError

from mmsrelay_cli.dlq.queues import Entry, FailureQueue
from mmsrelay_cli.stack import Stack

MAX_STREAM_RECORDS = 10_000  # a stream batch holds at most 10,000 records


class EntryNotMoved(Exception):
    """The entry was not sent back; it stays in the failure queue (the message says why)."""


class Mover(Protocol):
    def move(self, entry: Entry) -> str:
        """Sends ``entry`` back; what happened, in a few words. Raises ``EntryNotMoved``."""
        ...


class ToSourceQueue:
    """A dead letter back on the queue it came from, body and attributes as they were."""

    def __init__(self, stack: Stack, source_url: str) -> None:
        self._sqs = stack.client("sqs")
        self._source = source_url

    def move(self, entry: Entry) -> str:
        request: dict[str, Any] = {"QueueUrl": self._source, "MessageBody": entry.body}
        if entry.message_attributes:
            request["MessageAttributes"] = entry.message_attributes
        try:
            self._sqs.send_message(**request)
        except ClientError as error:
            raise EntryNotMoved(f"the source queue refused it: {_code(error)}") from None
        return "sent back to its queue"


class ToFunction:
    """An invocation record's event given to the function again, synchronously: the entry counts
    as moved only when the function answered without an error (and, for a stream batch, without
    a record it could not handle)."""

    def __init__(self, stack: Stack, logical_id: str) -> None:
        self._stack = stack
        self._logical_id = logical_id
        self._lambda = stack.client("lambda")

    def move(self, entry: Entry) -> str:
        record = _json(entry.body)
        event = self._event(record)
        name = self._stack.function_name(self._logical_id)
        try:
            answer = self._lambda.invoke(
                FunctionName=name, InvocationType="RequestResponse", Payload=json.dumps(event).encode()
            )
        except ClientError as error:
            raise EntryNotMoved(f"{self._logical_id} could not be invoked: {_code(error)}") from None
        payload = _json(answer["Payload"].read().decode("utf-8") or "{}")
        if answer.get("FunctionError"):
            raise EntryNotMoved(f"{self._logical_id} failed again: {payload.get('errorType') or 'error'}")
        failures = payload.get("batchItemFailures") or []
        if failures:
            raise EntryNotMoved(f"{self._logical_id} could not handle {len(failures)} record(s) again")
        return f"applied again by {self._logical_id}"

    def _event(self, record: Mapping[str, Any]) -> dict[str, Any]:
        payload = record.get("requestPayload")
        if not isinstance(payload, Mapping):
            raise EntryNotMoved("no requestPayload: not one of Lambda's invocation records")
        return dict(payload)


class StreamBatchToFunction(ToFunction):
    """A stream batch's records, read again from the table's stream (it keeps them 24 hours)."""

    def _event(self, record: Mapping[str, Any]) -> dict[str, Any]:
        batch = record.get("DDBStreamBatchInfo")
        if not isinstance(batch, Mapping):
            raise EntryNotMoved("no DDBStreamBatchInfo: not a stream batch's invocation record")
        return {"Records": self._records(batch)}

    def _records(self, batch: Mapping[str, Any]) -> list[dict[str, Any]]:
        streams = self._stack.client("dynamodbstreams")
        try:
            stream_arn, last = str(batch["streamArn"]), int(batch["endSequenceNumber"])
            iterator = streams.get_shard_iterator(
                StreamArn=stream_arn,
                ShardId=str(batch["shardId"]),
                ShardIteratorType="AT_SEQUENCE_NUMBER",
                SequenceNumber=str(batch["startSequenceNumber"]),
            ).get("ShardIterator")
            records: list[dict[str, Any]] = []
            while iterator and len(records) < MAX_STREAM_RECORDS:
                answer = streams.get_records(ShardIterator=iterator, Limit=1000)
                page = answer.get("Records", [])
                records += [_as_lambda_record(r, stream_arn) for r in page if _sequence(r) <= last]
                if not page or any(_sequence(r) >= last for r in page):
                    break
                iterator = answer.get("NextShardIterator")
        except ClientError as error:
            raise EntryNotMoved(
                f"the stream no longer holds these records ({_code(error)}): it keeps them 24 hours"
            ) from None
        except (ParamValidationError, KeyError, ValueError):
            raise EntryNotMoved("its DDBStreamBatchInfo does not name a stream's records") from None
        if not records or _sequence(records[-1]) != last:
            raise EntryNotMoved("the stream no longer holds all of these records: it keeps them 24 hours")
        return records


def mover_for(stack: Stack, queue: FailureQueue) -> Mover:
    if queue.kind == "outbound":
        return ToSourceQueue(stack, stack.output("OutboundQueueUrl"))
    if queue.kind == "media-retry":
        return ToSourceQueue(stack, stack.output("MediaRetryQueueUrl"))
    if queue.kind == "events":
        return StreamBatchToFunction(stack, "EventsFunction")
    return ToFunction(stack, "Mm4ReportFunction")


def _as_lambda_record(record: Mapping[str, Any], stream_arn: str) -> dict[str, Any]:
    """A GetRecords record as Lambda delivers it: epoch seconds, the stream's ARN as its source."""
    change = dict(record.get("dynamodb") or {})
    created = change.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        change["ApproximateCreationDateTime"] = created.timestamp()
    return {
        **{k: v for k, v in record.items() if k != "userIdentity"},
        "dynamodb": change,
        "eventSourceARN": stream_arn,
    }


def _sequence(record: Mapping[str, Any]) -> int:
    return int((record.get("dynamodb") or {}).get("SequenceNumber", "0"))


def _json(text: str) -> dict[str, Any]:
    try:
        document = json.loads(text)
    except ValueError:
        raise EntryNotMoved("not JSON: it cannot be sent back") from None
    if not isinstance(document, dict):
        raise EntryNotMoved("not a JSON object: it cannot be sent back")
    return document


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code") or "error")
