"""A local stack pointed at the gateway simulator: parameter overrides and the credentials secret.

The template's gateway Parameters (base URL, MM4 host, port, TLS mode, domain, trusted CA) are
overridden with the simulator's, and after the deploy the simulator's API key and secret are put
into the stack's gateway credentials secret, as an operator would put the real ones.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from devstack.stack import DeployedStack, LocalStack
from gatewaysim.simulator import GatewaySimulator

logger = logging.getLogger(__name__)


@contextlib.contextmanager
def stack_on(
    simulator: GatewaySimulator,
    progress: Callable[[str], object] = logger.info,
    overrides: Mapping[str, str] | None = None,
    emulator_env: dict[str, str] | None = None,
    persist: bool = False,
) -> Iterator[DeployedStack]:
    """The template deployed on a local emulator, sending through ``simulator`` (started); torn
    down when the block ends. ``overrides``: more template Parameters (after the simulator's);
    ``emulator_env`` and ``persist`` are passed to :class:`LocalStack`."""
    local = LocalStack(
        extra_overrides={**gateway_overrides(simulator), **(overrides or {})},
        emulator_env=emulator_env,
        persist=persist,
    )
    stack = local.up(progress=progress)
    try:
        install_gateway_credentials(stack, simulator)
        yield stack
    finally:
        local.down()


def gateway_overrides(simulator: GatewaySimulator) -> dict[str, str]:
    """Template Parameters for a stack that sends through ``simulator`` (started)."""
    ca_files = [simulator.http_api.ca_file, simulator.mm4.ca_file]
    bundle = b"".join(Path(str(path)).read_bytes() for path in ca_files if path)
    return {
        "GatewayBaseUrl": simulator.http_api.base_url,
        "Mm4Host": "127.0.0.1",
        "Mm4Port": str(simulator.mm4.port),
        "Mm4TlsMode": "starttls" if simulator.mm4.mode == "starttls" else "implicit",
        "Mm4Domain": simulator.mm4.domain,
        "GatewayCaCertificate": base64.b64encode(bundle).decode("ascii"),
    }


def install_gateway_credentials(stack: DeployedStack, simulator: GatewaySimulator) -> None:
    stack.client("secretsmanager").put_secret_value(
        SecretId=stack.outputs["GatewayCredentialsSecretArn"],
        SecretString=json.dumps({"apiKey": simulator.api_key, "apiSecret": simulator.api_secret}),
    )
