"""Crashes: the outbound function's process killed mid-batch at three points, the emulator restarted.

While outbound jobs flow, chosen jobs have their function process killed (SIGKILL, from outside,
at a moment observed on the wire, so each point is hit exactly):

* ``before_send``: the emulator has just written the job's ``sending`` status (seen by the AWS
  fault proxy); the process dies before it reaches the gateway;
* ``after_accept``: the gateway simulator has accepted the message (HTTPS or MM4) and not yet
  answered; the process dies before it can record the send;
* ``after_record``: the emulator has just committed the send's record (the ``TransactWriteItems``
  naming the job, seen by the proxy); the process dies before it completes the idempotency record.

The other records of each killed batch die with it, wherever they were. Once, halfway through,
the emulator itself is restarted (state kept: ``PERSIST_STATE``), killing every function process.

Figures: jobs, kills per point, lost jobs (must be 0), duplicate sends, each one checked against
the documented window (docs/architecture.md): the gateway accepted a send that was never recorded
(no ``TX#`` item for its GUIDs, one ``sent`` in the job's history) and a kill or the restart
came between it and the next send. ``after_record`` kills must cause none.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from devstack.stack import DeployedStack
from gatewaysim.http_api import SentMessage
from gatewaysim.mm4 import Mm4Transaction
from gatewaysim.simulator import GatewaySimulator
from reliability import jobs, processes, stackio
from reliability.aws_proxy import AwsFaultProxy, ProxiedRequest
from reliability.fault_stack import fault_stack
from reliability.report import Report, share

Point = Literal["before_send", "after_accept", "after_record", "restart"]
POINTS: tuple[Point, ...] = ("before_send", "after_accept", "after_record")


@dataclass(frozen=True)
class CrashConfig:
    jobs: int = 300
    kills_per_point: int = 5
    restart: bool = True
    seed: int = 30
    put_per_second: float = 10.0
    drain_timeout_s: float = 900.0


@dataclass(frozen=True)
class CrashEvent:
    time: float  # time.monotonic()
    point: Point
    message_id: str
    pid: int
    ports: frozenset[int] = frozenset()  # local ports of the connections the process held (all: restart)


class CrashInjector:
    """Kills the function process handling a chosen job at its point, once per arming."""

    def __init__(self, stack: DeployedStack, targets: dict[Point, list[jobs.Job]]) -> None:
        self._stack = stack
        self._lock = threading.Lock()
        self._armed: dict[Point, dict[str, jobs.Job]] = {
            point: {job.message_id: job for job in targets.get(point, [])} for point in POINTS
        }
        self._by_number = {digits: job for job in targets.get("after_accept", []) for digits in job.digits}
        self.events: list[CrashEvent] = []
        self.rearmed: list[str] = []
        self.sent_from: dict[str, int] = {}  # transaction GUID -> the sending connection's local port

    @property
    def armed(self) -> int:
        with self._lock:
            return sum(len(armed) for armed in self._armed.values())

    def note_restart(self) -> None:
        with self._lock:
            self.events.append(CrashEvent(time.monotonic(), "restart", "", 0))

    def _take(self, point: Point, message_id: str) -> jobs.Job | None:
        with self._lock:
            return self._armed[point].pop(message_id, None)

    def _kill(self, point: Point, job: jobs.Job, peer: tuple[str, int]) -> bool:
        """Kills the process at ``peer``; when it cannot be found (the emulator restarting), the job
        is armed again for its next attempt and False comes back."""
        emulator = self._stack.emulator
        assert emulator is not None
        try:
            pid, ports = processes.kill_client_of(peer, emulator.pid)
        except (processes.ProcessNotFound, RuntimeError) as error:
            with self._lock:
                self._armed[point][job.message_id] = job
                self.rearmed.append(f"{point} of {job.message_id}: {error}")
            stackio.progress(f"crashes: {point} kill of {job.message_id} missed, armed again: {error}")
            return False
        with self._lock:
            self.events.append(CrashEvent(time.monotonic(), point, job.message_id, pid, ports))
        stackio.progress(f"crashes: killed process {pid} {point.replace('_', ' ')} of {job.message_id}")
        return True

    # the simulator's hooks -------------------------------------------------------------------
    def on_https_accepted(self, message: SentMessage, peer: tuple[str, int]) -> None:
        with self._lock:
            self.sent_from[message.transaction_guid] = peer[1]
        self._accepted((message.destination,), peer)

    def on_mm4_accepted(self, transaction: Mm4Transaction, peer: tuple[str, int]) -> None:
        with self._lock:
            self.sent_from.update(dict.fromkeys(transaction.guids.values(), peer[1]))
        numbers = tuple(address.split("@", 1)[0].lstrip("+") for address in transaction.recipients)
        self._accepted(numbers, peer)

    def _accepted(self, numbers: tuple[str, ...], peer: tuple[str, int]) -> None:
        job = next((self._by_number[number] for number in numbers if number in self._by_number), None)
        if job is not None and self._take("after_accept", job.message_id):
            self._kill("after_accept", job, peer)

    # the AWS proxy's hook ------------------------------------------------------------------
    def after_forward(self, request: ProxiedRequest, status: int) -> bool:
        if request.service != "dynamodb" or status != 200:
            return False
        if request.target == "UpdateItem" and b'"sending"' in request.body:
            point: Point = "before_send"
        elif request.target == "TransactWriteItems":
            point = "after_record"
        else:
            return False
        with self._lock:
            candidates = list(self._armed[point])
        for message_id in candidates:
            if f'MSG#{message_id}"'.encode() in request.body:
                job = self._take(point, message_id)
                return job is not None and self._kill(point, job, request.peer)
        return False

    @contextlib.contextmanager
    def installed(self, simulator: GatewaySimulator, proxy: AwsFaultProxy) -> Iterator[None]:
        simulator.http_api.on_accepted = self.on_https_accepted
        simulator.mm4.on_accepted = self.on_mm4_accepted
        proxy.after_forward = self.after_forward
        try:
            yield
        finally:
            simulator.http_api.on_accepted = None
            simulator.mm4.on_accepted = None
            proxy.after_forward = None


def choose_targets(batch: list[jobs.Job], per_point: int, seed: int) -> dict[Point, list[jobs.Job]]:
    """``per_point`` jobs for each point, spread over the second half of the run (the emulator is
    restarted halfway: a kill then would find no process), none chosen twice."""
    rng = random.Random(seed)
    eligible = [job for job in batch[len(batch) // 2 + 10 :] if not job.refused]
    chosen = rng.sample(eligible, min(len(eligible), per_point * len(POINTS)))
    chosen.sort(key=batch.index)
    return {point: chosen[index :: len(POINTS)] for index, point in enumerate(POINTS)}


def run(stack: DeployedStack, simulator: GatewaySimulator, proxy: AwsFaultProxy, config: CrashConfig) -> Report:
    with jobs.prepared(stack, simulator):
        return _run(stack, simulator, proxy, config)


def _run(stack: DeployedStack, simulator: GatewaySimulator, proxy: AwsFaultProxy, config: CrashConfig) -> Report:
    report = Report("crashes")
    batch = jobs.JobFactory("crash", config.seed).make(config.jobs, jobs.JobMix(refused=0.0))
    injector = CrashInjector(stack, choose_targets(batch, config.kills_per_point, config.seed))
    dead_letters = stackio.DeadLetters(stack, (job.message_id for job in batch))
    with injector.installed(simulator, proxy):
        started = time.monotonic()
        _put_and_restart(stack, injector, batch, config)
        stackio.progress(f"crashes: {len(batch)} jobs put; waiting for each to end")
        jobs.wait_until_ended(stack, batch, dead_letters, started + config.drain_timeout_s, "crashes")
        drained = time.monotonic() - started
    stackio.progress("crashes: reading the outcomes")
    dead_letters.collect()
    found = jobs.results(stack, batch, dead_letters)
    views = jobs.gateway_views(simulator, batch)
    figures(report, stack, found, views, injector, drained)
    return report


def _put_and_restart(stack: DeployedStack, injector: CrashInjector, batch: list[jobs.Job], config: CrashConfig) -> None:
    groups = list(stackio.chunks(batch, 10))
    for index, group in enumerate(groups):
        began = time.monotonic()
        jobs.put(stack, group)
        if config.restart and index == len(groups) // 2:
            time.sleep(1.0)  # batches in flight when it goes down
            stackio.progress("crashes: restarting the emulator")
            injector.note_restart()
            stack.restart_emulator()
            stackio.progress("crashes: the emulator is back")
        time.sleep(max(0.0, len(group) / config.put_per_second - (time.monotonic() - began)))


def figures(
    report: Report,
    stack: DeployedStack,
    found: list[jobs.JobResult],
    views: dict[str, jobs.GatewayView],
    injector: CrashInjector,
    drained: float,
) -> None:
    count = len(found)
    outcomes = jobs.outcome_counts(found)
    kills = Counter(event.point for event in injector.events)
    duplicated = [result for result in found if views[result.job.message_id].sends > 1]
    first_guids = {guid for r in duplicated for guid in views[r.job.message_id].accepted[0].guids}
    recorded_first = set(stackio.transaction_items(stack, first_guids))
    explained = [
        r
        for r in duplicated
        if _in_window(r, views[r.job.message_id], injector.events, recorded_first, injector.sent_from)
    ]
    duplicates = sum(views[r.job.message_id].sends - 1 for r in duplicated)
    in_window = sum(views[r.job.message_id].sends - 1 for r in explained)
    after_record_ids = {event.message_id for event in injector.events if event.point == "after_record"}
    after_record_dups = [r for r in duplicated if r.job.message_id in after_record_ids]
    report.add(
        "jobs",
        count,
        "jobs",
        f"{outcomes['sent']} sent, {outcomes['failed']} failed, {outcomes['dead_letter']} dead-lettered",
    )
    for point in POINTS:
        report.add(f"kills_{point}", kills[point], "kills", "the outbound function's process, SIGKILL")
    report.add("emulator_restarts", kills["restart"], "restarts", "every function process with it; state kept")
    report.expect("planned_kills_missed", injector.armed, "kills", "0", injector.armed == 0)
    report.expect("lost_jobs", outcomes["lost"], "jobs", "0", outcomes["lost"] == 0)
    report.add("duplicate_sends", duplicates, "sends", f"{len(duplicated)} jobs; {share(duplicates, count)} of jobs")
    report.expect(
        "duplicates_in_window",
        in_window,
        "sends",
        f"= {duplicates} (accepted, then a crash before the record)",
        in_window == duplicates,
    )
    causes = Counter(_cause(r, views[r.job.message_id], injector.events, injector.sent_from) for r in explained)
    report.add(
        "duplicates_by_crash",
        len(explained),
        "jobs",
        ", ".join(f"{n} {cause}" for cause, n in sorted(causes.items())) or "none",
    )
    report.expect("duplicates_after_record_kills", len(after_record_dups), "jobs", "0", not after_record_dups)
    report.add("time_to_drain", drained, "s")
    report.add("kills_armed_again", len(injector.rearmed), "kills", "its process not found (the emulator restarting)")
    for result in found:
        if result.outcome == "lost":
            report.fail(f"{result.job.message_id} lost: {result.reason}")
    for result in duplicated:
        if result not in explained:
            view = views[result.job.message_id]
            report.fail(f"{result.job.message_id}: {view.sends} sends, {result.sent_events} recorded, no crash between")


def _crash_of(view: jobs.GatewayView, events: list[CrashEvent], sent_from: dict[str, int]) -> CrashEvent | None:
    """The crash that ended the process which sent the first copy, while that copy was on its way
    (its request had begun arriving: a client that died then may still have its message taken) or
    after, before the next send: the restart, or a kill of the process holding its connection."""
    first, second = view.accepted[0], view.accepted[1]
    port = next((sent_from[guid] for guid in first.guids if guid in sent_from), None)
    return next(
        (
            event
            for event in events
            if first.began <= event.time <= second.began and (event.point == "restart" or port in event.ports)
        ),
        None,
    )


def _cause(result: jobs.JobResult, view: jobs.GatewayView, events: list[CrashEvent], sent_from: dict[str, int]) -> str:
    """Which crash a duplicate followed: the job's own kill, another record's in the same process, the restart."""
    crash = _crash_of(view, events, sent_from)
    assert crash is not None
    if crash.point == "restart":
        return "after the emulator's restart"
    if crash.message_id == result.job.message_id:
        return f"its own {crash.point.replace('_', ' ')} kill"
    return f"another record's {crash.point.replace('_', ' ')} kill"


def _in_window(
    result: jobs.JobResult,
    view: jobs.GatewayView,
    events: list[CrashEvent],
    recorded_first: set[str],
    sent_from: dict[str, int],
) -> bool:
    """The first copy was accepted and never recorded, and the process that sent it crashed."""
    first = view.accepted[0]
    never_recorded = result.sent_events == 1 and not any(guid in recorded_first for guid in first.guids)
    return never_recorded and _crash_of(view, events, sent_from) is not None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reliability crashes", description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=CrashConfig.jobs)
    parser.add_argument("--kills-per-point", type=int, default=CrashConfig.kills_per_point)
    arguments = parser.parse_args(argv)
    config = CrashConfig(jobs=arguments.jobs, kills_per_point=arguments.kills_per_point)
    with GatewaySimulator() as simulator, fault_stack(simulator) as (stack, proxy):
        stackio.progress(f"crashes: {config.jobs} jobs, {config.kills_per_point} kills per point, one restart")
        report = run(stack, simulator, proxy, config)
        stackio.progress("crashes: done; stopping the stack")
    report.print()
    return 1 if report.violations else 0
