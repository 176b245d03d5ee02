"""MM4 delivery reports and read replies that SES stored in S3 (``mm4-reports/``) are applied."""

import os
from urllib.parse import unquote_plus

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.utilities.data_classes import S3Event, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from mmsrelay.observability import traced_when_enabled
from mmsrelay.receipts.mailed import MailedOutcome, StoredMessage
from mmsrelay.wiring.receipts import mailed_report

logger = Logger()
metrics = Metrics()
copy_config_to_registered_loggers(source_logger=logger, include={"mmsrelay"})


@traced_when_enabled(os.environ)
@logger.inject_lambda_context
@metrics.log_metrics
@event_source(data_class=S3Event)
def lambda_handler(event: S3Event, context: LambdaContext) -> dict[str, list[MailedOutcome]]:
    # A storage failure raises: Lambda retries the event, then hands it to the failure queue.
    outcomes = [
        mailed_report(metrics)(StoredMessage(record.s3.bucket.name, unquote_plus(record.s3.get_object.key)))
        for record in event.records
    ]
    return {"outcomes": outcomes}
