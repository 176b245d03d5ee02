"""The SSRF guard: which URLs may be fetched, and which addresses they may resolve to.

Two steps, both applied to the first URL and to every redirect:

* :func:`check_url` parses the URL and checks its scheme and host against a :class:`FetchPolicy`;
* :func:`resolve_and_check` resolves the host and refuses it when any address is not public.

The fetcher then connects to a checked address, never to the name again (no DNS rebinding).
"""

import ipaddress
import re
import socket
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Final, TypeAlias
from urllib.parse import quote, urlsplit

from mmsrelay.domain.errors import BlockedMediaUrl, TransientMediaError

IPAddress: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver: TypeAlias = Callable[[str, int], Sequence[str]]
"""Resolves ``(host, port)`` to textual IP addresses; raises ``OSError`` when it cannot."""

_DEFAULT_PORTS: Final = {"https": 443, "http": 80}
_LABEL: Final = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")
_HEX_NUMBER: Final = re.compile(r"0x[0-9a-f]*")
_MAX_HOST_LENGTH: Final = 253
_PATH_SAFE: Final = "!$%&'()*+,/:;=?@[]~-._"

# Ranges refused on top of what :mod:`ipaddress` flags, so the verdict does not depend on the
# Python version's idea of "global".
_BLOCKED_V4: Final = tuple(
    ipaddress.IPv4Network(net)
    for net in (
        "0.0.0.0/8",  # "this network"
        "10.0.0.0/8",
        "100.64.0.0/10",  # shared address space (CGNAT)
        "127.0.0.0/8",
        "169.254.0.0/16",  # link-local, cloud metadata services
        "172.16.0.0/12",
        "192.0.0.0/24",  # IETF protocol assignments
        "192.0.2.0/24",  # documentation
        "192.88.99.0/24",  # 6to4 relay anycast
        "192.168.0.0/16",
        "198.18.0.0/15",  # benchmarking
        "198.51.100.0/24",  # documentation
        "203.0.113.0/24",  # documentation
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, broadcast
    )
)
_BLOCKED_V6: Final = tuple(
    ipaddress.IPv6Network(net)
    for net in (
        "::/96",  # unspecified, loopback, IPv4-compatible (deprecated)
        "64:ff9b:1::/48",  # local-use NAT64
        "100::/64",  # discard
        "2001::/23",  # IETF protocol assignments, Teredo, benchmarking
        "2001:db8::/32",  # documentation
        "3fff::/20",  # documentation
        "5f00::/16",  # SRv6 SIDs
        "fc00::/7",  # unique-local
        "fe80::/10",  # link-local
        "fec0::/10",  # site-local (deprecated)
        "ff00::/8",  # multicast
    )
)
_NAT64: Final = ipaddress.IPv6Network("64:ff9b::/96")
_LOOPBACK_V4: Final = ipaddress.IPv4Network("127.0.0.0/8")
_LOOPBACK_V6: Final = ipaddress.IPv6Address("::1")


ANY_HOST: Final = "*"


@dataclass(frozen=True)
class FetchPolicy:
    """What the media fetcher may fetch.

    ``allowed_hosts``: ``example.net`` allows exactly that host, ``.example.net`` any subdomain of it
    (not the apex), ``*`` any host name (the address check still applies to every one). Entries are
    normalised like URL hosts (lowercase, IDNA, no trailing dot).
    ``allow_insecure`` allows plain http and loopback addresses, for a local test stack only.
    """

    allowed_hosts: tuple[str, ...]
    allow_insecure: bool
    max_bytes: int
    connect_timeout: float = 3.0
    read_timeout: float = 10.0
    total_timeout: float = 30.0
    max_redirects: int = 3
    ca_bundle: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "allowed_hosts", tuple(_normalize_entry(e) for e in self.allowed_hosts))
        if self.max_bytes <= 0:
            raise ValueError("max_bytes must be positive")
        if min(self.connect_timeout, self.read_timeout, self.total_timeout) <= 0:
            raise ValueError("timeouts must be positive")
        if self.max_redirects < 0:
            raise ValueError("max_redirects must not be negative")

    @classmethod
    def from_host_list(
        cls,
        allowed_hosts: str,
        *,
        allow_insecure: bool,
        max_bytes: int,
        ca_bundle: str | None = None,
    ) -> "FetchPolicy":
        """Build a policy from a comma-separated host list such as ``"mms.aerialink.net,.example.net"``."""
        return cls(
            allowed_hosts=tuple(entry.strip() for entry in allowed_hosts.split(",") if entry.strip()),
            allow_insecure=allow_insecure,
            max_bytes=max_bytes,
            ca_bundle=ca_bundle,
        )

    @property
    def allowed_schemes(self) -> frozenset[str]:
        """``{"https"}``, plus ``"http"`` when insecure mode is on."""
        return frozenset({"https", "http"}) if self.allow_insecure else frozenset({"https"})

    def allows_host(self, host: str) -> bool:
        """Tell whether a normalised host is on the allow list."""
        for entry in self.allowed_hosts:
            if entry == ANY_HOST:
                return True
            if entry.startswith("."):
                if host.endswith(entry) and len(host) > len(entry):
                    return True
            elif host == entry:
                return True
        return False


