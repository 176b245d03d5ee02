"""The stack the crash and outage runs use: the AWS fault proxy in front of DynamoDB and S3, the
emulator's state kept across restarts, and a shorter outbound timeout and visibility.

Local-only (docs/local-stack.md, docs/reliability.md):

* the functions' DynamoDB and S3 calls go through :class:`~reliability.aws_proxy.AwsFaultProxy`
  (``AWS_ENDPOINT_URL_DYNAMODB``, ``AWS_ENDPOINT_URL_S3`` in the emulator's environment);
* the emulator persists its state (``PERSIST_STATE``), so it can be restarted mid-run;
* ``OutboundFunction``'s timeout becomes 10 s and the outbound queue's visibility timeout 15 s
  (60 s and 360 s in the template): a batch whose process died is delivered again after 15 s, not
  6 minutes, and the in-progress idempotency record (it expires with the invocation) is gone by then.
  The ratio stays as in AWS: visibility above the timeout, so a live batch is never delivered twice.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from devstack.gateway import stack_on
from devstack.stack import DeployedStack
from gatewaysim.simulator import GatewaySimulator
from reliability import stackio
from reliability.aws_proxy import AwsFaultProxy

OUTBOUND_TIMEOUT_S = 10
OUTBOUND_VISIBILITY_S = 15
OVERRIDES = {
    "OutboundRetryBaseDelaySeconds": "1",
    "OutboundMaxReceiveCount": "10",
    "OutboundMaximumConcurrency": "5",
    # S3 may be away for a while: eight media attempts, 2 s doubling, reach past four minutes.
    "MediaRetryMaxAttempts": "8",
    # The sending code's pace is not under test here (bench/outbound_stack.py measures it): at the
    # default 10 a second, and halved by each injected 429, it alone would set the time to drain.
    "SendRatePerSecond": "1000",
}


@contextlib.contextmanager
def fault_stack(simulator: GatewaySimulator) -> Iterator[tuple[DeployedStack, AwsFaultProxy]]:
    """The template deployed behind the AWS fault proxy, on an emulator that keeps its state."""
    with (
        AwsFaultProxy() as proxy,
        stack_on(
            simulator, stackio.progress, overrides=OVERRIDES, emulator_env=proxy.endpoint_env(), persist=True
        ) as stack,
    ):
        assert stack.emulator is not None
        proxy.connect(stack.endpoint, stack.emulator.certificate)
        shorten_outbound_retries(stack)
        try:
            yield stack, proxy
        finally:
            # Before the emulator stops: it waits for open TLS connections (the proxy's to it, ours)
            # before it saves its state and exits.
            proxy.stop()
            stack.close_clients()


def shorten_outbound_retries(stack: DeployedStack) -> None:
    """The local outbound timeout and visibility above (the template keeps 60 s and 360 s)."""
    stack.client("lambda").update_function_configuration(
        FunctionName=stackio.physical_id(stack, "OutboundFunction"), Timeout=OUTBOUND_TIMEOUT_S
    )
    stack.client("sqs").set_queue_attributes(
        QueueUrl=stack.outputs["OutboundQueueUrl"], Attributes={"VisibilityTimeout": str(OUTBOUND_VISIBILITY_S)}
    )
