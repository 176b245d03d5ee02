"""The outbound path on the local stack: end-to-end throughput, and each sending code's pace.

One local stack (the template on ministack, ``LogLevel`` at the template's default, INFO) sends
through the gateway simulator, which answers every request after 100 ms. Jobs are put on the
outbound queue with the function's event source mapping disabled, then the mapping is enabled:
the queue holds the whole burst when the function starts. Every send is timed where it lands,
at the simulator.

End to end (``outbound_end_to_end*``): jobs per second from the queue through the function to
the simulator, with the template's concurrency (``OutboundMaximumConcurrency`` invocations of up
to 10 sends each), for a code whose rate is no limit. The baseline is the simulator alone, driven
by as many concurrent senders as the template allows sends in flight. What limits the figure is
measured, not guessed: the CPU used by the emulator's process, by the function processes it
runs, by this process (the simulator) and by the rest of the machine, from ``/proc``, over the
steady part of the run; and the requests in flight at the gateway (Little's law: the measured
rate times the gateway's fixed latency).

Send rate (``send_rate_*``): a burst of at least ``BENCH_RATE_JOBS`` jobs (default 2,000; 2,030:
whole seconds) across three codes configured at 5, 10 and 20 messages per second
(``SendRateOverrides``), interleaved one second's worth at a time (every 35 jobs of the queue hold
exactly 5, 10 and 20 of the codes, shuffled within the 35), while the simulator enforces the same
rates per code (a token bucket holding one second of messages) and answers 429 above them. For each
code the achieved rate over its steady part (its sends from the 10th to the 90th percentile; target
within 10% of its rate, with the spread over 5 s windows), and the 429s the simulator returned
(target 0). Every job must be sent and none dead-lettered for the figures to count.

Read ahead (``send_rate_shuffled_*``): the same codes with the whole burst shuffled (in proportion
overall, not in every stretch: where a code's jobs are sparse in the queue, the function reaches
them only by reading past the other codes' jobs). Each code's rate beside its baseline from the
same order: the rate it would get if the queue were read in order at the rates' total, each job
at its code's next slot (computed, no reading ahead). No target: it shows what the function's
reading ahead (jobs of a busy code waiting in the queue, holding their slots) adds to the order.
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import statistics
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from devstack.gateway import gateway_overrides, install_gateway_credentials
from devstack.stack import DeployedStack, LocalStack
from gatewaysim.simulator import GatewaySimulator
from tests.template import template

LATENCY_MS = 100
E2E_JOBS = int(os.environ.get("BENCH_E2E_JOBS", "1000"))
RATE_JOBS = int(os.environ.get("BENCH_RATE_JOBS", "2000"))
WARM_UP_JOBS = 60
E2E_CODE = "15550001000"
E2E_CODE_RATE = 1000.0  # the most SendRateOverrides allows: no limit at these volumes
RATE_CODES = {"15550000005": 5.0, "15550000010": 10.0, "15550000020": 20.0}
RATE_TOTAL = sum(RATE_CODES.values())  # messages per second the rates add up to
TOLERANCE = 0.10
WINDOW_S = 5.0
BATCH_SIZE = 10  # the template's BatchSize for OutboundFunction
CONCURRENCY = int(template()["Parameters"]["OutboundMaximumConcurrency"]["Default"])
SENDS_IN_FLIGHT = CONCURRENCY * BATCH_SIZE
CORES = os.cpu_count() or 1
TICKS = os.sysconf("SC_CLK_TCK")
WAIT_LIMIT_S = 900.0
POLL_S = 0.5


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------- CPU use
def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()


def descendants(root: int) -> list[int]:
    """Every live process under ``root`` (from /proc: parent ids)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat_fields(int(entry.name))) is not None:
            parents.setdefault(int(fields[1]), []).append(int(entry.name))
    found, pending = [], [root]
    while pending:
        children = parents.get(pending.pop(), [])
        found += children
        pending += children
    return found


def cpu_seconds(pids: Sequence[int]) -> float:
    total = 0
    for pid in pids:
        fields = _stat_fields(pid)
        if fields is not None:
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICKS


def machine_busy_seconds() -> float:
    """CPU seconds spent on anything but idle and I/O wait, all cores together, since boot."""
    values = [int(value) for value in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(values) - values[3] - values[4]) / TICKS


