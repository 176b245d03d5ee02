"""The streaming S3 store against moto's S3."""

import hashlib
import random
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.exceptions import ClientError

from mmsrelay.domain.errors import MediaTooLarge, TransientMediaError
from mmsrelay.domain.media import StoredObject
from mmsrelay.media.store import DEFAULT_PART_SIZE, MIB, S3MediaStore

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

BUCKET = "mms-relay-media-test"


class Calls:
    """The S3 operations a client made, in order (botocore's before-call event)."""

    def __init__(self, client: "S3Client") -> None:
        self.names: list[str] = []
        client.meta.events.register("before-call.s3", self._record)

    def _record(self, model: Any, **_: Any) -> None:
        self.names.append(model.name)


@pytest.fixture
def s3(aws: None) -> "S3Client":
    """moto's S3 (the tier's ``aws`` fixture: mock_aws and fake credentials) with our bucket,
    encrypted by default as template.yaml declares it (SSE-S3 unless KmsKeyArn is given)."""
    client = boto3.client("s3", region_name="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    encrypt_by_default(client, {"SSEAlgorithm": "AES256"})
    return client


def encrypt_by_default(client: "S3Client", default: dict[str, str]) -> None:
    rules: Any = [{"ApplyServerSideEncryptionByDefault": default}]
    client.put_bucket_encryption(Bucket=BUCKET, ServerSideEncryptionConfiguration={"Rules": rules})


def test_a_customer_managed_key_of_the_bucket_is_not_overridden(s3: "S3Client") -> None:
    # Given the bucket encrypts with a customer-managed key by default (KmsKeyArn)
    key = "arn:aws:kms:us-east-1:123456789012:key/0f0e0d0c-0b0a-4990-8887-766554433221"
    encrypt_by_default(s3, {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key})
    # When media is stored
    S3MediaStore(s3, BUCKET).put_stream("m/kms.jpg", [b"\xff\xd8 image"], "image/jpeg")
    # Then the object is encrypted with that key, not downgraded to SSE-S3 by the request
    head = s3.head_object(Bucket=BUCKET, Key="m/kms.jpg")
    assert (head["ServerSideEncryption"], head.get("SSEKMSKeyId")) == ("aws:kms", key)


def body_of(size: int) -> bytes:
    return random.Random(size).randbytes(size)


def chunked(data: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def stored_bytes(s3: "S3Client", key: str) -> bytes:
    return s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()


def test_small_object_is_one_encrypted_put(s3: "S3Client") -> None:
    # Given a 100 kB attachment arriving in uneven chunks
    data = body_of(100_000)
    calls = Calls(s3)

    # When it is stored
    stored = S3MediaStore(s3, BUCKET).put_stream("m/1.jpg", [data[:10], data[10:70_000], data[70_000:]], "image/jpeg")

    # Then one put_object wrote it, encrypted, with its type, and the result describes it
    assert calls.names == ["PutObject"]
    assert stored == StoredObject("m/1.jpg", 100_000, hashlib.sha256(data).hexdigest(), "image/jpeg")
    head = s3.head_object(Bucket=BUCKET, Key="m/1.jpg")
    assert head["ContentType"] == "image/jpeg"
    assert head["ServerSideEncryption"] == "AES256"
    assert stored_bytes(s3, "m/1.jpg") == data


def test_large_stream_is_a_multipart_upload(s3: "S3Client") -> None:
    # Given a 20 MiB attachment streamed in 64 KiB chunks and 8 MiB parts
    data = body_of(20 * MIB)
    calls = Calls(s3)

    # When it is stored
    stored = S3MediaStore(s3, BUCKET).put_stream("m/big.mp4", chunked(data), "video/mp4")

    # Then it went up as 3 parts (8 + 8 + 4 MiB) and reads back identical
    assert calls.names == [
        "CreateMultipartUpload",
        "UploadPart",
        "UploadPart",
        "UploadPart",
        "CompleteMultipartUpload",
    ]
    assert stored.size == 20 * MIB
    assert stored.sha256_hex == hashlib.sha256(data).hexdigest()
    head = s3.head_object(Bucket=BUCKET, Key="m/big.mp4")
    assert head["ETag"].strip('"').endswith("-3")
    assert head["ServerSideEncryption"] == "AES256"
    assert head["ContentType"] == "video/mp4"
    assert hashlib.sha256(stored_bytes(s3, "m/big.mp4")).hexdigest() == stored.sha256_hex


@pytest.mark.parametrize(
    ("size", "operations"),
    [
        (DEFAULT_PART_SIZE, ["PutObject"]),
        (
            DEFAULT_PART_SIZE + 1,
            ["CreateMultipartUpload", "UploadPart", "UploadPart", "CompleteMultipartUpload"],
        ),
    ],
    ids=["exactly-one-part", "one-byte-more"],
)
def test_part_boundary(s3: "S3Client", size: int, operations: list[str]) -> None:
    # Given an attachment of exactly one part, or one byte more, in chunks that straddle the boundary
    data = body_of(size)
    calls = Calls(s3)

    # When it is stored
    stored = S3MediaStore(s3, BUCKET).put_stream("m/edge.bin", chunked(data, 1_000_003), "image/png")

    # Then a single part is a single put, one byte more makes two parts
    assert calls.names == operations
    assert stored.size == size
    assert stored_bytes(s3, "m/edge.bin") == data


def test_media_error_mid_stream_aborts_the_upload_and_propagates(s3: "S3Client") -> None:
    # Given a stream that fails as too large after 12 MiB (one part already uploaded)
    too_large = MediaTooLarge("too_large", "limit passed")

    def failing() -> Iterable[bytes]:
        yield from chunked(body_of(12 * MIB))
        raise too_large

    calls = Calls(s3)

    # When it is stored
    with pytest.raises(MediaTooLarge) as caught:
        S3MediaStore(s3, BUCKET).put_stream("m/huge.jpg", failing(), "image/jpeg")

    # Then the very same error propagates, the upload is aborted and nothing is left behind
    assert caught.value is too_large
    assert calls.names[-1] == "AbortMultipartUpload"
    assert "Uploads" not in s3.list_multipart_uploads(Bucket=BUCKET)
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET)


def test_s3_failure_mid_upload_aborts_and_is_transient(s3: "S3Client") -> None:
    # Given S3 failing on the second part
    parts: list[int] = []

    def fail_second_part(params: dict[str, Any], **_: Any) -> None:
        parts.append(params["PartNumber"])
        if params["PartNumber"] == 2:
            raise ClientError({"Error": {"Code": "InternalError", "Message": "boom"}}, "UploadPart")

    s3.meta.events.register("before-parameter-build.s3.UploadPart", fail_second_part)

    # When a 20 MiB attachment is stored
    with pytest.raises(TransientMediaError) as caught:
        S3MediaStore(s3, BUCKET).put_stream("m/x.mp4", chunked(body_of(20 * MIB)), "video/mp4")

    # Then the error is transient and the upload aborted
    assert caught.value.code == "s3_error"
    assert parts == [1, 2]
    assert "Uploads" not in s3.list_multipart_uploads(Bucket=BUCKET)


def test_missing_bucket_is_transient(s3: "S3Client") -> None:
    # Given a bucket that does not exist
    store = S3MediaStore(s3, "no-such-bucket")

    # When a small object is stored
    with pytest.raises(TransientMediaError) as caught:
        store.put_stream("m/1.jpg", [b"x"], "image/jpeg")

    # Then the botocore error became a transient media error
    assert caught.value.code == "s3_error"


def test_part_size_below_the_s3_minimum_is_refused(s3: "S3Client") -> None:
    # Given a part size S3 would refuse
    # When the store is built
    # Then it fails at once
    with pytest.raises(ValueError, match="5 MiB"):
        S3MediaStore(s3, BUCKET, part_size=MIB)
