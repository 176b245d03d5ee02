"""Short media links (``GET /m/{token}``): the token space, and what a guess, a tampered or an
expired token is answered (one answer for all of them: nothing says which, or that a link exists)."""

from __future__ import annotations

import base64
import json
import math
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from mmsrelay.domain.media import MediaLink
from mmsrelay.outbound.links import TOKEN, MediaLinkResolver, MediaLinks
from mmsrelay.outbound.links_endpoint import answer_link

ROOT = Path(__file__).resolve().parents[3]
NOW = datetime(2026, 11, 25, 17, 0, tzinfo=UTC)
BASE_URL = "https://abc123defg.execute-api.us-east-1.amazonaws.com/v1"
URL_SAFE = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


class Store:
    """The link table: what was added, and every lookup made."""

    def __init__(self) -> None:
        self.links: dict[str, MediaLink] = {}
        self.finds: list[str] = []

    def add(self, token: str, link: MediaLink, created_at: datetime) -> None:
        assert token not in self.links
        self.links[token] = link

    def find(self, token: str) -> MediaLink | None:
        self.finds.append(token)
        return self.links.get(token)


class Presigner:
    def presigned_get(self, key: str, content_type: str | None = None, bucket: str | None = None) -> str:
        return f"https://{bucket}.s3.amazonaws.com/{key}?X-Amz-Signature=abc"


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def link_setup() -> tuple[Store, Clock, MediaLinks, MediaLinkResolver]:
    store, clock = Store(), Clock()
    links = MediaLinks(store, BASE_URL, timedelta(hours=72), clock)
    return store, clock, links, MediaLinkResolver(store, Presigner(), clock)


def get(resolver: MediaLinkResolver, token: str) -> dict[str, Any]:
    event = {"httpMethod": "GET", "path": f"/v1/m/{token}", "pathParameters": {"token": token}, "headers": {}}
    return answer_link(event, resolver)


def token_of(url: str) -> str:
    return url.rsplit("/", 1)[1]


# --- the token space ------------------------------------------------------------------------------


def test_the_token_space_is_128_random_bits_as_the_docs_state() -> None:
    # Given 2,000 links made as an HTTPS send makes them
    _, _, links, _ = link_setup()
    tokens = [token_of(links.create("bucket", f"outbound/{n}.png", "image/png", "m-1")) for n in range(2000)]
    # Then each token is 22 characters of the URL-safe base64 alphabet, all 64 of them in use
    assert {len(token) for token in tokens} == {22}
    used = set("".join(tokens))
    assert used == set(URL_SAFE)
    bits_per_character = math.log2(len(used))
    # And each decodes to 16 bytes: 128 random bits (22 x 6 = 132 bits of text, the last character
    # carrying 2 of them), with no repeat among the 2,000
    assert {len(base64.urlsafe_b64decode(token + "==")) for token in tokens} == {16}
    random_bits = 16 * 8
    assert random_bits <= 22 * bits_per_character < random_bits + 6
    assert len(set(tokens)) == len(tokens)
    # And the architecture document states that space, and what guessing it would take
    architecture = (ROOT / "docs" / "architecture.md").read_text()
    assert f"{random_bits} random bits" in architecture
    assert "22 characters" in architecture
    # And the endpoint takes exactly that shape
    assert all(TOKEN.fullmatch(token) for token in tokens)


# --- guessed, tampered and expired tokens ---------------------------------------------------------


def refusals(token: str) -> list[str]:
    """Tampered forms of a real token."""
    flipped = token[:5] + ("A" if token[5] != "A" else "B") + token[6:]
    return [
        flipped,  # one character changed
        token.swapcase(),  # case changed
        token[:-1],  # one character short
        token + "A",  # one character long
        token + "==",  # base64 padding added
        token[:21] + "~",  # a character from outside the alphabet
        token[:21] + "\u0410",  # a look-alike letter (Cyrillic A)
        f"{token}%00",  # an encoded NUL after it
        f"../{token}",  # a path before it
        f"LINK#{token}",  # the item's key prefix
        f"{token} ",  # a trailing space
        "",  # nothing
        "A" * 22,  # a well-formed guess
        token[:21] + URL_SAFE[URL_SAFE.index(token[21]) ^ 1],  # another spelling of the same 16 bytes
    ]


def test_guessed_tampered_and_expired_tokens_get_one_identical_404() -> None:
    # Given a live link, and the answer a well-formed guess gets
    _, clock, links, resolver = link_setup()
    token = token_of(links.create("bucket", "outbound/labels/1.png", "image/png", "m-1"))
    unknown = get(resolver, "Q7Zk3pX9aB2cD4eFg5Hi6J")
    assert unknown["statusCode"] == 404
    # When its tampered forms are asked for, and then the link itself once it has expired
    answers = [get(resolver, tampered) for tampered in refusals(token)]
    clock.now = NOW + timedelta(hours=72)  # the expiry second itself
    answers.append(get(resolver, token))
    clock.now = NOW + timedelta(days=400)
    answers.append(get(resolver, token))
    # Then every one is the unknown token's answer, byte for byte: status, headers and body
    assert all(answer == unknown for answer in answers)
    # And that answer reveals nothing: no location, no store, nothing about the link
    assert unknown["headers"] == {"Content-Type": "application/json", "Cache-Control": "no-store"}
    assert json.loads(unknown["body"]) == {"error": "not_found"}


def test_a_live_link_redirects_without_caching_or_referrer() -> None:
    _, clock, links, resolver = link_setup()
    token = token_of(links.create("bucket", "outbound/labels/1.png", "image/png", "m-1"))
    clock.now = NOW + timedelta(hours=72) - timedelta(seconds=1)
    answer = get(resolver, token)
    assert answer["statusCode"] == 302
    assert answer["headers"]["Location"].startswith("https://bucket.s3.amazonaws.com/outbound/labels/1.png?")
    assert answer["headers"]["Cache-Control"] == "no-store"
    assert answer["headers"]["Referrer-Policy"] == "no-referrer"
    assert answer["body"] == ""


def test_a_token_spelt_differently_for_the_same_bytes_is_another_token() -> None:
    # Given a token, and a spelling whose last character differs in bits base64 ignores
    _, _, links, resolver = link_setup()
    token = token_of(links.create("bucket", "outbound/1.png", "image/png", "m-1"))
    respelt = refusals(token)[-1]
    assert respelt != token
    assert base64.urlsafe_b64decode(respelt + "==") == base64.urlsafe_b64decode(token + "==")
    # Then it is not the link: tokens are compared as text, never decoded
    assert get(resolver, respelt)["statusCode"] == 404
    assert get(resolver, token)["statusCode"] == 302


def test_only_a_well_formed_token_costs_a_lookup() -> None:
    # Given a live link
    store, _, links, resolver = link_setup()
    token = token_of(links.create("bucket", "outbound/1.png", "image/png", "m-1"))
    # When every tampered form is asked for
    for tampered in refusals(token):
        get(resolver, tampered)
    # Then the table was asked only for those of the token's shape
    assert store.finds == [t for t in refusals(token) if re.fullmatch(r"[A-Za-z0-9_-]{22}", t)]
    assert len(store.finds) == 4  # one character changed, case changed, the guess, the respelling
