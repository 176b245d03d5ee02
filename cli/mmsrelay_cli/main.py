"""``mmsrelay``: send MMS through the relay, see what became of them, recover what failed.

The commands' arguments are read here and each command's module does the work; errors become
exit codes in one place (:func:`main`), as ``mmsrelay_cli.errors`` lists them.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from mmsrelay_cli import inbound, messages, send, stack_info
from mmsrelay_cli.dlq import commands as dlq
from mmsrelay_cli.dlq.queues import NAMES as QUEUE_NAMES
from mmsrelay_cli.errors import CliError, ExitCode, UsageError
from mmsrelay_cli.query_api import QueryApi
from mmsrelay_cli.render import Output, Progress
from mmsrelay_cli.stack import Stack, aws_stack, local_stack

EXIT_CODES = """\
exit codes:
  0  done (sent; with --wait: sent and delivered; listed; moved back; found)
  1  done, and what it reports failed (the message failed or was not delivered, an entry could
     not be moved back, the webhook refused the MO)
  2  usage: a bad argument, or a job or number the relay would refuse (nothing was sent)
  3  not found: no such message, entry, queue or stack
  4  timed out waiting for an outcome (--wait, inbound simulate)
  5  unavailable: the stack or AWS could not be reached, or refused the credentials or the call
  130 interrupted