@dataclass(frozen=True)
class ParsedTarget:
    """A checked URL, split for a pinned request. ``host`` is normalised; ``path`` includes the query."""

    scheme: str
    host: str
    port: int

    path: str

    @property
    def host_header(self) -> str:
        """The ``Host`` header value: the name (bracketed if IPv6), with the port unless it is the default."""
        name = f"[{self.host}]" if ":" in self.host else self.host
        return name if self.port == _DEFAULT_PORTS[self.scheme] else f"{name}:{self.port}"

    @property
    def url(self) -> str:
        """The full URL, query included: may carry a token, do not log it."""
        return f"{self.scheme}://{self.host_header}{self.path}"

    @property
    def redacted_url(self) -> str:
        """The URL without its query string, safe for logs."""
        return f"{self.scheme}://{self.host_header}{self.path.split('?', 1)[0]}"


def check_url(url: str, policy: FetchPolicy) -> ParsedTarget:
    """Parse ``url`` and check it against ``policy``; raise BlockedMediaUrl when refused.

    Refuses schemes other than https (and http when insecure), userinfo, a missing host, a host not
    on the allow list, control characters, whitespace and backslashes. The fragment is dropped.
    """
    if not url:
        raise BlockedMediaUrl("invalid_url", "empty URL")
    if any(_is_forbidden_char(char) for char in url):
        raise BlockedMediaUrl("invalid_url", "control character, whitespace or backslash in URL")
    url = url.split("#", 1)[0]
    try:
        parts = urlsplit(url)
    except ValueError:
        raise BlockedMediaUrl("invalid_url", "unparseable URL") from None
    scheme = parts.scheme.lower()
    if scheme not in policy.allowed_schemes:
        raise BlockedMediaUrl("scheme_not_allowed", "scheme is not allowed")
    if not url[len(parts.scheme) + 1 :].startswith("//"):
        raise BlockedMediaUrl("missing_host", "URL has no authority")
    netloc = parts.netloc
    if "@" in netloc:
        raise BlockedMediaUrl("userinfo_not_allowed", "credentials in URL")
    host, port_text = _split_netloc(netloc)
    port = _parse_port(port_text, _DEFAULT_PORTS[scheme])
    if not policy.allows_host(host):
        raise BlockedMediaUrl("host_not_allowed", "host is not on the allow list")
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return ParsedTarget(scheme=scheme, host=host, port=port, path=quote(path, safe=_PATH_SAFE))


def normalize_host(raw: str) -> str:
    """Normalise a URL host: lowercase, IDNA-encoded, no trailing dot, IP literals in canonical form.

    Raises BlockedMediaUrl for an empty or malformed host.
    """
    if raw.startswith("[") and raw.endswith("]"):
        return _parse_ipv6_literal(raw[1:-1]).compressed
    if ":" in raw:
        return _parse_ipv6_literal(raw).compressed
    host = raw.lower()
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise BlockedMediaUrl("invalid_host", "host cannot be IDNA-encoded") from None
    host = host.removesuffix(".")
    if not host:
        raise BlockedMediaUrl("missing_host", "URL has no host")
    labels = host.split(".")
    if len(host) > _MAX_HOST_LENGTH or not all(_LABEL.fullmatch(label) for label in labels):
        raise BlockedMediaUrl("invalid_host", "malformed host name")
    last = labels[-1]
    if last.isdigit() or _HEX_NUMBER.fullmatch(last):
        # Ends in a number: an IPv4 literal in some spelling (127.1, 0x7f.1, 2130706433, 0177.0.0.1).
        address = parse_ipv4_literal(host)
        if address is None:
            raise BlockedMediaUrl("invalid_host", "malformed IPv4 literal")
        return str(address)
    return host


def parse_ipv4_literal(text: str) -> ipaddress.IPv4Address | None:
    """Parse an IPv4 literal in any ``inet_aton`` spelling (decimal, octal, hex, 1 to 4 parts)."""
    parts = text.split(".")
    if len(parts) > 4:
        return None
    numbers = [_parse_ipv4_number(part) for part in parts]
    if any(number is None for number in numbers):
        return None
    values = [number for number in numbers if number is not None]
    *leading, last = values
    if any(value > 255 for value in leading) or last >= 256 ** (5 - len(values)):
        return None
    value = last
    for index, part in enumerate(leading):
        value += part << (8 * (3 - index))
    return ipaddress.IPv4Address(value)


def parse_ip_literal(host: str) -> IPAddress | None:
    """Return the address when ``host`` is an IP literal (any IPv4 spelling, IPv6 bracketed or not)."""
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if ":" in host:
        try:
            return _parse_ipv6_literal(host)
        except BlockedMediaUrl:
            return None
    return parse_ipv4_literal(host)


