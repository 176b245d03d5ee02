"""Inbound under duplication: each MO posted three times at once, the media host failing some fetches.

Each MO (its own handset number, one or two images) is posted to ``/inbound`` three times, the
three requests released together; a copy answered with anything but a 2xx is posted again, as the
gateway does (``reliability.deliveries``). A share of the images fail their first fetch or two
(503), so the media retry queue takes over, and some answer slowly, so copies overlap the copy.

Figures: MOs, posts and their answers; copies answered 2xx while not stored (must be 0); MOs whose
copies were not all answered 2xx (must be 0); 2xx answers saying ``stored`` per MO (must be exactly
1: the others say ``duplicate``); items per MO (must be 1, read by its number from ``ByNumber``);
attachments stored (must be all: one ``stored`` entry each, one S3 object each under the MO's
prefix, its bytes those the media host served); and how many times each image was fetched and
written (a copy that finds an attachment pending queues a retry, and a retry that runs while the
first copy is still on its way writes the same object again: harmless, the key and bytes are the
same, and shown here).
"""

from __future__ import annotations

import argparse
import hashlib
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from devstack.gateway import stack_on
from devstack.stack import DeployedStack
from gatewaysim import images
from gatewaysim.mo import MoMessage, MoSender
from gatewaysim.simulator import GatewaySimulator
from reliability import deliveries, stackio
from reliability.jobs import JobFactory
from reliability.report import Report, ratio, share

WEBHOOK_TIMEOUT_S = 60.0
# Local overrides when this run deploys its own stack: eight media attempts, 2 s doubling.
OVERRIDES = {"MediaRetryMaxAttempts": "8"}


@dataclass(frozen=True)
class MoDuplicatesConfig:
    mos: int = 500
    copies: int = 3
    failing_share: float = 0.3  # images whose first one or two fetches answer 503
    slow_share: float = 0.2  # images served after 300 ms
    two_images_share: float = 0.3
    concurrency: int = 4  # MOs in flight at once (each posted ``copies`` times together)
    seed: int = 50
    settle_timeout_s: float = 600.0


@dataclass
class Image:
    name: str
    body: bytes
    failures: int  # first fetches answered 503


@dataclass
class Mo:
    message: MoMessage
    images: list[Image]
    copies: list[deliveries.Delivery] = field(default_factory=list)


def make_mos(simulator: GatewaySimulator, config: MoDuplicatesConfig) -> list[Mo]:
    rng = random.Random(config.seed)
    numbers = JobFactory("mo", config.seed)
    run = numbers.number()[-7:]
    made = []
    for index in range(config.mos):
        pictures = []
        for part in range(2 if rng.random() < config.two_images_share else 1):
            name = f"dup-{run}-{index}-{part}.png"
            body = images.png(8 + rng.randrange(40), 8 + rng.randrange(40), (rng.randrange(256), 90, 160))
            failures = rng.choice((1, 2)) if rng.random() < config.failing_share else 0
            simulator.media.add(name, body, "image/png")
            pictures.append(Image(name, body, failures))
        urls = [
            simulator.media.url(
                image.name, fail_first=image.failures, delay_ms=300 if rng.random() < config.slow_share else 0
            )
            for image in pictures
        ]
        source = numbers.number().lstrip("+")
        made.append(Mo(MoMessage(source=source, attachments=urls, message_text=f"duplicate {index}"), pictures))
    return made


def post_together(stack: DeployedStack, mo: Mo, credentials: tuple[str, str], copies: int) -> None:
    """``copies`` deliveries of ``mo`` released together, each posting again until a 2xx."""
    barrier = threading.Barrier(copies)
    results: list[deliveries.Delivery | None] = [None] * copies

    def copy(index: int) -> None:
        with MoSender(
            f"{stack.api_url}/inbound", *credentials, timeout=WEBHOOK_TIMEOUT_S, verify=str(stack.ca_file)
        ) as sender:
            barrier.wait(WEBHOOK_TIMEOUT_S)
            results[index] = deliveries.deliver(
                mo.message.transaction_guid,
                lambda: sender.send(mo.message),
                lambda: stack.transaction_item(mo.message.transaction_guid) is not None,
            )

    threads = [threading.Thread(target=copy, args=(n,), name="mo-copy", daemon=True) for n in range(copies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WEBHOOK_TIMEOUT_S * 4)
    mo.copies = [result for result in results if result is not None]


def run(stack: DeployedStack, simulator: GatewaySimulator, config: MoDuplicatesConfig) -> Report:
    report = Report("mo_duplicates")
    credentials = stack.webhook_credentials()
    mos = make_mos(simulator, config)
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=config.concurrency, thread_name_prefix="mo") as pool:
        posted = [pool.submit(post_together, stack, mo, credentials, config.copies) for mo in mos]
        for number, future in enumerate(posted, 1):
            future.result(timeout=WEBHOOK_TIMEOUT_S * 10)
            if number % 50 == 0:
                stackio.progress(f"mo_duplicates: {number}/{len(mos)} MOs posted")
    answered = time.monotonic() - started
    stackio.progress("mo_duplicates: every copy answered; waiting for the media")
    stackio.wait_until(lambda: _pending(stack, mos) == 0, config.settle_timeout_s, "media to be stored", 3.0)
    figures(report, stack, simulator, mos, answered, config.copies)
    return report


def _pending(stack: DeployedStack, mos: list[Mo]) -> int:
    items = stackio.transaction_items(stack, (mo.message.transaction_guid for mo in mos))
    pending = sum(1 for item in items.values() for entry in _media(item) if entry["status"]["S"] == "pending")
    stackio.progress(f"mo_duplicates: {pending} attachments pending")
    return pending


