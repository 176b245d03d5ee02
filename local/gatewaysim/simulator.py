"""The local stand-in for the Aerialink gateway: one object that owns every simulated server.

It owns the media host, the v4 HTTP send API and the MM4 SMTP endpoint. Like MOs, delivery
receipts are posted by a client the simulator hands out (``receipt_sender``), not by a server
component. The send side accepts one API key and secret (the
secret is random per simulator unless given; ``describe()`` never shows it).

A component is anything with ``start()``, ``stop(timeout)`` and ``describe()``; the simulator
starts them in order, stops them in reverse order, and stops the ones already started when a
later one fails to start.
"""

from __future__ import annotations

import secrets
import time
from typing import Protocol

from gatewaysim.http_api import HttpApi
from gatewaysim.media_host import MediaHost
from gatewaysim.mm4 import DEFAULT_DOMAIN, Mm4Endpoint, Mm4Mode
from gatewaysim.mo import MoSender
from gatewaysim.receipts import ReceiptSender
from gatewaysim.servers import Component


class SimComponent(Protocol):
    """One simulated server the simulator starts and stops."""

    def start(self) -> object: ...

    def stop(self, timeout: float = ...) -> None: ...

    def describe(self) -> dict[str, object]: ...


class GatewaySimulator(Component):
    """Owns the simulated gateway's servers, all on 127.0.0.1 and (by default) OS-chosen ports."""

    what = "the gateway simulator"

    def __init__(
        self,
        host: str = "127.0.0.1",
        media_port: int = 0,
        max_wait_s: float = 60.0,
        api_key: str = "sim-api-key",
        api_secret: str | None = None,
        http_port: int = 0,
        mm4_port: int = 0,
        mm4_mode: Mm4Mode = "implicit",
        mm4_domain: str = DEFAULT_DOMAIN,
    ) -> None:
        self.api_key = api_key
        self.api_secret = api_secret if api_secret is not None else secrets.token_urlsafe(18)
        self.media = MediaHost(host=host, port=media_port, max_wait_s=max_wait_s)
        self.http_api = HttpApi(api_key, self.api_secret, host=host, port=http_port, max_wait_s=max_wait_s)
        self.mm4 = Mm4Endpoint(
            api_key,
            self.api_secret,
            host=host,
            port=mm4_port,
            mode=mm4_mode,
            domain=mm4_domain,
            max_wait_s=max_wait_s,
        )
        self._components: dict[str, SimComponent] = {
            "media": self.media,
            "http_api": self.http_api,
            "mm4": self.mm4,
        }
        self._started: list[SimComponent] = []

    def _open(self) -> None:
        try:
            for component in self._components.values():
                component.start()
                self._started.append(component)
        except BaseException:
            self.stop()
            raise

    def stop(self, timeout: float = 10.0) -> None:
        """Stops every started component, newest first, within about ``timeout`` seconds overall."""
        super().stop(timeout)

    def _close(self, deadline: float) -> None:
        while self._started:
            component = self._started.pop()
            component.stop(max(0.5, deadline - time.monotonic()))

    @property
    def running(self) -> bool:
        return bool(self._started)

    def mo_sender(
        self, webhook_url: str, username: str, password: str, timeout: float = 10.0, verify: bool | str = True
    ) -> MoSender:
        """A sender that delivers MOs to ``webhook_url`` as the gateway would (close it when done).

        ``verify``: True, or the CA bundle path that an https webhook's certificate chains to.
        """
        return MoSender(webhook_url, username, password, timeout=timeout, verify=verify)

    def receipt_sender(
        self, webhook_url: str, username: str, password: str, timeout: float = 10.0, verify: bool | str = True
    ) -> ReceiptSender:
        """A sender that posts delivery receipts to ``webhook_url`` as the gateway would (close it when done).

        Build the receipts with ``receipts_for_http(sim.http_api.sent[i], ["ENROUTE", "DELIVRD"])``;
        MM4 reports with ``reports_for_mm4(sim.mm4.accepted[i], ["Retrieved"])`` and ``send_raw``.
        """
        return ReceiptSender(webhook_url, username, password, timeout=timeout, verify=verify)

    def __repr__(self) -> str:
        return (
            "GatewaySimulator(api_key=" + repr(self.api_key) + ", api_secret='***', running=" + str(self.running) + ")"
        )

    def describe(self) -> dict[str, object]:
        """Every component's ports, URLs, CA files and modes, JSON-friendly (never the secret)."""
        return {
            "simulator": "gatewaysim",
            "running": self.running,
            **{name: component.describe() for name, component in self._components.items()},
        }
