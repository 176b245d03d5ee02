"""Media retry worker: one more attempt per queued attachment (SQS, partial batch failures)."""

import os

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from mmsrelay.domain.media import MediaJob
from mmsrelay.observability import traced_when_enabled
from mmsrelay.wiring.inbound import media_retry

logger = Logger()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.SQS)
copy_config_to_registered_loggers(source_logger=logger, include={"mmsrelay"})


def retry_record(record: SQSRecord) -> str:
    return media_retry(metrics)(MediaJob.from_json(record.body))


@traced_when_enabled(os.environ)
@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> PartialItemFailureResponse:  # type: ignore[type-arg]
    return process_partial_response(event=event, record_handler=retry_record, processor=processor, context=context)
