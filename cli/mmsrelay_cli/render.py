"""What the command line prints: tables and blocks for people, JSON for scripts, a progress line
on stderr while it waits (so that stdout stays the answer, whichever form it takes)."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any, TextIO

MAX_CELL = 48
NOTHING = "-"


def cell(value: object, width: int = MAX_CELL) -> str:
    """One value as a table shows it: ``-`` for nothing, one line, at most ``width`` characters."""
    if value is None or value == "":
        return NOTHING
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = " ".join(str(value).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], width: int = MAX_CELL) -> str:
    """Columns aligned on the widest cell, headers in capitals; ``(none)`` for no rows."""
    if not rows:
        return "(none)"
    cells = [[cell(value, width) for value in row] for row in rows]
    widths = [max(len(header), *(len(row[n]) for row in cells)) for n, header in enumerate(headers)]
    lines = [[header.upper() for header in headers], *cells]
    return "\n".join("  ".join(text.ljust(widths[n]) for n, text in enumerate(line)).rstrip() for line in lines)


def block(pairs: Sequence[tuple[str, object]]) -> str:
    """``name  value`` lines, names aligned (a record's fields)."""
    width = max((len(name) for name, _ in pairs), default=0)
    return "\n".join(f"{name.ljust(width)}  {cell(value, 200)}".rstrip() for name, value in pairs)


def as_json(document: Any) -> str:
    return json.dumps(document, indent=2, sort_keys=False, default=str)


class Output:
    """Where a command's answer goes: ``--json`` prints the document, otherwise the text."""

    def __init__(self, json_mode: bool, stream: TextIO | None = None) -> None:
        self.json_mode = json_mode
        self._stream = stream

    def emit(self, document: Any, text: str) -> None:
        stream = self._stream or sys.stdout
        stream.write((as_json(document) if self.json_mode else text).rstrip("\n") + "\n")
        stream.flush()


class Progress:
    """A line on stderr saying what a waiting command is waiting for.

    On a terminal the line is rewritten in place; otherwise (a log, a pipe) each new state is one
    line, and repeating the same state writes nothing.
    """

    def __init__(self, enabled: bool = True, stream: TextIO | None = None) -> None:
        self._enabled = enabled
        self._stream = stream
        self._last = ""

    @property
    def stream(self) -> TextIO:
        return self._stream or sys.stderr

    def update(self, text: str) -> None:
        if not self._enabled or text == self._last:
            return
        self._last = text
        if self.stream.isatty():
            self.stream.write(f"\r\x1b[K{text}")
        else:
            self.stream.write(f"{text}\n")
        self.stream.flush()

    def done(self) -> None:
        if self._enabled and self._last and self.stream.isatty():
            self.stream.write("\n")
            self.stream.flush()
        self._last = ""
