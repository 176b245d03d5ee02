"""Receipt chaos: receipts shuffled, duplicated, early (before the send is recorded) and late (after
``no_receipt``), over HTTP callbacks in three formats and raw MM4 reports; every final status checked.

Each message asks for receipts (HTTPS sends, MM4 sends, MM4 groups). Each recipient gets a story,
a list of receipts whose outcome is known in advance:

* ``final``: progress receipts and one final one (delivered, undelivered, expired, rejected, failed);
* ``read`` (MM4): forwarded, retrieved, then a read reply;
* ``late_final``: progress only, then the deadline passes (``no_receipt``), then the final receipt;
* ``no_receipt``: progress only, then the deadline passes;
* ``late_progress``: a final receipt, the deadline passes (nothing changes), then a progress receipt.

Early: for a share of the messages, the first receipts of each recipient are posted by the gateway
simulator while it holds the send's answer (``on_accepted``), so the relay has not recorded the
send yet; those name the transaction GUID (an HTTP callback, or an MM4 report naming the GUID).
The rest are posted once the send is recorded, in shuffled order, each one twice or more; MM4
reports then name either the GUID or our forward's ``X-Mms-Message-ID``. For the late stories the
run moves the recipient's receipt deadline into the past (the ``ByReceiptDue`` keys: the clock
cannot be moved) and invokes ``NoReceiptFunction``, then posts the late receipts.

The expected final status is the highest-ranked status among the receipts, the send (``sent``) and
``no_receipt`` when the sweep found the recipient still below it (ranks as in docs/architecture.md;
stories never hold two different statuses of the top rank). Figures: messages, recipients, posts
(early, duplicated, late), receipts answered ``unmatched`` (must be 0), recipients swept to
``no_receipt`` (as planned), recipients whose final status is right (must be all).
"""

from __future__ import annotations

import argparse
import datetime
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Literal

from devstack.gateway import stack_on
from devstack.stack import DeployedStack
from gatewaysim.http_api import SentMessage
from gatewaysim.mm4 import Mm4Transaction
from gatewaysim.mo import MoResult
from gatewaysim.receipts import DlrReceipt, Mm4ReportBuilder, ReceiptFormat, ReceiptSender, code_for
from gatewaysim.simulator import GatewaySimulator
from reliability import deliveries, jobs, stackio
from reliability.report import Report, share

Channel = Literal["http", "mm4"]
Story = Literal["final", "read", "late_final", "no_receipt", "late_progress"]
WEBHOOK_TIMEOUT_S = 60.0
# The relay's status ranks (docs/architecture.md, "Delivery receipts"), kept here on purpose: the
# run states its expectations itself rather than reading them from the code it checks.
RANK = {"sent": 2, "enroute": 3, "accepted": 3, "no_receipt": 4, "delivered": 5, "undelivered": 5}
RANK |= {"expired": 5, "rejected": 5, "failed": 5, "read": 6}
HTTP_WORDS = {"enroute": "ENROUTE", "accepted": "ACCEPTD", "delivered": "DELIVRD", "undelivered": "UNDELIV"}
HTTP_WORDS |= {"expired": "EXPIRED", "rejected": "REJECTD", "failed": "DELETED"}
CODE_STATUS = {"30000": "enroute", "40000": "accepted", "40001": "delivered", "30003": "failed", "30004": "rejected"}
MM4_WORDS = {"enroute": "Forwarded", "delivered": "Retrieved", "expired": "Expired", "rejected": "Rejected"}
MM4_WORDS |= {"failed": "Unrecognised", "read": "Read"}


@dataclass(frozen=True)
class ChaosConfig:
    messages: int = 500
    early_share: float = 0.25
    late_share: float = 0.3
    copies: tuple[int, int] = (1, 3)  # each receipt after the send is posted this many times
    seed: int = 60
    concurrency: int = 6
    send_timeout_s: float = 900.0


