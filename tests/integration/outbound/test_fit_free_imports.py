"""Pillow is imported only when an image needs fitting: checked in a fresh interpreter, as a cold start sees it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests import photos
from tests.template import ROOT, function_environment

BUCKET = "media"
TABLE = "messages"
# Runs in the child: the outbound handler module imported as Lambda would, then its media made ready
# (moto in-process) for a job whose image fits, then for one whose image does not.
CHILD = """
import json, sys
import boto3
from moto import mock_aws

from gatewaysim import images
from tests.integration.conftest import create_messages_table

with mock_aws():
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="media")
    create_messages_table(boto3.client("dynamodb"), "messages")
    s3.put_object(Bucket="media", Key="outbound/small.jpg", Body=images.jpeg(), ContentType="image/jpeg")
    with open(sys.argv[1], "rb") as photo:
        s3.put_object(Bucket="media", Key="outbound/large.jpg", Body=photo.read(), ContentType="image/jpeg")
    seen = {"before_import": "PIL" in sys.modules}

    import functions.outbound.app  # the handler module, with everything it imports
    from mmsrelay.outbound.job import parse_job
    from mmsrelay.outbound.settings import OutboundSettings
    from mmsrelay.wiring.outbound import outbound_media
    import os

    media = outbound_media(OutboundSettings.from_environ(os.environ))
    def job(key, to=("+13105551212",)):
        return parse_job(json.dumps({"from": "12223334444", "to": list(to), "media": [{"s3": f"s3://media/{key}"}]}))
    seen["after_import"] = "PIL" in sys.modules
    media.for_https(job("outbound/small.jpg"), "m-1")
    media.for_mm4(job("outbound/small.jpg", ("+13105551212", "+13105551213")), "m-2")
    seen["after_sends_that_fit"] = "PIL" in sys.modules
    media.for_https(job("outbound/large.jpg"), "m-3")
    seen["after_a_send_that_needed_fitting"] = "PIL" in sys.modules
print(json.dumps(seen))
"""


def test_pillow_is_imported_only_by_the_first_image_that_needs_fitting(tmp_path: Path) -> None:
    # Given the outbound function's environment with a 40,000-byte message limit, and a 110 kB photo
    photo = tmp_path / "large.jpg"
    photo.write_bytes(photos.camera_jpeg(800, 600, seed=1))
    environment = {
        **os.environ,
        **function_environment(
            "OutboundFunction",
            names={"MediaBucket": BUCKET, "MessagesTable": TABLE},
            parameters={"MaxOutboundMessageBytes": "40000"},
        ),
        "PYTHONPATH": os.pathsep.join(str(ROOT / part) for part in ("layers/shared", "local", ".")),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
        environment.pop(name, None)
    # When a fresh interpreter imports the handler, sends media that fits, then media that does not
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(photo)],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    # Then Pillow was loaded by the last send only
    assert seen == {
        "before_import": False,
        "after_import": False,
        "after_sends_that_fit": False,
        "after_a_send_that_needed_fitting": True,
    }
