"""`make deploy`'s choice, against the emulator's CloudFormation: guided the first time only."""

from __future__ import annotations

import os
import subprocess

import pytest

from devstack.ministack import LOCAL_ACCESS_KEY_ID, LOCAL_REGION, LOCAL_SECRET_ACCESS_KEY
from devstack.stack import DeployedStack
from tests.template import ROOT

pytestmark = pytest.mark.system


def dry_run(stack: DeployedStack, config_env: str) -> str:
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "AWS_ENDPOINT_URL": stack.endpoint,
        "AWS_CA_BUNDLE": str(stack.ca_file),
        "AWS_ACCESS_KEY_ID": LOCAL_ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": LOCAL_SECRET_ACCESS_KEY,
        "AWS_DEFAULT_REGION": LOCAL_REGION,
    }
    result = subprocess.run(
        [str(ROOT / ".venvs/sam/bin/python"), "scripts/deploy.py", config_env, "--dry-run"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout.strip()


def test_a_stack_that_exists_is_updated_with_its_saved_answers(local_stack: DeployedStack) -> None:
    assert dry_run(local_stack, "local") == "updating mms-relay-local: deploy --config-env local"


def test_the_first_deploy_of_an_environment_asks_its_questions(local_stack: DeployedStack) -> None:
    assert dry_run(local_stack, "default") == "first deploy of mms-relay-dev: deploy --guided --config-env default"
