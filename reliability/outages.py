"""Outages: DynamoDB and S3 unavailable, then throttled, while MOs, jobs and receipts keep coming.

The functions' DynamoDB and S3 calls pass through the AWS fault proxy (``fault_stack``); the run
switches it, one window at a time: DynamoDB down (connections reset), DynamoDB throttled
(``ThrottlingException``), S3 down, S3 throttled (``SlowDown``). Meanwhile MOs with an image are
posted to ``/inbound``, jobs put on the outbound queue, and a delivery receipt posted to ``/dlr`` for
each recipient once its send is recorded; MOs and receipts are posted as the gateway does, again
until a 2xx (``reliability.deliveries``), and at each 2xx the run checks on the emulator itself
that what was posted is stored.

Figures: answers by kind (2xx, retryable, refused: must be 0), 2xx for something not stored (must
be 0), posts never answered 2xx (must be 0), media stored, receipts applied, jobs ended and lost
(must be 0), duplicate sends outside the documented window (must be 0).
"""

from __future__ import annotations

import argparse
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from devstack.stack import DeployedStack
from gatewaysim import images
from gatewaysim.mo import MoMessage, MoSender
from gatewaysim.receipts import DlrReceipt, ReceiptSender
from gatewaysim.simulator import GatewaySimulator
from reliability import deliveries, jobs, stackio
from reliability.aws_proxy import AwsFaultProxy, Fault, Service
from reliability.fault_stack import fault_stack
from reliability.report import Report, share

SCHEDULE: tuple[tuple[Service, Fault], ...] = (
    ("dynamodb", "down"),
    ("dynamodb", "throttle"),
    ("s3", "down"),
    ("s3", "throttle"),
)
WEBHOOK_TIMEOUT_S = 60.0
WARM_UP_LIMIT_S = 180.0


@dataclass(frozen=True)
class OutageConfig:
    window_s: float = 20.0
    gap_s: float = 15.0
    mos_per_s: float = 2.0
    jobs_per_s: float = 2.0
    seed: int = 40
    settle_timeout_s: float = 900.0

    @property
    def traffic_s(self) -> float:
        return len(SCHEDULE) * (self.gap_s + self.window_s) + self.gap_s


class Traffic:
    """MOs and receipts delivered like the gateway (a pool of posters), jobs put on the queue."""

    def __init__(self, stack: DeployedStack, simulator: GatewaySimulator, credentials: tuple[str, str]) -> None:
        self._stack = stack
        self._simulator = simulator
        self._credentials = credentials
        self._local = threading.local()
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="gateway-post")
        self.lock = threading.Lock()
        self.mo_posts: list[Future[deliveries.Delivery]] = []
        self.receipt_posts: list[Future[deliveries.Delivery]] = []
        self.mos: list[MoMessage] = []
        self.receipted: set[str] = set()
        self._numbers = jobs.JobFactory("mo", 0)

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    def _sender(self, kind: str) -> Any:
        senders: dict[str, Any] | None = getattr(self._local, "senders", None)
        if senders is None:
            senders = {}
            self._local.senders = senders
        if kind not in senders:
            api, ca = self._stack.api_url, str(self._stack.ca_file)
            if kind == "mo":
                senders[kind] = MoSender(f"{api}/inbound", *self._credentials, timeout=WEBHOOK_TIMEOUT_S, verify=ca)
            else:
                senders[kind] = ReceiptSender(f"{api}/dlr", *self._credentials, timeout=WEBHOOK_TIMEOUT_S, verify=ca)
        return senders[kind]

    def post_mo(self, index: int) -> None:
        url = self._simulator.media.add(f"outage-{index}.png", images.png(16 + index % 16, 16), "image/png")
        number = self._numbers.number().lstrip("+")
        mo = MoMessage(source=number, attachments=[url], message_text=f"outage {index}")
        with self.lock:
            self.mos.append(mo)

        def post() -> deliveries.Delivery:
            return deliveries.deliver(
                mo.transaction_guid,
                lambda: self._sender("mo").send(mo),
                lambda: self._stack.transaction_item(mo.transaction_guid) is not None,
            )

        with self.lock:
            self.mo_posts.append(self._pool.submit(post))

    def post_receipt(self, guid: str) -> None:
        with self.lock:
            if guid in self.receipted:
                return
            self.receipted.add(guid)
        receipt = DlrReceipt(guid, "DELIVRD", format="word")

        def post() -> deliveries.Delivery:
            return deliveries.deliver(
                guid, lambda: self._sender("receipt").send(receipt), lambda: _has_state(self._stack, guid, "DELIVRD")
            )

        with self.lock:
            self.receipt_posts.append(self._pool.submit(post))


def _has_state(stack: DeployedStack, guid: str, state: str) -> bool:
    item = stack.transaction_item(guid)
    history = (item or {}).get("history", {}).get("L", [])
    return any(entry["M"].get("state", {}).get("S") == state for entry in history)


def run(stack: DeployedStack, simulator: GatewaySimulator, proxy: AwsFaultProxy, config: OutageConfig) -> Report:
    with jobs.prepared(stack, simulator):
        return _run(stack, simulator, proxy, config)


