"""Child process, for comparison: the same handler with the usual up-front imports.

A handler "built the plain way" imports Powertools' event handler, parser, idempotency and
Tracer (with the X-Ray SDK) and requests at module level, whether the request needs them or not.
"""

import aws_lambda_powertools.utilities.idempotency
import aws_lambda_powertools.utilities.parser  # noqa: F401
import aws_xray_sdk.core  # noqa: F401
import requests  # noqa: F401
from app import lambda_handler
from aws_lambda_powertools.event_handler import APIGatewayRestResolver

router = APIGatewayRestResolver()

__all__ = ["lambda_handler", "router"]
