"""Times fresh child interpreters, each serving one request, in paired rounds against their floor.

A sample is the time from spawning the interpreter to the moment its first answer is ready: the
child writes one byte to a pipe (``BENCH_READY_FD``) right after the handler returns, then writes
the answer to ``BENCH_ANSWER_FILE``. Interpreter teardown is not counted: Lambda keeps the process
for the next request. After each sample the variant's ``check`` reads that answer and whatever
the child left behind (items, objects): a sample that did less work than its floor fails the run.

Rounds are paired: every variant runs once per round, in an order that rotates from round to
round, and the figure is the per-round ratio of a variant to the floor of the same round (machine
noise that lasts a second or more hits both). The report gives the median ratio, its min and max,
and a distribution-free interval of the median (order statistics of the per-round ratios, about
95% coverage); the verdict is "met" or "NOT MET" only when the whole interval lies on one side
of the target, "inconclusive" otherwise, with a warning line.

Each round also sets the call depth the child imports its handler at (``BENCH_STACK_PADDING``
frames, the same for every variant of the round, different from round to round). CPython 3.13.0
(the interpreter here) frees and maps a data-stack chunk on every call that crosses a chunk
boundary (python/cpython#142183, fixed in later 3.13 releases): a module whose code recurses at
exactly that depth pays a system call pair per call, about 20 ms for urllib3's URL patterns at no
padding. The depth the Lambda runtime calls from is not ours to choose, so the measured rounds
spread over depths, and the first one is always at no padding, the depth known to cost 20 ms.
"""

from __future__ import annotations

import json
import logging
import math
import os
import select
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from moto.server import ThreadedMotoServer

from devstack.ministack import free_port

ROOT = Path(__file__).resolve().parents[2]
LAYER = ROOT / "layers" / "shared"
CHILDREN = ROOT / "bench" / "coldstart"  # the child (invoke.py) and the floors, handler modules too
CHILD_TIMEOUT_SECONDS = 120


def child_command(module: str, *arguments: Path | str) -> list[str]:
    """What a sample runs: ``invoke.py``, importing ``module`` and answering with ``arguments``."""
    return [str(CHILDREN / "invoke.py"), module, *(str(argument) for argument in arguments)]


# Rounds measured (after one warm-up round); BENCH_ROUNDS overrides. With 15, the median's interval
# runs from the 4th to the 12th of the sorted per-round ratios (96.5% coverage).
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "15"))
# What template.yaml gives every function besides its own settings (tracing off and log level INFO,
# its defaults).
GLOBAL_ENVIRONMENT = {
    "POWERTOOLS_SERVICE_NAME": "mms-relay",
    "POWERTOOLS_LOG_LEVEL": "INFO",
    "POWERTOOLS_METRICS_NAMESPACE": "MmsRelay",
    "POWERTOOLS_TRACE_DISABLED": "true",
}
# Padding frames per round step, and the span they wrap around: a 16 KiB chunk holds about 140 of
# invoke.py's padding frames, so the rounds' depths spread across more than one chunk.
STACK_PADDING_STEP = 37
STACK_PADDING_SPAN = 192
# The coverage the median's interval aims at (the order statistics give at least this).
COVERAGE = 0.95


@dataclass(frozen=True)
class Variant:
    name: str
    # Given the round number, the argv to run (files it needs are prepared by the callable).
    argv: Callable[[int], list[str]]
    pythonpath: tuple[Path, ...]
    # Given the round number and the child's answer, raises unless the sample did the whole work.
    check: Callable[[int, Any], None]


@dataclass
class Samples:
    """Milliseconds per variant, one per measured round: wall time, wall time less the child's wait
    for a CPU, the child's CPU time; and each round's padding depth."""

    times: dict[str, list[float]] = field(default_factory=dict)
    unqueued: dict[str, list[float]] = field(default_factory=dict)
    cpu: dict[str, list[float]] = field(default_factory=dict)
    depths: list[int] = field(default_factory=list)


@contextmanager
def local_aws() -> Iterator[str]:
    """A moto server on a free 127.0.0.1 port; yields its endpoint."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def child_environment(endpoint: str | None, extra: dict[str, str], pythonpath: tuple[Path, ...]) -> dict[str, str]:
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", ""),
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "PYTHONPATH": os.pathsep.join(str(path) for path in pythonpath),
    }
    if endpoint is not None:
        environment["AWS_ENDPOINT_URL"] = endpoint
    environment.update(extra)
    return environment


def padding(number: int) -> int:
    """The padding frames of round ``number`` (0 is the warm-up): the first measured round has none."""
    if number == 0:
        return STACK_PADDING_SPAN // 2
    return (number - 1) * STACK_PADDING_STEP % STACK_PADDING_SPAN


def run_rounds(variants: list[Variant], rounds: int, environment: Callable[[Variant], dict[str, str]]) -> Samples:
    """Each variant once per round, in rotating order, for ``rounds`` rounds after a warm-up round."""
    samples = Samples(
        times={variant.name: [] for variant in variants},
        unqueued={variant.name: [] for variant in variants},
        cpu={variant.name: [] for variant in variants},
    )
    with tempfile.TemporaryDirectory() as scratch:
        answer_file = Path(scratch) / "answer.json"
        for number in range(rounds + 1):
            order = variants[number % len(variants) :] + variants[: number % len(variants)]
            depth = padding(number)
            for variant in order:
                argv = [sys.executable, *variant.argv(number)]
                extra = {"BENCH_STACK_PADDING": str(depth), "BENCH_ANSWER_FILE": str(answer_file)}
                elapsed = time_to_first_answer(argv, {**environment(variant), **extra})
                written = json.loads(answer_file.read_text())
                answer_file.unlink()
                variant.check(number, written["answer"])
                if number > 0:  # round 0 warms the file cache and writes bytecode caches
                    samples.times[variant.name].append(elapsed)
                    samples.unqueued[variant.name].append(elapsed - written["waited_ms"])
                    samples.cpu[variant.name].append(written["cpu_ms"])
            if number > 0:
                samples.depths.append(depth)
            print(f"  round {number}/{rounds} done (padding {depth} frames)", file=sys.stderr, flush=True)
    return samples


def time_to_first_answer(argv: list[str], environment: dict[str, str]) -> float:
    """Milliseconds from spawn to the child's ready byte; fails unless the child then exits 0."""
    read_end, write_end = os.pipe()
    try:
        started = time.perf_counter()
        child = subprocess.Popen(
            argv,
            env={**environment, "BENCH_READY_FD": str(write_end)},
            pass_fds=(write_end,),
            stdout=subprocess.DEVNULL,
        )
        os.close(write_end)
        write_end = -1
        readable, _, _ = select.select([read_end], [], [], CHILD_TIMEOUT_SECONDS)
        ready = bool(readable) and os.read(read_end, 1) == b"1"
        elapsed = (time.perf_counter() - started) * 1000
        code = child.wait(timeout=CHILD_TIMEOUT_SECONDS)
    finally:
        os.close(read_end)
        if write_end >= 0:
            os.close(write_end)
    if not ready or code != 0:
        raise RuntimeError(f"{argv[1:3]} failed (exit {code}, ready={ready})")
    return elapsed


