"""The one place where errors become HTTP answers (the webhooks, the query API, the media links)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, Final

from mmsrelay.domain.errors import TransientError
from mmsrelay.webhooks.basic_auth import CHALLENGE
from mmsrelay.webhooks.errors import InvalidPayload, Unauthorized, WebhookRequestError
from mmsrelay.webhooks.http import json_response

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = "30"
# The status of each refused request, by its error's code; any other request error is a 400.
STATUS_BY_CODE: Final[Mapping[str, int]] = {
    "unauthorized": 401,
    "not_found": 404,
    "method_not_allowed": 405,
    "payload_too_large": 413,
    "unsupported_content_type": 415,
}


def answer(handle: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Runs ``handle`` and turns what it raises into the answer the gateway should see.

    Bad input is a 4xx (never retried by the gateway to no end); a transient failure of ours is a
    503 so the gateway retries later; anything unexpected is logged and a bare 500.
    """
    try:
        return handle()
    except Unauthorized:
        return json_response(401, {"error": Unauthorized.default_code}, {"WWW-Authenticate": CHALLENGE})
    except InvalidPayload as error:
        return json_response(400, {"error": error.code, "fields": list(error.fields)})
    except WebhookRequestError as error:
        return json_response(STATUS_BY_CODE.get(error.code, 400), {"error": error.code})
    except TransientError as error:
        logger.warning("temporarily unavailable", extra={"error_type": type(error).__name__})
        return json_response(503, {"error": "temporarily_unavailable"}, {"Retry-After": RETRY_AFTER_SECONDS})
    except Exception:
        logger.exception("unexpected error")
        return json_response(500, {"error": "internal_error"})
