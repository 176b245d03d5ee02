"""Storage errors, translated from botocore at the repositories' border."""

from __future__ import annotations

from botocore.exceptions import ClientError

from mmsrelay.errors import TransientError, error_code


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
