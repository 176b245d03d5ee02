"""The send-rate bench's bursts and the baseline it judges reading ahead by."""

from collections import Counter

import pytest

from bench.outbound_stack import RATE_CODES, RATE_JOBS, RATE_TOTAL, interleaved_codes, read_in_order, shuffled_codes


def test_every_second_of_the_interleaved_burst_holds_each_code_at_its_rate() -> None:
    codes = interleaved_codes(11)
    block = round(RATE_TOTAL)
    assert len(codes) >= RATE_JOBS
    assert len(codes) % block == 0
    for start in range(0, len(codes), block):
        assert Counter(codes[start : start + block]) == {code: round(rate) for code, rate in RATE_CODES.items()}


def test_the_shuffled_burst_is_in_proportion_overall() -> None:
    counts = Counter(shuffled_codes(11))
    assert counts == {code: round(RATE_JOBS * rate / RATE_TOTAL) for code, rate in RATE_CODES.items()}


def test_read_in_order_gives_every_code_its_rate_when_the_order_allows_it() -> None:
    rates = read_in_order(interleaved_codes(11))
    for code, configured in RATE_CODES.items():
        assert rates[code] == pytest.approx(configured, rel=0.01)


def test_read_in_order_shows_a_code_held_back_by_its_sparse_stretch() -> None:
    small = min(RATE_CODES, key=RATE_CODES.__getitem__)
    codes = interleaved_codes(11)
    # Move half of the small code's jobs from the first half of the queue to its end.
    half = len(codes) // 2
    moved = [n for n, code in enumerate(codes[:half]) if code == small][::2]
    sparse = [code for n, code in enumerate(codes) if n not in set(moved)] + [small] * len(moved)
    assert read_in_order(sparse)[small] < 0.9 * RATE_CODES[small]
