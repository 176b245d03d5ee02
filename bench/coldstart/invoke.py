"""Child process: import a Lambda handler the way the runtime does, serve one event, exit.

The handler module (the real one, or a floor written as one) is imported inside a function with
importlib, as the Lambda runtime imports handlers: where a module is imported from changes what
it costs, so the real handler and its floor must be imported the same way.

Usage: python invoke.py <handler module> <event.json> [<stub plan.json>]. The handler's folder
and the layer are on PYTHONPATH (as /var/task and /opt/python are in Lambda). Once the answer is
ready (the clock stops) it is written to ``BENCH_ANSWER_FILE`` with the CPU time the process
has used so far and the time it spent waiting for a CPU, where the harness checks it and
the work behind it, so a broken or lazy run cannot pass as a fast one. With a stub plan, the
function's own DynamoDB and Secrets Manager clients (``mmsrelay.aws``'s cached factories) are
answered by botocore's Stubber (stubs.py), as its floor's are, and every planned call must have
been made.

``BENCH_STACK_PADDING`` frames are put under the import first: the harness varies the depth from
round to round (harness.py says why).
"""

import importlib
import json
import os
import sys
import time


class Context:
    function_name = "bench"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
    aws_request_id = "00000000-0000-4000-8000-000000000000"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 25_000


def main() -> None:
    module_name, event_file = sys.argv[1], sys.argv[2]
    with open(event_file) as handle:
        event = json.load(handle)
    handler = importlib.import_module(module_name).lambda_handler
    stubbers = []
    if len(sys.argv) > 3:
        from stubs import stub_clients  # noqa: PLC0415 (only stubbed runs)

        from mmsrelay import aws  # noqa: PLC0415 (the handler imported it already)

        stubbers = stub_clients(
            {"dynamodb": aws.dynamodb_client(), "secretsmanager": aws.secretsmanager_client()}, sys.argv[3]
        )
    answer = handler(event, Context())
    cpu_ms = time.process_time() * 1000  # this process's CPU time so far, interpreter start-up included
    waited_ms = run_queue_wait_ms()
    os.write(int(os.environ["BENCH_READY_FD"]), b"1")  # the answer is ready: stop the clock
    with open(os.environ["BENCH_ANSWER_FILE"], "w") as handle:
        json.dump({"answer": answer, "cpu_ms": cpu_ms, "waited_ms": waited_ms}, handle)
    for stubber in stubbers:
        stubber.assert_no_pending_responses()


def run_queue_wait_ms() -> float:
    """How long this process has waited for a CPU since it was created (Linux schedstat), or 0."""
    try:
        with open("/proc/self/schedstat") as handle:
            return int(handle.read().split()[1]) / 1e6
    except (OSError, IndexError, ValueError):
        return 0.0


def padded(frames: int) -> None:
    """Run main() ``frames`` calls deeper than this one."""
    if frames > 0:
        padded(frames - 1)
    else:
        main()


if __name__ == "__main__":
    padded(int(os.environ.get("BENCH_STACK_PADDING", "0")))
