"""Reading the relay's own media objects from S3 (the outbound jobs' ``s3://`` attachments).

S3's refusals become send errors: a missing object or a denied read is permanent
(``media_not_found``, ``media_not_readable``), anything else transient (``s3_error``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from mmsrelay.aws import error_code
from mmsrelay.domain.errors import PermanentSendError, TransientSendError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

T = TypeVar("T")


class S3Objects:
    """Implements the outbound media's ``MediaObjects``."""

    def __init__(self, s3: S3Client) -> None:
        self._s3 = s3

    def head(self, bucket: str, key: str) -> tuple[int, str | None]:
        """The object's size and stored content type."""
        head = _s3_call(lambda: self._s3.head_object(Bucket=bucket, Key=key))
        return head["ContentLength"], head.get("ContentType")

    def prefix(self, bucket: str, key: str, size: int) -> bytes:
        """The object's first ``size`` bytes."""
        answer = _s3_call(lambda: self._s3.get_object(Bucket=bucket, Key=key, Range=f"bytes=0-{size - 1}"))
        return answer["Body"].read()

    def read(self, bucket: str, key: str, limit: int) -> tuple[bytes, str | None]:
        """The object's bytes and content type; ``media_too_large`` above ``limit`` (not read then)."""
        answer = _s3_call(lambda: self._s3.get_object(Bucket=bucket, Key=key))
        if answer["ContentLength"] > limit:
            answer["Body"].close()
            raise PermanentSendError("media_too_large", "the message's media exceeds the size limit")
        return answer["Body"].read(), answer.get("ContentType")


def _s3_call(call: Callable[[], T]) -> T:
    try:
        return call()
    except ClientError as error:
        code = error_code(error)
        if code in ("NoSuchKey", "404", "NotFound"):
            raise PermanentSendError("media_not_found", "no such S3 object") from error
        if code in ("AccessDenied", "403"):
            raise PermanentSendError("media_not_readable", "access to the S3 object denied") from error
        raise TransientSendError("s3_error", code) from error
    except BotoCoreError as error:
        raise TransientSendError("s3_error", type(error).__name__) from error
