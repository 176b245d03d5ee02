"""Transaction GUIDs from the gateway's reply to DATA, matched to the recipients.

The reply's format is not public, so it is read tolerantly. The rule, applied in this order:

1. A GUID is every token shaped ``8-4-4-4-12`` hexadecimal digits, on any line of the
   (possibly multi-line) reply, in any case; GUIDs are returned in upper case (as the inbound
   side stores them) and a GUID repeated counts once.
2. Exactly one GUID in the reply: it is the transaction's GUID and applies to every accepted
   recipient.
3. Otherwise, a line that names recipients maps its GUIDs to them. A recipient is named by its
   number, with or without ``+`` and ``@domain`` (``+13105550100@mmsc.aerialink.net``,
   ``13105550100``), or by a national form of at least 7 digits that ends exactly one
   recipient's number (``3105550100``). One GUID on a line goes to every recipient the line
   names; as many GUIDs as named recipients pair up in the order they appear; any other mix on
   one line is ambiguous and maps nothing. The GUIDs of a line that names recipients (refused
   ones included) belong to that line: they take no part in rule 4.
4. The GUIDs no line attributed, if exactly as many as the accepted recipients still without
   one, are mapped to those recipients in RCPT order (with no named line at all: the GUIDs in
   the order of the reply to the accepted recipients in RCPT order).
5. Any other recipient gets no GUID (``None``): the message was accepted, but the reply does
   not say which GUID is whose (more GUIDs than recipients, or none at all).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from mmsrelay.domain.outbound import RecipientResult

GUID: Final = re.compile(
    r"(?<![0-9A-Fa-f-])[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}(?![0-9A-Fa-f-])"
)
_NUMBER: Final = re.compile(r"(?<![0-9A-Za-z])\+?([0-9]{3,15})(?![0-9])")
_SHORTEST_NATIONAL: Final = 7


@dataclass(frozen=True)
class _Line:
    guids: tuple[str, ...]
    named: tuple[str, ...]  # recipients named on the line, in order of appearance


def guids_in(reply: bytes | str) -> tuple[str, ...]:
    """Every distinct GUID of ``reply``, in upper case, in order of appearance."""
    return tuple(dict.fromkeys(match.group().upper() for match in GUID.finditer(_text(reply))))


def assign_guids(reply: bytes | str, recipients: Sequence[str], refused: Collection[str] = ()) -> dict[str, str | None]:
    """Each accepted recipient (``recipients`` minus ``refused``, in RCPT order) -> its GUID or None."""
    accepted = [recipient for recipient in recipients if recipient not in refused]
    guids = guids_in(reply)
    if len(guids) == 1:
        return dict.fromkeys(accepted, guids[0])
    assigned: dict[str, str | None] = dict.fromkeys(accepted)
    consumed: set[str] = set()
    for line in _lines(reply, recipients):
        if line.named:  # a line that names recipients keeps its GUIDs, even when ambiguous
            consumed.update(line.guids)
        for recipient, guid in _pairs(line):
            if recipient in assigned and assigned[recipient] is None:
                assigned[recipient] = guid
    waiting = [recipient for recipient, guid in assigned.items() if guid is None]
    left = [guid for guid in guids if guid not in consumed]
    if waiting and len(left) == len(waiting):
        assigned.update(zip(waiting, left, strict=True))
    return assigned


def recipient_results(
    reply: bytes | str, recipients: Sequence[str], refusals: Mapping[str, RecipientResult]
) -> tuple[RecipientResult, ...]:
    """One result per recipient, in ``recipients`` order: the refusal, or the GUID (or None)."""
    guids = assign_guids(reply, recipients, refused=refusals.keys())
    return tuple(
        refusals[recipient] if recipient in refusals else RecipientResult(recipient, guids[recipient])
        for recipient in recipients
    )


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply


def _lines(reply: bytes | str, recipients: Sequence[str]) -> list[_Line]:
    digits = {recipient: _digits(recipient) for recipient in recipients}
    lines: list[_Line] = []
    for text in _text(reply).splitlines():
        guids = tuple(match.group().upper() for match in GUID.finditer(text))
        rest = GUID.sub(" ", text)
        named = tuple(
            dict.fromkeys(
                recipient
                for match in _NUMBER.finditer(rest)
                if (recipient := _named(match.group(1), digits)) is not None
            )
        )
        lines.append(_Line(guids, named))
    return lines


def _named(number: str, digits: Mapping[str, str]) -> str | None:
    """The recipient ``number`` stands for: exactly its digits, or else the one it ends."""
    for recipient, own in digits.items():
        if own == number:
            return recipient
    if len(number) < _SHORTEST_NATIONAL:
        return None
    ending = [recipient for recipient, own in digits.items() if own.endswith(number)]
    return ending[0] if len(ending) == 1 else None


def _pairs(line: _Line) -> list[tuple[str, str]]:
    if not line.named or not line.guids:
        return []
    if len(line.guids) == 1:
        return [(recipient, line.guids[0]) for recipient in line.named]
    if len(line.guids) == len(line.named):
        return list(zip(line.named, line.guids, strict=True))
    return []


def _digits(number: str) -> str:
    return number.strip().lstrip("+")
