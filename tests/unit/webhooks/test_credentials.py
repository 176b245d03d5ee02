"""The webhook credentials' loader: read once, kept ``max_age`` seconds, read again when forced."""

from __future__ import annotations

import json

import pytest

from mmsrelay.webhooks.basic_auth import BasicCredentials
from mmsrelay.webhooks.credentials import SecretShapeError, secret_credentials

SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:webhook-AbCdEf"


class Secret:
    """A secret whose value the test changes, counting its reads."""

    def __init__(self, value: str) -> None:
        self.value = value
        self.reads: list[str] = []

    def __call__(self, secret_id: str) -> str:
        self.reads.append(secret_id)
        return self.value


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def document(username: str, password: str) -> str:
    return json.dumps({"username": username, "password": password})


def test_the_secret_is_read_once_while_it_is_fresh_then_again() -> None:
    # Given a loader keeping the secret 300 s
    secret, clock = Secret(document("aerialink", "one")), Clock()
    load = secret_credentials(secret, SECRET, 300, clock)
    # When it is asked three times within 300 s, the secret having been rotated in between
    first = load(False)
    secret.value = document("aerialink", "two")
    clock.now += 299
    second = load(False)
    clock.now += 1
    third = load(False)
    # Then the first two answers are the cached credentials, the third the rotated ones
    assert (first, second, third) == (
        BasicCredentials("aerialink", "one"),
        BasicCredentials("aerialink", "one"),
        BasicCredentials("aerialink", "two"),
    )
    assert secret.reads == [SECRET, SECRET]


def test_force_reads_the_secret_again_and_keeps_what_it_read() -> None:
    # Given credentials loaded and the secret rotated since
    secret, clock = Secret(document("aerialink", "one")), Clock()
    load = secret_credentials(secret, SECRET, 300, clock)
    load(False)
    secret.value = document("aerialink", "two")
    # When a mismatch forces a read, Then the rotated credentials come back, and are kept
    assert load(True) == BasicCredentials("aerialink", "two")
    assert load(False) == BasicCredentials("aerialink", "two")
    assert len(secret.reads) == 2


@pytest.mark.parametrize("value", ["not json", json.dumps(["aerialink"]), json.dumps({"username": "aerialink"})])
def test_a_secret_of_another_shape_is_refused(value: str) -> None:
    # Given a secret that is no {"username", "password"} document, When it is loaded, Then it is refused
    with pytest.raises(SecretShapeError):
        secret_credentials(Secret(value), SECRET, 300, Clock())(False)
