"""The SSRF guard: hostile URLs in every spelling are refused with a precise reason."""

import ipaddress
import socket
from collections.abc import Mapping, Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mmsrelay.domain.errors import BlockedMediaUrl, MediaError, PermanentError, TransientError, TransientMediaError
from mmsrelay.media.url_guard import (
    FetchPolicy,
    IPAddress,
    ParsedTarget,
    check_url,
    is_public_address,
    parse_ipv4_literal,
    resolve_and_check,
)

PUBLIC_V4 = "52.94.236.248"
PUBLIC_V6 = "2600:1f18:4a3:6900::1"


class FakeResolver:
    """Answers from a table and records its calls; unknown names fail like getaddrinfo does."""

    def __init__(self, answers: Mapping[str, Sequence[str]]) -> None:
        self.answers = answers
        self.calls: list[tuple[str, int]] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append((host, port))
        if host not in self.answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return list(self.answers[host])


def explode(host: str, port: int) -> list[str]:
    """A resolver that must not be called (IP literals are never resolved)."""
    raise AssertionError(f"resolver called for {host}:{port}")


RESOLVER_TABLE: Mapping[str, Sequence[str]] = {
    "mms.aerialink.net": [PUBLIC_V4, PUBLIC_V6],
    "a.media.aerialink.net": [PUBLIC_V4],
    "169.254.169.254.nip.io": ["169.254.169.254"],
    "rebind.media.aerialink.net": [PUBLIC_V4, "10.0.0.1"],
    "rebind6.media.aerialink.net": [PUBLIC_V6, "fd12:3456::1"],
    "loopback.media.aerialink.net": ["127.0.0.1"],
    "mapped.media.aerialink.net": ["::ffff:10.0.0.1"],
    "linklocal6.media.aerialink.net": ["fe80::1%eth0"],
    "cgnat.media.aerialink.net": ["100.64.0.1"],
    "nat64.media.aerialink.net": ["64:ff9b::a9fe:a9fe"],
    "sixtofour.media.aerialink.net": ["2002:a9fe:a9fe::1"],
    "sitelocal.media.aerialink.net": ["fec0::1"],
    "empty.media.aerialink.net": [],
    "localhost": ["127.0.0.1", "::1"],
    "metadata.test": ["169.254.169.254"],
    "private.test": ["10.0.0.1"],
}

STRICT = FetchPolicy(
    allowed_hosts=("mms.aerialink.net", ".media.aerialink.net", ".nip.io"),
    allow_insecure=False,
    max_bytes=10_000_000,
)
INSECURE = FetchPolicy(
    allowed_hosts=(
        "mms.aerialink.net",
        "127.0.0.1",
        "localhost",
        "169.254.169.254",
        "10.0.0.1",
        "metadata.test",
    ),
    allow_insecure=True,
    max_bytes=10_000_000,
)


def guard(url: str, policy: FetchPolicy, resolver: FakeResolver) -> list[IPAddress]:
    """The whole guard, as the fetcher applies it to every URL."""
    target = check_url(url, policy)
    return resolve_and_check(target.host, target.port, policy, resolver)


