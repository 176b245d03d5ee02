"""Soak: outbound jobs (HTTPS, MM4, MM4 groups) while the gateway fails about one attempt in five.

The gateway simulator answers a fifth of the HTTPS submissions with a transient fault drawn from
500, 429 with ``Retry-After``, a connection reset, a hang past the client's 15 s read timeout and
``E500001``, and a fifth of the MM4 DATA with ``451``, ``421``, ``452`` or a reset with no reply;
now and then it greets an MM4 connection with ``421``. A few jobs come from a number the account
does not own and are refused for good (``E200002`` over HTTPS, ``550`` to MAIL over MM4).

Figures: jobs, attempts at the gateway, faults among them, deliveries (SQS), sends per messageId
(duplicates must be 0: none of these faults lets the gateway accept a message the relay does not
learn of), lost jobs (must be 0: each job ends sent, failed with a reason, or dead-lettered with a
reason), jobs refused as expected, and the time from the first job put to the last one ending.

``python -m reliability soak [--jobs N]`` deploys its own stack with the overrides below;
``tests/system/test_reliability.py`` runs it with fewer jobs on the session's stack.
"""

from __future__ import annotations

import argparse
import contextlib
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

from devstack.gateway import stack_on
from devstack.stack import DeployedStack
from gatewaysim.http_api import ErrorRate, HttpFault
from gatewaysim.mm4 import DROP, Mm4ErrorRate
from gatewaysim.simulator import GatewaySimulator
from reliability import jobs, stackio
from reliability.report import Report, ratio, share

# Local overrides for this run (docs/reliability.md): retries after 1 s doubling (a 429's
# Retry-After first), eight deliveries before the dead-letter queue (a job failing transiently
# one time in five reaches it with probability 0.2^8), five concurrent batches.
OVERRIDES = {
    "OutboundRetryBaseDelaySeconds": "1",
    "OutboundMaxReceiveCount": "8",
    "OutboundMaximumConcurrency": "5",
    # The sending code's pace is not under test here (bench/outbound_stack.py measures it): at the
    # default 10 a second, and halved by each injected 429, it alone would set the time to drain.
    "SendRatePerSecond": "1000",
}
HTTP_FAULTS = (
    HttpFault.http_status(500),
    HttpFault.throttle(retry_after_s=2),
    HttpFault.reset(),
    HttpFault.timeout(hang_s=20.0),  # past the relay's 15 s read timeout
    HttpFault.error("E500001"),
)
MM4_FAULTS = (
    "451 4.3.0 Temporary failure, please try again later",
    "421 4.3.2 Service not available, closing transmission channel",
    "452 4.3.1 Insufficient system storage",
    DROP,
)


@dataclass(frozen=True)
class SoakConfig:
    jobs: int = 1000
    fault_rate: float = 0.2
    refused: float = 0.03
    seed: int = 20
    put_per_second: float = 25.0  # producers put jobs over time, not all at once
    drain_timeout_s: float = 1800.0
    refused_mm4_connections: int = 5


@contextlib.contextmanager
def faulty_gateway(simulator: GatewaySimulator, config: SoakConfig) -> Iterator[None]:
    simulator.http_api.error_rate = ErrorRate.mixed(config.fault_rate, HTTP_FAULTS, seed=config.seed)
    simulator.mm4.error_rate = Mm4ErrorRate(config.fault_rate, MM4_FAULTS, seed=config.seed)
    try:
        yield
    finally:
        simulator.http_api.error_rate = None
        simulator.mm4.error_rate = None
        simulator.mm4.clear_faults()


def run(stack: DeployedStack, simulator: GatewaySimulator, config: SoakConfig) -> Report:
    with jobs.prepared(stack, simulator):
        return _run(stack, simulator, config)


def _run(stack: DeployedStack, simulator: GatewaySimulator, config: SoakConfig) -> Report:
    report = Report("soak")
    batch = jobs.JobFactory("soak", config.seed).make(config.jobs, jobs.JobMix(refused=config.refused))
    dead_letters = stackio.DeadLetters(stack, (job.message_id for job in batch))
    with faulty_gateway(simulator, config):
        started = time.monotonic()
        _put_over_time(stack, simulator, batch, config)
        stackio.progress(f"soak: {len(batch)} jobs put; waiting for each to end")
        jobs.wait_until_ended(stack, batch, dead_letters, started + config.drain_timeout_s, "soak")
        drained = time.monotonic() - started
        stackio.wait_until(lambda: stackio.queue_depth(stack, "OutboundQueueUrl") == 0, 120, "the queue to empty")
    stackio.progress("soak: reading the outcomes")
    dead_letters.collect()
    found = jobs.results(stack, batch, dead_letters)
    views = jobs.gateway_views(simulator, batch)
    figures(report, found, views, drained)
    refused = sum(1 for connection in simulator.mm4.connections if connection.refused)
    report.add("mm4_connections_refused", refused, "connections", "greeted with 421 and closed")
    return report


