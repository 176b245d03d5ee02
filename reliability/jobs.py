"""Outbound jobs for the runs, and what became of each: at the gateway and in the table.

Each job has recipients of its own (numbers no other job uses), so what the gateway simulator
received can be told apart per job: an HTTPS submission by its ``destination``, an MM4 DATA by
its recipients. A job's outcome is read from its ``MSG#`` item and the dead-letter queue:

* ``sent``: status ``sent`` with each recipient's transaction GUID, the gateway having accepted it;
* ``failed``: status ``failed`` with ``lastError`` (the reason);
* ``dead_letter``: in the dead-letter queue, its item keeping ``lastError``;
* ``lost``: anything else once the queue has drained (no item, or an item stuck before an end).
"""

from __future__ import annotations

import contextlib
import random
import secrets
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from devstack.stack import DeployedStack
from gatewaysim import images
from gatewaysim.simulator import GatewaySimulator
from reliability import stackio

Kind = Literal["https", "mm4", "mm4_group"]
Outcome = Literal["sent", "failed", "dead_letter", "lost"]

SENDER = "12223334444"  # the account's number at the simulator
REFUSED_SENDER = "12223339999"  # a number the simulator's account does not own: refused for good
OUTBOUND_MEDIA_KEY = "outbound/reliability/picture.png"
POLL_S = 2.0  # between reads of the jobs' items while waiting for them to end


@dataclass(frozen=True)
class Job:
    message_id: str
    kind: Kind
    numbers: tuple[str, ...]  # E.164
    sender: str
    with_s3_media: bool
    delivery_report: bool = False

    @property
    def refused(self) -> bool:
        """Whether the gateway refuses it for good (the sender is not the account's)."""
        return self.sender == REFUSED_SENDER

    @property
    def digits(self) -> tuple[str, ...]:
        return tuple(number.lstrip("+") for number in self.numbers)

    def body(self, bucket: str) -> dict[str, Any]:
        job: dict[str, Any] = {
            "messageId": self.message_id,
            "from": self.sender,
            "to": list(self.numbers),
            "text": f"reliability {self.kind}",
            "deliveryReport": self.delivery_report,
        }
        s3 = [{"s3": f"s3://{bucket}/{OUTBOUND_MEDIA_KEY}"}]
        if self.kind == "https":  # a URL sent as is, or an S3 object sent as a short link
            job["media"] = s3 if self.with_s3_media else [{"url": f"https://cdn.example.com/r/{self.message_id}.jpg"}]
            return job
        job["transport"] = "mm4"  # one recipient with one attachment would go over HTTPS otherwise
        if self.with_s3_media:
            job["media"] = s3
        return job


@dataclass(frozen=True)
class JobMix:
    """Shares of each kind (the rest are single-recipient MM4), the refused share, group sizes."""

    https: float = 0.4
    mm4_group: float = 0.3
    refused: float = 0.03
    s3_media: float = 0.3
    group_sizes: tuple[int, int] = (2, 4)
    delivery_report: float = 0.0


class JobFactory:
    """Jobs with numbers of their own: ``+1<area><7 digits>``, one area per factory (random)."""

    def __init__(self, prefix: str, seed: int, area: int | None = None) -> None:
        self._prefix = prefix
        self._rng = random.Random(seed)
        self._area = area if area is not None else 400 + secrets.randbelow(500)
        self._next_number = 0
        self._count = 0
        self._run = secrets.token_hex(3)

    def number(self) -> str:
        """A number no other job or MO of this factory uses."""
        self._next_number += 1
        if self._next_number >= 10_000_000:
            raise RuntimeError("out of numbers")
        return f"+1{self._area}{self._next_number:07d}"

    def make(self, count: int, mix: JobMix) -> list[Job]:
        jobs = []
        for _ in range(count):
            self._count += 1
            draw = self._rng.random()
            kind: Kind = "https" if draw < mix.https else "mm4_group" if draw < mix.https + mix.mm4_group else "mm4"
            size = self._rng.randint(*mix.group_sizes) if kind == "mm4_group" else 1
            jobs.append(
                Job(
                    message_id=f"{self._prefix}-{self._run}-{self._count:05d}",
                    kind=kind,
                    numbers=tuple(self.number() for _ in range(size)),
                    sender=REFUSED_SENDER if self._rng.random() < mix.refused else SENDER,
                    with_s3_media=self._rng.random() < mix.s3_media,
                    delivery_report=self._rng.random() < mix.delivery_report,
                )
            )
        return jobs


