"""Stored messages read back from S3, with botocore's errors translated at this border."""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from mmsrelay.aws import error_code
from mmsrelay.domain.errors import PermanentError
from mmsrelay.storage.errors import StorageUnavailable

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

_MISSING_CODES = frozenset({"NoSuchKey", "404", "NotFound"})


class ObjectMissing(PermanentError):
    """The stored object is gone (deleted or expired before it was read)."""

    default_code = "object_missing"


class ObjectTooLarge(PermanentError):
    """The stored object is larger than any report can be."""

    default_code = "too_large"


class S3ReportObjects:
    """Implements ``mmsrelay.receipts.mailed.ReportObjects`` on S3."""

    def __init__(self, client: S3Client) -> None:
        self._client = client

    def read(self, bucket: str, key: str, max_bytes: int) -> bytes:
        try:
            answer = self._client.get_object(Bucket=bucket, Key=key)
            if answer["ContentLength"] > max_bytes:
                answer["Body"].close()
                raise ObjectTooLarge(f"{answer['ContentLength']} bytes")
            return answer["Body"].read(max_bytes + 1)
        except ClientError as error:
            if error_code(error) in _MISSING_CODES:
                raise ObjectMissing(key) from error
            raise StorageUnavailable(f"s3: {error_code(error)}") from error
        except BotoCoreError as error:
            raise StorageUnavailable("s3 unreachable") from error
