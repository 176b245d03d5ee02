"""Fetching one media attachment over HTTP(S), SSRF-safe, streamed, with size and time limits.

Every URL (the first and each redirect) goes through :mod:`mmsrelay.media.url_guard`; the
connection goes to the checked IP address, never to the name again, while the ``Host`` header,
SNI and certificate verification use the name. Retrying is the caller's job: one attempt here.

Timeouts: ``connect_timeout`` bounds each connect, ``read_timeout`` each socket read, and
``total_timeout`` the whole fetch, checked before every read of the body (each read being bounded
by what is left of it). The response headers are bounded per read only; the Lambda timeout is
the backstop there.
"""

import http.client
import logging
import ssl
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Final, Protocol
from urllib.parse import urljoin

from urllib3 import BaseHTTPResponse, HTTPConnectionPool, HTTPSConnectionPool, Timeout
from urllib3.exceptions import (
    ConnectTimeoutError,
    DecodeError,
    HTTPError,
    NewConnectionError,
    SSLError,
)
from urllib3.exceptions import TimeoutError as Urllib3TimeoutError
from urllib3.util.ssl_match_hostname import CertificateError

from mmsrelay.domain.content_types import SNIFF_BYTES, needs_sniffing, resolve_content_type
from mmsrelay.domain.errors import (
    BlockedMediaUrl,
    MediaError,
    MediaRejected,
    MediaTooLarge,
    TransientMediaError,
    causes,
)
from mmsrelay.media.url_guard import (
    FetchPolicy,
    IPAddress,
    ParsedTarget,
    Resolver,
    check_url,
    resolve_and_check,
)

_log = logging.getLogger(__name__)

DEFAULT_CHUNK_SIZE: Final = 64 * 1024
REDIRECT_STATUSES: Final = frozenset({301, 302, 303, 307, 308})
TRANSIENT_4XX: Final = frozenset({408, 425, 429})
_USER_AGENT: Final = "mms-relay/1"
# Transport failures, most specific first (NewConnectionError subclasses ConnectTimeoutError).
_FAILURE_REASONS: Final[tuple[tuple[tuple[type[BaseException], ...], str], ...]] = (
    ((NewConnectionError,), "connection_error"),
    ((Urllib3TimeoutError, TimeoutError), "timeout"),
    ((HTTPError, OSError, http.client.HTTPException), "connection_error"),
)


class PoolFactory(Protocol):
    """Builds the connection pool for one request to ``target`` pinned to ``address``."""

    def __call__(self, target: ParsedTarget, address: IPAddress, policy: FetchPolicy, /) -> HTTPConnectionPool:
        """Return a pool connecting to ``address`` for ``target``."""
        ...


def pinned_pool(target: ParsedTarget, address: IPAddress, policy: FetchPolicy) -> HTTPConnectionPool:
    """A one-connection pool to the checked ``address``; for https, SNI and certificate check use the name.

    Certificates are always verified, against ``policy.ca_bundle`` or else certifi's bundle (the
    system trust store when certifi is absent).
    """
    timeout = Timeout(connect=policy.connect_timeout, read=policy.read_timeout)
    if target.scheme == "https":
        return HTTPSConnectionPool(
            str(address),
            target.port,
            timeout=timeout,
            maxsize=1,
            retries=False,
            cert_reqs="CERT_REQUIRED",
            ca_certs=policy.ca_bundle or _default_ca_bundle(),
            assert_hostname=target.host,
            server_hostname=target.host,
        )
    return HTTPConnectionPool(str(address), target.port, timeout=timeout, maxsize=1, retries=False)


