"""Numbers: the library's parse and the webhooks' fast path give one answer on one table of cases."""

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import mmsrelay
from mmsrelay.domain.phone import InvalidPhoneNumber, is_phone_number, is_short_code, mask, parse_number, to_e164

REFUSED = None

# (value, country code the reader assumes, answer): what every parser of numbers here must say.
# The gateway's friendly form (country code in front, no +), producers' E.164 and national forms,
# trunk prefixes, short codes, and values that cannot be numbers.
CASES = [
    pytest.param("13105551212", "1", "+13105551212", id="nanp-friendly-11-digits"),
    pytest.param("3105551212", "1", "+13105551212", id="nanp-national-10-digits"),
    pytest.param("+13105551212", "44", "+13105551212", id="plus-wins-over-country-code"),
    pytest.param("(310) 555-1212", 1, "+13105551212", id="punctuation-removed"),
    pytest.param("+1 310 555 1212", "1", "+13105551212", id="spaces-removed"),
    pytest.param("13105551212", None, "+13105551212", id="no-country-code-digits-are-international"),
    pytest.param("447700900123", "44", "+447700900123", id="uk-friendly"),
    pytest.param("7700900123", "44", "+447700900123", id="uk-national-without-trunk-prefix"),
    pytest.param("07700900123", "44", "+447700900123", id="uk-trunk-prefix-dropped"),
    pytest.param("+4407700900123", "1", "+447700900123", id="uk-trunk-prefix-after-plus-44"),
    pytest.param("447700900123", None, "+447700900123", id="uk-no-country-code"),
    pytest.param("0612345678", "33", "+33612345678", id="france-trunk-prefix-dropped"),
    pytest.param("06123456", "39", "+3906123456", id="italy-keeps-its-leading-0"),
    pytest.param("88005553535", "7", "+78005553535", id="russia-trunk-prefix-8"),
    pytest.param("011447700900123", "1", "+447700900123", id="nanp-international-prefix-011"),
    pytest.param("13235550100", "1", "+13235550100", id="the-simulators-destination"),
    pytest.param("12223334444", "1", "+12223334444", id="unassigned-area-code-is-possible-so-kept"),
    pytest.param("12345", "1", "12345", id="short-code-5-digits"),
    pytest.param("123456", "44", "123456", id="short-code-6-digits"),
    pytest.param("5551212", "1", REFUSED, id="nanp-7-digits-is-local-only"),
    pytest.param("1234", "1", REFUSED, id="4-digits"),
    pytest.param("310555121", "1", REFUSED, id="nanp-9-digits"),
    pytest.param("+1310555121", "1", REFUSED, id="plus-1-and-9-digits"),
    pytest.param("770090012345678", "44", REFUSED, id="too-long-for-the-uk"),
    pytest.param("+999123456789", "1", REFUSED, id="unknown-country-code"),
    pytest.param("07700900123", "999", REFUSED, id="unknown-assumed-country-code"),
    pytest.param("1234567890123456", "1", REFUSED, id="more-than-15-digits"),
    pytest.param("", "1", REFUSED, id="empty"),
    pytest.param("hello", "1", REFUSED, id="letters"),
    pytest.param("1310555121a", "1", REFUSED, id="a-letter-inside"),
    pytest.param("++13105551212", "1", REFUSED, id="two-pluses"),
]


@pytest.mark.parametrize("parse", [parse_number, to_e164], ids=["library", "fast-path"])
@pytest.mark.parametrize(("raw", "country_code", "expected"), CASES)
def test_both_parsers_give_the_tables_answer(
    parse: object, raw: str, country_code: str | None, expected: str | None
) -> None:
    assert callable(parse)
    # Given a value and the country code it is read in
    if expected is REFUSED:
        # When it cannot be a number, Then both refuse it, saying why
        with pytest.raises(InvalidPhoneNumber, match=r"\w"):
            parse(raw, country_code)
    else:
        # When it can, Then both give the same E.164 number (or the short code's digits)
        assert parse(raw, country_code) == expected


