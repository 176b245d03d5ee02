"""The local stack: the emulator, the template deployed on it, and handles to what was deployed."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import boto3
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from devstack.ministack import LOCAL_ACCESS_KEY_ID, LOCAL_REGION, LOCAL_SECRET_ACCESS_KEY, Ministack
from devstack.sam import RepoPaths, SamCli, build_lock, for_the_emulator, local_parameter_overrides

logger = logging.getLogger(__name__)

STACK_NAME = "mms-relay-local"
# The Basic credentials the sample events (events/*.json) carry: no deployment's secret.
SAMPLE_WEBHOOK_USERNAME = "aerialink"
SAMPLE_WEBHOOK_PASSWORD = "example-webhook-password"  # noqa: S105


@dataclass
class DeployedStack:
    """What a test or the demo needs of a deployed stack."""

    endpoint: str
    ca_file: Path  # the emulator's CA: pass as ``verify=`` to HTTP clients
    outputs: dict[str, str]
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)
    # The emulator the stack runs on (None when the handle was built from a state file).
    emulator: Ministack | None = field(default=None, repr=False)

    def client(self, service: str) -> Any:
        """A boto3 client for the emulator (cached per service)."""
        if service not in self._clients:
            self._clients[service] = boto3.client(
                service,  # type: ignore[call-overload]
                endpoint_url=self.endpoint,
                verify=str(self.ca_file),
                region_name=LOCAL_REGION,
                aws_access_key_id=LOCAL_ACCESS_KEY_ID,
                aws_secret_access_key=LOCAL_SECRET_ACCESS_KEY,
                config=Config(connect_timeout=5, read_timeout=60, retries={"max_attempts": 2}),
            )
        return self._clients[service]

    def transaction_item(self, guid: str) -> dict[str, Any] | None:
        """The messages table's ``TX#<guid>`` item as stored (a consistent read), or None."""
        answer = self.client("dynamodb").get_item(
            TableName=self.outputs["MessagesTableName"],
            Key={"pk": {"S": f"TX#{guid}"}, "sk": {"S": "TX"}},
            ConsistentRead=True,
        )
        item: dict[str, Any] | None = answer.get("Item")
        return item

    def close_clients(self) -> None:
        """Closes the cached clients' connections (they are made again on next use)."""
        clients, self._clients = self._clients, {}
        for client in clients.values():
            client.close()

    def restart_emulator(self) -> None:
        """Restarts the emulator in place (same port, same state when it persists its state): its
        function processes die, in-flight invocations with them. Our own connections are closed
        first, since the emulator waits for open TLS connections before it saves its state."""
        if self.emulator is None:
            raise RuntimeError("this stack handle does not own its emulator")
        self.close_clients()
        self.emulator.restart()

    @property
    def api_url(self) -> str:
        """The API's base URL as the emulator serves it.

        The ``ApiUrl`` output is the AWS form (``https://<id>.execute-api.<region>.amazonaws.com/<stage>``);
        ministack serves the same API at ``<endpoint>/restapis/<id>/<stage>/_user_request_``.
        """
        host, _, stage = self.outputs["ApiUrl"].removeprefix("https://").partition("/")
        api_id = host.split(".", 1)[0]
        return f"{self.endpoint}/restapis/{api_id}/{stage}/_user_request_"

    def local_url(self, api_url: str) -> str:
        """An URL under the ``ApiUrl`` output (AWS form) rewritten to reach the emulator."""
        base = self.outputs["ApiUrl"].rstrip("/")
        if not api_url.startswith(base):
            raise ValueError("not an URL of this stack's API")
        return self.api_url + api_url[len(base) :]

    def signed_get(self, path: str) -> requests.Response:
        """A GET on the API signed with SigV4 (the query API is IAM-authorised), like a service's call."""
        url = f"{self.api_url}{path}"
        request = AWSRequest(method="GET", url=url)
        credentials = Credentials(LOCAL_ACCESS_KEY_ID, LOCAL_SECRET_ACCESS_KEY)
        SigV4Auth(credentials, "execute-api", LOCAL_REGION).add_auth(request)
        return requests.get(url, headers=dict(request.headers), timeout=60, verify=str(self.ca_file))

    def use_sample_webhook_credentials(self) -> None:
        """Puts the credentials the ``events/`` samples carry in the webhook secret (``make up``), so
        ``make invoke`` with a webhook sample is answered rather than refused (local stack only)."""
        self.client("secretsmanager").put_secret_value(
            SecretId=self.outputs["WebhookCredentialsSecretArn"],
            SecretString=json.dumps({"username": SAMPLE_WEBHOOK_USERNAME, "password": SAMPLE_WEBHOOK_PASSWORD}),
        )

    def webhook_credentials(self) -> tuple[str, str]:
        """The Basic credentials the template generated for the gateway's webhook posts."""
        secret = self.client("secretsmanager").get_secret_value(SecretId=self.outputs["WebhookCredentialsSecretArn"])
        document = json.loads(secret["SecretString"])
        return document["username"], document["password"]


