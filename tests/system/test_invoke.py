"""`make invoke` on the deployed local stack: the built function run once, Docker-free, on a sample."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from devstack import invoke_on_stack
from devstack.sam import RepoPaths
from devstack.stack import STACK_NAME, DeployedStack
from devstack.stack_state import StackState, published

pytestmark = pytest.mark.system


def invoked(
    stack: DeployedStack, tmp_path: Path, function: str, event: str, capsys: pytest.CaptureFixture[str]
) -> tuple[int, dict[str, object]]:
    """``make invoke FUNCTION=function EVENT=event`` against ``stack`` (described in a file of its own)."""
    paths = RepoPaths.discover()
    state = StackState(stack.endpoint, stack.ca_file, STACK_NAME, stack.outputs, paths.build_dir, os.getpid())
    capsys.readouterr()
    with published(tmp_path / "stack.json", state):
        code = invoke_on_stack.run(function, event, paths, state_path=tmp_path / "stack.json")
    answer: dict[str, object] = json.loads(capsys.readouterr().out)
    return code, answer


def test_a_function_of_the_stack_answers_a_sample_with_the_stacks_configuration(
    local_stack: DeployedStack, credentials: tuple[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the deployed stack, whose webhook secret holds its own generated password
    # When the receipt function is invoked on the sample (which carries the samples' credentials)
    code, answer = invoked(local_stack, tmp_path, "receipt", "events/dlr_post_word.json", capsys)
    # Then it ran with the stack's configuration: it read the stack's secret and refused the sample
    assert code == 0
    assert answer["statusCode"] == 401
    # And once the secret holds the samples' credentials (as `make up` sets it), the sample is applied
    local_stack.use_sample_webhook_credentials()
    try:
        code, answer = invoked(local_stack, tmp_path, "ReceiptFunction", "events/dlr_post_word.json", capsys)
    finally:
        local_stack.client("secretsmanager").put_secret_value(
            SecretId=local_stack.outputs["WebhookCredentialsSecretArn"],
            SecretString=json.dumps({"username": credentials[0], "password": credentials[1]}),
        )
    assert (code, answer["statusCode"]) == (0, 200)
    assert json.loads(str(answer["body"]))["deliveryStatus"] == "delivered"