@dataclass(frozen=True)
class Post:
    """One receipt as posted: by HTTP (word, code or SMPP text) or as a raw MM4 report."""

    status: str  # the relay status it stands for
    channel: Channel
    http_format: ReceiptFormat = "word"
    by_guid: bool = True  # an MM4 report names the GUID, else our forward's Message-ID

    def expected_status(self) -> str:
        if self.channel == "http" and self.http_format == "code":
            return CODE_STATUS[code_for(HTTP_WORDS[self.status])]
        return self.status


@dataclass
class Recipient:
    job: jobs.Job
    number: str  # digits
    story: Story
    early: list[Post]
    normal: list[Post]
    late: list[Post]
    guid: str = ""
    early_guid: str = ""  # the GUID the early receipts named (the send's, before it was recorded)
    swept: bool = False
    answers: list[deliveries.Delivery] = field(default_factory=list)

    def expected(self) -> str:
        before = ["sent", *(post.expected_status() for post in [*self.early, *self.normal])]
        top = max(before, key=RANK.__getitem__)
        if self.swept and RANK[top] < RANK["no_receipt"]:
            top = "no_receipt"
        return max([top, *(post.expected_status() for post in self.late)], key=RANK.__getitem__)


class Stories:
    """Draws each recipient's story and its receipts (seeded)."""

    def __init__(self, config: ChaosConfig) -> None:
        self._rng = random.Random(config.seed)
        self._config = config

    def recipients(self, job: jobs.Job) -> list[Recipient]:
        early = self._rng.random() < self._config.early_share
        mm4 = job.kind != "https"
        return [self._one(job, number, early, mm4) for number in job.digits]

    def _one(self, job: jobs.Job, number: str, early: bool, mm4: bool) -> Recipient:
        rng = self._rng
        channel: Channel = "mm4" if mm4 and rng.random() < 0.5 else "http"
        late = rng.random() < self._config.late_share
        stories: list[Story] = ["late_final", "no_receipt", "late_progress"] if late else ["final", "final"]
        if channel == "mm4" and not late:
            stories.append("read")
        story = rng.choice(stories)
        progress = "enroute" if channel == "mm4" else rng.choice(("enroute", "accepted"))
        finals = ("delivered", "expired", "rejected", "failed")
        final = rng.choice(finals if channel == "mm4" else (*finals, "undelivered"))
        statuses, late_statuses = {
            "final": ([progress, final], []),
            "read": (["enroute", "delivered", "read"], []),
            "late_final": ([progress], [final]),
            "no_receipt": ([progress], []),
            "late_progress": ([progress, final], [progress]),
        }[story]
        posts = [self._post(status, channel, early=False) for status in statuses]
        rng.shuffle(posts)
        cut = rng.randint(1, len(posts)) if early and story in ("final", "read") else (1 if early else 0)
        early_posts = [self._post(p.status, channel, early=True) for p in posts[:cut]]
        return Recipient(
            job, number, story, early_posts, posts[cut:], [self._post(s, channel, early=False) for s in late_statuses]
        )

    def _post(self, status: str, channel: Channel, early: bool) -> Post:
        if channel == "mm4":
            return Post(status, "mm4", by_guid=self._rng.random() < 0.5)
        formats: list[ReceiptFormat] = ["word", "smpp_text"]
        if status not in ("undelivered", "expired"):  # their code is 30003, which reads as failed
            formats.append("code")
        return Post(status, "http", http_format=self._rng.choice(formats))