HOSTILE: list[tuple[str, FetchPolicy, type[MediaError], str]] = [
    # Malformed input
    ("", STRICT, BlockedMediaUrl, "invalid_url"),
    ("   ", STRICT, BlockedMediaUrl, "invalid_url"),
    (" https://mms.aerialink.net/x", STRICT, BlockedMediaUrl, "invalid_url"),
    ("https://mms.aerialink.net/a b", STRICT, BlockedMediaUrl, "invalid_url"),
    ("https://mms.aerialink.net/x\r\nX-Injected: 1", STRICT, BlockedMediaUrl, "invalid_url"),
    ("https://mms.aerialink.net\t/x", STRICT, BlockedMediaUrl, "invalid_url"),
    ("https://mms.aerialink.net/\x00", STRICT, BlockedMediaUrl, "invalid_url"),
    ("https://mms.aerialink.net\u200b/x", STRICT, BlockedMediaUrl, "invalid_url"),
    ("https://mms.aerialink.net\\@evil.com/", STRICT, BlockedMediaUrl, "invalid_url"),
    ("https:\\\\evil.com/", STRICT, BlockedMediaUrl, "invalid_url"),
    ("https://[::1/", STRICT, BlockedMediaUrl, "invalid_url"),
    # Schemes
    ("file:///etc/passwd", STRICT, BlockedMediaUrl, "scheme_not_allowed"),
    ("gopher://mms.aerialink.net:70/_GET", STRICT, BlockedMediaUrl, "scheme_not_allowed"),
    ("ftp://mms.aerialink.net/x.jpg", STRICT, BlockedMediaUrl, "scheme_not_allowed"),
    ("data:image/png;base64,iVBORw0KGgo=", STRICT, BlockedMediaUrl, "scheme_not_allowed"),
    ("javascript:alert(1)", STRICT, BlockedMediaUrl, "scheme_not_allowed"),
    ("//mms.aerialink.net/x.jpg", STRICT, BlockedMediaUrl, "scheme_not_allowed"),
    ("http://mms.aerialink.net/x.jpg", STRICT, BlockedMediaUrl, "scheme_not_allowed"),
    ("http://aerialink.net@169.254.169.254/", STRICT, BlockedMediaUrl, "scheme_not_allowed"),
    # Authority
    ("https:mms.aerialink.net/x", STRICT, BlockedMediaUrl, "missing_host"),
    ("https:///x", STRICT, BlockedMediaUrl, "missing_host"),
    ("https://:443/x", STRICT, BlockedMediaUrl, "missing_host"),
    ("http://aerialink.net@169.254.169.254/", INSECURE, BlockedMediaUrl, "userinfo_not_allowed"),
    ("https://mms.aerialink.net:443@evil.com/", STRICT, BlockedMediaUrl, "userinfo_not_allowed"),
    ("https://mms.aerialink.net%2f@evil.com/", STRICT, BlockedMediaUrl, "userinfo_not_allowed"),
    ("https://mms.aerialink.net:99999/", STRICT, BlockedMediaUrl, "invalid_port"),
    ("https://mms.aerialink.net:0/", STRICT, BlockedMediaUrl, "invalid_port"),
    ("https://mms.aerialink.net:-1/", STRICT, BlockedMediaUrl, "invalid_port"),
    ("https://%6d%6d%73.aerialink.net/", STRICT, BlockedMediaUrl, "invalid_host"),
    # Allow list
    ("https://evil.com#@mms.aerialink.net/", STRICT, BlockedMediaUrl, "host_not_allowed"),
    ("https://evil.com?@mms.aerialink.net/", STRICT, BlockedMediaUrl, "host_not_allowed"),
    ("https://mms.aerialink.net.evil.com/", STRICT, BlockedMediaUrl, "host_not_allowed"),
    ("https://mms.aerialink.net\u3002evil.com/", STRICT, BlockedMediaUrl, "host_not_allowed"),
    ("https://evilmms.aerialink.net/", STRICT, BlockedMediaUrl, "host_not_allowed"),
    ("https://aerialink.net/", STRICT, BlockedMediaUrl, "host_not_allowed"),
    ("https://media.aerialink.net/", STRICT, BlockedMediaUrl, "host_not_allowed"),
    ("https://xmedia.aerialink.net/", STRICT, BlockedMediaUrl, "host_not_allowed"),
    ("https://mms.aerial\u0456nk.net/", STRICT, BlockedMediaUrl, "host_not_allowed"),  # Cyrillic i
    ("https://mms.\u0430erialink.net/", STRICT, BlockedMediaUrl, "host_not_allowed"),  # Cyrillic a
    ("https://xn--mms-aerialink-net.evil.com/", STRICT, BlockedMediaUrl, "host_not_allowed"),
    ("https://localhost/", STRICT, BlockedMediaUrl, "host_not_allowed"),
    # Address literals, refused by the allow list first
    ("https://127.0.0.1/", STRICT, BlockedMediaUrl, "host_not_allowed"),
    ("https://2130706433/", STRICT, BlockedMediaUrl, "host_not_allowed"),
    ("https://0177.0.0.1/", STRICT, BlockedMediaUrl, "host_not_allowed"),
    ("https://017700000001/", STRICT, BlockedMediaUrl, "host_not_allowed"),
    ("https://0x7f.1/", STRICT, BlockedMediaUrl, "host_not_allowed"),
    ("https://127.1/", STRICT, BlockedMediaUrl, "host_not_allowed"),
    ("https://0/", STRICT, BlockedMediaUrl, "host_not_allowed"),
    ("https://169.254.169.254/latest/meta-data/", STRICT, BlockedMediaUrl, "host_not_allowed"),
    ("https://[::1]/", STRICT, BlockedMediaUrl, "host_not_allowed"),
    ("https://[::ffff:169.254.169.254]/", STRICT, BlockedMediaUrl, "host_not_allowed"),
    ("https://[fe80::1%25eth0]/", STRICT, BlockedMediaUrl, "invalid_host"),
    ("https://1.2.3.4.5/", STRICT, BlockedMediaUrl, "invalid_host"),
    ("https://256.0.0.1/", STRICT, BlockedMediaUrl, "invalid_host"),
    ("https://0x100000000/", STRICT, BlockedMediaUrl, "invalid_host"),
    # Names resolving to non-public addresses
    ("https://169.254.169.254.nip.io/", STRICT, BlockedMediaUrl, "address_not_public"),
    ("https://rebind.media.aerialink.net/", STRICT, BlockedMediaUrl, "address_not_public"),
    ("https://rebind6.media.aerialink.net/", STRICT, BlockedMediaUrl, "address_not_public"),
    ("https://loopback.media.aerialink.net/", STRICT, BlockedMediaUrl, "address_not_public"),
    ("https://mapped.media.aerialink.net/", STRICT, BlockedMediaUrl, "address_not_public"),
    ("https://linklocal6.media.aerialink.net/", STRICT, BlockedMediaUrl, "address_not_public"),
    ("https://cgnat.media.aerialink.net/", STRICT, BlockedMediaUrl, "address_not_public"),
    ("https://nat64.media.aerialink.net/", STRICT, BlockedMediaUrl, "address_not_public"),
    ("https://sixtofour.media.aerialink.net/", STRICT, BlockedMediaUrl, "address_not_public"),
    ("https://sitelocal.media.aerialink.net/", STRICT, BlockedMediaUrl, "address_not_public"),
    # Resolution failures are worth a retry
    ("https://nxdomain.media.aerialink.net/", STRICT, TransientMediaError, "dns_failure"),
    ("https://empty.media.aerialink.net/", STRICT, TransientMediaError, "dns_failure"),
]