@contextlib.contextmanager
def prepared(stack: DeployedStack, simulator: GatewaySimulator) -> Iterator[None]:
    """The picture jobs refer to, in the media bucket; while the block runs, the simulator's account
    owns ``SENDER`` only (jobs from ``REFUSED_SENDER`` are refused for good)."""
    stack.client("s3").put_object(
        Bucket=stack.outputs["MediaBucketName"],
        Key=OUTBOUND_MEDIA_KEY,
        Body=images.png(32, 24),
        ContentType="image/png",
    )
    simulator.http_api.allowed_sources = [SENDER]
    simulator.mm4.allowed_senders = [SENDER]
    try:
        yield
    finally:
        simulator.http_api.allowed_sources = None
        simulator.mm4.allowed_senders = None


def put(stack: DeployedStack, jobs: Sequence[Job]) -> None:
    bucket = stack.outputs["MediaBucketName"]
    stackio.put_jobs(stack, (job.body(bucket) for job in jobs))


# ------------------------------------------------------------------------------ at the gateway
# How long before the reply to DATA an MM4 client may have died and the message still be taken
# (the simulator records the DATA when it has read it all).
MM4_DATA_SLACK_S = 1.0


@dataclass(frozen=True)
class Send:
    """One message the gateway accepted: when its request began arriving, when it was accepted
    (``time.monotonic()``), and the GUIDs it answered."""

    began: float
    accepted: float
    guids: tuple[str, ...]


@dataclass
class GatewayView:
    """What the simulator received for one job."""

    attempts: int = 0  # HTTPS submissions and MM4 DATA
    faults: int = 0  # of those, answered with an injected (transient) fault
    refusals: int = 0  # of those, refused for good by the gateway (not a fault it was told to inject)
    fault_kinds: Counter[str] = field(default_factory=Counter)
    accepted: list[Send] = field(default_factory=list)  # oldest first

    @property
    def sends(self) -> int:
        return len(self.accepted)


def gateway_views(simulator: GatewaySimulator, jobs: Iterable[Job]) -> dict[str, GatewayView]:
    """Per messageId: attempts, faults and accepted sends, matched by the jobs' own numbers."""
    owner: dict[str, str] = {}
    for job in jobs:
        for digits in job.digits:
            owner[digits] = job.message_id
    views = {message_id: GatewayView() for message_id in set(owner.values())}
    _https_views(simulator, owner, views)
    _mm4_views(simulator, owner, views)
    for view in views.values():
        view.accepted.sort(key=lambda send: send.accepted)
    return views


def _https_views(simulator: GatewaySimulator, owner: dict[str, str], views: dict[str, GatewayView]) -> None:
    for request in simulator.http_api.requests:
        if request.method != "POST" or not request.path.startswith("/v4/messages"):
            continue
        message_id = owner.get(dict(request.form).get("destination", ""))
        if message_id is None:
            continue
        view = views[message_id]
        view.attempts += 1
        if request.fault is not None:
            view.faults += 1
            view.fault_kinds[f"https {request.error_code or request.fault}"] += 1
        elif request.status is not None and request.status >= 400:
            view.refusals += 1
    arrivals = {request.transaction_guid: request.time for request in simulator.http_api.requests}
    for sent in simulator.http_api.sent:
        message_id = owner.get(sent.destination)
        if message_id is not None:
            began = arrivals.get(sent.transaction_guid, sent.time)
            views[message_id].accepted.append(Send(began, sent.time, (sent.transaction_guid,)))


