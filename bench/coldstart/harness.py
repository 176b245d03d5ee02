"""Times fresh child interpreters against a local AWS (moto server) and a local media host.

A sample is the time from spawning the interpreter to the moment its first answer is ready: the
child writes one byte to a pipe (``BENCH_READY_FD``) right after the handler returns. Interpreter
teardown is not counted: Lambda keeps the process for the next request. Every variant runs in
the same rounds, in rotating order, so machine noise hits all of them alike; the median of each
is compared with the floor measured in the same run.

Each round also sets the call depth the child imports its handler at (``BENCH_STACK_PADDING``
frames, the same for every variant of the round, different from round to round). CPython 3.13.0
(the interpreter here) frees and maps a data-stack chunk on every call that crosses a chunk
boundary (python/cpython#142183, fixed in later 3.13 releases): a module whose code recurses at
exactly that depth pays a system call pair per call, about 20 ms for urllib3's URL patterns. The
depth the Lambda runtime calls from is not ours to choose, so rounds spread over depths instead
of all landing on one lucky or unlucky boundary.
"""

from __future__ import annotations

import logging
import os
import select
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from moto.server import ThreadedMotoServer

from devstack.ministack import free_port

ROOT = Path(__file__).resolve().parents[2]
CHILD_TIMEOUT_SECONDS = 120
# What template.yaml gives the functions besides their settings (tracing off, its default); the
# outbound function's PYDANTIC_DISABLE_PLUGINS changes nothing where pydantic is never imported.
GLOBAL_ENVIRONMENT = {
    "POWERTOOLS_SERVICE_NAME": "mms-relay",
    "POWERTOOLS_METRICS_NAMESPACE": "MmsRelay",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "PYDANTIC_DISABLE_PLUGINS": "__all__",
}
# Padding frames per round step, and the span they wrap around: a 16 KiB chunk holds about 140 of
# invoke.py's padding frames, so the rounds' depths spread across more than one chunk.
STACK_PADDING_STEP = 37
STACK_PADDING_SPAN = 192


@dataclass(frozen=True)
class Variant:
    name: str
    # Given the round number, the argv to run (files it needs are prepared by the callable).
    argv: Callable[[int], list[str]]
    pythonpath: tuple[Path, ...]


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


def run_rounds(
    variants: list[Variant], rounds: int, environment: Callable[[Variant], dict[str, str]]
) -> dict[str, float]:
    """Median wall time (ms) of each variant, from spawn to exit, over ``rounds`` rounds."""
    samples: dict[str, list[float]] = {variant.name: [] for variant in variants}
    for number in range(rounds + 1):
        order = variants[number % len(variants) :] + variants[: number % len(variants)]
        padding = str(number * STACK_PADDING_STEP % STACK_PADDING_SPAN)
        for variant in order:
            argv = [sys.executable, *variant.argv(number)]
            elapsed = time_to_first_answer(argv, {**environment(variant), "BENCH_STACK_PADDING": padding})
            if number > 0:  # round 0 warms the file cache and writes bytecode caches
                samples[variant.name].append(elapsed)
        print(f"  round {number}/{rounds} done", file=sys.stderr, flush=True)
    return {name: statistics.median(values) for name, values in samples.items()}


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
        raise RuntimeError(f"{argv[1]} failed (exit {code}, ready={ready})")
    return elapsed


def figure(name: str, value: float, unit: str, baseline_name: str, baseline: float, target: float | None = None) -> str:
    ratio = value / baseline
    verdict = ""
    if target is not None:
        verdict = f"; target <= {target:.2f}x: {'met' if ratio <= target else 'NOT MET'}"
    return f"{name}: {value:.1f} {unit} ({ratio:.2f}x {baseline_name}{verdict})"
