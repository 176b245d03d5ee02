"""Local stack commands.

python -m devstack demo            the main job end to end (what ``make demo`` runs)
python -m devstack up [--seconds]  deploy and keep the stack running to try things by hand
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import threading

from devstack import demo
from devstack.stack import LocalStack


def up(seconds: float) -> int:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with LocalStack() as stack:
        print(
            json.dumps(
                {
                    "endpoint": stack.endpoint,
                    "ca_file": str(stack.ca_file),
                    "api_url": stack.api_url,
                    "outputs": stack.outputs,
                    "credentials": "aws_access_key_id=test aws_secret_access_key=test region=us-east-1",
                },
                indent=2,
            ),
            flush=True,
        )
        print(f"stack up for {seconds:.0f}s (Ctrl-C to stop earlier)", file=sys.stderr, flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait(seconds)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("demo", help="run the demo and tear down")
    up_parser = commands.add_parser("up", help="deploy and keep running")
    up_parser.add_argument("--seconds", type=float, default=3600.0)
    arguments = parser.parse_args()
    if arguments.command == "demo":
        return demo.run()
    return up(arguments.seconds)


if __name__ == "__main__":
    sys.exit(main())
