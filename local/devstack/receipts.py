"""The simulated gateway's delivery receipts, posted as a real connection would post them (``make up``).

While ``make up`` runs, every message the simulator accepts with a receipt requested
(``registeredDelivery=1`` over HTTPS, ``X-Mms-Delivery-Report: Yes`` over MM4) gets its receipts
posted back to the stack a moment later: ``ENROUTE`` then ``DELIVRD`` to ``/dlr`` for an HTTPS
send, an MM4 delivery report (``Retrieved``) per recipient to ``/dlr/mm4`` for an MM4 one. So
``mmsrelay send --delivery-report --wait`` on the local stack follows a job to ``delivered``. The
tests and the demo post their own receipts instead (in the order each case needs).
"""

from __future__ import annotations

import logging
import threading
from types import TracebackType

from devstack.stack import DeployedStack
from gatewaysim.receipts import receipts_for_http, reports_for_mm4
from gatewaysim.simulator import GatewaySimulator

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.5
HTTP_STATES = ("ENROUTE", "DELIVRD")
MM4_STATES = ("Retrieved",)


class ReceiptPoster:
    """A daemon thread posting receipts for what the simulator accepts while it runs; ``stop()`` ends it."""

    def __init__(self, simulator: GatewaySimulator, stack: DeployedStack, credentials: tuple[str, str]) -> None:
        self._simulator = simulator
        self._stack = stack
        self._credentials = credentials
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="receipt-poster", daemon=True)
        # Receipts for what is accepted from now on (not for what the simulator took before).
        self._http_done = len(simulator.http_api.sent)
        self._mm4_done = len(simulator.mm4.transactions)
        self.posted = 0

    def start(self) -> ReceiptPoster:
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def __enter__(self) -> ReceiptPoster:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def post_new(self) -> int:
        """Receipts for what was accepted since the last call, posted now; how many."""
        username, password = self._credentials
        verify = str(self._stack.ca_file)
        posted = 0
        sent = self._simulator.http_api.sent[self._http_done :]
        self._http_done += len(sent)
        with self._simulator.receipt_sender(f"{self._stack.api_url}/dlr", username, password, 30, verify) as http:
            for message in sent:
                for receipt in receipts_for_http(message, HTTP_STATES):
                    posted += http.send(receipt).ok
        transactions = self._simulator.mm4.transactions[self._mm4_done :]
        self._mm4_done += len(transactions)
        with self._simulator.receipt_sender(f"{self._stack.api_url}/dlr/mm4", username, password, 30, verify) as mm4:
            for transaction in transactions:
                for report in reports_for_mm4(transaction, MM4_STATES):
                    posted += mm4.send_raw(report).ok
        self.posted += posted
        return posted

    def _run(self) -> None:
        while not self._stop.wait(POLL_SECONDS):
            try:
                self.post_new()
            except Exception:  # the loop outlives one failed round; the next one retries nothing
                logger.exception("posting receipts failed")
