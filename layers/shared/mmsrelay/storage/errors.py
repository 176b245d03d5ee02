"""Storage errors, translated from botocore at the repositories' border."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, cast

from botocore.exceptions import BotoCoreError, ClientError

from mmsrelay.aws import error_code
from mmsrelay.domain.errors import TransientError

T = TypeVar("T")
logger = logging.getLogger(__name__)


class StorageUnavailable(TransientError):
    """DynamoDB refused or failed the request in a way worth retrying (throttling, 5xx, network)."""


RETRYABLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "TransactionConflictException",
    }
)


def retryable_code(error: ClientError) -> bool:
    """Whether DynamoDB refused in a way worth retrying (throttling, 5xx, conflicts)."""
    return error_code(error) in RETRYABLE_CODES


def translated(error: ClientError) -> Exception:
    """``StorageUnavailable`` for what is worth retrying; the error itself otherwise (a bug)."""
    if retryable_code(error):
        return StorageUnavailable(error_code(error))
    return error


class ConditionFailed(Exception):
    """The write's condition did not hold; ``item`` is the item as it was, when the call asked for it."""

    def __init__(self, item: Mapping[str, Any]) -> None:
        super().__init__("the condition did not hold")
        self.item = item


def dynamodb_call(operation: Callable[..., T], **request: Any) -> T:
    """``operation(**request)`` with botocore's errors translated at the repository's border.

    A refused condition raises :class:`ConditionFailed`; throttling, 5xx and no answer at all
    raise :class:`StorageUnavailable`; anything else (a bug in the request) is raised as it came.
    """
    try:
        return operation(**request)
    except ClientError as error:
        if error_code(error) == "ConditionalCheckFailedException":
            raise ConditionFailed(cast("Mapping[str, Any]", error.response.get("Item", {}))) from error
        outcome = translated(error)
        if isinstance(outcome, StorageUnavailable):
            logger.warning(
                "dynamodb refused the call", extra={"call": _name(operation), "error_code": error_code(error)}
            )
        raise outcome from error
    except BotoCoreError as error:
        logger.warning("dynamodb unreachable", extra={"call": _name(operation), "error_type": type(error).__name__})
        raise StorageUnavailable("dynamodb unreachable") from error


def _name(operation: Callable[..., Any]) -> str:
    return str(getattr(operation, "__name__", "call"))
