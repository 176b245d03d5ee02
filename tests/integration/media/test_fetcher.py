"""The media fetcher against a real local HTTP(S) server on 127.0.0.1."""

import hashlib
import logging
import random
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from urllib3 import HTTPConnectionPool

from devstack.tls import issue_local_certificate
from mmsrelay.domain.errors import (
    BlockedMediaUrl,
    MediaRejected,
    MediaTooLarge,
    TransientMediaError,
    UnsupportedMediaType,
)
from mmsrelay.media.fetcher import DEFAULT_CHUNK_SIZE, MediaFetcher, pinned_pool
from mmsrelay.media.url_guard import FetchPolicy, IPAddress, ParsedTarget
from tests.support import serving

MIB = 1024 * 1024
MAGIC = {
    "jpeg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
    "png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
    "gif": b"GIF89a\x01\x00\x01\x00",
    "none": b"",
}
STOP_WAIT = 10.0  # upper bound for any deliberately slow handler


def make_body(size: int, magic: str) -> bytes:
    """The deterministic body the server sends for ``size`` and ``magic``."""
    head = MAGIC[magic]
    return head + random.Random(size).randbytes(max(size - len(head), 0))


# --------------------------------------------------------------------------------------------
# The local media server
# --------------------------------------------------------------------------------------------


class _MediaServer(ThreadingHTTPServer):
    daemon_threads = False  # server_close() joins every handler thread

    def __init__(self, context: ssl.SSLContext | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _MediaHandler)
        self.context = context
        self.stopping = threading.Event()
        self.seen_hosts: list[str | None] = []

    def finish_request(self, request: Any, client_address: Any) -> None:
        # A client hanging up (or refusing our certificate) is part of several tests, not an error.
        try:
            if self.context is None:
                super().finish_request(request, client_address)
                return
            request.settimeout(5)
            with self.context.wrap_socket(request, server_side=True) as tls:
                _MediaHandler(tls, client_address, self)
        except (ConnectionError, ssl.SSLError, TimeoutError):
            return