@dataclass(frozen=True)
class RatioSummary:
    median: float
    low: float
    high: float
    interval: tuple[float, float]
    coverage: float

    @property
    def spread(self) -> float:
        """The width of the median's interval: how far the median could move in another run."""
        return self.interval[1] - self.interval[0]


def median_interval(values: list[float], coverage: float = COVERAGE) -> tuple[tuple[float, float], float]:
    """A distribution-free interval of the median: the k-th smallest and k-th largest value, with
    k the largest for which the binomial tails leave at least ``coverage``; and its coverage."""
    ordered = sorted(values)
    n = len(ordered)
    best = 1
    for k in range(1, n // 2 + 1):
        tail = sum(math.comb(n, i) for i in range(k)) / 2**n
        if 1 - 2 * tail >= coverage:
            best = k
    tail = sum(math.comb(n, i) for i in range(best)) / 2**n
    return (ordered[best - 1], ordered[n - best]), 1 - 2 * tail


def ratios(series: dict[str, list[float]], name: str, baseline: str) -> RatioSummary:
    per_round = [value / floor for value, floor in zip(series[name], series[baseline], strict=True)]
    interval, coverage = median_interval(per_round)
    return RatioSummary(statistics.median(per_round), min(per_round), max(per_round), interval, coverage)


def report(
    name: str, samples: Samples, variant: str, baseline: str = "floor", target: float | None = None
) -> list[str]:
    """The figure's lines, each with its spread and, where there is a target, its verdict (a warning
    line for each that cannot decide it): wall time, what the target is judged on; wall time less
    the child's wait for a CPU (``_unqueued``: the wall time an idle machine would give, I/O waits
    kept); and the child's CPU time (``_cpu``). On a busy machine the two last are the steady ones."""
    lines = []
    for suffix, series, what in (
        ("", samples.times, "ms"),
        ("_unqueued", samples.unqueued, "ms"),
        ("_cpu", samples.cpu, "ms of CPU"),
    ):
        lines.extend(_report(f"{name}{suffix}", series, what, variant, baseline, target, samples.depths))
    return lines


def _report(
    name: str,
    series: dict[str, list[float]],
    unit: str,
    variant: str,
    baseline: str,
    target: float | None,
    depths: list[int],
) -> list[str]:
    values = series[variant]
    ms = statistics.median(values)
    rounds = len(values)
    if variant == baseline:
        return [f"{name}: {ms:.1f} {unit} (1.00x {baseline}; min {min(values):.1f}, max {max(values):.1f})"]
    summary = ratios(series, variant, baseline)
    low, high = summary.interval
    text = (
        f"{name}: {ms:.1f} {unit} ({summary.median:.2f}x {baseline}, median of {rounds} paired rounds; "
        f"min {summary.low:.2f}x, max {summary.high:.2f}x; median's {summary.coverage:.0%} interval "
        f"{low:.2f}x-{high:.2f}x, spread {summary.spread:.2f}x"
    )
    unpadded = [
        value / floor for value, floor, depth in zip(values, series[baseline], depths, strict=True) if not depth
    ]
    if unpadded:  # the round at the call depth known to cost 20 ms (python/cpython#142183)
        text += f"; at no padding {statistics.median(unpadded):.2f}x"
    if target is None:
        return [text + ")"]
    verdict = "met" if high <= target else "NOT MET" if low > target else "inconclusive"
    lines = [text + f"; target <= {target:.2f}x: {verdict})"]
    if verdict == "inconclusive":
        margin = abs(target - summary.median)
        lines.append(
            f"warning: {name}: the spread {summary.spread:.2f}x is wider than the margin {margin:.2f}x between "
            f"the median and the target: inconclusive (run on a quieter machine, or with more BENCH_ROUNDS)"
        )
    return lines


def print_report(
    name: str, samples: Samples, variant: str, baseline: str = "floor", target: float | None = None
) -> None:
    for line in report(name, samples, variant, baseline, target):
        print(line, flush=True)
