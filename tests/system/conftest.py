"""System tier: the template deployed on the local emulator, driven over HTTP like the gateway.

One stack per session (build + deploy takes ~15 s); the suite starts ministack and the gateway
simulator on free 127.0.0.1 ports and stops both, so nothing needs to be running beforehand.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from devstack.gateway import stack_on
from devstack.stack import DeployedStack
from gatewaysim.simulator import GatewaySimulator

POLL_SECONDS = 0.25


@pytest.fixture(scope="session")
def simulator() -> Iterator[GatewaySimulator]:
    with GatewaySimulator() as running:
        yield running


# A sending code the stack paces at 2 messages per second (test_outbound.py).
PACED_CODE = "15550000002"


@pytest.fixture(scope="session")
def local_stack(simulator: GatewaySimulator) -> Iterator[DeployedStack]:
    with stack_on(simulator, overrides={"SendRateOverrides": f"{PACED_CODE}=2"}) as deployed:
        yield deployed


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


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """On a failure, the deployed functions' recent log lines go into the report."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    stack = getattr(item, "funcargs", {}).get("local_stack")
    if report.when == "call" and report.failed and isinstance(stack, DeployedStack):
        report.sections.append(("deployed function logs", function_logs(stack)))


def function_logs(stack: DeployedStack, lines_per_function: int = 40) -> str:
    logs = stack.client("logs")
    text = []
    for group in logs.describe_log_groups(logGroupNamePrefix="/aws/lambda/")["logGroups"]:
        events = logs.filter_log_events(logGroupName=group["logGroupName"])["events"][-lines_per_function:]
        text.append(f"== {group['logGroupName']}")
        text.extend(event["message"].rstrip()[:1000] for event in events)
    return "\n".join(text)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked ``last`` run after every other one (they read what the whole session did)."""
    items.sort(key=lambda item: item.get_closest_marker("last") is not None)
