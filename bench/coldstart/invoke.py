"""Child process: import a Lambda handler the way the runtime does, serve one event, exit.

Usage: python invoke.py <handler module> <event.json> <expected>. The handler's folder and the
layer are on PYTHONPATH (as /var/task and /opt/python are in Lambda). ``expected`` is the
``status`` the JSON body of a 200 answer must carry, or ``no-failures`` for a batch answer. Exits
non-zero otherwise, so a broken run cannot pass as a fast one.
"""

import importlib
import json
import os
import sys


class Context:
    function_name = "bench"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
    aws_request_id = "00000000-0000-4000-8000-000000000000"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 25_000


def main() -> None:
    module_name, event_file, expected = sys.argv[1], sys.argv[2], sys.argv[3]
    with open(event_file) as handle:
        event = json.load(handle)
    handler = importlib.import_module(module_name).lambda_handler
    answer = handler(event, Context())
    if expected == "no-failures":
        ok = answer == {"batchItemFailures": []}
    else:
        ok = answer.get("statusCode") == 200 and json.loads(answer["body"]).get("status") == expected
    if not ok:
        sys.stderr.write(f"unexpected answer: {answer}\n")
        sys.exit(1)
    os.write(int(os.environ["BENCH_READY_FD"]), b"1")  # the answer is ready: stop the clock


if __name__ == "__main__":
    main()