HOSTILE_IDS = [
    "empty",
    "only-whitespace",
    "leading-space",
    "space-in-path",
    "crlf-injection",
    "tab-in-host",
    "nul",
    "zero-width-space",
    "backslash-userinfo",
    "backslash-authority",
    "unbalanced-bracket",
    "file",
    "gopher",
    "ftp",
    "data",
    "javascript",
    "scheme-relative",
    "http-when-secure",
    "http-userinfo-when-secure",
    "missing-slashes",
    "empty-host",
    "port-only",
    "userinfo-metadata",
    "userinfo-port-trick",
    "encoded-slash-userinfo",
    "port-too-big",
    "port-zero",
    "port-negative",
    "percent-encoded-host",
    "fragment-at-trick",
    "query-at-trick",
    "allowed-name-as-prefix",
    "ideographic-dot-suffix",
    "label-not-aligned",
    "parent-domain",
    "wildcard-apex",
    "wildcard-not-aligned",
    "idna-lookalike-i",
    "idna-lookalike-a",
    "punycode-other-domain",
    "localhost",
    "loopback-dotted",
    "loopback-decimal",
    "loopback-octal-dotted",
    "loopback-octal-whole",
    "loopback-hex-short",
    "loopback-short",
    "zero",
    "metadata-literal",
    "ipv6-loopback",
    "ipv6-mapped-metadata",
    "ipv6-zone-id",
    "five-parts",
    "octet-overflow",
    "number-overflow",
    "nip-io-metadata",
    "rebinding-public-and-private",
    "rebinding-v6-ula",
    "name-to-loopback",
    "name-to-mapped-private",
    "name-to-link-local-v6-with-zone",
    "name-to-cgnat",
    "name-to-nat64-metadata",
    "name-to-6to4-metadata",
    "name-to-site-local",
    "nxdomain",
    "no-answer",
]


@pytest.mark.parametrize(("url", "policy", "error", "reason"), HOSTILE, ids=HOSTILE_IDS)
def test_hostile_url_is_refused_with_its_reason(
    url: str, policy: FetchPolicy, error: type[MediaError], reason: str
) -> None:
    # Given a guard with an allow list and a fake resolver
    resolver = FakeResolver(RESOLVER_TABLE)

    # When the hostile URL goes through it
    with pytest.raises(error) as caught:
        guard(url, policy, resolver)

    # Then it is refused with exactly that type and reason
    assert type(caught.value) is error
    assert caught.value.code == reason


