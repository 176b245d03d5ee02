"""Phone numbers: normalisation to E.164 and masking for logs."""

from __future__ import annotations

import re

from mmsrelay.domain.errors import PermanentError

_NOT_DIGITS = re.compile(r"[\s().\-]")
_DIGITS = re.compile(r"^\+?[0-9]{3,15}$")
# Short codes (3 to 6 digits) are not E.164 numbers: they are kept as their digits.
SHORT_CODE_MAX_DIGITS = 6
# Shortest national significant number assumed when deciding whether a number already
# carries its country code (the NANP's is 10 digits; most countries' are 7 to 10).
_SHORTEST_NATIONAL = 7


class InvalidPhoneNumber(PermanentError, ValueError):
    """The value cannot be a phone number or short code."""

    default_code = "invalid_number"


def is_phone_number(raw: str) -> bool:
    """Whether ``raw`` has the shape of a number or short code (3 to 15 digits, optional +)."""
    return bool(_DIGITS.match(_NOT_DIGITS.sub("", raw)))


def to_e164(raw: str, country_code: str | int | None, national: str | None = None) -> str:  # noqa: PLR0911
    """The number in E.164 (``+<country code><national number>``), or a short code's digits.

    The gateway sends numbers in "friendly" form (``13105551212``), without a ``+``, and gives the
    sender's country code separately (``sourceCountryCode``) and sometimes the national form
    (``sourceNational``). A ``+`` means the number is already international.
    """
    cleaned = _NOT_DIGITS.sub("", raw)
    if not _DIGITS.match(cleaned):
        raise InvalidPhoneNumber("not a phone number")
    digits = cleaned.lstrip("+")
    if cleaned.startswith("+"):
        return f"+{digits}"
    if len(digits) <= SHORT_CODE_MAX_DIGITS:
        return digits
    code = str(country_code).strip() if country_code is not None else ""
    if not code.isdigit():
        return f"+{digits}"
    national_digits = _NOT_DIGITS.sub("", national or "").lstrip("+")
    if national_digits:
        if digits == code + national_digits:
            return f"+{digits}"
        if digits == national_digits:
            return f"+{code}{digits}"
    if digits.startswith(code) and len(digits) - len(code) >= _nanp_aware_minimum(code):
        return f"+{digits}"
    return f"+{code}{digits}"


def _nanp_aware_minimum(code: str) -> int:
    # In the NANP every national number has 10 digits, so "1" + 10 digits is unambiguous.
    return 10 if code == "1" else _SHORTEST_NATIONAL


def mask(number: str | None) -> str:
    """A number as logs may show it: everything but the last four digits hidden."""
    if not number:
        return ""
    digits = _NOT_DIGITS.sub("", number).lstrip("+")
    if len(digits) <= 4:
        return "*" * len(digits)
    return f"***{digits[-4:]}"
