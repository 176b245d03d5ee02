"""Where the MM4 client connects, and the client itself built (its SMTP and e-mail modules imported)
when a batch first needs it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

TlsMode = Literal["implicit", "starttls"]


@dataclass(frozen=True)
class Mm4Settings:
    """Where and how to reach the gateway's MMSC (example: port 587, implicit TLS)."""

    host: str
    port: int
    tls_mode: TlsMode
    domain: str  # of the MM4 addresses, "mmsc.aerialink.net" for the gateway
    ca_file: str | None  # PEM bundle to trust; None: the system trust store
    timeout: float = 20.0  # seconds, for the connect and for each reply
    originator_system: str = "mms-relay"


class LazyMm4Client:
    """The MM4 client, built (and its SMTP and e-mail modules imported) when a batch first needs it.

    Most batches are HTTPS only; they should not pay the MM4 stack's import on a cold start.
    """

    def __init__(self, settings: Mm4Settings, credentials: Any) -> None:
        self._settings = settings
        self._credentials = credentials
        self._client: Any = None

    @contextmanager
    def session(self) -> Iterator[Any]:
        with self._built().session() as session:
            yield session

    def _built(self) -> Any:
        if self._client is None:
            from mmsrelay.gateway.mm4_client import Mm4Client  # noqa: PLC0415

            self._client = Mm4Client(self._settings, self._credentials)
        return self._client