class Poster:
    """Posts receipts to the deployed webhooks as the gateway does (again until a 2xx)."""

    def __init__(self, stack: DeployedStack, simulator: GatewaySimulator) -> None:
        self._stack = stack
        self._simulator = simulator
        self._credentials = stack.webhook_credentials()
        self._local = threading.local()
        self._builders = {True: Mm4ReportBuilder(message_id="guid"), False: Mm4ReportBuilder(message_id="forward")}
        self._lock = threading.Lock()
        self.problems: list[str] = []

    def _senders(self) -> dict[str, ReceiptSender]:
        senders: dict[str, ReceiptSender] | None = getattr(self._local, "senders", None)
        if senders is None:
            api, ca = self._stack.api_url, str(self._stack.ca_file)
            senders = {
                path: ReceiptSender(f"{api}/{path}", *self._credentials, timeout=WEBHOOK_TIMEOUT_S, verify=ca)
                for path in ("dlr", "dlr/mm4")
            }
            self._local.senders = senders
        return senders

    def post(
        self,
        recipient: Recipient,
        post: Post,
        transaction: Mm4Transaction | None,
        after_first: Callable[[], object] | None = None,
    ) -> None:
        send: Callable[[], MoResult]
        if post.channel == "mm4" and transaction is None:
            with self._lock:
                self.problems.append(f"{recipient.job.message_id}: no accepted MM4 transaction has its recorded GUID")
            return
        if post.channel == "mm4" and transaction is not None:
            builder = self._builders[post.by_guid]
            word = MM4_WORDS[post.status]
            raw = (
                builder.read_reply(transaction, recipient.number, word)
                if post.status == "read"
                else builder.delivery_report(transaction, recipient.number, word)
            )
            send = lambda: self._senders()["dlr/mm4"].send_raw(raw)  # noqa: E731
        else:
            receipt = DlrReceipt(recipient.guid, HTTP_WORDS[post.status], format=post.http_format)
            send = lambda: self._senders()["dlr"].send(receipt)  # noqa: E731
        recipient.answers.append(deliveries.deliver(recipient.guid, send, lambda: True, after_first=after_first))


class EarlyReceipts:
    """Posts the early receipts from the simulator's acceptance hooks, before the send's answer.

    The hook waits for each receipt's first answer only (the send's answer is held meanwhile);
    a receipt answered with a retryable status is posted again later, as the gateway would, from a
    thread of its own: the send has to be recorded before it can apply.
    """

    def __init__(self, poster: Poster, recipients: dict[str, Recipient]) -> None:
        self._poster = poster
        self._by_number = {number: r for number, r in recipients.items() if r.early}
        self._retries = ThreadPoolExecutor(max_workers=8, thread_name_prefix="early-receipt")
        self.posted = 0

    def close(self) -> None:
        self._retries.shutdown(wait=True)

    def on_https(self, message: SentMessage, peer: tuple[str, int]) -> None:
        recipient = self._by_number.get(message.destination)
        if recipient is not None:
            recipient.guid = recipient.early_guid = message.transaction_guid
            self._post(recipient, None)

    def on_mm4(self, transaction: Mm4Transaction, peer: tuple[str, int]) -> None:
        for address, guid in transaction.guids.items():
            recipient = self._by_number.get(address.split("@", 1)[0].lstrip("+"))
            if recipient is not None:
                recipient.guid = recipient.early_guid = guid
                self._post(recipient, transaction)

    def _post(self, recipient: Recipient, transaction: Mm4Transaction | None) -> None:
        for post in recipient.early:
            answered = threading.Event()
            self._retries.submit(self._poster.post, recipient, post, transaction, answered.set)
            answered.wait(WEBHOOK_TIMEOUT_S)
            self.posted += 1


def run(stack: DeployedStack, simulator: GatewaySimulator, config: ChaosConfig) -> Report:
    with jobs.prepared(stack, simulator):
        return _run(stack, simulator, config)


def _run(stack: DeployedStack, simulator: GatewaySimulator, config: ChaosConfig) -> Report:
    report = Report("receipt_chaos")
    batch = jobs.JobFactory("chaos", config.seed).make(config.messages, jobs.JobMix(refused=0.0, delivery_report=1.0))
    stories = Stories(config)
    recipients = {r.number: r for job in batch for r in stories.recipients(job)}
    poster = Poster(stack, simulator)
    early = EarlyReceipts(poster, recipients)
    _warm_up(stack)
    simulator.http_api.on_accepted, simulator.mm4.on_accepted = early.on_https, early.on_mm4
    try:
        jobs.put(stack, batch)
        stackio.progress(f"receipt_chaos: {len(batch)} messages put, {len(recipients)} recipients")
        dead_letters = stackio.DeadLetters(stack, (job.message_id for job in batch))
        jobs.wait_until_ended(stack, batch, dead_letters, time.monotonic() + config.send_timeout_s, "receipt_chaos")
    finally:
        simulator.http_api.on_accepted = simulator.mm4.on_accepted = None
    early.close()  # every early receipt answered 2xx (or given up)
    _learn_guids(stack, batch, recipients)
    transactions = _mm4_transactions(simulator, recipients)
    posts = _post_all(poster, recipients, transactions, config, lambda r: r.normal, "after the send")
    swept = _sweep(stack, [r for r in recipients.values() if r.story in ("late_final", "no_receipt", "late_progress")])
    late = _post_all(poster, recipients, transactions, config, lambda r: r.late, "late", copies=(1, 1))
    figures(report, stack, batch, recipients, early.posted, posts, late, swept)
    for problem in poster.problems:
        report.fail(problem)
    return report