class _MediaHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 5
    server: _MediaServer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def do_GET(self) -> None:
        self.server.seen_hosts.append(self.headers.get("Host"))
        url = urlsplit(self.path)
        query = {key: values[0] for key, values in parse_qs(url.query).items()}
        route = url.path.split("/")
        try:
            if route[1] == "media":
                self._media(query)
            elif route[1] == "status":
                self._empty(int(route[2]))
            elif route[1] == "redirect":
                hops = int(route[2])
                if hops == 0:
                    self._media({"size": "1000"})
                else:
                    self._empty(302, {"Location": f"/redirect/{hops - 1}"})
            elif route[1] == "redirect-to":
                self._empty(int(query.get("status", "302")), {"Location": query["location"]})
            elif route[1] == "slow":
                self._slow()
            elif route[1] == "stall":
                self._stall()
            else:
                self._empty(404)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            self.close_connection = True

    def _empty(self, status: int, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _media(self, query: dict[str, str]) -> None:
        body = make_body(int(query["size"]), query.get("magic", "jpeg"))
        content_type = query.get("type", "image/jpeg")
        chunked = query.get("chunked") == "1"
        self.send_response(200)
        if content_type != "none":
            self.send_header("Content-Type", content_type)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        step = 100_000
        for start in range(0, len(body), step):
            piece = body[start : start + step]
            if chunked:
                self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            else:
                self.wfile.write(piece)
        if chunked:
            self.wfile.write(b"0\r\n\r\n")

    def _slow(self) -> None:
        # Trickles 1 KiB every 50 ms: every read is quick, the whole is slow.
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", str(1024 * 400))
        self.end_headers()
        self.wfile.write(MAGIC["jpeg"])
        for _ in range(200):
            if self.server.stopping.wait(0.05):
                break
            self.wfile.write(b"\x00" * 1024)
            self.wfile.flush()
        self.close_connection = True

    def _stall(self) -> None:
        # Sends the headers and a few bytes, then nothing.
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", "1000")
        self.end_headers()
        self.wfile.write(MAGIC["jpeg"])
        self.wfile.flush()
        self.server.stopping.wait(STOP_WAIT)
        self.close_connection = True


@dataclass
class Server:
    """A running media server and how to reach it."""

    httpd: _MediaServer
    scheme: str

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"{self.scheme}://{host}:{self.port}{path}"


def _serve(context: ssl.SSLContext | None) -> Iterator[Server]:
    httpd = _MediaServer(context)
    with serving(httpd, STOP_WAIT, httpd.stopping):
        yield Server(httpd, "https" if context else "http")


@pytest.fixture
def server() -> Iterator[Server]:
    yield from _serve(None)


@dataclass
class Resolver:
    """A fake resolver: a name -> addresses table (answers may change per call), recording calls."""

    table: dict[str, list[list[str]]]
    calls: list[str] = field(default_factory=list)

    def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append(host)
        answers = self.table.get(host)
        if not answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return answers.pop(0) if len(answers) > 1 else answers[0]


def policy(**overrides: Any) -> FetchPolicy:
    settings: dict[str, Any] = {
        "allowed_hosts": ("127.0.0.1",),
        "allow_insecure": True,
        "max_bytes": 8 * MIB,
        "connect_timeout": 2.0,
        "read_timeout": 2.0,
        "total_timeout": 10.0,
    }
    settings.update(overrides)
    return FetchPolicy(**settings)


def read_all(fetcher: MediaFetcher, url: str) -> tuple[str, list[bytes]]:
    with fetcher.open(url) as download:
        return download.content_type, list(download.chunks())


# --------------------------------------------------------------------------------------------
# Streaming and content types
# --------------------------------------------------------------------------------------------


def test_streams_a_multi_megabyte_body_in_chunks(server: Server) -> None:
    # Given a 5 MiB JPEG with a Content-Length and a noisy Content-Type
    size = 5 * MIB + 123
    url = server.url(f"/media?size={size}&type={quote('IMAGE/JPEG; q=1')}")

    # When it is fetched
    with MediaFetcher(policy()).open(url) as download:
        chunks = list(download.chunks())

        # Then it arrives in bounded chunks, whole, with its normalised type and length
        assert download.content_type == "image/jpeg"
        assert download.content_length == size
        assert download.complete
        assert download.bytes_read == size
        assert download.final_url == url
    assert len(chunks) > 10
    assert max(len(chunk) for chunk in chunks) <= DEFAULT_CHUNK_SIZE
    assert hashlib.sha256(b"".join(chunks)).digest() == hashlib.sha256(make_body(size, "jpeg")).digest()


def test_streams_a_chunked_body_without_length(server: Server) -> None:
    # Given a 3 MiB body sent with chunked transfer encoding
    size = 3 * MIB
    url = server.url(f"/media?size={size}&chunked=1")

    # When it is fetched in 256 KiB chunks
    with MediaFetcher(policy()).open(url) as download:
        length = download.content_length
        body = b"".join(download.chunks(256 * 1024))

    # Then no length was known and the bytes are intact
    assert length is None
    assert body == make_body(size, "jpeg")


@pytest.mark.parametrize(
    ("content_type", "magic", "expected"),
    [("none", "png", "image/png"), ("application/octet-stream", "gif", "image/gif")],
    ids=["missing-header", "octet-stream"],
)
def test_sniffs_the_type_without_losing_the_first_bytes(
    server: Server, content_type: str, magic: str, expected: str
) -> None:
    # Given a body whose header says nothing useful about its type
    url = server.url(f"/media?size=200000&type={quote(content_type)}&magic={magic}")

    # When it is fetched
    kind, chunks = read_all(MediaFetcher(policy()), url)

    # Then the type is sniffed and the sniffed bytes are still part of the body
    assert kind == expected
    assert b"".join(chunks) == make_body(200_000, magic)


@pytest.mark.parametrize(
    ("content_type", "magic", "reason"),
    [("text/html", "jpeg", "type_not_allowed"), ("application/octet-stream", "none", "type_unknown")],
    ids=["html", "unrecognisable"],
)
def test_refuses_a_type_outside_the_allow_list(server: Server, content_type: str, magic: str, reason: str) -> None:
    # Given a body of a refused or unrecognisable type
    url = server.url(f"/media?size=5000&type={quote(content_type)}&magic={magic}")

    # When it is opened
    with pytest.raises(UnsupportedMediaType) as caught, MediaFetcher(policy()).open(url):
        pass

    # Then it is refused as unsupported
    assert caught.value.code == reason


# --------------------------------------------------------------------------------------------
# Limits
# --------------------------------------------------------------------------------------------


def test_too_large_by_content_length_fails_before_reading(server: Server) -> None:
    # Given a 2 MiB body and a 1 MiB limit
    url = server.url(f"/media?size={2 * MIB}")

    # When it is opened
    with pytest.raises(MediaTooLarge) as caught, MediaFetcher(policy(max_bytes=MIB)).open(url):
        pytest.fail("the body must not be offered")

    # Then the Content-Length alone refused it
    assert caught.value.code == "too_large"


def test_too_large_by_count_fails_as_soon_as_the_limit_passes(server: Server) -> None:
    # Given a 3 MiB chunked body (no length announced) and a 1 MiB limit
    url = server.url(f"/media?size={3 * MIB}&chunked=1")
    received: list[int] = []

    # When it is streamed
    with MediaFetcher(policy(max_bytes=MIB)).open(url) as download:
        chunks = download.chunks()
        with pytest.raises(MediaTooLarge):
            received.extend(len(chunk) for chunk in chunks)

    # Then it stopped within one chunk of the limit
    assert sum(received) <= MIB
    assert MIB < download.bytes_read <= MIB + DEFAULT_CHUNK_SIZE


def test_total_timeout_stops_a_trickling_server(server: Server) -> None:
    # Given a server that trickles (each read is quick) and a 1 s total timeout
    fetcher = MediaFetcher(policy(total_timeout=1.0, read_timeout=2.0))
    started = time.monotonic()

    # When the body is streamed
    with pytest.raises(TransientMediaError) as caught:
        read_all(fetcher, server.url("/slow"))

    # Then it fails as a timeout, soon after the total timeout
    assert caught.value.code == "timeout"
    assert 1.0 <= time.monotonic() - started < 2.5


def test_read_timeout_stops_a_stalled_server(server: Server) -> None:
    # Given a server that stalls after the headers and a 0.5 s read timeout
    fetcher = MediaFetcher(policy(read_timeout=0.5))
    started = time.monotonic()

    # When the body is streamed
    with pytest.raises(TransientMediaError) as caught:
        read_all(fetcher, server.url("/stall"))

    # Then it fails as a timeout after about the read timeout
    assert caught.value.code == "timeout"
    assert time.monotonic() - started < 2.0


# --------------------------------------------------------------------------------------------
# Status codes and transport failures
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 451])
def test_permanent_refusals_map_to_media_rejected(server: Server, status: int) -> None:
    # Given a media host refusing with a 4xx
    # When the URL is opened
    with pytest.raises(MediaRejected) as caught, MediaFetcher(policy()).open(server.url(f"/status/{status}")):
        pass

    # Then it is a permanent rejection naming the status
    assert caught.value.code == f"http_{status}"