def _put_over_time(
    stack: DeployedStack, simulator: GatewaySimulator, batch: list[jobs.Job], config: SoakConfig
) -> None:
    every = max(1, len(batch) // max(1, config.refused_mm4_connections + 1))
    for index, group in enumerate(stackio.chunks(batch, 50)):
        began = time.monotonic()
        jobs.put(stack, group)
        if (index * 50) % every < 50:
            simulator.mm4.refuse_next_connections(1)
        time.sleep(max(0.0, len(group) / config.put_per_second - (time.monotonic() - began)))


def figures(report: Report, found: list[jobs.JobResult], views: dict[str, jobs.GatewayView], drained: float) -> None:
    count = len(found)
    outcomes = jobs.outcome_counts(found)
    attempts = sum(view.attempts for view in views.values())
    faults = sum(view.faults for view in views.values())
    deliveries = sum(result.deliveries for result in found)
    sends = sum(views[result.job.message_id].sends for result in found)
    duplicates = sum(max(0, views[result.job.message_id].sends - 1) for result in found)
    refused = [result for result in found if result.job.refused]
    refused_right = [r for r in refused if r.outcome == "failed" and r.reason in ("E200002", "smtp_550")]
    kinds = Counter(result.job.kind for result in found)
    report.add("jobs", count, "jobs", ", ".join(f"{kinds[k]} {k}" for k in ("https", "mm4", "mm4_group")))
    report.add("gateway_attempts", attempts, "attempts", f"{ratio(attempts, count)} jobs")
    kinds_of_fault: Counter[str] = Counter()
    for view in views.values():
        kinds_of_fault.update(view.fault_kinds)
    refusals = sum(view.refusals for view in views.values())
    report.add("gateway_faults", faults, "faults", f"{share(faults, attempts)} of attempts, transient")
    report.add(
        "gateway_fault_kinds",
        len(kinds_of_fault),
        "kinds",
        ", ".join(f"{k}: {n}" for k, n in sorted(kinds_of_fault.items())),
    )
    report.add("gateway_refusals", refusals, "refusals", "for good (E200002; MM4's 550 to MAIL comes before DATA)")
    report.add(
        "deliveries", deliveries, "deliveries", f"{ratio(deliveries, count)} jobs; SQS deliveries to the function"
    )
    report.add("sent", outcomes["sent"], "jobs", share(outcomes["sent"], count))
    report.add("failed", outcomes["failed"], "jobs", f"{share(outcomes['failed'], count)}; each with its reason")
    report.add(
        "dead_lettered",
        outcomes["dead_letter"],
        "jobs",
        f"{share(outcomes['dead_letter'], count)}; each with its reason",
    )
    report.expect(
        "refused_as_expected",
        len(refused_right),
        "jobs",
        f"= {len(refused)} refused",
        len(refused_right) == len(refused),
    )
    report.expect("lost_jobs", outcomes["lost"], "jobs", "0", outcomes["lost"] == 0)
    report.add("gateway_sends", sends, "sends", f"{ratio(sends, outcomes['sent'])} jobs sent")
    report.expect(
        "duplicate_sends", duplicates, "sends", "0 (no fault here lets the gateway accept unseen)", duplicates == 0
    )
    report.add("time_to_drain", drained, "s", f"{count / drained:.1f} jobs/s" if drained else "")
    _check_each(report, found, views)


def _check_each(report: Report, found: list[jobs.JobResult], views: dict[str, jobs.GatewayView]) -> None:
    for result in found:
        view = views[result.job.message_id]
        if result.outcome == "lost":
            report.fail(f"{result.job.message_id} lost: {result.reason}")
        elif result.outcome == "sent" and view.accepted and result.recorded_guids != view.accepted[-1].guids:
            report.fail(f"{result.job.message_id}: recorded GUIDs {result.recorded_guids} are not the gateway's")
        elif result.outcome == "sent" and not view.accepted:
            report.fail(f"{result.job.message_id}: recorded sent, the gateway accepted nothing")
        elif result.outcome != "sent" and view.accepted:
            report.fail(f"{result.job.message_id}: {result.outcome} ({result.reason}) yet the gateway accepted it")
        elif result.outcome == "failed" and not result.job.refused:
            report.fail(f"{result.job.message_id}: failed ({result.reason}) though the gateway never refused it")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reliability soak", description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=SoakConfig.jobs)
    arguments = parser.parse_args(argv)
    config = SoakConfig(jobs=arguments.jobs)
    with GatewaySimulator() as simulator, stack_on(simulator, stackio.progress, overrides=OVERRIDES) as stack:
        stackio.progress(f"soak: {config.jobs} jobs, {config.fault_rate:.0%} transient faults, overrides {OVERRIDES}")
        report = run(stack, simulator, config)
        stackio.progress("soak: done; stopping the stack")
    report.print()
    return 1 if report.violations else 0
