"""A message's byte budget, how its images share it, and where fitted copies are stored."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mmsrelay.outbound.fitting import fitted_key, message_budget, share_budget


def test_the_text_and_subject_count_against_the_limit() -> None:
    assert message_budget(1000, "héllo", "hi") == 1000 - 6 - 2
    assert message_budget(1000, "", None) == 1000


def test_small_images_keep_their_size_and_the_large_ones_share_the_rest() -> None:
    assert share_budget([100, 5000, 5000], 3000) == [100, 1450, 1450]
    assert share_budget([400, 400], 3000) == [400, 400]


@given(st.lists(st.integers(min_value=1, max_value=10**7), min_size=1, max_size=10), st.integers(1, 10**7))
def test_shares_never_add_up_to_more_than_the_budget(sizes: list[int], budget: int) -> None:
    shares = share_budget(sizes, budget)
    assert sum(shares) <= budget
    assert all(share <= size for share, size in zip(shares, sizes, strict=True))


@pytest.mark.parametrize(
    ("key", "content_type", "expected"),
    [
        ("outbound/labels/1234.png", "image/jpeg", "outbound/labels/1234.png.fitted.jpg"),
        ("outbound/labels/1234.png", "image/png", "outbound/labels/1234.png.fitted.png"),
        ("inbound/2026/11/25/GUID/0.jpg", "image/jpeg", "outbound/fitted/inbound/2026/11/25/GUID/0.jpg.fitted.jpg"),
    ],
)
def test_a_fitted_copy_is_stored_beside_its_original_under_outbound(key: str, content_type: str, expected: str) -> None:
    assert fitted_key(key, content_type) == expected