def _run(stack: DeployedStack, simulator: GatewaySimulator, proxy: AwsFaultProxy, config: OutageConfig) -> Report:
    report = Report("outages")
    factory = jobs.JobFactory("outage", config.seed)
    traffic = Traffic(stack, simulator, stack.webhook_credentials())
    all_jobs: list[jobs.Job] = []
    dead_letters = stackio.DeadLetters(stack, [])
    warm = threading.Event()
    faults = threading.Thread(target=_switch_faults, args=(proxy, config, warm), name="fault-schedule", daemon=True)
    started = time.monotonic()
    faults.start()
    try:
        tick, index = 0.0, 0
        while faults.is_alive() and time.monotonic() - started < config.traffic_s + WARM_UP_LIMIT_S:
            index += 1
            if not warm.is_set() and _warm(traffic, all_jobs, stack):
                stackio.progress("outages: every function has answered; the faults begin")
                warm.set()
            if _due(index, config.mos_per_s):
                traffic.post_mo(index)
            if _due(index, config.jobs_per_s):
                batch = factory.make(1, jobs.JobMix(refused=0.0))
                jobs.put(stack, batch)
                all_jobs.extend(batch)
            if index % 8 == 0:
                _receipts_for_sent(stack, traffic, all_jobs)
            tick += 0.25
            time.sleep(max(0.0, started + tick - time.monotonic()))
        faults.join(config.gap_s + 1.0)
        stackio.progress(f"outages: traffic over ({len(traffic.mos)} MOs, {len(all_jobs)} jobs); settling")
        _settle(stack, traffic, all_jobs, dead_letters, config)
    finally:
        proxy.set_fault("dynamodb", "pass")
        proxy.set_fault("s3", "pass")
        traffic.close()
    figures(report, stack, simulator, proxy, traffic, all_jobs, dead_letters)
    return report


def _due(index: int, per_second: float) -> bool:
    """Whether tick ``index`` (four a second) carries one of ``per_second`` events a second."""
    return int(index * per_second / 4) != int((index - 1) * per_second / 4)


def _warm(traffic: Traffic, all_jobs: list[jobs.Job], stack: DeployedStack) -> bool:
    """Whether the functions have started: the first posters' MOs answered, a job and a receipt done
    (cold starts of several function processes at once take tens of seconds on two cores; a fault
    window spent waiting for them would test nothing)."""
    with traffic.lock:
        posts = list(traffic.mo_posts[:8]) + list(traffic.receipt_posts[:4])
    mos_done = len(posts) >= 12 and all(future.done() for future in posts)
    return mos_done and bool(all_jobs)


def _switch_faults(proxy: AwsFaultProxy, config: OutageConfig, warm: threading.Event) -> None:
    warm.wait(WARM_UP_LIMIT_S)
    for service, fault in SCHEDULE:
        time.sleep(config.gap_s)
        stackio.progress(f"outages: {service} {fault} for {config.window_s:.0f}s")
        proxy.set_fault(service, fault)
        time.sleep(config.window_s)
        proxy.set_fault(service, "pass")
        stackio.progress(f"outages: {service} back")
    time.sleep(config.gap_s)  # traffic goes on a while after the last fault


def _receipts_for_sent(stack: DeployedStack, traffic: Traffic, all_jobs: list[jobs.Job]) -> None:
    items = stackio.message_items(stack, (job.message_id for job in all_jobs))
    for item in items.values():
        if stackio.text(item, "status") != "sent":
            continue
        for recipient in item.get("recipients", {}).get("L", []):
            guid = recipient["M"].get("transactionGuid", {}).get("S")
            if guid:
                traffic.post_receipt(guid)


def _settle(
    stack: DeployedStack,
    traffic: Traffic,
    all_jobs: list[jobs.Job],
    dead_letters: stackio.DeadLetters,
    config: OutageConfig,
) -> None:
    deadline = time.monotonic() + config.settle_timeout_s
    dead_letters.add(job.message_id for job in all_jobs)
    jobs.wait_until_ended(
        stack, all_jobs, dead_letters, deadline, "outages", lambda: _receipts_for_sent(stack, traffic, all_jobs)
    )
    _receipts_for_sent(stack, traffic, all_jobs)
    for future in [*traffic.mo_posts, *traffic.receipt_posts]:
        future.result(timeout=max(1.0, deadline - time.monotonic()))
    stackio.wait_until(
        lambda: _media_pending(stack, traffic) == 0, max(1.0, deadline - time.monotonic()), "media to be stored", 3.0
    )


def _media_pending(stack: DeployedStack, traffic: Traffic) -> int:
    items = stackio.transaction_items(stack, (mo.transaction_guid for mo in traffic.mos))
    pending = sum(
        1
        for item in items.values()
        for entry in item.get("media", {}).get("L", [])
        if entry["M"]["status"]["S"] == "pending"
    )
    stackio.progress(f"outages: {pending} attachments still pending")
    return pending


