"""System tier: the template deployed on the local emulator, driven over HTTP like the gateway.

One stack per session (build + deploy takes ~15 s); the suite starts ministack and the gateway
simulator on free 127.0.0.1 ports and stops both, so nothing needs to be running beforehand.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from devstack.stack import DeployedStack, LocalStack
from gatewaysim.simulator import GatewaySimulator

POLL_SECONDS = 0.25


@pytest.fixture(scope="session")
def local_stack() -> Iterator[DeployedStack]:
    stack = LocalStack()
    deployed = stack.up()
    try:
        yield deployed
    finally:
        stack.down()


@pytest.fixture(scope="session")
def simulator() -> Iterator[GatewaySimulator]:
    with GatewaySimulator() as running:
        yield running


@pytest.fixture(scope="session")
def credentials(local_stack: DeployedStack) -> tuple[str, str]:
    return local_stack.webhook_credentials()


def eventually(check: Callable[[], Any], timeout: float = 30.0) -> Any:
    """Polls ``check`` until it returns something truthy (bounded); returns that value."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(POLL_SECONDS)