def is_public_address(address: IPAddress, *, allow_loopback: bool = False) -> bool:
    """Tell whether ``address`` is a public unicast address (embedded IPv4 addresses checked too).

    With ``allow_loopback``, 127.0.0.0/8 and ::1 also pass (a local test stack); nothing else does.
    """
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:  # ::ffff:a.b.c.d is a.b.c.d to the socket layer
            return is_public_address(address.ipv4_mapped, allow_loopback=allow_loopback)
        if address in _NAT64:  # well-known NAT64 prefix: the gateway connects to the embedded v4
            return is_public_address(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    if allow_loopback and (address == _LOOPBACK_V6 or address in _LOOPBACK_V4):
        return True
    if isinstance(address, ipaddress.IPv6Address):
        blocked = (
            any(address in network for network in _BLOCKED_V6)
            or address.is_site_local
            or not all(is_public_address(embedded) for embedded in _embedded_ipv4(address))
        )
    else:
        blocked = any(address in network for network in _BLOCKED_V4)
    return not (
        blocked
        or address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or not address.is_global
    )


def system_resolver(host: str, port: int) -> list[str]:
    """Resolve with ``socket.getaddrinfo`` (TCP), returning the textual addresses."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def resolve_and_check(host: str, port: int, policy: FetchPolicy, resolver: Resolver | None = None) -> list[IPAddress]:
    """Resolve ``host`` and return its addresses; raise BlockedMediaUrl if ANY of them is not public.

    IP literals (any spelling) are checked without calling the resolver. A resolution failure
    raises TransientMediaError("dns_failure").
    """
    literal = parse_ip_literal(host)
    if literal is not None:
        addresses = [literal]
    else:
        try:
            answers = (resolver or system_resolver)(host, port)
        except (OSError, UnicodeError):
            raise TransientMediaError("dns_failure", "host name could not be resolved") from None
        addresses = _parse_answers(answers)
        if not addresses:
            raise TransientMediaError("dns_failure", "host name resolved to no address")
    for address in addresses:
        if not is_public_address(address, allow_loopback=policy.allow_insecure):
            raise BlockedMediaUrl("address_not_public", "host resolves to a non-public address")
    return addresses


def _parse_answers(answers: Iterable[str]) -> list[IPAddress]:
    addresses: list[IPAddress] = []
    for answer in answers:
        try:
            address = ipaddress.ip_address(answer.split("%", 1)[0])
        except ValueError:
            raise BlockedMediaUrl("address_not_public", "resolver returned a non-address") from None
        if address not in addresses:
            addresses.append(address)
    return addresses


def _embedded_ipv4(address: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address, ...]:
    """The IPv4 addresses a 6to4 or Teredo address carries (checked on top of the v6 ranges)."""
    if address.sixtofour is not None:
        return (address.sixtofour,)
    if address.teredo is not None:
        return address.teredo
    return ()


def _split_netloc(netloc: str) -> tuple[str, str]:
    if netloc.startswith("["):
        end = netloc.find("]")
        if end < 0:
            raise BlockedMediaUrl("invalid_host", "unbalanced bracket in host")
        host = normalize_host(netloc[: end + 1])
        rest = netloc[end + 1 :]
        if rest and not rest.startswith(":"):
            raise BlockedMediaUrl("invalid_host", "garbage after IPv6 literal")
        return host, rest[1:]
    name, _, port_text = netloc.partition(":")
    if not name:
        raise BlockedMediaUrl("missing_host", "URL has no host")
    return normalize_host(name), port_text


def _parse_port(text: str, default: int) -> int:
    if not text:
        return default
    if not (text.isascii() and text.isdigit()) or not 0 < int(text) <= 65535:
        raise BlockedMediaUrl("invalid_port", "port is not a number between 1 and 65535")
    return int(text)


def _parse_ipv6_literal(text: str) -> ipaddress.IPv6Address:
    if "%" in text:
        raise BlockedMediaUrl("invalid_host", "IPv6 zone identifiers are not allowed")
    try:
        return ipaddress.IPv6Address(text)
    except ValueError:
        raise BlockedMediaUrl("invalid_host", "malformed IPv6 literal") from None


def _parse_ipv4_number(part: str) -> int | None:
    part = part.lower()
    digits, base = part, 10
    if part[:2] == "0x":
        digits, base = part[2:], 16
        if not digits:
            return 0
    elif len(part) > 1 and part.startswith("0"):
        digits, base = part[1:], 8
    allowed = "0123456789abcdef"[:base]
    if not digits or not all(char in allowed for char in digits):
        return None
    return int(digits, base)


def _normalize_entry(entry: str) -> str:
    entry = entry.strip()
    if entry == ANY_HOST:
        return entry
    wildcard = entry.startswith(".")
    try:
        host = normalize_host(entry[1:] if wildcard else entry)
    except BlockedMediaUrl as error:
        raise ValueError(f"invalid allowed host entry ({error.code})") from None
    if wildcard and parse_ip_literal(host) is not None:
        raise ValueError("a subdomain entry cannot be an IP address")
    return f".{host}" if wildcard else host


def _is_forbidden_char(char: str) -> bool:
    return char == "\\" or char.isspace() or unicodedata.category(char) in {"Cc", "Cf", "Zs", "Zl", "Zp"}
