"""Outbound MMS: jobs from the outbound queue sent through the gateway (SQS, partial batch failures)."""

import os

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.utilities.typing import LambdaContext

from mmsrelay.observability import traced_when_enabled
from mmsrelay.outbound.records import PartialBatchResponse
from mmsrelay.wiring.outbound import outbound_relay

logger = Logger()
metrics = Metrics()
copy_config_to_registered_loggers(source_logger=logger, include={"mmsrelay"})


@traced_when_enabled(os.environ)
@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> PartialBatchResponse:  # type: ignore[type-arg]
    return outbound_relay(metrics).handle_batch(event, context)