@given(
    prefix=st.sampled_from(["", "1", "+1"]),
    area=st.integers(0, 999),
    line=st.integers(0, 9_999_999),
    country_code=st.sampled_from(["1", None]),
    separator=st.sampled_from(["", " ", "-", "."]),
)
def test_the_fast_path_answers_every_north_american_number_as_the_library_does(
    prefix: str, area: int, line: int, country_code: str | None, separator: str
) -> None:
    # Given any ten digits written with or without 1 / +1: NANP numbers (the fast path's own ground)
    # and values that only look like them (an area code starting 0 or 1, e.g. the 011 prefix)
    raw = f"{prefix}{area:03d}{separator}{line:07d}"
    if country_code is None and prefix == "":
        country_code = "1"  # without a country code, ten digits are not a NANP number
    # When both parse it, Then they agree: the same number, or the same refusal
    assert answer(to_e164, raw, country_code) == answer(parse_number, raw, country_code)


def answer(parse: Callable[[str, str | None], str], raw: str, country_code: str | None) -> str:
    try:
        return parse(raw, country_code)
    except InvalidPhoneNumber as refused:
        return f"refused: {refused}"


def test_the_fast_path_does_not_load_the_library_for_the_gateways_usual_numbers() -> None:
    # Given a fresh interpreter, When the webhook's usual numbers are parsed on the fast path
    script = (
        "import sys; from mmsrelay.domain.phone import to_e164;"
        "assert to_e164('13105551212', '1') == '+13105551212';"
        "assert to_e164('+13235550100', '44') == '+13235550100';"
        "assert to_e164('12345', '1') == '12345';"
        "print('phonenumbers' in sys.modules)"
    )
    layer = str(Path(mmsrelay.__file__).parents[1])
    loaded = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": layer},
    )
    # Then the library (about 85 ms to import) was never imported
    assert loaded.stdout.strip() == "False"


def test_a_refusal_says_what_is_wrong_without_the_number() -> None:
    with pytest.raises(InvalidPhoneNumber) as refused:
        parse_number("5551212", "1")
    assert str(refused.value) == "a local number: add its area code"
    with pytest.raises(InvalidPhoneNumber) as refused:
        parse_number("310555121", "1")
    assert str(refused.value) == "too short for a number of country code 1"
    assert "5551212" not in str(refused.value)


@pytest.mark.parametrize("raw", ["", "hello", "12", "+1234567890123456", "1310555121a", "++1310"])
def test_values_that_are_not_numbers_do_not_have_a_numbers_shape(raw: str) -> None:
    assert not is_phone_number(raw)


def test_short_codes_are_5_or_6_digits() -> None:
    assert is_short_code("12345")
    assert is_short_code("123456")
    assert not is_short_code("1234")
    assert not is_short_code("+12345")
    assert not is_short_code("1234567")


def test_masking_keeps_only_the_last_four_digits() -> None:
    assert mask("+13105551212") == "***1212"
    assert mask("1212") == "****"
    assert mask(None) == ""
    assert "310555" not in mask("+13105551212")


@pytest.mark.parametrize("parse", [parse_number, to_e164], ids=["library", "fast-path"])
@pytest.mark.parametrize(
    "country_code",
    ["\u00b3", "\u0663", "9" * 5000, "1234", "0" * 5000],
    ids=["superscript", "arabic-indic", "5000-digits", "4-digits", "zeros"],
)
def test_a_country_code_that_cannot_be_one_is_no_country_code(parse: Callable[..., str], country_code: str) -> None:
    # Given a country code that is not 1 to 3 ASCII digits (found by make fuzz: "³" and a 5,000-digit
    # sourceCountryCode made int() fail, a 500 on /inbound), When a number is read with it
    # Then the number is read as if no country code were given: its digits start with their own
    assert parse("13105551212", country_code) == "+13105551212"
    assert parse("+447700900123", country_code) == "+447700900123"
