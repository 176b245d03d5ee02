import pytest

from mmsrelay.webhooks.basic_auth import BasicAuthVerifier, BasicCredentials, encode_basic
from mmsrelay.webhooks.errors import Unauthorized

STORED = BasicCredentials("aerialink", "s3cret-value")


class Loader:
    """Returns the stored credentials, recording whether each call forced a refresh."""

    def __init__(self, *answers: BasicCredentials) -> None:
        self.answers = list(answers)
        self.calls: list[bool] = []

    def __call__(self, force: bool) -> BasicCredentials:
        self.calls.append(force)
        return self.answers[min(len(self.calls) - 1, len(self.answers) - 1)]


def test_the_right_credentials_pass_without_refreshing() -> None:
    loader = Loader(STORED)
    BasicAuthVerifier(loader).verify(encode_basic("aerialink", "s3cret-value"))
    assert loader.calls == [False]


@pytest.mark.parametrize(
    "header",
    [
        pytest.param(None, id="missing"),
        pytest.param("", id="empty"),
        pytest.param("Bearer abc", id="other-scheme"),
        pytest.param("Basic", id="no-token"),
        pytest.param("Basic !!!", id="not-base64"),
        pytest.param("Basic " + "YWVyaWFsaW5r", id="no-colon"),
        pytest.param(encode_basic("aerialink", "wrong"), id="wrong-password"),
        pytest.param(encode_basic("someone", "s3cret-value"), id="wrong-user"),
        pytest.param(encode_basic("aerialink", "s3cret-value "), id="trailing-space"),
        pytest.param(encode_basic("aerialink", ""), id="empty-password"),
    ],
)
def test_anything_else_is_unauthorized(header: str | None) -> None:
    with pytest.raises(Unauthorized):
        BasicAuthVerifier(Loader(STORED), clock=lambda: 0.0).verify(header)


def test_a_rotated_secret_is_picked_up_after_one_mismatch() -> None:
    # Given a cached copy that predates a rotation
    rotated = BasicCredentials("aerialink", "new-value")
    loader = Loader(STORED, rotated, rotated)
    verifier = BasicAuthVerifier(loader, clock=lambda: 1000.0)
    # When the gateway sends the new password
    verifier.verify(encode_basic("aerialink", "new-value"))
    # Then the verifier fetched the secret again (forced) and accepted it
    assert loader.calls == [False, True]


def test_wrong_guesses_do_not_refresh_more_than_once_a_minute() -> None:
    loader = Loader(STORED)
    now = [1000.0]
    verifier = BasicAuthVerifier(loader, clock=lambda: now[0])
    for _ in range(5):
        with pytest.raises(Unauthorized):
            verifier.verify(encode_basic("aerialink", "guess"))
    assert loader.calls.count(True) == 1
    now[0] += 61
    with pytest.raises(Unauthorized):
        verifier.verify(encode_basic("aerialink", "guess"))
    assert loader.calls.count(True) == 2


def test_credentials_compare_both_parts() -> None:
    assert STORED.matches("aerialink", "s3cret-value")
    assert not STORED.matches("aerialink", "s3cret-valuf")
    assert not STORED.matches("aerialinj", "s3cret-value")