def figures(
    report: Report,
    stack: DeployedStack,
    simulator: GatewaySimulator,
    proxy: AwsFaultProxy,
    traffic: Traffic,
    all_jobs: list[jobs.Job],
    dead_letters: stackio.DeadLetters,
) -> None:
    counts = proxy.counts()
    for service in ("dynamodb", "s3"):
        failed = counts.get(f"{service}_down", 0) + counts.get(f"{service}_throttle", 0)
        report.add(
            f"{service}_calls",
            counts.get(f"{service}_requests", 0),
            "calls",
            f"{counts.get(f'{service}_down', 0)} refused (down), {counts.get(f'{service}_throttle', 0)} throttled;"
            f" {share(failed, counts.get(f'{service}_requests', 0))} faulted",
        )
    for kind, posted in (("mo", traffic.mo_posts), ("receipt", traffic.receipt_posts)):
        tally = deliveries.tally(future.result() for future in posted)
        report.add(f"{kind}s", len(posted), kind + "s", f"{tally.posts} posts")
        report.add(f"{kind}_retryable_answers", tally.retryable_answers, "answers", "503/5xx/429 or none: posted again")
        report.expect(
            f"{kind}_refused_answers",
            tally.refused_answers,
            "answers",
            "0 (a 4xx drops the post)",
            tally.refused_answers == 0,
        )
        report.expect(f"{kind}_2xx_not_stored", tally.not_stored_at_2xx, "posts", "0", tally.not_stored_at_2xx == 0)
        report.expect(f"{kind}_never_2xx", tally.never_2xx, "posts", "0", tally.never_2xx == 0)
    _media_figures(report, stack, traffic)
    _receipt_figures(report, stack, traffic)
    _job_figures(report, stack, simulator, all_jobs, dead_letters)


def _media_figures(report: Report, stack: DeployedStack, traffic: Traffic) -> None:
    items = stackio.transaction_items(stack, (mo.transaction_guid for mo in traffic.mos))
    stored = sum(
        1
        for item in items.values()
        for entry in item.get("media", {}).get("L", [])
        if entry["M"]["status"]["S"] == "stored"
    )
    report.expect("mos_stored", len(items), "items", f"= {len(traffic.mos)} MOs", len(items) == len(traffic.mos))
    report.expect("media_stored", stored, "attachments", f"= {len(traffic.mos)}", stored == len(traffic.mos))


def _receipt_figures(report: Report, stack: DeployedStack, traffic: Traffic) -> None:
    items = stackio.transaction_items(stack, traffic.receipted)
    delivered = sum(1 for item in items.values() if stackio.text(item, "status") == "delivered")
    report.expect(
        "receipts_applied",
        delivered,
        "recipients",
        f"= {len(traffic.receipted)} delivered",
        delivered == len(traffic.receipted),
    )


def _job_figures(
    report: Report,
    stack: DeployedStack,
    simulator: GatewaySimulator,
    all_jobs: list[jobs.Job],
    dead_letters: stackio.DeadLetters,
) -> None:
    dead_letters.collect()
    found = jobs.results(stack, all_jobs, dead_letters)
    views = jobs.gateway_views(simulator, all_jobs)
    outcomes = jobs.outcome_counts(found)
    duplicated = [r for r in found if views[r.job.message_id].sends > 1]
    first = {guid for r in duplicated for guid in views[r.job.message_id].accepted[0].guids}
    recorded = set(stackio.transaction_items(stack, first))
    outside = [
        r
        for r in duplicated
        if r.sent_events > 1 or any(guid in recorded for guid in views[r.job.message_id].accepted[0].guids)
    ]
    report.add(
        "jobs",
        len(found),
        "jobs",
        f"{outcomes['sent']} sent, {outcomes['failed']} failed, {outcomes['dead_letter']} dead-lettered",
    )
    report.expect("lost_jobs", outcomes["lost"], "jobs", "0", outcomes["lost"] == 0)
    report.add(
        "duplicate_sends_in_window",
        len(duplicated) - len(outside),
        "jobs",
        "accepted, the record's write failed for the outage, sent again",
    )
    report.expect("duplicate_sends_outside_window", len(outside), "jobs", "0", not outside)
    for result in found:
        if result.outcome == "lost":
            report.fail(f"{result.job.message_id} lost: {result.reason}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reliability outages", description=__doc__.splitlines()[0])
    parser.add_argument("--window", type=float, default=OutageConfig.window_s, help="seconds each fault lasts")
    parser.add_argument("--gap", type=float, default=OutageConfig.gap_s, help="seconds between faults")
    parser.add_argument("--rate", type=float, default=OutageConfig.mos_per_s, help="MOs and jobs a second")
    arguments = parser.parse_args(argv)
    config = OutageConfig(
        window_s=arguments.window, gap_s=arguments.gap, mos_per_s=arguments.rate, jobs_per_s=arguments.rate
    )
    with GatewaySimulator() as simulator, fault_stack(simulator) as (stack, proxy):
        stackio.progress(f"outages: {config.traffic_s:.0f}s of traffic, faults of {config.window_s:.0f}s each")
        report = run(stack, simulator, proxy, config)
        stackio.progress("outages: done; stopping the stack")
    report.print()
    return 1 if report.violations else 0
