"""Command line: ``python -m gatewaysim serve`` and ``python -m gatewaysim send-mo``.

Run with ``local`` on the Python path (``PYTHONPATH=local``). Passwords and secrets are read from
the environment variable named by ``--password-env`` / ``--api-secret-env``, never from the
command line; ``serve`` never prints the API secret.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType
from typing import get_args
from urllib.parse import parse_qsl

from gatewaysim import images
from gatewaysim.media_host import KnobError, MediaFaults, MediaHost
from gatewaysim.mm4 import DEFAULT_DOMAIN, Mm4Mode
from gatewaysim.mo import MoMessage, MoSender
from gatewaysim.simulator import GatewaySimulator

_SAMPLE_KINDS = (
    ("jpg", "image/jpeg", images.jpeg),
    ("png", "image/png", images.png),
    ("gif", "image/gif", images.gif),
)
_BODY_PREVIEW = 2000


def _stop_event_on_signals() -> threading.Event:
    """An event set by SIGINT or SIGTERM (installed here, at run time, in the main thread)."""
    stop = threading.Event()

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    return stop


def _wait(stop: threading.Event, seconds: float | None) -> None:
    if seconds is not None:
        stop.wait(max(0.0, seconds))
        return
    while not stop.wait(1.0):
        pass


def _emit(document: dict[str, object]) -> None:
    print(json.dumps(document, sort_keys=True), flush=True)


def _serve(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    api_secret = None
    if args.api_secret_env is not None:
        api_secret = os.environ.get(args.api_secret_env)
        if not api_secret:
            parser.error("the environment variable " + args.api_secret_env + " (from --api-secret-env) is not set")
    stop = _stop_event_on_signals()
    simulator = GatewaySimulator(
        media_port=args.media_port,
        api_key=args.api_key,
        api_secret=api_secret,
        http_port=args.http_port,
        mm4_port=args.mm4_port,
        mm4_mode=args.mm4_mode,
        mm4_domain=args.mm4_domain,
    )
    with simulator:
        for name, (body, content_type) in images.sample_set().items():
            simulator.media.add(name, body, content_type)
        _emit(simulator.describe())
        _wait(stop, args.seconds)
    return 0


def _add_samples(media: MediaHost, count: int, faults: MediaFaults) -> list[str]:
    urls = []
    for index in range(count):
        extension, content_type, make = _SAMPLE_KINDS[index % len(_SAMPLE_KINDS)]
        body = make(16 + 8 * index, 16, ((40 * index) % 256, 120, 200))
        urls.append(media.add("mo-" + str(index + 1) + "." + extension, body, content_type, faults))
    return urls


def _send_mo(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    password = os.environ.get(args.password_env)
    if password is None:
        parser.error("the environment variable " + args.password_env + " (from --password-env) is not set")
    try:
        faults = MediaFaults().with_query(dict(parse_qsl(args.media_faults, keep_blank_values=True)))
    except KnobError as error:
        parser.error(str(error))
    stop = _stop_event_on_signals()
    with MediaHost(port=args.media_port) as media:
        urls = _add_samples(media, args.media_count, faults)
        mo = MoMessage(
            source=args.source,
            destination=args.destination,
            message_text=args.text,
            mms_subject=args.subject,
            attachments=urls,
            attachments_format=args.attachments_format,
        )
        verify: bool | str = args.ca_file if args.ca_file else True
        with MoSender(args.url, args.user, password, timeout=args.timeout, verify=verify) as sender:
            result = sender.send(mo, method=args.method)
        _emit(
            {
                "transactionGUID": mo.transaction_guid,
                "method": args.method,
                "status_code": result.status_code,
                "ok": result.ok,
                "elapsed": round(result.elapsed, 4),
                "error": result.error,
                "body": result.body[:_BODY_PREVIEW],
                "attachments": urls,
                "media_base_url": media.base_url,
                "linger_seconds": args.linger,
            }
        )
        _wait(stop, args.linger)
        fetches = [entry.path for entry in media.requests]
        print(json.dumps({"media_requests": len(fetches), "paths": fetches}), file=sys.stderr, flush=True)
    return 0 if result.ok else 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m gatewaysim", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the simulator and print its URLs as one JSON line")
    serve.add_argument("--seconds", type=float, default=None, help="stop after N seconds (default: on Ctrl-C)")
    serve.add_argument("--media-port", type=int, default=0, help="media host port (default: OS-chosen)")
    serve.add_argument("--http-port", type=int, default=0, help="v4 HTTP API port (default: OS-chosen)")
    serve.add_argument("--mm4-port", type=int, default=0, help="MM4 SMTP port (default: OS-chosen)")
    serve.add_argument("--mm4-mode", choices=get_args(Mm4Mode), default="implicit")
    serve.add_argument("--mm4-domain", default=DEFAULT_DOMAIN, help="the MM4 address domain")
    serve.add_argument("--api-key", default="sim-api-key", help="the API key both send paths accept")
    serve.add_argument(
        "--api-secret-env",
        default=None,
        metavar="VAR",
        help="environment variable with the API secret (default: a random secret, never printed)",
    )

    send = commands.add_parser("send-mo", help="serve sample media and send one MO pointing at it")
    send.add_argument("--url", required=True, help="the webhook URL")
    send.add_argument("--user", required=True, help="HTTP Basic user name")
    send.add_argument("--password-env", required=True, metavar="VAR", help="environment variable with the password")
    send.add_argument("--method", choices=("POST", "GET"), default="POST")
    send.add_argument("--media-count", type=int, default=2, choices=range(10), metavar="0-9")
    send.add_argument("--attachments-format", choices=("json", "repeated", "none"), default="json")
    send.add_argument(
        "--media-faults", default="", metavar="QUERY", help="fault knobs, e.g. 'fail_first=1&delay_ms=200'"
    )
    send.add_argument("--media-port", type=int, default=0)
    send.add_argument("--linger", type=float, default=30.0, help="seconds to keep serving media after sending")
    send.add_argument("--timeout", type=float, default=10.0, help="HTTP timeout for the webhook call")
    send.add_argument("--ca-file", default=None, help="CA bundle (PEM) for an https webhook")
    send.add_argument("--source", default="13105551212")
    send.add_argument("--destination", default="13235550100")
    send.add_argument("--text", default="Hello from the gateway simulator")
    send.add_argument("--subject", default="Simulated MMS")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "serve":
        return _serve(args, parser)
    return _send_mo(args, parser)


if __name__ == "__main__":
    sys.exit(main())
