"""Typed settings read from the environment: the reader the functions' settings are built with.

Each function's settings live beside its use cases (``mmsrelay.inbound.settings``,
``mmsrelay.outbound.settings``), one class per function, validated on first use.

Each class says in ``read`` how it is built from an :class:`EnvironmentReader` and inherits
``from_environ`` from :class:`FunctionSettings`; only the wiring calls it, and logic receives the
objects. No silent defaults for resource names: a missing or malformed variable fails the first
invocation with one error naming every problem.

Why not a pydantic model here: importing pydantic and building a first model costs about 45 ms
of cold start, most of what a webhook's cold start may add to its floor (25%: bench/README.md).
The webhook path therefore validates its environment and its input with the small, explicit
readers below; pydantic stays where a published JSON Schema is the contract (the outbound job).
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Self

# A country calling code (1 to 3 digits, no leading zero), for numbers written without one.
COUNTRY_CODE_PATTERN = r"[1-9][0-9]{0,2}"


class SettingsError(ValueError):
    """The function's environment is incomplete or malformed (a deployment error)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid function settings: " + "; ".join(problems))
        self.problems = tuple(problems)


class EnvironmentReader:
    """Reads typed values from an environment, collecting every problem before failing."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ
        self._problems: list[str] = []

    def text(self, name: str, pattern: str | None = None, default: str | None = None) -> str:
        value = self._environ.get(name, default)
        if value is None or (not value.strip() and default is None):
            self._problems.append(f"{name} is required")
            return ""
        value = value.strip()
        if pattern is not None and not re.fullmatch(pattern, value):
            self._problems.append(f"{name} must match {pattern}")
        return value

    def integer(self, name: str, minimum: int, maximum: int | None = None, default: int | None = None) -> int:
        raw = self._environ.get(name)
        if raw is None and default is not None:
            return default
        try:
            value = int((raw or "").strip())
        except ValueError:
            self._problems.append(f"{name} must be an integer")
            return minimum
        if value < minimum or (maximum is not None and value > maximum):
            bounds = f">= {minimum}" if maximum is None else f"between {minimum} and {maximum}"
            self._problems.append(f"{name} must be {bounds}")
        return value

    def number(self, name: str, minimum: float, maximum: float) -> float:
        """A decimal number (``2``, ``0.5``) between ``minimum`` and ``maximum``."""
        raw = (self._environ.get(name) or "").strip()
        try:
            value = float(raw)
        except ValueError:
            self._problems.append(f"{name} must be a number")
            return minimum
        if not minimum <= value <= maximum:
            self._problems.append(f"{name} must be between {minimum:g} and {maximum:g}")
        return value

    def problem(self, description: str) -> None:
        """Records a problem a caller found in a value it read (reported with the others)."""
        self._problems.append(description)

    def flag(self, name: str, default: bool) -> bool:
        raw = self._environ.get(name)
        if raw is None:
            return default
        value = raw.strip().lower()
        if value not in ("true", "false"):
            self._problems.append(f"{name} must be true or false")
        return value == "true"

    def check(self) -> None:
        if self._problems:
            raise SettingsError(self._problems)


class FunctionSettings(ABC):
    """A function's settings: built by ``read``, checked as a whole by ``from_environ``."""

    @classmethod
    @abstractmethod
    def read(cls, env: EnvironmentReader) -> Self:
        """Builds the settings from ``env``; problems are collected by ``env``, not raised."""

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Self:
        """The settings from ``environ``, or one :class:`SettingsError` naming every problem."""
        env = EnvironmentReader(environ)
        settings = cls.read(env)
        env.check()
        return settings