def _learn_guids(stack: DeployedStack, batch: list[jobs.Job], recipients: dict[str, Recipient]) -> None:
    for item in stackio.message_items(stack, (job.message_id for job in batch)).values():
        for entry in item.get("recipients", {}).get("L", []):
            recipient = recipients.get(entry["M"]["number"]["S"].lstrip("+"))
            guid = entry["M"].get("transactionGuid", {}).get("S")
            if recipient is not None and guid:
                recipient.guid = guid


def _mm4_transactions(simulator: GatewaySimulator, recipients: dict[str, Recipient]) -> dict[str, Mm4Transaction]:
    """Each MM4 recipient's accepted transaction: the one whose GUID was recorded."""
    found = {}
    for transaction in simulator.mm4.accepted:
        for address, guid in transaction.guids.items():
            number = address.split("@", 1)[0].lstrip("+")
            if number in recipients and recipients[number].guid == guid:
                found[number] = transaction
    return found


def _warm_up(stack: DeployedStack) -> None:
    """A few refused posts (wrong credentials: nothing is written) start the receipt function's
    processes, so that early receipts, posted while the gateway holds a send's answer, are quick."""
    api, ca = stack.api_url, str(stack.ca_file)
    username, password = stack.webhook_credentials()

    def refused(path: str) -> None:
        with ReceiptSender(f"{api}/{path}", username, password, timeout=WEBHOOK_TIMEOUT_S, verify=ca) as sender:
            sender.send(DlrReceipt("00000000-0000-4000-8000-000000000000"), credentials="wrong")

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(refused, ["dlr", "dlr/mm4"] * 4))


def _post_all(
    poster: Poster,
    recipients: dict[str, Recipient],
    transactions: dict[str, Mm4Transaction],
    config: ChaosConfig,
    which: Callable[[Recipient], list[Post]],
    phase: str,
    copies: tuple[int, int] | None = None,
) -> int:
    """Each recipient's receipts of a phase, each posted 1..n times, in shuffled order; recipients in parallel."""
    rng = random.Random(config.seed + len(phase))
    plans = []
    for recipient in recipients.values():
        posts = [post for post in which(recipient) for _ in range(rng.randint(*(copies or config.copies)))]
        rng.shuffle(posts)
        if posts:
            plans.append((recipient, posts))

    def post_all(recipient: Recipient, posts: list[Post]) -> int:
        for post in posts:
            poster.post(recipient, post, transactions.get(recipient.number))
        return len(posts)

    with ThreadPoolExecutor(max_workers=config.concurrency, thread_name_prefix="receipts") as pool:
        futures = [pool.submit(post_all, recipient, posts) for recipient, posts in plans]
        total = sum(future.result(timeout=600) for future in futures)
    stackio.progress(f"receipt_chaos: {total} receipts posted {phase}")
    return total


