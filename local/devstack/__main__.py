"""Local stack commands.

python -m devstack demo                    the main job end to end (what ``make demo`` runs)
python -m devstack up [--seconds]          deploy (pointed at the gateway simulator) and keep it running
python -m devstack invoke FUNCTION EVENT   run one function of that stack on an event (``make invoke``)
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import time
from pathlib import Path

from devstack import demo, invoke_on_stack
from devstack.gateway import stack_on
from devstack.receipts import ReceiptPoster
from devstack.sam import RepoPaths
from devstack.stack import STACK_NAME, DeployedStack
from devstack.stack_state import StackState, published, state_file
from gatewaysim.simulator import GatewaySimulator


def up(seconds: float, state_path: Path | None = None) -> int:
    """The stack deployed on the emulator, sending through the gateway simulator (as the demo's),
    kept running until Ctrl-C (or SIGTERM, or ``seconds``); then everything is stopped.

    ``state_path``: where the running stack is described (default: the file other commands read)."""
    # Ctrl-C and SIGTERM stop it at any point, deploying or running, through the blocks' cleanup:
    # both raise KeyboardInterrupt (even where the shell started it with SIGINT ignored).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    paths = RepoPaths.discover()

    def say(text: str) -> None:
        print(f"[up] {text}", file=sys.stderr, flush=True)

    with contextlib.suppress(KeyboardInterrupt), GatewaySimulator() as simulator, stack_on(simulator, say) as stack:
        stack.use_sample_webhook_credentials()
        state = StackState(stack.endpoint, stack.ca_file, STACK_NAME, stack.outputs, paths.build_dir, os.getpid())
        where = state_path or state_file(paths.build_dir)
        with published(where, state), ReceiptPoster(simulator, stack, stack.webhook_credentials()):
            print(welcome(stack, simulator, where), flush=True)
            say(f"stack up for {seconds:.0f}s: Ctrl-C stops the stack, the emulator and the simulator")
            time.sleep(seconds)
    say("stopped: the stack, the emulator and the simulator")
    return 0


def welcome(stack: DeployedStack, simulator: GatewaySimulator, state: Path) -> str:
    """What ``make up`` prints: where things are, and a command to try for each thing to do."""
    outputs = stack.outputs
    cli = ".venv/bin/mmsrelay"
    if state != state_file(RepoPaths.discover().build_dir):
        cli += f" --state-file {state}"
    return f"""
The local stack is up (ministack at {stack.endpoint}), sending through the gateway simulator.

  API (from this machine)  {stack.api_url}
  API (as the stack says)  {outputs["ApiUrl"]}
  outbound queue           {outputs["OutboundQueueUrl"]}
  media bucket             {outputs["MediaBucketName"]}
  messages table           {outputs["MessagesTableName"]}
  webhook credentials      the samples' (aerialink / example-webhook-password), in the secret
                           {outputs["WebhookCredentialsSecretArn"]}
  gateway credentials      the simulator's, in the secret {outputs["GatewayCredentialsSecretArn"]}
  gateway simulator        HTTPS API {simulator.http_api.base_url}, MM4 127.0.0.1:{simulator.mm4.port}
                           (it answers sends and posts their delivery receipts back to the stack)
  AWS clients              AWS_ENDPOINT_URL={stack.endpoint} AWS_CA_BUNDLE={stack.ca_file}
                           AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1
  state file               {state} (the command line and `make invoke` read it)

Try, in another terminal:

  {cli} stack info
  {cli} send --from 12223334444 --to +13105550101 --text hi --media https://example.com/a.jpg --delivery-report --wait
  {cli} send --from 12223334444 --to 13105550101,13105550102 --text "a group MMS" --delivery-report --wait
  {cli} send --from 12223334444 --to 13105550101 --text "a photo" --media <your .jpg or .png> --wait
  {cli} status <a messageId or transactionGUID from above>
  {cli} conversation +13105550101
  {cli} inbound simulate --from 13105550101 --to 12223334444 --text "a reply" [--media <your .jpg>]
  {cli} dlq list
  {cli} dlq redrive outbound --dry-run
  make invoke FUNCTION=ReceiptFunction EVENT=events/dlr_post_word.json

Every command takes --json and --help; `{cli} --help` lists them and their exit codes.
"""


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("demo", help="run the demo and tear down")
    up_parser = commands.add_parser("up", help="deploy and keep running")
    up_parser.add_argument("--seconds", type=float, default=3600.0)
    up_parser.add_argument(
        "--state-file", type=Path, help="where to describe the stack (default .aws-sam/local/stack.json)"
    )
    invoke_parser = commands.add_parser("invoke", help="run one function of the running stack on an event")
    invoke_parser.add_argument("function", help="logical id or short name: ReceiptFunction, receipt, no_receipt")
    invoke_parser.add_argument("event", help="an event file, e.g. events/dlr_post_word.json")
    arguments = parser.parse_args()
    if arguments.command == "demo":
        return demo.run()
    if arguments.command == "invoke":
        return invoke_on_stack.run(arguments.function, arguments.event)
    return up(arguments.seconds, arguments.state_file)


if __name__ == "__main__":
    sys.exit(main())
