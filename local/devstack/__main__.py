"""Local stack commands.

python -m devstack demo                    the main job end to end (what ``make demo`` runs)
python -m devstack up [--seconds]          deploy and keep the stack running to try things by hand
python -m devstack invoke FUNCTION EVENT   run one function of that stack on an event (``make invoke``)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import threading

from devstack import demo, invoke_on_stack
from devstack.sam import RepoPaths
from devstack.stack import STACK_NAME, LocalStack
from devstack.stack_state import StackState, published, state_file


def up(seconds: float) -> int:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    paths = RepoPaths.discover()
    with LocalStack(paths) as stack:
        stack.use_sample_webhook_credentials()
        state = StackState(stack.endpoint, stack.ca_file, STACK_NAME, stack.outputs, paths.build_dir, os.getpid())
        with published(state_file(paths.build_dir), state):
            print(
                json.dumps(
                    {
                        "endpoint": stack.endpoint,
                        "ca_file": str(stack.ca_file),
                        "api_url": stack.api_url,
                        "outputs": stack.outputs,
                        "credentials": "aws_access_key_id=test aws_secret_access_key=test region=us-east-1",
                        "webhook_credentials": "the samples' (events/*.json): aerialink / example-webhook-password",
                        "state_file": str(state_file(paths.build_dir)),
                    },
                    indent=2,
                ),
                flush=True,
            )
            print(
                f"stack up for {seconds:.0f}s (Ctrl-C to stop earlier); try: "
                "make invoke FUNCTION=ReceiptFunction EVENT=events/dlr_post_word.json",
                file=sys.stderr,
                flush=True,
            )
            with contextlib.suppress(KeyboardInterrupt):
                stop.wait(seconds)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("demo", help="run the demo and tear down")
    up_parser = commands.add_parser("up", help="deploy and keep running")
    up_parser.add_argument("--seconds", type=float, default=3600.0)
    invoke_parser = commands.add_parser("invoke", help="run one function of the running stack on an event")
    invoke_parser.add_argument("function", help="logical id or short name: ReceiptFunction, receipt, no_receipt")
    invoke_parser.add_argument("event", help="an event file, e.g. events/dlr_post_word.json")
    arguments = parser.parse_args()
    if arguments.command == "demo":
        return demo.run()
    if arguments.command == "invoke":
        return invoke_on_stack.run(arguments.function, arguments.event)
    return up(arguments.seconds)


if __name__ == "__main__":
    sys.exit(main())