class MediaDownload:
    """An open, checked 2xx response. Read the body once with :meth:`chunks`."""

    def __init__(
        self,
        response: BaseHTTPResponse,
        target: ParsedTarget,
        *,
        content_type: str,
        content_length: int | None,
        prefix: bytes,
        policy: FetchPolicy,
        deadline: float,
        clock: Callable[[], float],
    ) -> None:
        self._response = response
        self._target = target
        self._prefix = prefix
        self._policy = policy
        self._deadline = deadline
        self._clock = clock
        self._started = False
        self._bytes_read = 0
        self._complete = False
        self.content_type: Final = content_type
        self.content_length: Final = content_length

    @property
    def final_url(self) -> str:
        """The URL finally fetched, after redirects. It may carry a token in its query: do not log it."""
        return self._target.url

    @property
    def bytes_read(self) -> int:
        """Body bytes handed out so far."""
        return self._bytes_read

    @property
    def complete(self) -> bool:
        """Whether the whole body has been read."""
        return self._complete

    def chunks(self, chunk_size: int = DEFAULT_CHUNK_SIZE) -> Iterator[bytes]:
        """Yield the body in chunks of about ``chunk_size`` bytes (the last one may be shorter).

        Raises MediaTooLarge as soon as the count passes ``max_bytes``, TransientMediaError("timeout")
        once ``total_timeout`` has passed, and other media errors for connection failures.
        """
        if chunk_size <= 0:
            raise ValueError("chunk_size must be positive")
        if self._started:
            raise RuntimeError("the body can only be read once")
        self._started = True
        return self._iterate(chunk_size)

    def _iterate(self, chunk_size: int) -> Iterator[bytes]:
        block = bytearray(self._prefix)
        self._prefix = b""
        at_end = False
        while not at_end:
            while len(block) < chunk_size:
                data = self._read1(chunk_size - len(block))
                if not data:
                    at_end = True
                    break
                block += data
            if block:
                self._count(len(block))
                yield bytes(block)
                block.clear()
        self._complete = True
        _log.info(
            "media fetched",
            extra={"media_host": self._target.host, "media_bytes": self._bytes_read},
        )

    def _count(self, size: int) -> None:
        self._bytes_read += size
        if self._bytes_read > self._policy.max_bytes:
            raise _logged(MediaTooLarge("too_large", f"body passed {self._policy.max_bytes} bytes"), self._target)

    def _read1(self, amount: int) -> bytes:
        return _read_some(self._response, amount, self._policy, self._deadline, self._clock, self._target)


