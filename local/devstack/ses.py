"""What SES's receipt rule does in AWS, done by hand on the local stack (the emulator has no SES
receiving): a raw message for the MM4 reports domain is stored under ``mm4-reports/`` in the media
bucket, with the verdict headers SES's scan adds, and the object's creation triggers the function."""

from __future__ import annotations

import uuid

from devstack.stack import DeployedStack

REPORTS_PREFIX = "mm4-reports/"


def store_as_ses(stack: DeployedStack, raw: bytes, spam: str = "PASS", virus: str = "PASS") -> str:
    """Stores ``raw`` as SES would (its verdict headers first); returns the object's key."""
    headers = f"X-SES-Spam-Verdict: {spam}\r\nX-SES-Virus-Verdict: {virus}\r\n".encode("ascii")
    key = f"{REPORTS_PREFIX}{uuid.uuid4().hex}"
    stack.client("s3").put_object(Bucket=stack.outputs["MediaBucketName"], Key=key, Body=headers + raw)
    return key