@pytest.mark.parametrize("status", [408, 425, 429, 500, 502, 503, 504])
def test_retryable_statuses_map_to_transient(server: Server, status: int) -> None:
    # Given a media host answering a retryable status
    # When the URL is opened
    with (
        pytest.raises(TransientMediaError) as caught,
        MediaFetcher(policy()).open(server.url(f"/status/{status}")),
    ):
        pass

    # Then it is transient, naming the status
    assert caught.value.code == f"http_{status}"


def test_connection_refused_is_transient() -> None:
    # Given a port nobody listens on
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    # When it is fetched
    with (
        pytest.raises(TransientMediaError) as caught,
        MediaFetcher(policy()).open(f"http://127.0.0.1:{port}/x"),
    ):
        pass

    # Then the failure is transient
    assert caught.value.code == "connection_error"


def test_dns_failure_is_transient() -> None:
    # Given an allowed name that does not resolve
    fetcher = MediaFetcher(policy(allowed_hosts=("gone.test",)), resolver=Resolver({}))

    # When it is fetched
    with pytest.raises(TransientMediaError) as caught, fetcher.open("http://gone.test/x"):
        pass

    # Then the failure is transient
    assert caught.value.code == "dns_failure"


def test_connections_are_released_on_success_and_failure(server: Server) -> None:
    # Given a pool factory that remembers the pools it built
    pools: list[HTTPConnectionPool] = []

    def recording_pool(target: ParsedTarget, address: IPAddress, fetch_policy: FetchPolicy) -> HTTPConnectionPool:
        pool = pinned_pool(target, address, fetch_policy)
        pools.append(pool)
        return pool

    fetcher = MediaFetcher(policy(), pool_manager_factory=recording_pool)

    # When one fetch succeeds, one is refused by status and one is abandoned half-read
    read_all(fetcher, server.url("/media?size=1000"))
    with pytest.raises(MediaRejected), fetcher.open(server.url("/status/404")):
        pass
    with fetcher.open(server.url(f"/media?size={2 * MIB}")) as download:
        next(iter(download.chunks()))

    # Then every pool was closed
    assert len(pools) == 3
    assert all(pool.pool is None for pool in pools)


