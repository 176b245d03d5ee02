"""``inbound simulate``: an MO posted to the local stack's ``/inbound`` as the gateway posts it.

The post is made by the gateway simulator's MO sender (form POST or GET, the gateway's field
names, HTTP Basic with the stack's webhook credentials). Local files become attachments served
by a media host of the simulator's, started on 127.0.0.1 for as long as the relay takes to copy
them; the command then prints the message as the relay stored it.
"""

from __future__ import annotations

import json
import mimetypes
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from mmsrelay_cli.errors import Failed, NotFound, TimedOut, UsageError
from mmsrelay_cli.messages import describe_inbound
from mmsrelay_cli.query_api import QueryApi
from mmsrelay_cli.render import Output, Progress
from mmsrelay_cli.stack import Stack

POLL_SECONDS = 0.5
_NOT_DIGITS = re.compile(r"[^0-9]")
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


class MediaHostLike(Protocol):
    """``gatewaysim.media_host.MediaHost``, imported only when the command runs (a checkout's tooling)."""

    def add(self, name: str, body: bytes, content_type: str | None = ...) -> str: ...


@dataclass(frozen=True)
class SimulatedMo:
    source: str
    destination: str
    text: str
    subject: str = ""
    media: Sequence[str] = ()
    country_code: str | None = None
    method: str = "POST"


def run(stack: Stack, mo: SimulatedMo, output: Output, progress: Progress, timeout: float) -> None:
    if not stack.local:
        raise UsageError("inbound simulate posts to the local stack only (in AWS the gateway posts MOs)")
    try:
        from gatewaysim.media_host import MediaHost  # noqa: PLC0415 - the local tooling, in a checkout
        from gatewaysim.mo import MoMessage, MoSender  # noqa: PLC0415
    except ImportError:
        raise UsageError("inbound simulate needs the repository's gateway simulator (local/gatewaysim)") from None
    for reference in mo.media:
        if not reference.startswith(("http://", "https://")) and not Path(reference).is_file():
            raise UsageError(f"media: {reference!r} is neither a file nor an http(s) URL")
    username, password = _webhook_credentials(stack)
    with MediaHost() as host:
        urls = [
            reference if reference.startswith(("http://", "https://")) else _served(host, n, Path(reference))
            for n, reference in enumerate(mo.media)
        ]
        message = MoMessage(
            source=_NOT_DIGITS.sub("", mo.source),
            destination=_NOT_DIGITS.sub("", mo.destination),
            source_country_code=int(mo.country_code or stack.country_code),
            message_text=mo.text,
            mms_subject=mo.subject,
            attachments=urls,
        )
        with MoSender(f"{stack.api_url}/inbound", username, password, timeout=60, verify=stack.verify) as sender:
            progress.update(f"posting MO {message.transaction_guid} to {stack.api_url}/inbound ({mo.method})")
            result = sender.send(message, method="GET" if mo.method == "GET" else "POST")
        if not result.ok:
            progress.done()
            document = {"transactionGUID": message.transaction_guid, "status": result.status_code, "body": result.body}
            output.emit(document, f"the webhook answered {result.status_code or result.error}: {result.body}")
            raise Failed(f"the webhook did not store the MO ({result.status_code or result.error})")
        stored = _stored(QueryApi(stack), message.transaction_guid, timeout, progress)
    answer = _json(result.body)
    text = f"the webhook answered {result.status_code} {answer.get('status') or ''}".rstrip()
    output.emit(
        {"webhook": {"status": result.status_code, "body": answer}, "message": stored},
        f"{text}\n\n{describe_inbound(stored)}",
    )


def _stored(api: QueryApi, guid: str, timeout: float, progress: Progress) -> dict[str, Any]:
    """The stored message once none of its media is pending (the media host stays up meanwhile)."""
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                document = api.message(guid)
            except NotFound:
                document = None
            pending = [m for m in (document or {}).get("media") or [] if m.get("status") == "pending"]
            if document is not None and not pending:
                return document
            progress.update(f"{guid}: {len(pending)} attachment(s) still being copied")
            if time.monotonic() >= deadline:
                raise TimedOut(f"{guid}: media still pending after {timeout:.0f}s")
            time.sleep(POLL_SECONDS)
    finally:
        progress.done()


def _webhook_credentials(stack: Stack) -> tuple[str, str]:
    secret = stack.client("secretsmanager").get_secret_value(SecretId=stack.output("WebhookCredentialsSecretArn"))
    document = json.loads(secret["SecretString"])
    return str(document["username"]), str(document["password"])


def _served(host: MediaHostLike, index: int, path: Path) -> str:
    """``path`` served by the media host; its URL."""
    name = f"{index}-{_UNSAFE_NAME.sub('-', path.name)}"[:100]
    return host.add(name, path.read_bytes(), mimetypes.guess_type(path.name)[0] or "application/octet-stream")


def _json(text: str) -> dict[str, Any]:
    try:
        document = json.loads(text)
    except ValueError:
        return {}
    return document if isinstance(document, dict) else {}
