"""Presigned GET URLs to objects in the media bucket (SigV4, signed locally: no call to S3)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

PRESIGNED_SECONDS = 300


class S3Presigner:
    """Implements the query API's ``MediaLinks`` and the media links' ``Presigner``.

    The S3 client comes from a factory called at the first signature: the query API answers most
    requests (jobs, conversations) without one, and an S3 client costs about 40 ms to build.
    """

    def __init__(self, s3: Callable[[], S3Client], bucket: str, expires_in: int = PRESIGNED_SECONDS) -> None:
        self._s3 = s3
        self._bucket = bucket
        self.expires_in = expires_in

    def presigned_get(self, key: str, content_type: str | None = None, bucket: str | None = None) -> str:
        """A URL valid ``expires_in`` seconds; ``content_type`` is what S3 then answers with."""
        params = {"Bucket": bucket or self._bucket, "Key": key}
        if content_type is not None:
            params["ResponseContentType"] = content_type
        return self._s3().generate_presigned_url("get_object", Params=params, ExpiresIn=self.expires_in)
