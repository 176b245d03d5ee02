"""Delivery receipts: ``POST|GET /dlr`` (form, query string, JSON) and ``POST /dlr/mm4`` (raw MM4)."""

import os

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.utilities.typing import LambdaContext

from mmsrelay.observability import traced_when_enabled
from mmsrelay.wiring.receipts import receipt_webhook

logger = Logger()
metrics = Metrics()
copy_config_to_registered_loggers(source_logger=logger, include={"mmsrelay"})


@traced_when_enabled(os.environ)
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:  # type: ignore[type-arg]
    return receipt_webhook(metrics).handle(event)
