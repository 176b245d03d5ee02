"""Scheduled: transactions whose receipt deadline passed without a final receipt become no_receipt."""

import os

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.utilities.typing import LambdaContext

from mmsrelay.observability import traced_when_enabled
from mmsrelay.wiring.receipts import no_receipt_sweep

logger = Logger()
metrics = Metrics()
copy_config_to_registered_loggers(source_logger=logger, include={"mmsrelay"})


@traced_when_enabled(os.environ)
@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict[str, int]:  # type: ignore[type-arg]
    result = no_receipt_sweep(metrics)()
    return {"marked": result.marked, "cleared": result.cleared}
