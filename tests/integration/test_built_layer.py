"""The layer as ``sam build`` made it: every function imports with nothing else on the path.

Locally, functions also see the emulator's own virtualenv, so a package missing from the layer
would go unnoticed there; this check imports each handler in a clean interpreter (``-I -S``)
whose path holds only the built layer, the function's code and a stand-in for what the Lambda
runtime provides (boto3 and its dependencies).
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from tests.template import ROOT, resources

# What the Lambda Python runtime ships besides the standard library.
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six.py", "urllib3")


def built_layer() -> Path:
    name = "SharedLayerArm64" if platform.machine().lower() in {"aarch64", "arm64"} else "SharedLayerX8664"
    layer = ROOT / ".aws-sam" / "build" / name / "python"
    if not layer.is_dir():
        pytest.fail(f"{layer} is missing: run `make build` first (make test does)")
    return layer


@pytest.fixture(scope="module")
def runtime_stand_in(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("lambda-runtime")
    site_packages = Path(boto3.__file__).resolve().parents[1]
    for name in RUNTIME_PACKAGES:
        (folder / name).symlink_to(site_packages / name)
    return folder


@pytest.mark.parametrize("function", sorted(resources("AWS::Serverless::Function")))
def test_each_handler_imports_from_the_built_layer_alone(function: str, runtime_stand_in: Path) -> None:
    properties = resources("AWS::Serverless::Function")[function]["Properties"]
    module = properties["Handler"].rsplit(".", 1)[0]
    code = ROOT / ".aws-sam" / "build" / function
    path = [str(code), str(built_layer()), str(runtime_stand_in)]
    probe = (
        f"import sys; sys.path[:0] = {path!r}; import {module}; "
        "import mmsrelay; assert mmsrelay.__file__.startswith(sys.path[1]), mmsrelay.__file__"
    )
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "POWERTOOLS_SERVICE_NAME": "mms-relay",
        "POWERTOOLS_METRICS_NAMESPACE": "MmsRelay",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", probe],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
