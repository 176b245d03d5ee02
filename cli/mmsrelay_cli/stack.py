"""The stack a command works on: an AWS stack named by ``--stack``, or the local one ``make up`` runs.

An AWS stack is found like the AWS CLI finds things: ``--profile`` and ``--region`` (or
``AWS_PROFILE``, ``AWS_REGION``, the profile's region), then CloudFormation's DescribeStacks gives
its outputs (queue URLs, bucket, API URL) and parameters (the default country code). The local
stack is described by the state file ``make up`` writes while it runs (``local/devstack``: the
emulator's endpoint, its CA, the stack's name); the stack itself is then described the same way,
on the emulator, with its fixed test credentials.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoRegionError, ProfileNotFound

from mmsrelay_cli.errors import NotFound, Unavailable, UsageError

# read_timeout above the 30 s of the functions `dlq redrive` invokes synchronously.
CLIENT_CONFIG = Config(connect_timeout=5, read_timeout=70, retries={"max_attempts": 3, "mode": "standard"})
DEFAULT_COUNTRY_CODE = "1"  # the template's default, for a stack that does not say


@dataclass
class Stack:
    """What the commands need of a deployed stack, and clients that reach it."""

    name: str
    outputs: dict[str, str]
    parameters: dict[str, str]
    session: boto3.Session
    api_url: str  # the API's base URL as this machine reaches it (locally: through the emulator)
    endpoint_url: str | None = None  # the emulator's, for the local stack
    verify: str | bool = True  # the emulator's CA file, for the local stack
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def local(self) -> bool:
        return self.endpoint_url is not None

    @property
    def region(self) -> str:
        return str(self.session.region_name)

    @property
    def country_code(self) -> str:
        """The country code the relay reads numbers without one in (the stack's DefaultCountryCode)."""
        return self.parameters.get("DefaultCountryCode") or DEFAULT_COUNTRY_CODE

    def output(self, key: str) -> str:
        """One of the stack's outputs; ``NotFound`` when this stack has none of that name."""
        value = self.outputs.get(key)
        if not value:
            raise NotFound(f"the stack {self.name} has no output {key}")
        return value

    def client(self, service: str) -> Any:
        """A boto3 client for the stack's account and region (the emulator's, locally); one per service."""
        if service not in self._clients:
            self._clients[service] = self.session.client(
                service,  # type: ignore[call-overload]
                endpoint_url=self.endpoint_url,
                verify=self.verify,
                config=CLIENT_CONFIG,
            )
        return self._clients[service]

    def function_name(self, logical_id: str) -> str:
        """The deployed name of one of the stack's functions (``EventsFunction``, ...)."""
        try:
            resource = self.client("cloudformation").describe_stack_resource(
                StackName=self.name, LogicalResourceId=logical_id
            )
        except ClientError as error:
            raise NotFound(f"the stack {self.name} has no {logical_id}") from error
        return str(resource["StackResourceDetail"]["PhysicalResourceId"])


def aws_stack(name: str, profile: str | None, region: str | None) -> Stack:
    """The stack ``name`` in the account and region the profile (or the environment) gives."""
    try:
        session = boto3.Session(profile_name=profile, region_name=region)
    except ProfileNotFound as error:
        raise UsageError(str(error)) from None
    if not session.region_name:
        raise UsageError("no region: give --region, or set AWS_REGION or the profile's region")
    stack = Stack(name, {}, {}, session, api_url="")
    _describe(stack)
    stack.api_url = stack.output("ApiUrl").rstrip("/")
    return stack


def local_stack(state_path: Path | None) -> Stack:
    """The stack ``make up`` keeps running on the emulator, from the state file it writes."""
    try:
        from devstack.ministack import LOCAL_ACCESS_KEY_ID, LOCAL_REGION, LOCAL_SECRET_ACCESS_KEY  # noqa: PLC0415
        from devstack.sam import RepoPaths  # noqa: PLC0415
        from devstack.stack import DeployedStack  # noqa: PLC0415
        from devstack.stack_state import StackNotUp, read_state, state_file  # noqa: PLC0415
    except ImportError:
        raise UsageError(
            "the local stack is run from a checkout of the repository (make up); name an AWS stack with --stack"
        ) from None
    path = state_path or state_file(RepoPaths.discover().build_dir)
    try:
        state = read_state(path)
    except StackNotUp as error:
        raise Unavailable(str(error)) from None
    session = boto3.Session(
        aws_access_key_id=LOCAL_ACCESS_KEY_ID, aws_secret_access_key=LOCAL_SECRET_ACCESS_KEY, region_name=LOCAL_REGION
    )
    api_url = DeployedStack(state.endpoint, state.ca_file, state.outputs).api_url
    stack = Stack(
        state.stack_name,
        dict(state.outputs),
        {},
        session,
        api_url=api_url,
        endpoint_url=state.endpoint,
        verify=str(state.ca_file),
    )
    _describe(stack)
    return stack


def _describe(stack: Stack) -> None:
    try:
        described = stack.client("cloudformation").describe_stacks(StackName=stack.name)["Stacks"][0]
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ValidationError":
            raise NotFound(f"no stack named {stack.name} in {stack.region}") from None
        raise
    except NoRegionError:
        raise UsageError("no region: give --region, or set AWS_REGION or the profile's region") from None
    except BotoCoreError as error:
        raise Unavailable(f"cannot describe the stack {stack.name}: {error}") from None
    stack.outputs = {item["OutputKey"]: item["OutputValue"] for item in described.get("Outputs", [])}
    stack.parameters = {
        item["ParameterKey"]: item.get("ParameterValue", "") for item in described.get("Parameters", [])
    }
