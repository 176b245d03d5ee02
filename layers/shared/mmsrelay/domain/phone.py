"""Phone numbers: parsing to E.164 (short codes kept as digits), and masking for logs.

Two ways in, one answer:

- :func:`parse_number` parses with the maintained library (``phonenumbers``, its lite build):
  trunk prefixes handled (``07700900123`` with country code 44 is ``+447700900123``), impossible
  numbers refused with the reason (too short, too long, a local number without its area code, an
  unknown country code). The query API's ``{number}`` and the command line go this way.
- :func:`to_e164` answers North American numbers and short codes by hand and hands anything else
  to :func:`parse_number`. Importing the library costs about 85 ms of cold start, which the
  functions with a cold-start target (the webhooks, the outbound function: docs/decisions.md)
  would otherwise pay for their common case, the gateway's and producers' NANP numbers.
  ``tests/unit/test_phone.py`` runs both over one table of cases, and over random ten-digit
  values with and without 1 / +1, and they must give the same answer.

A short code is 5 or 6 digits written without ``+``; it is kept as its digits (it has no E.164
form). Numbers without ``+`` are read in the country of ``country_code`` (national form, with or
without the trunk prefix, or with the country code in front as the gateway's "friendly" form
writes it); ``country_code=None`` means the digits already start with their country code.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from mmsrelay.domain.errors import PermanentError

if TYPE_CHECKING:
    from phonenumbers import PhoneNumber

_NOT_DIGITS = re.compile(r"[\s().\-]")
_DIGITS = re.compile(r"^\+?[0-9]{3,15}$")
_NUMBER = re.compile(r"\+?[0-9]+")
# North American numbers (country code 1): an area code and a number, each starting 2-9 in their
# first digit, optionally after 1 or +1. The library gives the same answer for every such value.
_NANP = re.compile(r"(?:\+?1)?([2-9][0-9]{9})")
SHORT_CODE_DIGITS = range(5, 7)  # 5 or 6 digits
MAX_CALLING_CODE_DIGITS = 3
_ASCII_DIGITS = re.compile(r"[0-9]+")
MAX_DIGITS = 15  # E.164


class InvalidPhoneNumber(PermanentError, ValueError):
    """The value cannot be a phone number or short code; the message says why (never the value)."""

    default_code = "invalid_number"


def is_phone_number(raw: str) -> bool:
    """Whether ``raw`` has the shape of a number or short code (3 to 15 digits, optional +)."""
    return bool(_DIGITS.match(_NOT_DIGITS.sub("", raw)))


def is_short_code(raw: str) -> bool:
    cleaned = _NOT_DIGITS.sub("", raw)
    return cleaned.isdigit() and len(cleaned) in SHORT_CODE_DIGITS


def to_e164(raw: str, country_code: str | int | None) -> str:
    """The number in E.164, or a short code's digits: the fast path (see the module's docstring)."""
    cleaned = _cleaned(raw)
    if cleaned.isdigit() and len(cleaned) in SHORT_CODE_DIGITS:
        return cleaned
    nanp = _NANP.fullmatch(cleaned)
    if nanp is not None and _reads_as_nanp(cleaned, _country_code(country_code)):
        return f"+1{nanp.group(1)}"
    return parse_number(raw, country_code)


def _reads_as_nanp(cleaned: str, code: int | None) -> bool:
    """Whether a NANP-shaped value is read in country code 1: written +1, or without + where the
    country code is 1 (or, with none given, where the digits start with 1)."""
    if cleaned.startswith("+"):
        return cleaned.startswith("+1")
    return code == 1 or (code is None and cleaned.startswith("1"))


def parse_number(raw: str, country_code: str | int | None) -> str:
    """The number in E.164, or a short code's digits, parsed by the library; ``InvalidPhoneNumber``
    says why a value is refused."""
    cleaned = _cleaned(raw)
    if cleaned.isdigit() and len(cleaned) in SHORT_CODE_DIGITS:
        return cleaned
    import phonenumbers  # noqa: PLC0415 - about 85 ms: only when a number needs it

    code = _country_code(country_code)
    region = None
    if not cleaned.startswith("+"):
        if code is None:
            cleaned = f"+{cleaned}"
        else:
            region = phonenumbers.region_code_for_country_code(code)
            if region == phonenumbers.UNKNOWN_REGION:
                raise InvalidPhoneNumber(f"{code} is not a country calling code")
    try:
        number = phonenumbers.parse(cleaned, region)
    except phonenumbers.NumberParseException as error:
        raise InvalidPhoneNumber(_parse_problem(error.error_type)) from None
    _check_possible(number)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _parse_problem(error_type: int) -> str:
    from phonenumbers import NumberParseException as Refused  # noqa: PLC0415 - see parse_number

    problems = {
        Refused.INVALID_COUNTRY_CODE: "unknown country calling code",
        Refused.TOO_SHORT_AFTER_IDD: "too short after the international prefix",
        Refused.TOO_SHORT_NSN: "too short to be a phone number",
        Refused.TOO_LONG: "too long to be a phone number",
    }
    return problems.get(error_type, "not a phone number")


def _check_possible(number: PhoneNumber) -> None:
    import phonenumbers  # noqa: PLC0415 - see parse_number

    reason = phonenumbers.is_possible_number_with_reason(number)
    if reason == phonenumbers.ValidationResult.IS_POSSIBLE:
        return
    code = number.country_code
    problems = {
        phonenumbers.ValidationResult.IS_POSSIBLE_LOCAL_ONLY: "a local number: add its area code",
        phonenumbers.ValidationResult.INVALID_COUNTRY_CODE: "unknown country calling code",
        phonenumbers.ValidationResult.TOO_SHORT: f"too short for a number of country code {code}",
        phonenumbers.ValidationResult.TOO_LONG: f"too long for a number of country code {code}",
    }
    raise InvalidPhoneNumber(problems.get(reason, f"not a possible length for a number of country code {code}"))


def _cleaned(raw: str) -> str:
    cleaned = _NOT_DIGITS.sub("", raw.strip())
    if not _NUMBER.fullmatch(cleaned):
        raise InvalidPhoneNumber("not a phone number: digits, an optional leading + and separators only")
    if len(cleaned.lstrip("+")) > MAX_DIGITS:
        raise InvalidPhoneNumber(f"longer than {MAX_DIGITS} digits")
    return cleaned


def _country_code(country_code: str | int | None) -> int | None:
    """The country calling code, or None for none: a value that is not 1 to 3 ASCII digits (leading
    zeros aside) is none (``str.isdigit`` also takes "³" and "٣", which ``int()`` refuses or misreads)."""
    text = str(country_code).strip() if country_code is not None else ""
    if not _ASCII_DIGITS.fullmatch(text):
        return None
    significant = text.lstrip("0")
    if not significant or len(significant) > MAX_CALLING_CODE_DIGITS:
        return None
    return int(significant)


def mask(number: str | None) -> str:
    """A number as logs may show it: everything but the last four digits hidden."""
    if not number:
        return ""
    digits = _NOT_DIGITS.sub("", number).lstrip("+")
    if len(digits) <= 4:
        return "*" * len(digits)
    return f"***{digits[-4:]}"
