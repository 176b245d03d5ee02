"""`make deploy`: build, then `sam deploy` one samconfig.toml environment to the AWS account your
credentials point at. The first time (no stack of that name in the account and region yet) it runs
`sam deploy --guided`, which asks for every Parameter and saves the answers into samconfig.toml;
later runs deploy with those answers.

    python scripts/deploy.py [default|prod|network] [--dry-run]

Runs with SAM CLI's own interpreter (it has boto3); --dry-run prints the command instead.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import boto3
from botocore.exceptions import ClientError

ROOT = Path(__file__).resolve().parents[1]


def stack_name(config_env: str) -> str:
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    if config_env not in config:
        raise SystemExit(f"samconfig.toml has no [{config_env}] environment")
    return str(config[config_env]["global"]["parameters"]["stack_name"])


def stack_exists(name: str) -> bool:
    try:
        boto3.client("cloudformation").describe_stacks(StackName=name)
    except ClientError as error:
        # CloudFormation answers a missing stack with a ValidationError that says so.
        if "does not exist" in str(error.response.get("Error", {}).get("Message", "")):
            return False
        raise
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config_env", nargs="?", default="default")
    parser.add_argument("--dry-run", action="store_true", help="print the sam command instead of running it")
    arguments = parser.parse_args()
    name = stack_name(arguments.config_env)
    first_time = not stack_exists(name)
    command = [str(Path(sys.executable).parent / "sam"), "deploy", "--config-env", arguments.config_env]
    if first_time:
        command.insert(2, "--guided")
    print(f"{'first deploy of' if first_time else 'updating'} {name}: {shlex.join(command[1:])}", flush=True)
    if arguments.dry_run:
        return 0
    return subprocess.run(command, cwd=ROOT, env=os.environ, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
