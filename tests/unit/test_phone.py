import pytest

from mmsrelay.domain.phone import InvalidPhoneNumber, is_phone_number, mask, to_e164


@pytest.mark.parametrize(
    ("raw", "country_code", "national", "expected"),
    [
        pytest.param("13105551212", "1", None, "+13105551212", id="nanp-friendly-11-digits"),
        pytest.param("3105551212", "1", None, "+13105551212", id="nanp-national-10-digits"),
        pytest.param("+13105551212", "44", None, "+13105551212", id="plus-wins-over-country-code"),
        pytest.param("(310) 555-1212", 1, None, "+13105551212", id="punctuation-removed"),
        pytest.param("447700900123", "44", None, "+447700900123", id="uk-with-code"),
        pytest.param("7700900123", "44", None, "+447700900123", id="uk-national"),
        pytest.param("447700900123", "44", "7700900123", "+447700900123", id="national-confirms-code"),
        pytest.param("7700900123", "44", "7700900123", "+447700900123", id="national-equals-number"),
        pytest.param("12345", "1", None, "12345", id="short-code-kept"),
        pytest.param("13105551212", None, None, "+13105551212", id="no-country-code"),
        pytest.param("13105551212", "x", None, "+13105551212", id="non-numeric-country-code"),
    ],
)
def test_numbers_are_normalised_to_e164(
    raw: str, country_code: str | None, national: str | None, expected: str
) -> None:
    assert to_e164(raw, country_code, national) == expected


@pytest.mark.parametrize("raw", ["", "hello", "12", "+1234567890123456", "1310555121a", "++1310"])
def test_values_that_are_not_numbers_are_refused(raw: str) -> None:
    assert not is_phone_number(raw)
    with pytest.raises(InvalidPhoneNumber):
        to_e164(raw, "1")


def test_masking_keeps_only_the_last_four_digits() -> None:
    assert mask("+13105551212") == "***1212"
    assert mask("1212") == "****"
    assert mask(None) == ""
    assert "310555" not in mask("+13105551212")
