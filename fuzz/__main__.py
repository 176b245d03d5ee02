"""make fuzz: generated requests against the local stack; prints one line per figure, exits 1 on a problem.

python -m fuzz                          deploy a local stack (with the gateway simulator), 5,000 per operation
python -m fuzz --examples 200           fewer
python -m fuzz --operation "POST /dlr"  one operation (repeatable)
python -m fuzz --running                the stack `make up` keeps running, instead of deploying one
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
from collections.abc import Iterator

from devstack.gateway import stack_on
from devstack.sam import RepoPaths
from devstack.stack import DeployedStack
from devstack.stack_state import StackNotUp, read_state, state_file
from fuzz.run import Fuzzer, stderr_progress
from gatewaysim.simulator import GatewaySimulator

EXAMPLES = 5000
# The stage's throttling is a Parameter (100 requests/s, burst 200, per method); the emulator enforces
# it. A fuzz run is not a throttling test: its stack gets limits it cannot reach (429 stays a
# documented answer, and a run that meets one still passes).
FUZZ_OVERRIDES = {"ApiThrottlingRateLimit": "10000", "ApiThrottlingBurstLimit": "5000"}


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m fuzz", description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=EXAMPLES, help="requests per operation (default %(default)s)")
    parser.add_argument("--workers", type=int, default=4, help="requests in flight (default %(default)s)")
    parser.add_argument("--seed", type=int, help="Hypothesis seed (default: random, printed)")
    parser.add_argument("--operation", action="append", default=[], help='e.g. "GET /inbound" (default: every one)')
    parser.add_argument("--time-limit", type=float, default=4 * 3600.0, help="seconds (default %(default)s)")
    parser.add_argument("--settle", type=float, default=15.0, help="seconds before the logs and table are read")
    parser.add_argument("--running", action="store_true", help="use the stack `make up` runs")
    arguments = parser.parse_args()
    # Ctrl-C and SIGTERM stop it at any point (even started in the background, where SIGINT is
    # ignored) through the blocks' cleanup: the stack, the emulator and the simulator stop too.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        with _stack(arguments.running) as stack:
            fuzzer = Fuzzer(
                stack,
                examples=arguments.examples,
                workers=arguments.workers,
                seed=arguments.seed,
                labels=arguments.operation,
                time_limit=arguments.time_limit,
                progress=stderr_progress,
            )
            stderr_progress(f"seed {fuzzer.report.seed}, {arguments.examples} requests per operation")
            fuzzer.run()
            report = fuzzer.check_aftermath(settle_seconds=arguments.settle)
    except (StackNotUp, ValueError) as error:
        print(error, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: the stack is stopped, nothing is reported", file=sys.stderr)
        return 130
    for line in report.figures():
        print(line, flush=True)
    problems = report.problems()
    for line in problems:
        print(line, file=sys.stderr)
    return 1 if problems else 0


@contextlib.contextmanager
def _stack(running: bool) -> Iterator[DeployedStack]:
    if running:
        state = read_state(state_file(RepoPaths.discover().build_dir))
        yield DeployedStack(state.endpoint, state.ca_file, state.outputs)
        return
    with GatewaySimulator() as simulator, stack_on(simulator, stderr_progress, FUZZ_OVERRIDES) as stack:
        yield stack


if __name__ == "__main__":
    sys.exit(main())
