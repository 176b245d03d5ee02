"""Storage errors, translated from botocore at the repository's border."""

from mmsrelay.errors import TransientError


class StorageUnavailable(TransientError):
    """DynamoDB refused or failed the request in a way worth retrying (throttling, 5xx, network)."""