# Literal spellings that getaddrinfo/inet_aton would happily resolve to a non-public address.
NON_PUBLIC_LITERALS = [
    "127.0.0.1",
    "2130706433",
    "0177.0.0.1",
    "017700000001",
    "0x7f.1",
    "0X7F000001",
    "0x7f.0x0.0x0.0x1",
    "127.1",
    "127.0.1",
    "0",
    "0.0.0.0",  # noqa: S104 - a hostile literal; nothing binds here
    "10.1",
    "169.254.169.254",
    "0xa9.0xfe.0xa9.0xfe",
    "2852039166",
    "0251.0376.0251.0376",
    "100.64.0.1",
    "198.18.0.1",
    "192.0.2.1",
    "224.0.0.1",
    "255.255.255.255",
    "[::1]",
    "[::]",
    "[::ffff:169.254.169.254]",
    "[::ffff:a9fe:a9fe]",
    "[::ffff:127.0.0.1]",
    "[::127.0.0.1]",
    "[64:ff9b::a9fe:a9fe]",
    "[64:ff9b:1::808:808]",
    "[2002:a9fe:a9fe::1]",
    "[2001:0:4136:e378:8000:63bf:3fff:fdd2]",
    "[fec0::1]",
    "[fc00::1]",
    "[fd00:ec2::254]",
    "[fe80::1]",
    "[ff02::1]",
    "[2001:db8::1]",
]


@pytest.mark.parametrize("literal", NON_PUBLIC_LITERALS)
def test_non_public_literal_is_refused_even_when_on_the_allow_list(literal: str) -> None:
    # Given a policy that (wrongly) allows the literal itself
    policy = FetchPolicy(allowed_hosts=(literal,), allow_insecure=False, max_bytes=1)

    # When a URL uses it
    target = check_url(f"https://{literal}/", policy)
    with pytest.raises(BlockedMediaUrl) as caught:
        resolve_and_check(target.host, target.port, policy, explode)

    # Then the allow list let it through, and the address check refuses it without any resolver
    assert caught.value.code == "address_not_public"


@pytest.mark.parametrize("spelling", ["0x7f.1", "2130706433", "017700000001", "127.1", "[::1]", "::1"])
def test_resolve_and_check_parses_literal_spellings_itself(spelling: str) -> None:
    # Given a raw literal spelling handed straight to the address check
    # When it is checked
    with pytest.raises(BlockedMediaUrl) as caught:
        resolve_and_check(spelling, 443, STRICT, explode)

    # Then it is recognised as loopback and refused
    assert caught.value.code == "address_not_public"


@pytest.mark.parametrize(
    ("url", "host", "port", "path"),
    [
        ("https://MMS.AeriaLink.NET./m/1.jpg?t=abc#frag", "mms.aerialink.net", 443, "/m/1.jpg?t=abc"),
        ("https://mms.aerialink.net", "mms.aerialink.net", 443, "/"),
        ("https://a.media.aerialink.net:8443/x/é.png", "a.media.aerialink.net", 8443, "/x/%C3%A9.png"),
        ("https://\uff4d\uff4d\uff53.aerialink.net/x", "mms.aerialink.net", 443, "/x"),
    ],
    ids=["normalised", "no-path", "subdomain-port-unicode-path", "fullwidth-idna"],
)
def test_allowed_url_resolving_to_public_addresses_passes(url: str, host: str, port: int, path: str) -> None:
    # Given an allowed host that resolves to public addresses only
    resolver = FakeResolver(RESOLVER_TABLE)

    # When the URL is checked and resolved
    target = check_url(url, STRICT)
    addresses = resolve_and_check(target.host, target.port, STRICT, resolver)

    # Then the target is normalised and the public addresses come back
    assert target == ParsedTarget(scheme="https", host=host, port=port, path=path)
    assert addresses
    assert all(is_public_address(address) for address in addresses)
    assert resolver.calls == [(host, port)]


def test_insecure_mode_allows_plain_http_to_loopback() -> None:
    # Given insecure mode (the local test stack)
    resolver = FakeResolver(RESOLVER_TABLE)

    # When http URLs to loopback are checked
    literal = guard("http://127.0.0.1:8123/media/1.jpg", INSECURE, resolver)
    named = guard("http://localhost:8123/media/1.jpg", INSECURE, resolver)

    # Then they pass, with the loopback addresses
    assert literal == [ipaddress.ip_address("127.0.0.1")]
    assert named == [ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")]


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/",
        "http://metadata.test/",
        "http://[::ffff:169.254.169.254]/",
    ],
)
def test_insecure_mode_still_refuses_everything_but_loopback(url: str) -> None:
    # Given insecure mode with the targets (wrongly) on the allow list
    policy = FetchPolicy(
        allowed_hosts=(*INSECURE.allowed_hosts, "::ffff:169.254.169.254"), allow_insecure=True, max_bytes=1
    )

    # When a metadata-service or private address is checked
    with pytest.raises(BlockedMediaUrl) as caught:
        guard(url, policy, FakeResolver(RESOLVER_TABLE))

    # Then it is refused as non-public
    assert caught.value.code == "address_not_public"


