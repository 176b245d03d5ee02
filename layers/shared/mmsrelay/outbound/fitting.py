"""Media that fits the carriers' limit: the message's byte budget, how images share it, where fitted copies go.

A message's budget is ``MaxOutboundMessageBytes`` less its text and subject: the media and the text
are what a carrier counts (the SMIL part and headers, a few hundred bytes, stay within the carriers'
margin above it). When the media passes the budget, images are fitted (``ImageFitter``) and anything
else keeps its size; what still cannot fit is refused before the send.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, Protocol

from mmsrelay.domain.content_types import extension_for
from mmsrelay.domain.media import FittedImage

OUTBOUND_PREFIX: Final = "outbound/"


class ImageFitter(Protocol):
    """``mmsrelay.media.fitting.PillowFitter``: built, and Pillow imported, the first time an image needs it."""

    def fit(self, data: bytes, content_type: str, budget: int) -> FittedImage:
        """``data`` re-encoded to at most ``budget`` bytes; PermanentSendError when it cannot be."""
        ...


def message_budget(max_message_bytes: int, text: str, subject: str | None) -> int:
    """The bytes left for media once the message's text and subject are counted."""
    return max_message_bytes - len(text.encode("utf-8")) - len((subject or "").encode("utf-8"))


def share_budget(sizes: Sequence[int], budget: int) -> list[int]:
    """Each image's share of ``budget``: smaller images keep their size, larger ones share the rest equally.

    Images are taken smallest first; one no larger than an equal share of what is left keeps its
    size, and what it does not use goes to the larger ones. The shares add up to at most ``budget``.
    """
    shares = [0] * len(sizes)
    left, remaining = budget, len(sizes)
    for index in sorted(range(len(sizes)), key=lambda i: sizes[i]):
        equal = left // remaining
        shares[index] = min(sizes[index], equal)
        left -= shares[index]
        remaining -= 1
    return shares


def fitted_key(key: str, content_type: str) -> str:
    """Where the fitted copy of ``key`` is stored: beside it, ``<key>.fitted.<ext>``.

    The outbound function writes under ``outbound/`` only (its role): the copy of an original
    stored elsewhere in the bucket goes to ``outbound/fitted/<key>.fitted.<ext>``.
    """
    base = key if key.startswith(OUTBOUND_PREFIX) else f"{OUTBOUND_PREFIX}fitted/{key}"
    return f"{base}.fitted.{extension_for(content_type)}"