@dataclass(frozen=True)
class CpuSample:
    at: float
    emulator: float
    functions: float
    simulator: float
    machine: float

    @classmethod
    def take(cls, emulator_pid: int) -> CpuSample:
        return cls(
            at=time.monotonic(),
            emulator=cpu_seconds([emulator_pid]),
            functions=cpu_seconds(descendants(emulator_pid)),
            simulator=cpu_seconds([os.getpid()]),
            machine=machine_busy_seconds(),
        )


class CpuRecorder:
    """Samples CPU use every ``POLL_S`` while a run lasts (a daemon thread, stopped by ``stop()``)."""

    def __init__(self, emulator_pid: int) -> None:
        self._pid = emulator_pid
        self.samples: list[CpuSample] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="bench-cpu")

    def __enter__(self) -> CpuRecorder:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append(CpuSample.take(self._pid))
            self._stop.wait(POLL_S)

    def between(self, start: float, end: float) -> dict[str, float]:
        """Cores used by each part between two moments (the samples nearest inside them)."""
        inside = [sample for sample in self.samples if start <= sample.at <= end]
        if len(inside) < 2:
            return {}
        first, last = inside[0], inside[-1]
        span = last.at - first.at
        used = {
            "emulator": (last.emulator - first.emulator) / span,
            "functions": (last.functions - first.functions) / span,
            "simulator": (last.simulator - first.simulator) / span,
            "machine": (last.machine - first.machine) / span,
        }
        used["others"] = max(0.0, used["machine"] - used["emulator"] - used["functions"] - used["simulator"])
        return used


# ------------------------------------------------------------------------------------ the stack
def outbound_mapping(stack: DeployedStack) -> str:
    queue_name = stack.outputs["OutboundQueueUrl"].rsplit("/", 1)[1]
    mappings = stack.client("lambda").list_event_source_mappings()["EventSourceMappings"]
    (mapping,) = [m for m in mappings if m["EventSourceArn"].endswith(f":{queue_name}")]
    return str(mapping["UUID"])


def set_mapping(stack: DeployedStack, mapping: str, enabled: bool) -> None:
    stack.client("lambda").update_event_source_mapping(UUID=mapping, Enabled=enabled)


def job(code: str, number: int, run: str) -> dict[str, Any]:
    return {
        "messageId": f"bench-{run}-{number}",
        "from": code,
        "to": [f"+1310{number % 10_000_000:07d}"],
        "text": "bench",
        "media": [{"url": "https://cdn.example.com/a.jpg"}],
    }


def put_jobs(stack: DeployedStack, jobs: Sequence[dict[str, Any]]) -> None:
    sqs, queue = stack.client("sqs"), stack.outputs["OutboundQueueUrl"]
    for start in range(0, len(jobs), 10):
        entries = [{"Id": str(n), "MessageBody": json.dumps(body)} for n, body in enumerate(jobs[start : start + 10])]
        answer = sqs.send_message_batch(QueueUrl=queue, Entries=entries)
        if answer.get("Failed"):
            raise RuntimeError(f"the queue refused jobs: {answer['Failed']}")


def wait_for(condition: Callable[[], bool], what: str, limit_s: float = WAIT_LIMIT_S) -> None:
    deadline = time.monotonic() + limit_s
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"gave up waiting for {what} after {limit_s:.0f} s")
        time.sleep(POLL_S)


