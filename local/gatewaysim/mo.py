"""Mobile-originated (MO) messages as the gateway delivers them to our webhook.

The gateway forwards a handset's message as an HTTP POST (``application/x-www-form-urlencoded``)
or a GET (query string), with HTTP Basic credentials; a 2xx answer means "stored", anything else
(or no answer) makes the gateway retry later. Field names and limits come from the gateway's
documentation; how ``attachments`` is encoded is not documented publicly, so
:attr:`MoMessage.attachments_format` offers the three plausible shapes. :class:`WebhookClient` is
the webhook client both :class:`MoSender` and the receipt sender build on.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import ClassVar, Literal, Self

import requests

AttachmentsFormat = Literal["json", "repeated", "none"]
Method = Literal["POST", "GET"]
Credentials = Literal["valid", "wrong", "none"]

# Documented length limits (characters), checked by MoMessage.limit_violations (never enforced).
LIMITS: dict[str, int] = {
    "transactionGUID": 36,
    "connectionGUID": 36,
    "source": 15,
    "messageText": 160,
    "mmsURL": 160,
    "mmsSubject": 40,
}


def new_guid() -> str:
    """An uppercase GUID as the gateway writes them (36 characters)."""
    return str(uuid.uuid4()).upper()


def _flag(value: bool) -> str:
    return "true" if value else "false"


@dataclass
class MoMessage:
    """One MO as the gateway would send it. ``form_fields()`` gives the wire form.

    ``mms_url`` defaults to the first attachment. ``attachments_format``: ``"json"`` sends one
    ``attachments`` field holding a JSON list of URLs, ``"repeated"`` sends the field once per URL,
    ``"none"`` omits it (only ``mmsURL`` is sent). ``extra_fields`` are sent as they are (fields the
    gateway may add beyond its documentation); they may override a documented field's value.
    """

    transaction_guid: str = field(default_factory=new_guid)
    connection_guid: str = field(default_factory=new_guid)
    source: str = "13105551212"
    source_country: str = "United States"
    source_country_code: int = 1
    source_country_abbreviation: str = "US"
    destination: str = "13235550100"
    message_text: str = "Hello from the simulator"
    mms_url: str | None = None
    mms_subject: str = ""
    concatenated_message: bool = False
    attachments: list[str] = field(default_factory=list)
    attachments_format: AttachmentsFormat = "json"
    source_national: str | None = None
    udh: str | None = None
    concatenated_message_reference: str | None = None
    concatenated_message_segments: int | None = None
    concatenated_message_segment_number: int | None = None
    extra_fields: dict[str, str] = field(default_factory=dict)

    def form_fields(self) -> list[tuple[str, str]]:
        """The (name, value) pairs in sending order; a name repeats for "repeated" attachments."""
        pairs: list[tuple[str, str]] = [
            ("transactionGUID", self.transaction_guid),
            ("connectionGUID", self.connection_guid),
            ("source", self.source),
            ("sourceCountry", self.source_country),
            ("sourceCountryCode", str(self.source_country_code)),
            ("sourceCountryAbbreviation", self.source_country_abbreviation),
            ("destination", self.destination),
            ("messageText", self.message_text),
        ]
        mms_url = self.mms_url if self.mms_url is not None else next(iter(self.attachments), None)
        if mms_url is not None:
            pairs.append(("mmsURL", mms_url))
        pairs.append(("mmsSubject", self.mms_subject))
        pairs.append(("concatenatedMessage", _flag(self.concatenated_message)))
        pairs.extend(self._attachment_fields())
        pairs.extend(self._optional_fields())
        pairs = [(name, value) for name, value in pairs if name not in self.extra_fields]
        pairs.extend(self.extra_fields.items())
        return pairs

    def _attachment_fields(self) -> list[tuple[str, str]]:
        if self.attachments_format == "json":
            return [("attachments", json.dumps(self.attachments))]
        if self.attachments_format == "repeated":
            return [("attachments", url) for url in self.attachments]
        return []

    def _optional_fields(self) -> list[tuple[str, str]]:
        optional = {
            "sourceNational": self.source_national,
            "udh": self.udh,
            "concatenatedMessageReference": self.concatenated_message_reference,
            "concatenatedMessageSegments": self.concatenated_message_segments,
            "concatenatedMessageSegmentNumber": self.concatenated_message_segment_number,
        }
        return [(name, str(value)) for name, value in optional.items() if value is not None]

    def limit_violations(self) -> list[str]:
        """Documented limits this message exceeds (the simulator sends it anyway)."""
        problems = []
        for name, value in self.form_fields():
            limit = LIMITS.get(name)
            if limit is not None and len(value) > limit:
                problems.append(name + " is longer than " + str(limit) + " characters")
        if not self.source.isdigit():
            problems.append("source is not all digits")
        return problems


@dataclass(frozen=True)
class MoResult:
    """One delivery attempt. ``status_code`` is None when no HTTP answer came (``error`` says why).

    ``started``/``finished`` are ``time.monotonic()`` readings; ``elapsed`` is their difference.
    """

    status_code: int | None
    body: str
    headers: dict[str, str]
    elapsed: float
    started: float
    finished: float
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class WebhookClient:
    """Requests to one webhook the way the gateway makes them: HTTP Basic auth, results that never raise.

    Redirects are not followed (a redirect is an answer). Every request has ``timeout`` seconds
    (connect and read). ``verify`` is the TLS check for an https webhook: True (system CAs), or the
    path of a CA bundle (e.g. the local stack's CA). Use as a context manager, or call ``close()``,
    to release the pooled connections.
    """

    user_agent: ClassVar[str] = "GatewaySim/1.0"

    def __init__(
        self, webhook_url: str, username: str, password: str, timeout: float = 10.0, verify: bool | str = True
    ) -> None:
        self.webhook_url = webhook_url
        self.username = username
        self._password = password
        self.timeout = timeout
        self.verify = verify
        self._session = self._new_session()

    def _new_session(self) -> requests.Session:
        session = requests.Session()
        session.headers["User-Agent"] = self.user_agent
        return session

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return type(self).__name__ + "(" + repr(self.webhook_url) + ", " + repr(self.username) + ", password=***)"

    def _auth(self, credentials: Credentials) -> tuple[str, str] | None:
        """``credentials``: "valid", "wrong" (same user, another password) or "none"."""
        if credentials == "none":
            return None
        if credentials == "wrong":
            return (self.username, self._password + "-wrong")
        return (self.username, self._password)

    def _request(
        self,
        method: Literal["GET", "POST"],
        credentials: Credentials = "valid",
        *,
        session: requests.Session | None = None,
        data: bytes | list[tuple[str, str]] | None = None,
        params: list[tuple[str, str]] | None = None,
        json_body: object = None,
        headers: dict[str, str] | None = None,
    ) -> MoResult:
        """One request to the webhook (on ``session``, else this client's own); never raises."""
        started = time.monotonic()
        try:
            response = (session if session is not None else self._session).request(
                method,
                self.webhook_url,
                data=data,
                params=params,
                json=json_body,
                headers=headers,
                auth=self._auth(credentials),
                timeout=self.timeout,
                allow_redirects=False,
                verify=self.verify,  # per request: session.verify loses to REQUESTS_CA_BUNDLE
            )
        except requests.RequestException as error:
            finished = time.monotonic()
            return MoResult(
                None, "", {}, finished - started, started, finished, type(error).__name__ + ": " + str(error)
            )
        finished = time.monotonic()
        return MoResult(
            response.status_code, response.text, dict(response.headers), finished - started, started, finished
        )


class MoSender(WebhookClient):
    """Delivers MOs to a webhook the way the gateway does (form POST or GET, Basic auth).

    See :class:`WebhookClient` for redirects, ``timeout``, ``verify`` and closing.
    """

    user_agent = "GatewaySim-MO/1.0"

    def send(self, mo: MoMessage, method: Method = "POST", credentials: Credentials = "valid") -> MoResult:
        """One delivery attempt. ``credentials``: "valid", "wrong" (same user, another password), "none"."""
        return self._send(self._session, mo, method, credentials)

    def send_duplicate(
        self,
        mo: MoMessage,
        times: int = 2,
        concurrent: bool = False,
        method: Method = "POST",
        credentials: Credentials = "valid",
    ) -> list[MoResult]:
        """The same message ``times`` times, one after the other or all at once.

        Concurrent sends run in ``times`` threads (one session each) released together by a
        barrier, so the requests overlap at the receiver. Results are in thread order.
        """
        if times < 1:
            raise ValueError("times must be at least 1")
        if not concurrent:
            return [self.send(mo, method, credentials) for _ in range(times)]
        return _run_together(times, lambda: self._send_fresh(mo, method, credentials), self.timeout)

    def retry_until_2xx(
        self,
        mo: MoMessage,
        attempts: int = 5,
        backoff: float = 0.5,
        method: Method = "POST",
        max_backoff: float = 30.0,
    ) -> list[MoResult]:
        """Resends the same message until a 2xx, like the gateway: at most ``attempts`` tries.

        Waits ``backoff * 2**n`` seconds (capped at ``max_backoff``) after the n-th failure.
        Returns every attempt's result, the last one being the 2xx when it came.
        """
        if attempts < 1:
            raise ValueError("attempts must be at least 1")
        results: list[MoResult] = []
        for attempt in range(attempts):
            result = self.send(mo, method)
            results.append(result)
            if result.ok:
                break
            if attempt + 1 < attempts:
                time.sleep(min(backoff * 2**attempt, max_backoff))
        return results

    # ------------------------------------------------------------------------------ internals
    def _send_fresh(self, mo: MoMessage, method: Method, credentials: Credentials) -> MoResult:
        with self._new_session() as session:
            return self._send(session, mo, method, credentials)

    def _send(self, session: requests.Session, mo: MoMessage, method: Method, credentials: Credentials) -> MoResult:
        fields = mo.form_fields()
        if method == "POST":
            return self._request("POST", credentials, session=session, data=fields)
        return self._request("GET", credentials, session=session, params=fields)


def _run_together(count: int, job: Callable[[], MoResult], timeout: float) -> list[MoResult]:
    """Runs ``job`` in ``count`` threads released at once; waits at most about ``timeout`` each."""
    barrier = threading.Barrier(count)
    results: list[MoResult | None] = [None] * count

    def worker(index: int) -> None:
        try:
            barrier.wait(timeout)
        except threading.BrokenBarrierError:
            return
        results[index] = job()

    threads = [threading.Thread(target=worker, args=(i,), name="mo-duplicate", daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 2 * timeout + 5
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    missing = [i for i, result in enumerate(results) if result is None]
    if missing:
        raise TimeoutError("concurrent MO sends did not finish in time")
    return [result for result in results if result is not None]
