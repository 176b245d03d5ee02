"""Streaming media into S3: one ``put_object`` when it fits in a part, else a multipart upload."""

import hashlib
import io
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Final

from botocore.exceptions import BotoCoreError, ClientError

from mmsrelay.domain.errors import MediaError, TransientMediaError
from mmsrelay.domain.media import StoredObject

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import CompletedPartTypeDef

_log = logging.getLogger(__name__)

MIB: Final = 1024 * 1024
DEFAULT_PART_SIZE: Final = 8 * MIB
MIN_PART_SIZE: Final = 5 * MIB  # S3's minimum for every part but the last


class S3MediaStore:
    """Writes streamed media to one bucket, holding at most one part in memory."""

    def __init__(self, s3_client: "S3Client", bucket: str, part_size: int = DEFAULT_PART_SIZE) -> None:
        if part_size < MIN_PART_SIZE:
            raise ValueError("part_size must be at least 5 MiB (the S3 minimum)")
        self._s3 = s3_client
        self._bucket = bucket
        self._part_size = part_size

    def put_stream(self, key: str, chunks: Iterable[bytes], content_type: str) -> StoredObject:
        """Store the concatenated ``chunks`` under ``key``, hashing as it goes.

        Encrypted with the bucket's default encryption (SSE-S3, or the template's ``KmsKeyArn``):
        naming an algorithm here would override a customer-managed key.

        S3 failures raise TransientMediaError("s3_error"); media errors raised by ``chunks``
        propagate unchanged. A started multipart upload is aborted on any failure.
        """
        upload = _Upload(self._s3, self._bucket, key, content_type)
        try:
            size, digest = self._write(upload, chunks)
        except BaseException as error:
            upload.abort()
            if isinstance(error, ClientError | BotoCoreError):
                _log.warning(
                    "media store failed",
                    extra={"media_key": key, "media_reason": "s3_error", "media_error": type(error).__name__},
                )
                raise TransientMediaError("s3_error", type(error).__name__) from error
            if isinstance(error, MediaError):
                _log.warning("media store abandoned", extra={"media_key": key, "media_reason": error.code})
            raise
        _log.info(
            "media stored",
            extra={"media_key": key, "media_bytes": size, "media_parts": upload.part_count},
        )
        return StoredObject(key=key, size=size, sha256_hex=digest, content_type=content_type)

    def _write(self, upload: "_Upload", chunks: Iterable[bytes]) -> tuple[int, str]:
        hasher = hashlib.sha256()
        size = 0
        # The one part buffer, reused. A BytesIO rather than a bytearray because botocore takes it
        # as a stream as it is (a bytearray body gets copied into a BytesIO for the checksum trailer).
        part = io.BytesIO()
        for chunk in chunks:
            hasher.update(chunk)
            size += len(chunk)
            with memoryview(chunk) as whole:
                view = whole
                while view:
                    if part.tell() == self._part_size:
                        # Full, and more data follows: this is not the last part.
                        upload.send_part(part)
                    room = self._part_size - part.tell()
                    part.write(view[:room])
                    view = view[room:]
        if upload.started:
            upload.send_part(part)
            upload.complete()
        else:
            upload.put_whole(part)
        return size, hasher.hexdigest()


class _Upload:
    """One object being written: a single put, or a multipart upload started on the first full part."""

    def __init__(self, s3_client: "S3Client", bucket: str, key: str, content_type: str) -> None:
        self._s3 = s3_client
        self._bucket = bucket
        self._key = key
        self._content_type = content_type
        self._upload_id: str | None = None
        self._parts: list[CompletedPartTypeDef] = []
        self.part_count = 0

    @property
    def started(self) -> bool:
        return self._upload_id is not None

    def put_whole(self, body: io.BytesIO) -> None:
        body.seek(0)
        self._s3.put_object(
            Bucket=self._bucket,
            Key=self._key,
            Body=body,
            ContentType=self._content_type,
        )
        self.part_count = 1

    def send_part(self, body: io.BytesIO) -> None:
        """Upload ``body`` as the next part, then empty it for reuse."""
        if self._upload_id is None:
            created = self._s3.create_multipart_upload(
                Bucket=self._bucket,
                Key=self._key,
                ContentType=self._content_type,
            )
            self._upload_id = created["UploadId"]
        number = len(self._parts) + 1
        body.seek(0)
        answer = self._s3.upload_part(
            Bucket=self._bucket, Key=self._key, UploadId=self._upload_id, PartNumber=number, Body=body
        )
        body.seek(0)
        body.truncate()
        self._parts.append({"ETag": answer["ETag"], "PartNumber": number})
        self.part_count = number

    def complete(self) -> None:
        if self._upload_id is None:
            return
        self._s3.complete_multipart_upload(
            Bucket=self._bucket,
            Key=self._key,
            UploadId=self._upload_id,
            MultipartUpload={"Parts": self._parts},
        )
        self._upload_id = None

    def abort(self) -> None:
        """Abort a started multipart upload; a failure to abort is logged, not raised."""
        if self._upload_id is None:
            return
        upload_id, self._upload_id = self._upload_id, None
        try:
            self._s3.abort_multipart_upload(Bucket=self._bucket, Key=self._key, UploadId=upload_id)
        except (ClientError, BotoCoreError) as error:
            _log.warning(
                "media upload abort failed",
                extra={"media_key": self._key, "media_error": type(error).__name__},
            )
