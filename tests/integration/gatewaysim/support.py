"""Helpers shared by the simulator's tests."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable

TIMEOUT = 5.0


def wait_until(condition: Callable[[], object], timeout: float = TIMEOUT) -> None:
    """Polls ``condition`` every 20 ms until it is true or ``timeout`` seconds have passed (never raises)."""
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)


def start_client(job: Callable[[], None], arrived: Callable[[], object], timeout: float = TIMEOUT) -> threading.Thread:
    """Runs ``job`` in a daemon thread and waits (at most ``timeout``) until ``arrived()`` is true.

    The caller asserts that it arrived; the thread is returned still running, to be joined.
    """
    client = threading.Thread(target=job, daemon=True)
    client.start()
    wait_until(arrived, timeout)
    return client


def end_process(process: subprocess.Popen[str]) -> None:
    """Kills ``process`` if it still runs (the test failed before it ended) and closes its stdout."""
    if process.poll() is None:
        process.kill()
        process.wait(timeout=TIMEOUT)
    if process.stdout is not None:
        process.stdout.close()