# --------------------------------------------------------------------------------------------
# Pinning and redirects
# --------------------------------------------------------------------------------------------


def test_connects_to_the_checked_address_and_sends_the_name(server: Server) -> None:
    # Given a name whose second resolution would rebind to a private address
    resolver = Resolver({"media.test": [["127.0.0.1"], ["10.0.0.1"]]})
    fetcher = MediaFetcher(policy(allowed_hosts=("media.test",)), resolver=resolver)

    # When it is fetched
    kind, chunks = read_all(fetcher, server.url("/media?size=1000", host="media.test"))

    # Then the name was resolved once, the connection went to that address, the Host header named it
    assert kind == "image/jpeg"
    assert b"".join(chunks) == make_body(1000, "jpeg")
    assert resolver.calls == ["media.test"]
    assert server.httpd.seen_hosts == [f"media.test:{server.port}"]


def test_follows_up_to_the_redirect_limit(server: Server) -> None:
    # Given a chain of 3 redirects and a limit of 3
    fetcher = MediaFetcher(policy(max_redirects=3))

    # When it is fetched
    with fetcher.open(server.url("/redirect/3?token=abc")) as download:
        body = b"".join(download.chunks())
        final_url = download.final_url

    # Then the last hop's body arrives
    assert body == make_body(1000, "jpeg")
    assert final_url == server.url("/redirect/0")


def test_refuses_one_redirect_too_many(server: Server) -> None:
    # Given a chain of 4 redirects and a limit of 3
    fetcher = MediaFetcher(policy(max_redirects=3))

    # When it is fetched
    with pytest.raises(BlockedMediaUrl) as caught, fetcher.open(server.url("/redirect/4")):
        pass

    # Then it is blocked
    assert caught.value.code == "too_many_redirects"
    assert len(server.httpd.seen_hosts) == 4


@pytest.mark.parametrize(
    ("location", "reason"),
    [
        ("https://evil.example/x.jpg", "host_not_allowed"),
        ("http://169.254.169.254/latest/meta-data/", "address_not_public"),
        ("http://metadata.test/latest/meta-data/", "address_not_public"),
        ("http://10.0.0.1/", "address_not_public"),
        ("file:///etc/passwd", "scheme_not_allowed"),
        ("gopher://127.0.0.1:6379/_FLUSHALL", "scheme_not_allowed"),
        ("http://user@127.0.0.1/", "userinfo_not_allowed"),
    ],
    ids=["other-host", "metadata-literal", "metadata-by-name", "private", "file", "gopher", "userinfo"],
)
def test_redirects_go_through_the_whole_guard(server: Server, location: str, reason: str) -> None:
    # Given a redirect to a forbidden target (even when the name is on the allow list)
    resolver = Resolver({"metadata.test": [["169.254.169.254"]]})
    allowed = ("127.0.0.1", "169.254.169.254", "10.0.0.1", "metadata.test")
    fetcher = MediaFetcher(policy(allowed_hosts=allowed), resolver=resolver)
    url = server.url(f"/redirect-to?location={quote(location, safe='')}")

    # When it is followed
    with pytest.raises(BlockedMediaUrl) as caught, fetcher.open(url):
        pass

    # Then it is blocked with the reason of the check that caught it
    assert caught.value.code == reason