def _mm4_views(simulator: GatewaySimulator, owner: dict[str, str], views: dict[str, GatewayView]) -> None:
    for transaction in simulator.mm4.transactions:
        numbers = [address.split("@", 1)[0].lstrip("+").split("/", 1)[0] for address in transaction.recipients]
        ids = {owner[number] for number in numbers if number in owner}
        if len(ids) != 1:
            continue
        view = views[ids.pop()]
        view.attempts += 1
        if transaction.accepted:
            guids = tuple(dict.fromkeys(transaction.guids.values()))
            view.accepted.append(Send(transaction.time - MM4_DATA_SLACK_S, transaction.time, guids))
        else:
            view.faults += 1
            view.fault_kinds[f"mm4 {transaction.reply_code or 'drop'}"] += 1


# --------------------------------------------------------------------------------- in the table
@dataclass(frozen=True)
class JobResult:
    job: Job
    outcome: Outcome
    reason: str  # lastError's code, or what is wrong
    deliveries: int  # the item's attempts: how many times SQS delivered the job
    recorded_guids: tuple[str, ...]
    sent_events: int  # "sent" entries in the job's history: more than one means recorded twice


def results(stack: DeployedStack, jobs: Sequence[Job], dead_letters: stackio.DeadLetters) -> list[JobResult]:
    items = stackio.message_items(stack, (job.message_id for job in jobs))
    return [_result(job, items.get(job.message_id), job.message_id in dead_letters.found) for job in jobs]


def _result(job: Job, item: dict[str, Any] | None, dead: bool) -> JobResult:
    if item is None:
        return JobResult(job, "lost", "no item", 0, (), 0)
    status = stackio.text(item, "status")
    last_error = item.get("lastError", {}).get("M", {}).get("code", {}).get("S", "")
    deliveries = int(item.get("attempts", {}).get("N", "0"))
    recipients = [entry["M"] for entry in item.get("recipients", {}).get("L", [])]
    guids = tuple(dict.fromkeys(r["transactionGuid"]["S"] for r in recipients if "transactionGuid" in r))
    sent_events = sum(1 for event in item.get("history", {}).get("L", []) if event["M"]["status"]["S"] == "sent")
    if status == "sent":
        outcome: Outcome = "sent" if guids else "lost"
        reason = "" if guids else "sent without transaction GUIDs"
    elif status == "failed":
        outcome, reason = ("failed", last_error) if last_error else ("lost", "failed without a reason")
    elif dead:
        outcome, reason = ("dead_letter", last_error) if last_error else ("lost", "dead-lettered without a reason")
    else:
        outcome, reason = "lost", f"stuck at {status}"
    return JobResult(job, outcome, reason, deliveries, guids, sent_events)


def unfinished(stack: DeployedStack, jobs: Sequence[Job], dead_letters: stackio.DeadLetters) -> list[Job]:
    """The jobs that have not ended yet (status neither sent nor failed, and not dead-lettered)."""
    dead_letters.collect()
    items = stackio.message_items(stack, (job.message_id for job in jobs if job.message_id not in dead_letters.found))
    return [
        job
        for job in jobs
        if job.message_id not in dead_letters.found
        and stackio.text(items.get(job.message_id), "status") not in ("sent", "failed")
    ]


def wait_until_ended(
    stack: DeployedStack,
    batch: Sequence[Job],
    dead_letters: stackio.DeadLetters,
    deadline: float,
    label: str,
    each_round: Callable[[], object] | None = None,
) -> None:
    """Polls until every job of ``batch`` has ended (``unfinished``) or ``deadline`` (monotonic) has
    passed, with a progress line each round; ``each_round`` is called after each poll."""
    pending = list(batch)
    while pending and time.monotonic() < deadline:
        time.sleep(POLL_S)
        pending = unfinished(stack, pending, dead_letters)
        if each_round is not None:
            each_round()
        stackio.progress(f"{label}: {len(batch) - len(pending)}/{len(batch)} jobs ended")


def outcome_counts(found: Iterable[JobResult]) -> Counter[str]:
    return Counter(result.outcome for result in found)
