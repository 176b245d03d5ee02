"""The batch's way to the gateway: the shared HTTPS client, and one MM4 session per batch."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any, Protocol

from mmsrelay.domain.outbound import OutboundMessage, SendResult, Transport
from mmsrelay.outbound.send import Sender


class TransportClient(Protocol):
    def send(self, message: OutboundMessage) -> SendResult: ...


class SessionFactory(Protocol):
    def session(self) -> Any: ...


class GatewaySenders:
    """The batch's way to the gateway: the shared HTTPS client, and one MM4 session per batch.

    The MM4 session holds one SMTP connection for the whole batch, opened at the batch's first
    MM4 message (an HTTPS-only batch opens none). It is not safe for concurrent use, so MM4
    sends take turns while HTTPS sends run side by side.
    """

    def __init__(self, https: TransportClient, mm4: SessionFactory) -> None:
        self._https = https
        self._mm4 = mm4

    @contextmanager
    def open(self) -> Iterator[Sender]:
        turn = threading.Lock()
        with ExitStack() as sessions:
            opened: list[Any] = []

            def send(transport: Transport, message: OutboundMessage) -> SendResult:
                if transport == "https":
                    return self._https.send(message)
                with turn:
                    if not opened:
                        opened.append(sessions.enter_context(self._mm4.session()))
                    result: SendResult = opened[0].send(message)
                    return result

            yield send
