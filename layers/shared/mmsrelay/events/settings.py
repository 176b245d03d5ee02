"""The events function's settings (see ``mmsrelay.settings``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Self

from mmsrelay.settings import EnvironmentReader

# An event bus name, or its ARN (PutEvents takes either).
BUS_NAME_PATTERN = r"(arn:aws[a-z-]*:events:[a-z0-9-]+:[0-9]{12}:event-bus/)?[A-Za-z0-9._/\-]{1,256}"


@dataclass(frozen=True)
class EventSettings:
    event_bus_name: str

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Self:
        env = EnvironmentReader(environ)
        settings = cls(event_bus_name=env.text("EVENT_BUS_NAME", pattern=BUS_NAME_PATTERN))
        env.check()
        return settings
