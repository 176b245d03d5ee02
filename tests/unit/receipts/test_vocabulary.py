"""The design table: every receipt word and code maps to exactly one status (or to none)."""

import pytest

from mmsrelay.domain.status import RANK
from mmsrelay.receipts.vocabulary import (
    AERIALINK_CODES,
    CARRIER_EVENTS,
    MM4_READ_STATUSES,
    MM4_STATUS_CODES,
    SMPP_STATES,
    VOCABULARIES,
    normalise,
)

# (word or code, status, rank): the project's design document, written out independently of the module.
TABLE = [
    ("10000", "sent", 2),
    ("20000", "sent", 2),
    ("ENROUTE", "enroute", 3),
    ("30000", "enroute", 3),
    ("Forwarded", "enroute", 3),
    ("Deferred", "enroute", 3),
    ("Indeterminate", "enroute", 3),
    ("ACCEPTD", "accepted", 3),
    ("40000", "accepted", 3),
    ("DELIVRD", "delivered", 5),
    ("Retrieved", "delivered", 5),
    ("40001", "delivered", 5),
    ("Deleted-without-being-read", "delivered", 5),
    ("UNDELIV", "undelivered", 5),
    ("EXPIRED", "expired", 5),
    ("Expired", "expired", 5),
    ("REJECTD", "rejected", 5),
    ("Rejected", "rejected", 5),
    ("30004", "rejected", 5),
    ("DELETED", "failed", 5),
    ("30003", "failed", 5),
    ("Unrecognised", "failed", 5),
    ("Unrecognized", "failed", 5),
    ("smppStatusCode", "failed", 5),
    ("Read", "read", 6),
]
KNOWN_WITHOUT_STATUS = ["UNKNOWN"]


def _variants(word: str) -> list[str]:
    return sorted({word, word.lower(), word.upper(), word.swapcase(), f"  {word}\t", f"\n{word.lower()} "})


CASES = [(variant, status) for word, status, _ in TABLE for variant in _variants(word)]


@pytest.mark.parametrize(("word", "status"), CASES)
def test_each_word_and_code_maps_as_the_table_says(word: str, status: str) -> None:
    # Given a word or code in any case, with whitespace around it
    # When it is normalised
    # Then it gives the table's status
    assert normalise(word) == status


@pytest.mark.parametrize(("word", "status", "rank"), TABLE)
def test_each_status_has_the_tables_rank(word: str, status: str, rank: int) -> None:
    normalised = normalise(word)
    assert normalised is not None
    assert RANK[normalised] == rank


def test_every_vocabulary_entry_is_in_the_table_and_nothing_else() -> None:
    # Given the module's vocabularies
    entries = {word: status for vocabulary in VOCABULARIES for word, status in vocabulary.items()}
    # Then they hold exactly the table's words (and the known-but-meaningless ones), no more, no less
    assert entries == {word: status for word, status, _ in TABLE} | dict.fromkeys(KNOWN_WITHOUT_STATUS)


@pytest.mark.parametrize(
    ("code", "status"), [(10000, "sent"), (30000, "enroute"), (40001, "delivered"), (30004, "rejected")]
)
def test_numeric_codes_match_as_ints(code: int, status: str) -> None:
    assert normalise(code) == status


@pytest.mark.parametrize("code", [" 040001 ", "0040001"])
def test_numeric_codes_ignore_leading_zeros(code: str) -> None:
    assert normalise(code) == "delivered"


@pytest.mark.parametrize(
    "word", ["Deleted without being read", "deleted_without_being_read", "DELETED - WITHOUT - BEING - READ"]
)
def test_separators_inside_a_word_are_equivalent(word: str) -> None:
    assert normalise(word) == "delivered"


@pytest.mark.parametrize(
    "word",
    ["UNKNOWN", "unknown", "", "   ", "DELIVERED", "Delivered!", "30001", "99999", "4000", "stat:DELIVRD", "read it"],
)
def test_unknown_or_meaningless_words_map_to_no_status(word: str) -> None:
    assert normalise(word) is None


@pytest.mark.parametrize("value", [0, -40001, True])
def test_unknown_ints_and_booleans_map_to_no_status(value: int) -> None:
    assert normalise(value) is None


def test_a_narrowed_vocabulary_ignores_the_other_tables() -> None:
    # Given MM4 status codes and read statuses, which are separate headers
    # Then a read status is not a delivery-report status, nor the other way round
    assert normalise("Read", MM4_STATUS_CODES) is None
    assert normalise("Retrieved", MM4_READ_STATUSES) is None
    assert normalise("DELIVRD", MM4_STATUS_CODES) is None
    assert normalise(" retrieved ", MM4_STATUS_CODES) == "delivered"
    assert normalise("deleted without being read", MM4_READ_STATUSES) == "delivered"


def test_each_table_holds_its_own_kind_of_word() -> None:
    assert set(SMPP_STATES) == {"ENROUTE", "DELIVRD", "EXPIRED", "DELETED", "UNDELIV", "ACCEPTD", "UNKNOWN", "REJECTD"}
    assert set(AERIALINK_CODES) == {"10000", "20000", "30000", "30003", "30004", "40000", "40001"}
    assert set(MM4_READ_STATUSES) == {"Read", "Deleted-without-being-read"}
    assert set(CARRIER_EVENTS) == {"smppStatusCode"}


@pytest.mark.parametrize(
    ("code", "status"),
    [("040001", "delivered"), ("0000040001", "delivered"), ("9" * 5000, None), ("0" * 5000, None), ("²", None)],
    ids=["a-leading-zero", "leading-zeros", "5000-digits", "5000-zeros", "a-superscript-digit"],
)
def test_a_numeric_code_of_any_length_is_looked_up_without_failing(code: str, status: str | None) -> None:
    # Given a state code with leading zeros, or longer than int() reads (found by make fuzz: a 500 on
    # POST /dlr with a 5,000-digit status), When it is normalised, Then it is a known code or none
    assert normalise(code) == status