def _sweep(stack: DeployedStack, late: list[Recipient]) -> int:
    """Moves the late recipients' receipt deadlines to yesterday, then runs the no-receipt sweep once."""
    yesterday = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=1)
    day = yesterday.strftime("%Y-%m-%d")
    dynamodb = stack.client("dynamodb")
    for recipient in late:
        try:
            dynamodb.update_item(
                TableName=stack.outputs["MessagesTableName"],
                Key={"pk": {"S": f"TX#{recipient.guid}"}, "sk": {"S": "TX"}},
                UpdateExpression="SET gsi2pk = :day, gsi2sk = :due",
                ConditionExpression="attribute_exists(gsi2pk)",
                ExpressionAttributeValues={
                    ":day": {"S": f"DUE#{day}"},
                    ":due": {"S": f"{day}T00:00:00.000Z#TX#{recipient.guid}"},
                },
            )
        except dynamodb.exceptions.ConditionalCheckFailedException:
            continue  # a final receipt took it out of the index already
    answer = stackio.invoke(stack, "NoReceiptFunction")
    stackio.progress(f"receipt_chaos: no-receipt sweep: {answer}")
    items = stackio.transaction_items(stack, (r.guid for r in late))
    for recipient in late:
        recipient.swept = stackio.text(items.get(recipient.guid), "status") == "no_receipt"
    return sum(1 for recipient in late if recipient.swept)


def figures(
    report: Report,
    stack: DeployedStack,
    batch: list[jobs.Job],
    recipients: dict[str, Recipient],
    early: int,
    normal: int,
    late: int,
    swept: int,
) -> None:
    items = stackio.transaction_items(stack, (r.guid for r in recipients.values() if r.guid))
    answers = [delivery for r in recipients.values() for delivery in r.answers]
    tally = deliveries.tally(answers)
    unmatched = sum(1 for d in answers if d.answered_2xx and d.said == "unmatched")
    expected_swept = sum(1 for r in recipients.values() if r.story in ("late_final", "no_receipt"))
    wrong = []
    finals: Counter[str] = Counter()
    for recipient in recipients.values():
        if recipient.early_guid and recipient.early_guid != recipient.guid:
            wrong.append(f"{recipient.job.message_id}: sent twice, the early receipts named the unrecorded send")
            continue
        actual = stackio.text(items.get(recipient.guid), "status")
        finals[str(actual)] += 1
        if actual != recipient.expected():
            wrong.append(f"{recipient.job.message_id} {recipient.story}: {actual}, expected {recipient.expected()}")
    kinds = Counter(job.kind for job in batch)
    stories = Counter(r.story for r in recipients.values())
    report.add("messages", len(batch), "messages", ", ".join(f"{kinds[k]} {k}" for k in ("https", "mm4", "mm4_group")))
    report.add("recipients", len(recipients), "recipients", ", ".join(f"{n} {s}" for s, n in sorted(stories.items())))
    report.add(
        "posts", tally.posts, "posts", f"{early} early, {normal} after the send (shuffled, duplicated), {late} late"
    )
    report.add(
        "retryable_answers",
        tally.retryable_answers,
        "answers",
        "503 to a report naming a send not recorded yet: posted again",
    )
    not_2xx = tally.never_2xx + tally.refused_answers
    report.expect("answers_not_2xx", not_2xx, "posts", "0", not_2xx == 0)
    report.expect("unmatched", unmatched, "receipts", "0", unmatched == 0)
    report.expect("swept_to_no_receipt", swept, "recipients", f"= {expected_swept} planned", swept == expected_swept)
    right = len(recipients) - len(wrong)
    report.expect("final_status_right", right, "recipients", f"= {len(recipients)}", not wrong)
    report.add(
        "final_statuses", len(recipients), "recipients", ", ".join(f"{n} {s}" for s, n in sorted(finals.items()))
    )
    report.add(
        "early_share", share(sum(1 for r in recipients.values() if r.early), len(recipients)), "", "of recipients"
    )
    for problem in wrong:
        report.fail(problem)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reliability receipt_chaos", description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=ChaosConfig.messages)
    arguments = parser.parse_args(argv)
    config = ChaosConfig(messages=arguments.messages)
    with GatewaySimulator() as simulator, stack_on(simulator, stackio.progress) as stack:
        stackio.progress(f"receipt_chaos: {config.messages} messages")
        report = run(stack, simulator, config)
        stackio.progress("receipt_chaos: done; stopping the stack")
    report.print()
    return 1 if report.violations else 0