"""

WHERE = """\
which stack: --stack NAME (or MMSRELAY_STACK) names a stack in AWS, found with --profile and
--region like the AWS CLI (AWS_PROFILE, AWS_REGION and the profile's region work too); without
it, the local stack `make up` keeps running (its state file, .aws-sam/local/stack.json).
"""

HELP_WIDTH = 96
UNAVAILABLE_CODES = ("AccessDenied", "Unrecognized", "InvalidClientTokenId", "ExpiredToken", "SignatureDoesNotMatch")
NOT_FOUND_CODES = ("NonExistentQueue", "QueueDoesNotExist", "ResourceNotFound", "NoSuchBucket", "NoSuchKey")


def main(argv: Sequence[str] | None = None) -> int:
    arguments = build_parser().parse_args(argv)  # argparse exits 2 on a usage error
    try:
        run(arguments)
    except CliError as error:
        print(f"mmsrelay: {error}", file=sys.stderr)
        return int(error.exit_code)
    except NoCredentialsError:
        print("mmsrelay: no AWS credentials (aws configure, AWS_PROFILE or --profile)", file=sys.stderr)
        return int(ExitCode.UNAVAILABLE)
    except ClientError as error:
        code = str(error.response.get("Error", {}).get("Code", ""))
        print(f"mmsrelay: AWS refused {error.operation_name}: {code}", file=sys.stderr)
        return int(ExitCode.NOT_FOUND if code.startswith(NOT_FOUND_CODES) else ExitCode.UNAVAILABLE)
    except BotoCoreError as error:
        print(f"mmsrelay: AWS could not be reached: {error}", file=sys.stderr)
        return int(ExitCode.UNAVAILABLE)
    except KeyboardInterrupt:
        print("mmsrelay: interrupted", file=sys.stderr)
        return int(ExitCode.INTERRUPTED)
    return int(ExitCode.OK)


def run(arguments: argparse.Namespace) -> None:
    output = Output(getattr(arguments, "json", False))
    progress = Progress(enabled=not getattr(arguments, "quiet", False))
    stack = target(arguments)
    command = arguments.command
    if command == "send":
        request = send.SendRequest(
            sender=arguments.sender,
            to=[number for value in arguments.to for number in value.split(",") if number.strip()],
            text=arguments.text or "",
            subject=arguments.subject,
            media=arguments.media or [],
            message_id=arguments.message_id,
            delivery_report=arguments.delivery_report,
            transport=arguments.transport,
        )
        send.run(stack, request, output, progress, arguments.wait, arguments.timeout, arguments.dry_run)
    elif command == "status":
        messages.status(QueryApi(stack), arguments.id, output)
    elif command == "conversation":
        messages.conversation(
            QueryApi(stack),
            arguments.number,
            stack.country_code,
            arguments.limit,
            arguments.cursor,
            arguments.all,
            output,
        )
    elif command == "dlq":
        run_dlq(stack, QueryApi(stack), arguments, output, progress)
    elif command == "inbound":
        mo = inbound.SimulatedMo(
            source=arguments.sender,
            destination=arguments.to,
            text=arguments.text or "",
            subject=arguments.subject or "",
            media=arguments.media or [],
            country_code=arguments.country_code,
            method=arguments.method,
        )
        inbound.run(stack, mo, output, progress, arguments.timeout)
    else:
        stack_info.run(stack, output)


def run_dlq(stack: Stack, api: QueryApi, arguments: argparse.Namespace, output: Output, progress: Progress) -> None:
    if arguments.dlq_command == "list":
        dlq.list_entries(stack, api, arguments.queues, arguments.max, output)
    elif arguments.dlq_command == "show":
        dlq.show(stack, api, arguments.queue, arguments.entry, output)
    else:
        dlq.redrive(stack, api, arguments.queue, arguments.max, arguments.dry_run, output, progress)


def target(arguments: argparse.Namespace) -> Stack:
    name = getattr(arguments, "stack", None) or os.environ.get("MMSRELAY_STACK")
    if name:
        return aws_stack(name, getattr(arguments, "profile", None), getattr(arguments, "region", None))
    if getattr(arguments, "profile", None) or getattr(arguments, "region", None):
        raise UsageError("--profile and --region choose an AWS stack: name it with --stack")
    return local_stack(getattr(arguments, "state_file", None))


def build_parser() -> argparse.ArgumentParser:
    common = _common_options()
    parser = argparse.ArgumentParser(
        prog="mmsrelay",
        description="Send MMS through the mms-relay stack, see what became of them, recover what failed.",
        epilog=f"{WHERE}\n{EXIT_CODES}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common],
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _send_parser(commands, common)
    _query_parsers(commands, common)
    _dlq_parser(commands, common)
    _inbound_parser(commands, common)
    _stack_parser(commands, common)
    return parser


def _common_options() -> argparse.ArgumentParser:
    # Accepted before or after the command; SUPPRESS keeps a subcommand's parser from resetting them.
    common = argparse.ArgumentParser(add_help=False)
    where = common.add_argument_group("which stack")
    where.add_argument("--stack", default=argparse.SUPPRESS, help="an AWS stack's name (default: the local stack)")
    where.add_argument("--profile", default=argparse.SUPPRESS, help="the AWS CLI profile to use (with --stack)")
    where.add_argument("--region", default=argparse.SUPPRESS, help="the stack's region (with --stack)")
    where.add_argument(
        "--state-file",
        type=Path,
        default=argparse.SUPPRESS,
        help="the local stack's state file (default: the one `make up` writes)",
    )
    shown = common.add_argument_group("output")
    shown.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON for scripts")
    shown.add_argument(
        "-q", "--quiet", action="store_true", default=argparse.SUPPRESS, help="no progress line on stderr"
    )
    return common


def _command(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
    name: str,
    summary: str,
    description: str,
) -> argparse.ArgumentParser:
    return commands.add_parser(
        name,
        help=summary,
        description=textwrap.fill(description, HELP_WIDTH),
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common],
    )


def _send_parser(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    parser = _command(
        commands,
        common,
        "send",
        "put an MMS job on the outbound queue (--wait: follow it to its receipts)",
        "Checks the job against the published schema (schemas/outbound-job.schema.json) and its numbers as the "
        "relay reads them, uploads local files to the media bucket (outbound/cli/), puts the job on the outbound "
        "queue and prints its messageId. With --wait it follows the job to sent or failed, then, when it asked "
        "for delivery reports, to each recipient's final receipt.",
    )
    parser.add_argument("--from", dest="sender", required=True, help="our short or long code sending it")
    parser.add_argument(
        "--to", action="append", required=True, help="a recipient; repeat it (or comma-separate) for a group MMS"
    )
    parser.add_argument("--text", help="the message text")
    parser.add_argument("--subject", help="the MMS subject")
    parser.add_argument(
        "--media",
        action="append",
        metavar="FILE|URL|s3://",
        help="an attachment: a local file (uploaded), an https:// URL or an s3:// object; repeatable",
    )
    parser.add_argument("--message-id", help="the idempotency key (default: derived from the job's content)")
    parser.add_argument("--delivery-report", action="store_true", help="ask the gateway for delivery receipts")
    parser.add_argument("--transport", choices=["auto", "https", "mm4"], default="auto", help="default: auto")
    parser.add_argument("--wait", action="store_true", help="follow the job to its outcome (progress on stderr)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds --wait waits (default 120)")
    parser.add_argument("--dry-run", action="store_true", help="check the job and print it; upload and send nothing")


def _query_parsers(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    status = _command(
        commands,
        common,
        "status",
        "what became of a message (by messageId or transactionGUID)",
        "Reads GET /messages/{id} of the query API (signed with SigV4: execute-api:Invoke) and prints the job: "
        "its status, transport, attempts and last error, each recipient's delivery, the history; or, for a "
        "transactionGUID, that transaction (an inbound message with links to its media). Exits 1 when the "
        "message failed or a receipt says it was not delivered.",
    )
    status.add_argument("id", help="a messageId or a transactionGUID")
    conversation = _command(
        commands,
        common,
        "conversation",
        "a number's messages, newest first",
        "Reads GET /numbers/{number}/messages of the query API (SigV4). The number may be written as E.164, "
        "in the gateway's friendly form, or nationally in the stack's default country.",
    )
    conversation.add_argument("number", help="a handset's number or a short code")
    conversation.add_argument("--limit", type=_limit, default=20, help="messages per page, 1 to 100 (default 20)")
    conversation.add_argument("--cursor", help="where the previous page ended (its nextCursor)")
    conversation.add_argument("--all", action="store_true", help="every page")


def _dlq_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    parser = _command(
        commands,
        common,
        "dlq",
        "the failure queues: list, show, redrive",
        "The stack's failure queues: outbound (jobs that kept failing), media-retry (media copies that kept "
        "crashing), events (stream batches whose events were not published) and, with MM4 reports by e-mail, "
        "mm4-reports. A redrive sends each entry back (to its queue, or to its function) and only then deletes "
        "it: interrupted halfway it loses nothing, and what it sends twice the relay applies once.",
    )
    actions = parser.add_subparsers(dest="dlq_command", required=True, metavar="ACTION")
    listing = _command(actions, common, "list", "entries and why each failed", "Lists entries without taking them.")
    listing.add_argument("queues", nargs="*", metavar="QUEUE", help=f"{', '.join(QUEUE_NAMES)} (default: all)")
    listing.add_argument("--max", type=_positive, default=20, help="entries per queue (default 20)")
    show = _command(actions, common, "show", "one entry in full", "Shows one entry: why it failed, and its body.")
    show.add_argument("queue", choices=QUEUE_NAMES)
    show.add_argument("entry", help="the entry's id (from dlq list)")
    redrive = _command(
        actions,
        common,
        "redrive",
        "move entries back where they failed",
        "Sends each entry back (outbound, media-retry: to their source queue; events: the stream records to "
        "EventsFunction; mm4-reports: the stored report's event to Mm4ReportFunction) and deletes it once sent. "
        "Exits 1 when an entry could not be moved (it stays in the queue).",
    )
    redrive.add_argument("queue", choices=QUEUE_NAMES)
    redrive.add_argument("--dry-run", action="store_true", help="say what would be moved; move nothing")
    redrive.add_argument("--max", type=_positive, default=None, help="move at most this many (default: all)")


def _inbound_parser(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    parser = _command(commands, common, "inbound", "inbound MMS (local stack)", "Inbound MMS on the local stack.")
    actions = parser.add_subparsers(dest="inbound_command", required=True, metavar="ACTION")
    simulate = _command(
        actions,
        common,
        "simulate",
        "post an MO to the local stack as the gateway would",
        "Posts a handset's MMS to the local stack's /inbound the way the gateway does (the gateway simulator's "
        "MO sender, the stack's webhook credentials); local files are served to the relay by a media host on "
        "127.0.0.1 until it has copied them. Prints the stored message. Local stack only.",
    )
    simulate.add_argument("--from", dest="sender", default="13105551212", help="the handset (default 13105551212)")
    simulate.add_argument("--to", default="13235550100", help="our number it was sent to (default 13235550100)")
    simulate.add_argument("--text", help="the message text")
    simulate.add_argument("--subject", help="the MMS subject")
    simulate.add_argument("--media", action="append", metavar="FILE|URL", help="an attachment; repeatable")
    simulate.add_argument("--country-code", type=_country_code, help="the sender's country code (default: the stack's)")
    simulate.add_argument("--method", choices=["POST", "GET"], default="POST", help="form POST (default) or GET")
    simulate.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for the media (default 60)")


def _stack_parser(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    parser = _command(commands, common, "stack", "the stack itself", "The stack itself.")
    actions = parser.add_subparsers(dest="stack_command", required=True, metavar="ACTION")
    _command(
        actions,
        common,
        "info",
        "URLs, queues, bucket, secrets, and the routes for the gateway's portal",
        "Prints the stack's API and webhook URLs, queues, bucket, table, event bus and secret names, and the "
        "routes (with their credentials' secret) to enter in the gateway's portal.",
    )


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _country_code(text: str) -> str:
    if not re.fullmatch(r"[1-9][0-9]{0,2}", text):
        raise argparse.ArgumentTypeError("a country calling code is 1 to 3 digits, e.g. 44")
    return text


def _limit(text: str) -> int:
    value = _positive(text)
    if value > 100:
        raise argparse.ArgumentTypeError("must be at most 100")
    return value


if __name__ == "__main__":
    sys.exit(main())
