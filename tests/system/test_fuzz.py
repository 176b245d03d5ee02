"""Generated requests against the deployed stack: ``make fuzz``'s checks on a few dozen per operation.

The full run (5,000 per operation, a stack of its own) is ``make fuzz`` (docs/fuzzing.md). Here the
session's stack gets the same requests, fewer of them, from a fixed seed (the same ones every run;
``make fuzz`` draws a new seed each time and prints it).
"""

from __future__ import annotations

import pytest

from devstack.stack import DeployedStack
from fuzz.run import Fuzzer

pytestmark = pytest.mark.system

EXAMPLES = 50  # per operation (100 per route for /inbound and /dlr): half valid per the document, half not
SEED = 20261203


def test_generated_requests_get_documented_answers_no_5xx_and_refused_ones_store_nothing(
    local_stack: DeployedStack,
) -> None:
    # Given requests generated from schemas/openapi.yaml for every operation, with valid, wrong and
    # missing credentials
    fuzzer = Fuzzer(local_stack, examples=EXAMPLES, workers=4, seed=SEED)
    # When they are sent to the deployed stack
    report = fuzzer.run()
    fuzzer.check_aftermath(settle_seconds=3.0)
    # Then no answer is a 5xx, each is one the document describes (a refusal for those without
    # valid credentials), no function logged an unhandled exception, and no GUID that only refused
    # requests carried has anything stored
    problems = report.problems()
    assert not problems, "\n".join([*problems, "", *report.figures()])
    assert report.requests == EXAMPLES * len(report.operations) == EXAMPLES * 8
    assert report.refused_guids_checked > 0
