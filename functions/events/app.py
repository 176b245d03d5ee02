"""Domain events: the messages table's stream published to EventBridge (DynamoDB stream, partial batch failures)."""

import os

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from mmsrelay.observability import traced_when_enabled
from mmsrelay.wiring.events import stream_events

logger = Logger()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
copy_config_to_registered_loggers(source_logger=logger, include={"mmsrelay"})


@traced_when_enabled(os.environ)
@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> PartialItemFailureResponse:  # type: ignore[type-arg]
    # The whole batch is published first (PutEvents takes ten entries a call); the processor then
    # reports each record whose event was not taken.
    published = stream_events(metrics).publish(event.get("Records", []))
    return process_partial_response(event=event, record_handler=published.confirm, processor=processor, context=context)