def _media(item: dict[str, Any]) -> list[dict[str, Any]]:
    return [entry["M"] for entry in item.get("media", {}).get("L", [])]


def figures(
    report: Report,
    stack: DeployedStack,
    simulator: GatewaySimulator,
    mos: list[Mo],
    answered: float,
    copies_each: int,
) -> None:
    copies = [copy for mo in mos for copy in mo.copies]
    tally = deliveries.tally(copies)
    stored_answers = [sum(1 for c in mo.copies if c.answered_2xx and c.said == "stored") for mo in mos]
    items = stackio.transaction_items(stack, (mo.message.transaction_guid for mo in mos))
    attachments = sum(len(mo.images) for mo in mos)
    failing = sum(1 for mo in mos for image in mo.images if image.failures)
    report.add(
        "mos",
        len(mos),
        "MOs",
        f"{attachments} images; {share(failing, attachments)} failing first",
    )
    report.add(
        "posts",
        tally.posts,
        "posts",
        f"{len(copies)} copies; {tally.retryable_answers} answers retryable, posted again",
    )
    unanswered = tally.never_2xx + sum(copies_each - len(mo.copies) for mo in mos)
    report.expect("copies_never_2xx", unanswered, "copies", "0", unanswered == 0)
    report.expect("refused_answers", tally.refused_answers, "answers", "0", tally.refused_answers == 0)
    report.expect("2xx_not_stored", tally.not_stored_at_2xx, "answers", "0", tally.not_stored_at_2xx == 0)
    wrong = sum(1 for count in stored_answers if count != 1)
    report.expect(
        "mos_without_exactly_one_stored_answer", wrong, "MOs", "0 (one 'stored', the rest 'duplicate')", wrong == 0
    )
    per_number = [_items_for(stack, mo) for mo in mos]
    extra = sum(1 for count in per_number if count != 1)
    report.expect(
        "items_per_mo_not_one",
        extra,
        "MOs",
        "0 (ByNumber: one item per handset)",
        extra == 0 and len(items) == len(mos),
    )
    good, objects, problems = _check_media(stack, mos, items)
    report.expect("attachments_stored", good, "attachments", f"= {attachments}", good == attachments)
    report.expect("s3_objects", objects, "objects", f"= {attachments} (one per attachment)", objects == attachments)
    fetched = _successful_fetches(simulator, mos)
    report.add(
        "copies_written",
        sum(fetched),
        "writes",
        f"{ratio(sum(fetched), attachments)} attachments; {max(fetched, default=0)} at most (same key, same bytes)",
    )
    report.add("time_to_answer_all", answered, "s", f"{tally.posts / answered:.1f} posts/s" if answered else "")
    for problem in problems:
        report.fail(problem)


def _items_for(stack: DeployedStack, mo: Mo) -> int:
    answer = stack.client("dynamodb").query(
        TableName=stack.outputs["MessagesTableName"],
        IndexName="ByNumber",
        KeyConditionExpression="gsi1pk = :number",
        ExpressionAttributeValues={":number": {"S": f"NUM#+{mo.message.source}"}},
        Select="COUNT",
    )
    return int(answer["Count"])


def _check_media(stack: DeployedStack, mos: list[Mo], items: dict[str, dict[str, Any]]) -> tuple[int, int, list[str]]:
    s3 = stack.client("s3")
    bucket = stack.outputs["MediaBucketName"]
    good = objects = 0
    problems: list[str] = []
    for mo in mos:
        guid = mo.message.transaction_guid
        entries = _media(items.get(guid, {}))
        keys = [entry.get("s3Key", {}).get("S", "") for entry in entries]
        prefix = keys[0].rsplit("/", 1)[0] + "/" if keys and keys[0] else f"inbound/{guid}-missing/"
        listed = s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
        objects += len(listed)
        for image, entry in zip(mo.images, entries, strict=False):
            expected = hashlib.sha256(image.body).hexdigest()
            if entry["status"]["S"] != "stored" or entry.get("sha256", {}).get("S") != expected:
                problems.append(f"{guid} image {image.name}: {entry['status']['S']} {entry.get('error', {})}")
                continue
            body = s3.get_object(Bucket=bucket, Key=entry["s3Key"]["S"])["Body"].read()
            if hashlib.sha256(body).hexdigest() != expected:
                problems.append(f"{guid} image {image.name}: the object's bytes differ")
                continue
            good += 1
        if len(entries) != len(mo.images):
            problems.append(f"{guid}: {len(entries)} media entries for {len(mo.images)} images")
    return good, objects, problems


def _successful_fetches(simulator: GatewaySimulator, mos: list[Mo]) -> list[int]:
    """Per image: GET requests the media host served in full (those its fault plan failed left out)."""
    counts = []
    for mo in mos:
        for image in mo.images:
            gets = sum(1 for request in simulator.media.requests_for(image.name) if request.method == "GET")
            counts.append(max(0, gets - image.failures))
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reliability mo_duplicates", description=__doc__.splitlines()[0])
    parser.add_argument("--mos", type=int, default=MoDuplicatesConfig.mos)
    arguments = parser.parse_args(argv)
    config = MoDuplicatesConfig(mos=arguments.mos)
    with GatewaySimulator() as simulator, stack_on(simulator, stackio.progress, overrides=OVERRIDES) as stack:
        stackio.progress(f"mo_duplicates: {config.mos} MOs, {config.copies} copies each")
        report = run(stack, simulator, config)
        stackio.progress("mo_duplicates: done; stopping the stack")
    report.print()
    return 1 if report.violations else 0
