"""The events function's settings (see ``mmsrelay.settings``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

from mmsrelay.settings import EnvironmentReader, FunctionSettings

# An event bus name, or its ARN (PutEvents takes either).
BUS_NAME_PATTERN = r"(arn:aws[a-z-]*:events:[a-z0-9-]+:[0-9]{12}:event-bus/)?[A-Za-z0-9._/\-]{1,256}"


@dataclass(frozen=True)
class EventSettings(FunctionSettings):
    event_bus_name: str

    @classmethod
    def read(cls, env: EnvironmentReader) -> Self:
        return cls(event_bus_name=env.text("EVENT_BUS_NAME", pattern=BUS_NAME_PATTERN))