def dead_lettered(stack: DeployedStack) -> int:
    attributes = stack.client("sqs").get_queue_attributes(
        QueueUrl=stack.outputs["OutboundDeadLetterQueueUrl"],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def deliveries(stack: DeployedStack, run: str) -> list[int]:
    """How many times each job of ``run`` was delivered (its ``MSG#`` item's ``attempts``)."""
    dynamodb = stack.client("dynamodb")
    counts: list[int] = []
    request: dict[str, Any] = {
        "TableName": stack.outputs["MessagesTableName"],
        "FilterExpression": "begins_with(pk, :prefix)",
        "ExpressionAttributeValues": {":prefix": {"S": f"MSG#bench-{run}-"}},
        "ProjectionExpression": "attempts",
    }
    for _ in range(10_000):
        page = dynamodb.scan(**request)
        counts += [int(item["attempts"]["N"]) for item in page.get("Items", [])]
        if "LastEvaluatedKey" not in page:
            return counts
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    raise RuntimeError("the table scan did not end")


def run_burst(
    stack: DeployedStack, simulator: GatewaySimulator, mapping: str, jobs: Sequence[dict[str, Any]]
) -> list[float]:
    """Puts ``jobs`` on the queue with the mapping off, turns it on, waits for every send; their times."""
    codes = {body["from"] for body in jobs}
    set_mapping(stack, mapping, enabled=False)
    time.sleep(2)  # a batch the poller took just before is finished
    put_jobs(stack, jobs)
    simulator.http_api.clear()
    set_mapping(stack, mapping, enabled=True)

    def landed() -> list[float]:
        return [sent.time for sent in simulator.http_api.sent if sent.source in codes]

    wait_for(lambda: len(landed()) >= len(jobs) or queue_empty(stack), f"{len(jobs)} sends")
    return sorted(landed())


def queue_empty(stack: DeployedStack) -> bool:
    """Nothing left in the outbound queue, visible or not (every job sent, failed or dead-lettered)."""
    attributes = stack.client("sqs").get_queue_attributes(
        QueueUrl=stack.outputs["OutboundQueueUrl"],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return (
        int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"]) == 0
    )


# ------------------------------------------------------------------------------------ the figures
def steady(times: Sequence[float]) -> tuple[float, float, float]:
    """(rate, lowest, highest): sends per second from the 10th to the 90th percentile of ``times``,
    and the lowest and highest rate over consecutive 5 s windows inside that span."""
    ordered = sorted(times)
    low, high = ordered[len(ordered) // 10], ordered[(len(ordered) * 9) // 10]
    inside = [t for t in ordered if low <= t <= high]
    rate = (len(inside) - 1) / (high - low) if high > low else float("nan")
    windows = []
    start = low
    while start + WINDOW_S <= high:
        windows.append(sum(start <= t < start + WINDOW_S for t in inside) / WINDOW_S)
        start += WINDOW_S
    return rate, min(windows, default=rate), max(windows, default=rate)


def gateway_alone(simulator: GatewaySimulator, count: int) -> float:
    """Sends per second the simulator takes from ``SENDS_IN_FLIGHT`` concurrent senders."""
    api = simulator.http_api
    local = threading.local()

    def send(number: int) -> None:
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
            session.trust_env = False  # the simulator's CA, whatever the environment says
        answer = session.post(
            api.messages_url,
            data={
                "source": "15550009999",
                "destination": f"1310{number:07d}",
                "messageText": "bench",
                "mmsURL": "https://cdn.example.com/a.jpg",
                "destinationFormat": "1",
            },
            auth=(simulator.api_key, simulator.api_secret),
            verify=str(api.ca_file),
            timeout=30,
        )
        answer.raise_for_status()

    with ThreadPoolExecutor(max_workers=SENDS_IN_FLIGHT) as pool:
        list(pool.map(send, range(SENDS_IN_FLIGHT)))  # connections opened
        started = time.monotonic()
        list(pool.map(send, range(count)))
        elapsed = time.monotonic() - started
    api.clear()
    return count / elapsed


def end_to_end(
    stack: DeployedStack, simulator: GatewaySimulator, mapping: str, emulator_pid: int
) -> tuple[float, list[str]]:
    """The end-to-end rate, and its figures."""
    baseline = gateway_alone(simulator, max(E2E_JOBS, 500))
    progress(f"outbound stack: the simulator alone takes {baseline:.0f} sends/s; warming the functions")
    run_burst(stack, simulator, mapping, [job(E2E_CODE, n, "warm") for n in range(WARM_UP_JOBS)])
    progress(f"outbound stack: end to end, {E2E_JOBS} jobs")
    with CpuRecorder(emulator_pid) as cpu:
        times = run_burst(stack, simulator, mapping, [job(E2E_CODE, n, "e2e") for n in range(E2E_JOBS)])
    rate, lowest, highest = steady(times)
    used = cpu.between(times[len(times) // 10], times[(len(times) * 9) // 10])
    lost = dead_lettered(stack)
    in_flight = rate * LATENCY_MS / 1000
    lines = [
        f"outbound_end_to_end_gateway_alone: {baseline:.1f} jobs/s (1.00x gateway alone: {SENDS_IN_FLIGHT} "
        f"concurrent senders straight to the simulator, {LATENCY_MS} ms each)",
        f"outbound_end_to_end: {rate:.1f} jobs/s ({rate / baseline:.2f}x gateway alone; spread {lowest:.1f} to "
        f"{highest:.1f} over {WINDOW_S:.0f} s windows; {len(times)} of {E2E_JOBS} sent, {lost} dead-lettered; "
        f"OutboundMaximumConcurrency {CONCURRENCY} x {BATCH_SIZE}, gateway {LATENCY_MS} ms)",
    ]
    if not used:
        return rate, [*lines, "outbound_end_to_end_limit: not measured (no CPU samples: the run was too short)"]
    busy = used["machine"]
    lines += [
        f"outbound_end_to_end_cpu: {busy:.2f} cores busy ({busy / CORES:.2f}x the machine's {CORES}; emulator "
        f"{used['emulator']:.2f}, function processes {used['functions']:.2f}, simulator {used['simulator']:.2f}, "
        f"other processes {used['others']:.2f})",
        f"outbound_end_to_end_cpu_per_job: {1000 * (busy - used['others']) / rate:.1f} ms (emulator "
        f"{1000 * used['emulator'] / rate:.1f}, function processes {1000 * used['functions'] / rate:.1f}, "
        f"simulator {1000 * used['simulator'] / rate:.1f})",
        f"outbound_end_to_end_limit: {limit(used, in_flight)}",
    ]
    return rate, lines


def limit(used: dict[str, float], in_flight: float) -> str:
    """Which resource saturated, from what was measured."""
    gateway = f"the gateway had {in_flight:.1f} requests in flight of the {SENDS_IN_FLIGHT} the concurrency allows"
    if used["machine"] >= 0.9 * CORES:
        share = used["machine"] - used["others"]
        return (
            f"CPU: the machine's {CORES} cores were {100 * used['machine'] / CORES:.0f}% busy, "
            f"{share:.2f} cores of it the stack and the simulator; {gateway}"
        )
    if used["emulator"] >= 0.9:
        return f"the emulator's one Python process ({used['emulator']:.2f} cores: one at most); {gateway}"
    if in_flight >= 0.9 * SENDS_IN_FLIGHT:
        return f"concurrency: {gateway}"
    return f"neither CPU ({used['machine']:.2f} of {CORES} cores) nor concurrency saturated; {gateway}"


def interleaved_codes(seed: int) -> list[str]:
    """The codes of a burst of at least ``RATE_JOBS`` jobs, one second's worth at a time: each block
    holds exactly each code's rate in jobs (5, 10 and 20), shuffled within the block."""
    block = [code for code, rate in RATE_CODES.items() for _ in range(round(rate))]
    draw, codes = random.Random(seed), []
    for _ in range(math.ceil(RATE_JOBS / len(block))):
        draw.shuffle(block)
        codes += block
    return codes


def shuffled_codes(seed: int) -> list[str]:
    """The codes of a burst of ``RATE_JOBS`` jobs in proportion to the rates, the whole burst shuffled."""
    codes = [code for code, rate in RATE_CODES.items() for _ in range(round(RATE_JOBS * rate / RATE_TOTAL))]
    random.Random(seed).shuffle(codes)
    return codes


def read_in_order(codes: Sequence[str]) -> dict[str, float]:
    """Each code's steady rate if the queue were read in order at the rates' total, one job at a
    time, and each job sent at its code's next slot (no reading ahead): the pace the burst's order
    itself allows, against which reading ahead is judged."""
    next_at = dict.fromkeys(RATE_CODES, 0.0)
    sent: dict[str, list[float]] = {code: [] for code in RATE_CODES}
    for position, code in enumerate(codes):
        at = max(position / RATE_TOTAL, next_at[code])
        next_at[code] = at + 1 / RATE_CODES[code]
        sent[code].append(at)
    return {code: steady(times)[0] for code, times in sent.items()}


def send_rates(stack: DeployedStack, simulator: GatewaySimulator, mapping: str, capacity: float) -> list[str]:
    """The pace of each code, for an interleaved burst (the target) and a shuffled one (reading ahead).

    ``capacity``: the end-to-end rate measured before, for comparison.
    """
    lines = rate_figures(
        stack,
        simulator,
        mapping,
        "rate",
        interleaved_codes(11),
        "send_rate",
        order="interleaved a second at a time",
        judged=True,
    )
    lines.append(
        f"send_rate_all_codes_capacity: {capacity:.1f} jobs/s (the stack's end-to-end capacity measured above, "
        f"for the {RATE_TOTAL:g} messages/s the rates add up to)"
    )
    return lines + rate_figures(
        stack,
        simulator,
        mapping,
        "mixed",
        shuffled_codes(11),
        "send_rate_shuffled",
        order="the whole burst shuffled",
        judged=False,
    )


def rate_figures(
    stack: DeployedStack,
    simulator: GatewaySimulator,
    mapping: str,
    run: str,
    codes: Sequence[str],
    name: str,
    *,
    order: str,
    judged: bool,
) -> list[str]:
    """Sends the burst whose codes come in the order of ``codes`` (drawn as ``order`` says); its
    figures, named ``name_*``: against the configured rates when ``judged`` (the target), else
    against the rates that order allows when read in order (``read_in_order``)."""
    jobs = [job(code, number, f"{run}-{code}") for number, code in enumerate(codes)]
    simulator.http_api.limit_rates(RATE_CODES, burst_s=1.0)
    progress(
        f"outbound stack: {len(jobs)} jobs over codes at {', '.join(f'{r:g}' for r in RATE_CODES.values())}/s, {order}"
    )
    try:
        times = run_burst(stack, simulator, mapping, jobs)
        refused = [r for r in simulator.http_api.rate_limited if dict(r.form).get("source") in RATE_CODES]
        sent = {code: [s.time for s in simulator.http_api.sent if s.source == code] for code in RATE_CODES}
    finally:
        simulator.http_api.limit_rates(None)
    counts = [n for code in RATE_CODES for n in deliveries(stack, f"{run}-{code}")]
    lost = dead_lettered(stack)
    complete = len(times) == len(jobs) and not lost  # a figure counts only when every job was sent
    in_order = {} if judged else read_in_order(codes)
    lines = []
    for code, configured in RATE_CODES.items():
        rate, lowest, highest = steady(sent[code])
        spread = f"spread {lowest:.2f} to {highest:.2f} over {WINDOW_S:.0f} s windows; {len(sent[code])} sent"
        if judged:
            met = abs(rate / configured - 1) <= TOLERANCE and complete
            verdict = f"target within ±{100 * TOLERANCE:.0f}%, every job sent: {'met' if met else 'NOT MET'}"
        else:
            verdict = (
                f"{rate / in_order[code]:.2f}x the {in_order[code]:.2f} this order allows when read in order "
                f"at the rates' total; no target"
            )
        lines.append(
            f"{name}_{configured:g}_mps: {rate:.2f} msg/s ({rate / configured:.2f}x its rate; {spread}; {verdict})"
        )
    overall, _, _ = steady(times)
    return [
        *lines,
        f"{name}_all_codes: {overall:.2f} msg/s ({overall / RATE_TOTAL:.2f}x the {RATE_TOTAL:g} the rates add up to)",
        f"{name}_gateway_429s: {len(refused)} answers (the simulator enforcing the same rates, a second of "
        f"burst; target 0: {'met' if not refused else 'NOT MET'})",
        f"{name}_jobs_sent: {len(times)} jobs ({len(times) / len(jobs):.2f}x the {len(jobs)} put; "
        f"{sum(n > 1 for n in counts)} waited in the queue; deliveries per job: median "
        f"{statistics.median(counts) if counts else 0:g}, at most {max(counts, default=0)}; {lost} dead-lettered)",
    ]


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    overrides = {
        "LogLevel": "INFO",  # the template's default (the local stack's samconfig says DEBUG)
        "SendRateOverrides": ",".join(
            f"{code}={rate:g}" for code, rate in {**RATE_CODES, E2E_CODE: E2E_CODE_RATE}.items()
        ),
    }
    with GatewaySimulator() as simulator:
        simulator.http_api.latency_ms = LATENCY_MS
        local = LocalStack(extra_overrides={**gateway_overrides(simulator), **overrides})
        stack = local.up(progress=progress)
        try:
            install_gateway_credentials(stack, simulator)
            mapping = outbound_mapping(stack)
            capacity, lines = end_to_end(stack, simulator, mapping, local.emulator_pid)
            lines += send_rates(stack, simulator, mapping, capacity)
        finally:
            local.down()
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    main()
