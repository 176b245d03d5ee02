"""AWS answered in-process by botocore's Stubber, identically for a handler and its floor.

A plan is a list of ``[service, operation, response]`` in call order; each service's calls are
answered from its own queue. Parameters are not checked (the calls differ in detail between a
handler and its floor), answers are: an unexpected operation fails the run.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.stub import Stubber


def stub_clients(clients: dict[str, Any], plan_file: str) -> list[Stubber]:
    with open(plan_file) as handle:
        plan = json.load(handle)
    stubbers = {service: Stubber(client) for service, client in clients.items()}
    for service, operation, response in plan:
        stubbers[service].add_response(operation, response)
    for stubber in stubbers.values():
        stubber.activate()
    return list(stubbers.values())


def assert_all_used(stubbers: list[Stubber]) -> None:
    for stubber in stubbers:
        stubber.assert_no_pending_responses()
