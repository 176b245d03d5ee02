"""The run: requests generated from the document, sent to a deployed stack, each answer checked.

For each operation of schemas/openapi.yaml, Hypothesis draws examples from schemathesis's strategy
(half valid per the document, half not: missing or malformed fields, parameters and credentials)
together with the credentials to send (fuzz.credentials); the main thread generates, a few worker
threads send (``GeneratedCase.call``) and check (``GeneratedCase.validate_response``, as ``call_and_validate`` does, but
keeping the answer for the tallies). Nothing is shrunk or stopped at the first failure: every
request is counted, and the first failures of each operation are kept with a command reproducing them.
"""

from __future__ import annotations

import queue
import random
import sys
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import requests
from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.transport import Response
from schemathesis.errors import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from devstack.ministack import LOCAL_ACCESS_KEY_ID, LOCAL_REGION, LOCAL_SECRET_ACCESS_KEY
from devstack.stack import DeployedStack
from fuzz.credentials import BASIC, SIGV4, Draw, StackCredentials, draws_for, scheme_of
from fuzz.figures import FuzzReport, OperationTally
from fuzz.known import KnownValues
from fuzz.logs import unhandled_exceptions
from fuzz.schema import GeneratedCase, Operation, operations_of
from fuzz.stored import GuidLedger, guids_in, stored_of

