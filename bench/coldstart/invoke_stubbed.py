"""Child process: like invoke.py, with the function's AWS clients answered by Stubber.

Usage: python invoke_stubbed.py <event.json> <plan.json> <expected>. The clients are the
function's own (``mmsrelay.aws``'s cached factories), so the handler uses the stubbed ones.
``expected``: ``no-failures`` for a batch answer, else the ``status`` a 200 answer's body carries.
"""

import json
import os
import sys

import app
from stubs import assert_all_used, stub_clients

from mmsrelay import aws


class Context:
    function_name = "bench"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
    aws_request_id = "00000000-0000-4000-8000-000000000000"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 25_000


def main() -> None:
    event_file, plan_file, expected = sys.argv[1], sys.argv[2], sys.argv[3]
    with open(event_file) as handle:
        event = json.load(handle)
    stubbers = stub_clients(
        {"dynamodb": aws.dynamodb_client(), "secretsmanager": aws.secretsmanager_client()}, plan_file
    )
    answer = app.lambda_handler(event, Context())
    if expected == "no-failures":
        ok = answer == {"batchItemFailures": []}
    else:
        ok = answer.get("statusCode") == 200 and json.loads(answer["body"]).get("status") == expected
    if not ok:
        sys.stderr.write(f"unexpected answer: {answer}\n")
        sys.exit(1)
    os.write(int(os.environ["BENCH_READY_FD"]), b"1")  # the answer is ready: stop the clock
    assert_all_used(stubbers)


if __name__ == "__main__":
    main()
