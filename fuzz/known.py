"""What the run saw stored, offered back to the query API so that its found answers are checked too.

A generated id or number almost never names anything stored: the query API would answer 404 and
400 only, and the document's 200 schemas (a message, a transaction, a conversation) would go
unchecked. So the transaction GUIDs the webhooks answered 2xx with are kept, and the numbers of
the transactions ``GET /messages/{id}`` then found; a valid (positive) example of a query
operation takes one of them as its path parameter half the time. The operations run in the
document's order (webhooks, media links, messages, conversations), so each is known in time.
Generated numbers are seldom possible ones, so the run also stores a few messages between real
numbers before it begins (``Fuzzer.seed``), for conversations that hold something.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping

from hypothesis import strategies as st

from fuzz.schema import GeneratedCase, Operation

MAX_KEPT = 2000  # values per parameter; plenty to choose from
NUMBER_FIELDS = ("from", "to")  # of an InboundTransaction or OutboundTransaction


class KnownValues:
    """Path parameter values (``id``, ``number``) that name something the stack stored (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, list[str]] = {"id": [], "number": []}

    def note_accepted(self, case: GeneratedCase, answer: object) -> None:
        """Notes what an accepted webhook request stored: its GUID (from the answer)."""
        if isinstance(answer, Mapping) and isinstance(answer.get("transactionGUID"), str):
            with self._lock:
                self._keep("id", answer["transactionGUID"])

    def note_seeded(self, transaction_guid: str, numbers: tuple[str, ...]) -> None:
        """Notes a message the run stored on purpose before it began (a conversation to read)."""
        with self._lock:
            self._keep("id", transaction_guid)
            for number in numbers:
                self._keep("number", number)

    def note_found(self, answer: object) -> None:
        """Notes the numbers of a message the query API found (as stored: E.164 or a short code)."""
        if isinstance(answer, Mapping):
            with self._lock:
                for name in NUMBER_FIELDS:
                    if isinstance(answer.get(name), str) and answer[name]:
                        self._keep("number", answer[name])

    def _keep(self, parameter: str, value: str) -> None:
        values = self._values[parameter]
        if len(values) < MAX_KEPT and value not in values:
            values.append(value)

    def strategy(self, operation: Operation) -> st.SearchStrategy[dict[str, str]]:
        """Path parameters to put in place of the generated ones: none, or known values (half the time)."""
        with self._lock:
            choices = {
                parameter.name: list(self._values[parameter.name])
                for parameter in operation.path_parameters
                if self._values.get(parameter.name)
            }
        if not choices:
            return st.just({})
        known = st.fixed_dictionaries({name: st.sampled_from(values) for name, values in choices.items()})
        return st.one_of(known, st.just({}))
