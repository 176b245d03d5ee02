"""The local stand-in for the Aerialink gateway: one object that owns every simulated server.

Today it owns the media host; the v4 HTTP send API, the MM4 SMTP endpoint and the delivery-receipt
callbacks will join as further components. A component is anything with ``start()``,
``stop(timeout)`` and ``describe()``; the simulator starts them in order, stops them in reverse
order, and stops the ones already started when a later one fails to start.
"""

from __future__ import annotations

import time
from types import TracebackType
from typing import Protocol, Self

from gatewaysim.media_host import MediaHost
from gatewaysim.mo import MoSender


class SimComponent(Protocol):
    """One simulated server the simulator starts and stops."""

    def start(self) -> object: ...

    def stop(self, timeout: float = ...) -> None: ...

    def describe(self) -> dict[str, object]: ...


class GatewaySimulator:
    """Owns the simulated gateway's servers, all on 127.0.0.1 and (by default) OS-chosen ports."""

    def __init__(self, host: str = "127.0.0.1", media_port: int = 0, max_wait_s: float = 60.0) -> None:
        self.media = MediaHost(host=host, port=media_port, max_wait_s=max_wait_s)
        self._components: dict[str, SimComponent] = {"media": self.media}
        self._started: list[SimComponent] = []

    def start(self) -> Self:
        if self._started:
            raise RuntimeError("the gateway simulator is already running")
        try:
            for component in self._components.values():
                component.start()
                self._started.append(component)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stops every started component, newest first, within about ``timeout`` seconds overall."""
        deadline = time.monotonic() + timeout
        while self._started:
            component = self._started.pop()
            component.stop(max(0.5, deadline - time.monotonic()))

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

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

    def describe(self) -> dict[str, object]:
        """Every component's ports and URLs, JSON-friendly (for printing)."""
        return {
            "simulator": "gatewaysim",
            "running": self.running,
            **{name: component.describe() for name, component in self._components.items()},
        }