# No 5xx, and every answer is one the document describes: its status, content type, headers, body.
CHECKS = (
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
)
# What a request without valid credentials may be answered: refused by the function (401) or by API
# Gateway (403), or throttled before either looked (429).
REFUSALS = {BASIC: frozenset({401, 429}), SIGV4: frozenset({403, 429})}
TIMEOUT = (10, 60)  # connect, read: above every function's timeout
GENERATION_ATTEMPTS = 5  # Hypothesis runs (new seeds) to reach the count if one stops short
REPORT_LIMIT = 4000  # characters of one failure's report
PROGRESS_SECONDS = 2.0
SEEDED_MESSAGES = 5
# Framing and hop-by-hop headers (RFC 9110 section 7.6.1, RFC 9112), and Host, which names the server.
CONNECTION_HEADERS = frozenset(
    {
        "connection",
        "content-length",
        "expect",
        "host",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
SEEDED_DESTINATION = "+12223334444"


class TimeUp(Exception):
    """The run's time limit passed: generation stops, what was sent is counted."""


@dataclass(frozen=True)
class Job:
    case: GeneratedCase
    draw: Draw


class Fuzzer:
    """Sends ``examples`` generated requests to each operation and checks what the stack did."""

    def __init__(
        self,
        stack: DeployedStack,
        examples: int,
        workers: int = 4,
        seed: int | None = None,
        labels: Sequence[str] = (),
        time_limit: float = 4 * 3600.0,
        progress: Callable[[str], object] | None = None,
    ) -> None:
        self._stack = stack
        self._examples = examples
        self._workers = workers
        self._seed = seed if seed is not None else random.randrange(2**32)  # noqa: S311 - a test seed
        self._operations = [op for op in operations_of() if not labels or op.label in labels]
        if labels and len(self._operations) != len(set(labels)):
            known = ", ".join(op.label for op in operations_of())
            raise ValueError(f"unknown operation in {list(labels)}; known: {known}")
        self._deadline = time.monotonic() + time_limit
        self._progress = progress
        username, password = stack.webhook_credentials()
        self._credentials = StackCredentials(
            username, password, LOCAL_ACCESS_KEY_ID, LOCAL_SECRET_ACCESS_KEY, LOCAL_REGION
        )
        self._ledger = GuidLedger()
        self._known = KnownValues()
        self._started_ms = int(time.time() * 1000)
        self.report = FuzzReport(examples_per_operation=examples, seed=self._seed)
        for op in self._operations:
            self.report.operations[op.label] = OperationTally(op.label, needs_credentials=scheme_of(op) is not None)

    def seed(self) -> None:
        """Stores a few inbound messages between real numbers (not counted): conversations to read."""
        with requests.Session() as session:
            for _ in range(SEEDED_MESSAGES):
                guid = str(uuid.uuid4()).upper()
                numbers = (f"+1310{uuid.uuid4().int % 10_000_000:07d}", SEEDED_DESTINATION)
                answer = session.post(
                    f"{self._stack.api_url}/inbound",
                    data={"transactionGUID": guid, "source": numbers[0], "destination": numbers[1]},
                    auth=(self._credentials.webhook_username, self._credentials.webhook_password),
                    verify=str(self._stack.ca_file),
                    timeout=TIMEOUT,
                )
                answer.raise_for_status()
                self._ledger.note({guid}, refused=False)
                self._known.note_seeded(guid, numbers)

    def run(self) -> FuzzReport:
        """Seeds, then generates and sends every request; the checks after the run are :meth:`check_aftermath`."""
        started = time.monotonic()
        self.seed()
        try:
            for index, operation in enumerate(self._operations):
                self._fuzz(operation, self._seed + 1000 * index)
        except TimeUp:
            self._say("time limit reached: stopping generation")
        finally:
            self.report.seconds = time.monotonic() - started
        return self.report

    def check_aftermath(self, settle_seconds: float = 10.0) -> FuzzReport:
        """After ``settle_seconds`` (retries and stream consumers finishing what the run started): the
        functions' logs since the run began, and the table for GUIDs that only refused requests carried."""
        time.sleep(settle_seconds)
        self._say("reading the functions' logs")
        self.report.unhandled_exceptions = unhandled_exceptions(self._stack.client("logs"), self._started_ms)
        guids = self._ledger.only_refused()
        self._say(f"looking up {len(guids)} GUIDs only refused requests carried")
        self.report.refused_guids_checked = len(guids)
        table = self._stack.outputs["MessagesTableName"]
        self.report.stored_from_refused = stored_of(self._stack.client("dynamodb"), table, guids)
        return self.report

    # ------------------------------------------------------------------ one operation
    def _fuzz(self, operation: Operation, seed: int) -> None:
        jobs: queue.Queue[Job | None] = queue.Queue(maxsize=self._workers * 8)
        workers = [
            threading.Thread(target=self._work, args=(jobs,), name=f"fuzz-{n}", daemon=True)
            for n in range(self._workers)
        ]
        for worker in workers:
            worker.start()
        reporter = _Progress(self.report, operation.label, self._examples, self._progress)

        def put(job: Job) -> None:
            jobs.put(job)
            reporter.show()

        try:
            positive = self._examples - self._examples // 2
            self._generate(operation, GenerationMode.POSITIVE, positive, seed, put)
            self._generate(operation, GenerationMode.NEGATIVE, self._examples - positive, seed + 500, put)
        finally:
            for _ in workers:
                jobs.put(None)
            for worker in workers:
                while worker.is_alive():
                    worker.join(PROGRESS_SECONDS)
                    reporter.show()
            reporter.show(final=True)

    def _generate(
        self, operation: Operation, mode: GenerationMode, count: int, seed: int, put: Callable[[Job], None]
    ) -> None:
        # Only a valid example takes known path parameters: a negative one may be negative by its path.
        known = self._known.strategy(operation) if mode is GenerationMode.POSITIVE else st.just({})
        strategy = st.tuples(operation.as_strategy(generation_mode=mode), st.sampled_from(draws_for(operation)), known)
        produced = 0

        for attempt in range(GENERATION_ATTEMPTS):
            if produced >= count:
                return

            @hypothesis_seed(seed + attempt)
            @settings(
                max_examples=count - produced,
                deadline=None,
                database=None,
                phases=[Phase.generate],
                suppress_health_check=list(HealthCheck),
                verbosity=Verbosity.quiet,
                print_blob=False,
            )
            @given(drawn=strategy)
            def feed(drawn: tuple[GeneratedCase, Draw, dict[str, str]]) -> None:
                nonlocal produced
                if time.monotonic() > self._deadline:
                    raise TimeUp
                if produced < count:
                    case, draw, path_parameters = drawn
                    if path_parameters:
                        case.path_parameters = {**(case.path_parameters or {}), **path_parameters}
                    put(Job(case, draw))
                    produced += 1

            feed()

    # ------------------------------------------------------------------ one request
    def _work(self, jobs: queue.Queue[Job | None]) -> None:
        with requests.Session() as session:
            while (job := jobs.get()) is not None:
                self._send(job, session)

    def _send(self, job: Job, session: requests.Session) -> None:
        case = job.case
        label = case.operation.label
        signer = self._credentials.apply(case, job.draw)
        without_connection_headers(case)
        base_url = self._stack.api_url
        verify = str(self._stack.ca_file)
        try:
            response = case.call(base_url=base_url, session=session, verify=verify, timeout=TIMEOUT, auth=signer)
        except requests.RequestException as error:
            self._ledger.note(self._guids_of(case, error.request), refused=False)
            self.report.record(label, None, None, _trimmed(f"{label}: no answer: {error!r}\n{_curl(case)}"))
            return
        valid = self._credentials.sent_valid(case, response.request)
        failure = None
        try:
            case.validate_response(
                response,
                checks=list(CHECKS),
                additional_checks=[self._refused_without_credentials],
                transport_kwargs={"base_url": base_url, "verify": verify, "timeout": TIMEOUT},
            )
        except FailureGroup as group:
            failure = _trimmed(f"{label} ({job.draw.value} credentials):\n{group}")
        refused = 400 <= response.status_code < 500
        self._ledger.note(self._guids_of(case, response.request), refused=refused)
        if 200 <= response.status_code < 300:
            if scheme_of(case.operation) == BASIC:
                self._known.note_accepted(case, _json_or_none(response))
            elif case.operation.path == "/messages/{id}":
                self._known.note_found(_json_or_none(response))
        self.report.record(label, response.status_code, valid, failure)

    def _refused_without_credentials(self, ctx: object, response: Response, case: GeneratedCase) -> bool | None:
        """A schemathesis check: a request without valid credentials is refused, and nothing else."""
        scheme = scheme_of(case.operation)
        if scheme is None or self._credentials.sent_valid(case, response.request) is not False:
            return None
        if response.status_code not in REFUSALS[scheme]:
            expected = " or ".join(str(status) for status in sorted(REFUSALS[scheme]))
            raise AssertionError(
                f"answered {response.status_code} to a request without valid credentials (expected {expected})"
            )
        return None

    def _guids_of(self, case: GeneratedCase, request: object) -> set[str]:
        if scheme_of(case.operation) != BASIC or not isinstance(request, requests.PreparedRequest):
            return set()  # only the webhooks store what they are sent
        return guids_in(request)

    def _say(self, text: str) -> None:
        if self._progress is not None:
            self._progress(text)


class _Progress:
    """One operation's progress line, at most every PROGRESS_SECONDS."""

    def __init__(self, report: FuzzReport, label: str, target: int, say: Callable[[str], object] | None) -> None:
        self._report = report
        self._label = label
        self._target = target
        self._say = say
        self._started = time.monotonic()
        self._last = 0.0

    def show(self, final: bool = False) -> None:
        now = time.monotonic()
        if self._say is None or (not final and now - self._last < PROGRESS_SECONDS):
            return
        self._last = now
        requests_sent, answers, failures = self._report.snapshot(self._label)
        rate = requests_sent / max(now - self._started, 0.001)
        counts = ", ".join(f"{name} {count}" for name, count in sorted(answers.items()))
        self._say(f"{self._label}: {requests_sent}/{self._target} ({counts}; failures {failures}) {rate:.1f}/s")


def without_connection_headers(case: GeneratedCase) -> None:
    """Leaves out the generated headers that say how the message is framed or carried, not what it
    asks (a negative example may add any header): they test the HTTP server in front, which in AWS
    is API Gateway's own and never reaches the relay. The emulator's, for one, answers a made-up
    ``Transfer-Encoding`` 501, as RFC 9112 says a server should."""
    for name in [name for name in (case.headers or {}) if name.lower() in CONNECTION_HEADERS]:
        del case.headers[name]


def _json_or_none(response: Response) -> object:
    try:
        return response.json()
    except ValueError:
        return None


def _curl(case: GeneratedCase) -> str:
    try:
        return case.as_curl_command()
    except Exception as error:
        return f"(no command: {error!r})"


def _trimmed(text: str) -> str:
    return text if len(text) <= REPORT_LIMIT else f"{text[:REPORT_LIMIT]}... ({len(text)} characters)"


def stderr_progress(text: str) -> None:
    print(f"[fuzz] {text}", file=sys.stderr, flush=True)