def _integer_scaling_configs(stack: DeployedStack) -> None:
    functions = stack.client("lambda")
    for mapping in functions.list_event_source_mappings()["EventSourceMappings"]:
        concurrency = (mapping.get("ScalingConfig") or {}).get("MaximumConcurrency")
        if concurrency is not None:  # botocore shows it as an int either way: set it regardless
            functions.update_event_source_mapping(
                UUID=mapping["UUID"], ScalingConfig={"MaximumConcurrency": int(concurrency)}
            )


class LocalStack:
    """Starts the emulator, builds and deploys the template, and tears everything down on exit.

    Local workarounds for what the emulator lacks live here, never in the template
    (docs/local-stack.md): DynamoDB TTL is switched on after the deploy (ministack ignores
    ``TimeToLiveSpecification``), and event source mappings whose ``ScalingConfig`` came from a
    Parameter get it again as an integer (ministack keeps CloudFormation's string, and its poller
    then fails comparing it).
    """

    def __init__(
        self,
        paths: RepoPaths | None = None,
        extra_overrides: dict[str, str] | None = None,
        emulator_env: dict[str, str] | None = None,
        persist: bool = False,
    ) -> None:
        """``emulator_env``: added to the emulator's environment (its functions inherit it);
        ``persist``: the emulator keeps its state across ``DeployedStack.restart_emulator()``."""
        self._paths = paths or RepoPaths.discover()
        self._extra = extra_overrides or {}
        self._ministack = Ministack(self._paths.ministack, emulator_env, persist)

    def up(self, progress: Any = logger.info) -> DeployedStack:
        sam = SamCli(self._paths)
        started = time.monotonic()
        with build_lock(self._paths, progress):
            progress("building the template (sam build)")
            built = sam.build()
            progress("starting ministack")
            self._ministack.start()
            try:
                progress(f"deploying to ministack at {self._ministack.endpoint} (sam deploy)")
                overrides = local_parameter_overrides(self._paths, self._extra)
                sam.deploy(
                    for_the_emulator(built), self._ministack.endpoint, self._ministack.ca_file, STACK_NAME, overrides
                )
            except BaseException:
                self.down()
                raise
        try:
            stack = DeployedStack(self._ministack.endpoint, self._ministack.ca_file, {}, emulator=self._ministack)
            described = stack.client("cloudformation").describe_stacks(StackName=STACK_NAME)["Stacks"][0]
            stack.outputs = {item["OutputKey"]: item["OutputValue"] for item in described.get("Outputs", [])}
            stack.client("dynamodb").update_time_to_live(
                TableName=stack.outputs["MessagesTableName"],
                TimeToLiveSpecification={"Enabled": True, "AttributeName": "expiresAt"},
            )
            _integer_scaling_configs(stack)
        except BaseException:
            self.down()
            raise
        progress(f"local stack up in {time.monotonic() - started:.1f}s")
        return stack

    def down(self) -> None:
        self._ministack.stop()

    @property
    def emulator_pid(self) -> int:
        """The emulator's process id, for measuring what it and its function processes use."""
        return self._ministack.pid

    def __enter__(self) -> DeployedStack:
        return self.up()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.down()