def test_logs_name_the_host_but_never_the_query(server: Server, caplog: pytest.LogCaptureFixture) -> None:
    # Given media URLs carrying a token in their query
    fetcher = MediaFetcher(policy())
    caplog.set_level(logging.DEBUG, logger="mmsrelay.media")

    # When one is fetched and one is refused
    read_all(fetcher, server.url("/media?size=1000&token=SECRET-1"))
    with pytest.raises(MediaRejected) as caught, fetcher.open(server.url("/status/404?token=SECRET-2")):
        pass

    # Then the log records name the host and outcome, and nothing carries a token
    records = [record for record in caplog.records if record.name.startswith("mmsrelay.media")]
    assert {record.getMessage() for record in records} >= {
        "media response",
        "media fetched",
        "media fetch failed",
    }
    assert all(getattr(record, "media_host", None) == "127.0.0.1" for record in records)
    assert "SECRET" not in " ".join(str(vars(record)) for record in records)
    assert "SECRET" not in str(caught.value)


def test_the_body_can_be_read_once(server: Server) -> None:
    # Given an open download that has been read
    with MediaFetcher(policy()).open(server.url("/media?size=100")) as download:
        list(download.chunks())

        # When it is read again
        # Then that is an error rather than silently empty media
        with pytest.raises(RuntimeError):
            download.chunks()


# --------------------------------------------------------------------------------------------
# HTTPS: certificates are verified against the name, with a throwaway CA
# --------------------------------------------------------------------------------------------


@dataclass
class Pki:
    ca_file: Path
    context: ssl.SSLContext


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    certificate = issue_local_certificate(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate.cert_file, certificate.key_file)
    return Pki(ca_file=certificate.ca_file, context=context)


@pytest.fixture
def tls_server(pki: Pki) -> Iterator[Server]:
    yield from _serve(pki.context)


def https_policy(ca_file: Path | None, host: str = "localhost") -> FetchPolicy:
    # allow_insecure only to reach loopback; the scheme stays https.
    return policy(allowed_hosts=(host,), ca_bundle=str(ca_file) if ca_file else None)


def test_https_succeeds_when_the_certificate_chains_to_the_bundle(tls_server: Server, pki: Pki) -> None:
    # Given a TLS server whose certificate our CA bundle trusts
    fetcher = MediaFetcher(https_policy(pki.ca_file), resolver=Resolver({"localhost": [["127.0.0.1"]]}))

    # When it is fetched by name (connection pinned to 127.0.0.1)
    kind, chunks = read_all(fetcher, tls_server.url("/media?size=300000", host="localhost"))

    # Then the body arrives
    assert kind == "image/jpeg"
    assert b"".join(chunks) == make_body(300_000, "jpeg")
    assert tls_server.httpd.seen_hosts == [f"localhost:{tls_server.port}"]


def test_https_untrusted_certificate_is_blocked(tls_server: Server) -> None:
    # Given the default trust store, which does not know our throwaway CA
    fetcher = MediaFetcher(https_policy(None), resolver=Resolver({"localhost": [["127.0.0.1"]]}))

    # When the server is fetched
    with (
        pytest.raises(BlockedMediaUrl) as caught,
        fetcher.open(tls_server.url("/media?size=10", host="localhost")),
    ):
        pass

    # Then it is a permanent failure: retrying cannot fix a certificate
    assert caught.value.code == "tls_verification_failed"


def test_https_certificate_is_checked_against_the_name_not_the_address(tls_server: Server, pki: Pki) -> None:
    # Given a trusted certificate for "localhost" and a name that resolves to the same address
    resolver = Resolver({"other.test": [["127.0.0.1"]]})
    fetcher = MediaFetcher(https_policy(pki.ca_file, host="other.test"), resolver=resolver)

    # When that other name is fetched
    with (
        pytest.raises(BlockedMediaUrl) as caught,
        fetcher.open(tls_server.url("/media?size=10", host="other.test")),
    ):
        pass

    # Then the hostname check fails
    assert caught.value.code == "tls_verification_failed"
