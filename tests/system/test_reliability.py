"""The reliability runs (docs/reliability.md) with smaller counts and the same targets.

Soak, inbound duplication and receipt chaos run on the session's stack; crashes and outages on a
stack of their own behind the AWS fault proxy, whose emulator keeps its state across a restart
(``reliability.fault_stack``). Each test fails with the run's figures and every missed target.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devstack.stack import DeployedStack
from gatewaysim.simulator import GatewaySimulator
from reliability import crashes, mo_duplicates, outages, receipt_chaos, soak
from reliability.aws_proxy import AwsFaultProxy
from reliability.fault_stack import fault_stack
from reliability.report import Report

pytestmark = pytest.mark.system


def assert_met(report: Report) -> None:
    assert not report.violations, "\n".join([*report.lines(), "missed:", *report.violations[:40]])


@pytest.fixture(scope="module")
def stack_with_faults() -> Iterator[tuple[DeployedStack, AwsFaultProxy, GatewaySimulator]]:
    with GatewaySimulator() as simulator, fault_stack(simulator) as (stack, proxy):
        yield stack, proxy, simulator


def test_soak_every_job_ends_and_none_is_sent_twice(local_stack: DeployedStack, simulator: GatewaySimulator) -> None:
    # 30 jobs, one gateway attempt in five failing transiently (500, 429, reset, hang, E500001, MM4 4xx)
    report = soak.run(local_stack, simulator, soak.SoakConfig(jobs=30, put_per_second=60.0, drain_timeout_s=240.0))
    assert_met(report)


def test_mos_posted_three_times_at_once_are_stored_once_with_their_media(
    local_stack: DeployedStack, simulator: GatewaySimulator
) -> None:
    report = mo_duplicates.run(local_stack, simulator, mo_duplicates.MoDuplicatesConfig(mos=12, settle_timeout_s=120.0))
    assert_met(report)


def test_receipts_shuffled_duplicated_early_and_late_end_in_the_right_status(
    local_stack: DeployedStack, simulator: GatewaySimulator
) -> None:
    # seed 61: all five stories, and early MM4 reports naming our forward's Message-ID among them
    config = receipt_chaos.ChaosConfig(messages=20, seed=61, send_timeout_s=180.0)
    report = receipt_chaos.run(local_stack, simulator, config)
    assert_met(report)


@pytest.mark.timeout(600)  # the first test of the module deploys the fault stack
def test_crashes_lose_no_job_and_duplicate_only_in_the_window(
    stack_with_faults: tuple[DeployedStack, AwsFaultProxy, GatewaySimulator],
) -> None:
    stack, proxy, simulator = stack_with_faults
    config = crashes.CrashConfig(jobs=20, kills_per_point=1, put_per_second=12.0, drain_timeout_s=240.0)
    report = crashes.run(stack, simulator, proxy, config)
    assert_met(report)


@pytest.mark.timeout(600)
def test_dynamodb_and_s3_outages_lose_nothing_and_never_answer_2xx_unstored(
    stack_with_faults: tuple[DeployedStack, AwsFaultProxy, GatewaySimulator],
) -> None:
    stack, proxy, simulator = stack_with_faults
    config = outages.OutageConfig(window_s=5.0, gap_s=3.0, mos_per_s=1.0, jobs_per_s=1.0, settle_timeout_s=240.0)
    report = outages.run(stack, simulator, proxy, config)
    assert_met(report)