def test_policy_parses_a_comma_separated_host_list() -> None:
    # Given a host list as it comes from configuration
    # When it is parsed
    policy = FetchPolicy.from_host_list(
        " MMS.Aerialink.NET , .Media.Aerialink.net.,, ", allow_insecure=False, max_bytes=5
    )

    # Then entries are normalised, empties dropped, wildcards kept
    assert policy.allowed_hosts == ("mms.aerialink.net", ".media.aerialink.net")
    assert policy.allows_host("mms.aerialink.net")
    assert policy.allows_host("a.b.media.aerialink.net")
    assert not policy.allows_host("media.aerialink.net")
    assert not policy.allows_host("aerialink.net")


@pytest.mark.parametrize("entry", ["bad host", "a..b", ".", ".127.0.0.1", "[::1"])
def test_policy_refuses_a_malformed_entry(entry: str) -> None:
    # Given a malformed allow-list entry
    # When the policy is built
    # Then configuration fails loudly
    with pytest.raises(ValueError, match=r"allowed host|subdomain"):
        FetchPolicy(allowed_hosts=(entry,), allow_insecure=False, max_bytes=1)


def test_errors_are_classified_and_never_carry_the_query_string() -> None:
    # Given a refused URL carrying a token in its query
    # When it is checked
    with pytest.raises(BlockedMediaUrl) as caught:
        check_url("https://evil.com/x.jpg?token=SECRET-TOKEN", STRICT)

    # Then the error is permanent and says nothing of the token
    assert isinstance(caught.value, PermanentError)
    assert not isinstance(caught.value, TransientError)
    assert "SECRET" not in str(caught.value)
    assert "SECRET" not in repr(caught.value)


def test_target_offers_a_redacted_url_and_a_host_header() -> None:
    # Given a checked URL on a non-default port with a query
    target = check_url("https://a.media.aerialink.net:8443/m/1.jpg?sig=abc", STRICT)

    # When it is rendered for a log line and for the request
    # Then the query is gone from the log form, and the Host header carries the port
    assert target.redacted_url == "https://a.media.aerialink.net:8443/m/1.jpg"
    assert target.url == "https://a.media.aerialink.net:8443/m/1.jpg?sig=abc"
    assert target.host_header == "a.media.aerialink.net:8443"


@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_every_ipv4_spelling_parses_to_the_same_address(value: int) -> None:
    # Given one IPv4 address
    address = ipaddress.IPv4Address(value)
    octets = address.packed

    # When it is spelled as inet_aton would accept it
    spellings = [
        str(value),
        hex(value),
        ".".join(f"0{octet:o}" for octet in octets),
        ".".join(hex(octet) for octet in octets),
        f"{octets[0]}.{int.from_bytes(octets[1:], 'big')}",
        f"{octets[0]}.{octets[1]}.{int.from_bytes(octets[2:], 'big')}",
    ]

    # Then every spelling parses to that address
    assert {parse_ipv4_literal(spelling) for spelling in spellings} == {address}


@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_mapped_ipv6_gets_the_verdict_of_its_ipv4(value: int) -> None:
    # Given an IPv4 address and its IPv4-mapped IPv6 form
    v4 = ipaddress.IPv4Address(value)
    mapped = ipaddress.IPv6Address(f"::ffff:{v4}")

    # When both are judged
    # Then they get the same verdict
    assert is_public_address(mapped) == is_public_address(v4)


@pytest.mark.parametrize("address", [PUBLIC_V4, PUBLIC_V6, "8.8.8.8", "::ffff:8.8.8.8", "64:ff9b::808:808"])
def test_public_addresses_pass(address: str) -> None:
    # Given a public address (directly, mapped, or behind the well-known NAT64 prefix)
    # When it is judged
    # Then it passes
    assert is_public_address(ipaddress.ip_address(address))


def test_the_any_host_entry_allows_every_name_but_not_every_address() -> None:
    # Given a policy for producers' media: any host, but still only public addresses
    policy = FetchPolicy.from_host_list("*", allow_insecure=False, max_bytes=1024)
    assert policy.allows_host("cdn.example.org")
    assert policy.allows_host("images.example.com")
    # Then the address check still blocks a name that resolves inside
    with pytest.raises(BlockedMediaUrl) as caught:
        resolve_and_check("inside.example.org", 443, policy, resolver=lambda host, port: ["10.0.0.7"])
    assert caught.value.code == "address_not_public"