class MediaFetcher:
    """Opens media URLs under a :class:`FetchPolicy`: guard, pinned connection, manual redirects."""

    def __init__(
        self,
        policy: FetchPolicy,
        resolver: Resolver | None = None,
        pool_manager_factory: PoolFactory = pinned_pool,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._policy = policy
        self._resolver = resolver
        self._pool_factory = pool_manager_factory
        self._clock = clock

    @contextmanager
    def open(self, url: str, time_limit: float | None = None) -> Iterator[MediaDownload]:
        """Fetch ``url`` up to a checked 2xx response and yield it; the connection is closed on exit.

        The whole fetch, body included, takes at most ``total_timeout`` seconds, or ``time_limit``
        when that is shorter (the webhook's budget); past it, TransientMediaError("timeout").
        Raises BlockedMediaUrl, MediaRejected, MediaTooLarge (by Content-Length),
        UnsupportedMediaType or TransientMediaError before yielding.
        """
        allowed = self._policy.total_timeout if time_limit is None else min(self._policy.total_timeout, time_limit)
        deadline = self._clock() + allowed
        response, pool, target = self._follow(url, deadline)
        try:
            yield self._accept(response, target, deadline)
        finally:
            response.close()
            pool.close()

    def _follow(self, url: str, deadline: float) -> tuple[BaseHTTPResponse, HTTPConnectionPool, ParsedTarget]:
        try:
            target = check_url(url, self._policy)
        except BlockedMediaUrl as error:
            _log.warning("media url refused", extra={"media_reason": error.code})
            raise
        redirects = 0
        while True:
            try:
                addresses = resolve_and_check(target.host, target.port, self._policy, self._resolver)
            except MediaError as error:
                raise _logged(error, target) from None
            response, pool = self._request(target, addresses, deadline)
            status = response.status
            if 200 <= status < 300:
                _log.info(
                    "media response",
                    extra={"media_host": target.host, "media_status": status, "media_redirects": redirects},
                )
                return response, pool, target
            location = response.headers.get("Location")
            response.close()
            pool.close()
            if status not in REDIRECT_STATUSES:
                raise _logged(_status_error(status), target)
            if redirects >= self._policy.max_redirects:
                raise _logged(BlockedMediaUrl("too_many_redirects", "redirect limit reached"), target)
            if not location:
                raise _logged(MediaRejected("bad_redirect", "redirect without Location"), target)
            try:
                next_target = check_url(urljoin(target.url, location), self._policy)
            except BlockedMediaUrl as error:
                raise _logged(error, target) from None
            _log.info(
                "media redirect",
                extra={
                    "media_host": target.host,
                    "media_status": status,
                    "media_next_host": next_target.host,
                },
            )
            target = next_target
            redirects += 1

    def _request(
        self, target: ParsedTarget, addresses: list[IPAddress], deadline: float
    ) -> tuple[BaseHTTPResponse, HTTPConnectionPool]:
        headers = {
            "Host": target.host_header,
            "User-Agent": _USER_AGENT,
            "Accept": "*/*",
            "Accept-Encoding": "identity",
        }
        failure: Exception | None = None
        for address in addresses:
            remaining = _remaining(deadline, self._clock, target)
            timeout = Timeout(
                connect=min(self._policy.connect_timeout, remaining),
                read=min(self._policy.read_timeout, remaining),
            )
            pool = self._pool_factory(target, address, self._policy)
            try:
                response = pool.urlopen(
                    "GET",
                    target.path,
                    headers=headers,
                    retries=False,
                    redirect=False,
                    assert_same_host=False,
                    timeout=timeout,
                    preload_content=False,
                    decode_content=True,
                    release_conn=False,
                )
            except ConnectTimeoutError as error:
                # Nothing was sent (NewConnectionError is a subclass): the next address may answer.
                pool.close()
                failure = error
                continue
            except Exception as error:
                pool.close()
                raise _logged(_translate(error), target) from None
            return response, pool
        raise _logged(_translate(failure or OSError("no address")), target) from None

    def _accept(self, response: BaseHTTPResponse, target: ParsedTarget, deadline: float) -> MediaDownload:
        length = response.length_remaining
        if length is not None and length > self._policy.max_bytes:
            raise _logged(MediaTooLarge("too_large", f"Content-Length passes {self._policy.max_bytes} bytes"), target)
        header = response.headers.get("Content-Type")
        prefix = self._read_prefix(response, target, deadline) if needs_sniffing(header) else b""
        try:
            content_type = resolve_content_type(header, prefix)
        except MediaError as error:
            raise _logged(error, target) from None
        return MediaDownload(
            response,
            target,
            content_type=content_type,
            content_length=length,
            prefix=prefix,
            policy=self._policy,
            deadline=deadline,
            clock=self._clock,
        )

    def _read_prefix(self, response: BaseHTTPResponse, target: ParsedTarget, deadline: float) -> bytes:
        prefix = bytearray()
        while len(prefix) < SNIFF_BYTES:
            data = _read_some(response, SNIFF_BYTES - len(prefix), self._policy, deadline, self._clock, target)
            if not data:
                break
            prefix += data
        return bytes(prefix)


def _status_error(status: int) -> MediaError:
    if status in TRANSIENT_4XX or 500 <= status < 600:
        return TransientMediaError(f"http_{status}", "media host answered with a retryable status")
    return MediaRejected(f"http_{status}", "media host refused the request")


def _translate(error: BaseException) -> MediaError:
    """Map a urllib3/socket/ssl failure to a media error (only the exception's type in the detail)."""
    if isinstance(error, MediaError):
        return error
    name = type(error).__name__
    if isinstance(error, SSLError | ssl.SSLError):
        if _caused_by_verification(error):
            return BlockedMediaUrl("tls_verification_failed", "the server certificate was not accepted")
        return TransientMediaError("tls_error", name)
    if isinstance(error, DecodeError):
        return MediaRejected("decode_error", name)
    reason = next((reason for kinds, reason in _FAILURE_REASONS if isinstance(error, kinds)), "fetch_error")
    return TransientMediaError(reason, name)


def _caused_by_verification(error: BaseException) -> bool:
    return any(isinstance(cause, ssl.SSLCertVerificationError | CertificateError) for cause in causes(error))


def _read_some(
    response: BaseHTTPResponse,
    amount: int,
    policy: FetchPolicy,
    deadline: float,
    clock: Callable[[], float],
    target: ParsedTarget,
) -> bytes:
    """Up to ``amount`` body bytes, waiting no longer than the read timeout or the total deadline."""
    remaining = _remaining(deadline, clock, target)
    _set_read_timeout(response, min(policy.read_timeout, remaining))
    try:
        return response.read1(amount)
    except Exception as error:
        raise _logged(_translate(error), target) from None


def _remaining(deadline: float, clock: Callable[[], float], target: ParsedTarget) -> float:
    remaining = deadline - clock()
    if remaining <= 0:
        raise _logged(TransientMediaError("timeout", "total timeout passed"), target)
    return remaining


def _set_read_timeout(response: BaseHTTPResponse, seconds: float) -> None:
    """Bound the next socket read (urllib3 sets the read timeout only once, before the headers)."""
    connection = response.connection
    sock = getattr(connection, "sock", None) if connection is not None else None
    if sock is not None:
        sock.settimeout(seconds)


def _logged(error: MediaError, target: ParsedTarget) -> MediaError:
    _log.warning(
        "media fetch failed",
        extra={"media_host": target.host, "media_reason": error.code, "media_error": type(error).__name__},
    )
    return error


def _default_ca_bundle() -> str | None:
    try:
        import certifi  # noqa: PLC0415 - optional: without it urllib3 uses the system trust store
    except ImportError:
        return None
    return certifi.where()
