"""A Docker-free ``sam local invoke``: one built function run once, in a fresh interpreter that sees
only what Lambda would give it.

The child process (``lambda_bootstrap.py``) runs ``python -I -S -B`` on the interpreter the
project's venvs are built on, with ``sys.path`` exactly: the built function's code, the built
layer's ``python`` folder, the stand-in for the Lambda runtime's own packages
(``.venvs/lambda-runtime``: boto3 and its dependencies at a runtime's versions), then the standard
library. Its environment is built from scratch: the function's variables, the variables Lambda sets
(``_HANDLER``, ``AWS_LAMBDA_FUNCTION_NAME``, ...) and where AWS is (endpoint, region, the
emulator's credentials); nothing of the developer's shell. The answer comes back through a file,
the logs are the child's stdout and stderr.

Used by ``tests/integration/test_built_layer.py`` (moto) and ``make invoke`` (the local stack).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devstack.sam import host_architecture

BOOTSTRAP = Path(__file__).with_name("lambda_bootstrap.py")
# Lambda's init phase has its own limit (10 s) before the handler's Timeout starts.
INIT_ALLOWANCE_S = 10.0
# How long past its Timeout a function may take to hand its answer over before it is stopped.
STOP_MARGIN_S = 5.0
PROBE_TIMEOUT_S = 60.0
ACCOUNT_ID = "123456789012"


class InvokeError(RuntimeError):
    """The function could not be run at all (the child died or timed out): not the handler raising."""


@dataclass(frozen=True)
class BuiltFunction:
    """A function as ``sam build`` left it, with what Lambda needs to run it."""

    name: str  # the function's name (its logical id in the tests, the deployed name on the stack)
    code_dir: Path  # .aws-sam/.../build/<LogicalId>
    handler: str  # module.function
    layer_dir: Path  # the built layer's python folder (/opt/python in AWS)
    timeout_s: int
    memory_mb: int
    arn: str | None = None


@dataclass(frozen=True)
class AwsTarget:
    """Where the function's AWS calls go, and as whom (an emulator's test credentials only)."""

    endpoint_url: str
    region: str
    access_key_id: str
    secret_access_key: str
    ca_bundle: Path | None = None


@dataclass(frozen=True)
class LambdaError:
    """The handler raised (or could not be imported), in Lambda's error shape."""

    error_type: str
    message: str
    stack_trace: tuple[str, ...]


@dataclass(frozen=True)
class ModuleInfo:
    version: str | None
    file: str | None


@dataclass(frozen=True)
class Invocation:
    """One run: the handler's answer or error, its logs, and the path it ran with."""

    answer: Any
    error: LambdaError | None
    logs: str
    sys_path: tuple[str, ...]
    python: str
    modules: dict[str, ModuleInfo]
    duration_s: float

    @property
    def ok(self) -> bool:
        return self.error is None


def base_interpreter() -> Path:
    """The interpreter the app venv was made from (scripts/find-python's choice), not the venv's."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    candidate = Path(sys.base_prefix) / "bin" / version
    return candidate if candidate.exists() else Path(sys.executable)


def host_layer(build_dir: Path) -> Path:
    """The python folder of the layer built for this machine's architecture in ``build_dir``."""
    name = "SharedLayerArm64" if host_architecture() == "arm64" else "SharedLayerX8664"
    return build_dir / name / "python"


def lambda_environment(function: BuiltFunction, variables: Mapping[str, str], aws: AwsTarget) -> dict[str, str]:
    """The function's environment as Lambda builds it: its variables, then Lambda's own (which a
    function cannot override), then where AWS is. Nothing comes from this process's environment."""
    environment = dict(variables)
    environment.update(
        {
            "_HANDLER": function.handler,
            "LAMBDA_TASK_ROOT": str(function.code_dir),
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
            "AWS_LAMBDA_FUNCTION_NAME": function.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_mb),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function.name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": "local/[$LATEST]invoke",
            "AWS_REGION": aws.region,
            "AWS_DEFAULT_REGION": aws.region,
            "AWS_ACCESS_KEY_ID": aws.access_key_id,
            "AWS_SECRET_ACCESS_KEY": aws.secret_access_key,
            "AWS_ENDPOINT_URL": aws.endpoint_url,
            # No profile files and no instance metadata: the credentials above are the only ones.
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
            "TZ": ":UTC",
            "LANG": "C.UTF-8",
            "PATH": "/usr/local/bin:/usr/bin:/bin",
        }
    )
    if aws.ca_bundle is not None:
        environment["AWS_CA_BUNDLE"] = str(aws.ca_bundle)
    return environment


def _run_child(
    request: dict[str, Any], environment: Mapping[str, str], cwd: Path, python: Path, timeout_s: float
) -> tuple[dict[str, Any], str, float]:
    with tempfile.TemporaryDirectory(prefix="mmsrelay-invoke-") as folder:
        request_file = Path(folder) / "request.json"
        answer_file = Path(folder) / "answer.json"
        request_file.write_text(json.dumps({**request, "answer_file": str(answer_file)}))
        started = time.monotonic()
        try:
            result = subprocess.run(
                [str(python), "-I", "-S", "-B", str(BOOTSTRAP), str(request_file)],
                env={**environment, "HOME": folder, "TMPDIR": folder},
                cwd=cwd,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                timeout=timeout_s,
                check=False,
            )
        except subprocess.TimeoutExpired as expired:
            logs = expired.stdout if isinstance(expired.stdout, str) else (expired.stdout or b"").decode()
            raise InvokeError(f"no answer within {timeout_s:.0f}s; logs:\n{logs[-4000:]}") from None
        duration = time.monotonic() - started
        if result.returncode != 0 or not answer_file.exists():
            raise InvokeError(f"the function's process failed ({result.returncode}); logs:\n{result.stdout[-4000:]}")
        outcome: dict[str, Any] = json.loads(answer_file.read_text())
        return outcome, result.stdout, duration


def _modules(outcome: Mapping[str, Any]) -> dict[str, ModuleInfo]:
    return {name: ModuleInfo(info["version"], info["file"]) for name, info in outcome.get("modules", {}).items()}


def invoke(
    function: BuiltFunction,
    event: Any,
    variables: Mapping[str, str],
    aws: AwsTarget,
    runtime_dir: Path,
    python: Path | None = None,
    probe: Sequence[str] = (),
) -> Invocation:
    """Runs ``function`` once with ``event`` and returns what it answered (``event=None``: only
    imports the handler); ``probe`` names modules whose version and file to report afterwards."""
    request = {
        "path": [str(function.code_dir), str(function.layer_dir), str(runtime_dir)],
        "handler": function.handler,
        "call": event is not None,
        "event": event,
        "function_name": function.name,
        "function_arn": function.arn or f"arn:aws:lambda:{aws.region}:{ACCOUNT_ID}:function:{function.name}",
        "memory_mb": function.memory_mb,
        "timeout_s": function.timeout_s,
        "request_id": str(uuid.uuid4()),
        "probe": list(probe),
    }
    outcome, logs, duration = _run_child(
        request,
        lambda_environment(function, variables, aws),
        cwd=function.code_dir,
        python=python or base_interpreter(),
        timeout_s=INIT_ALLOWANCE_S + function.timeout_s + STOP_MARGIN_S,
    )
    error = outcome.get("error")
    return Invocation(
        answer=outcome.get("answer"),
        error=None
        if error is None
        else LambdaError(error["errorType"], error["errorMessage"], tuple(error.get("stackTrace", ()))),
        logs=logs,
        sys_path=tuple(outcome["sys_path"]),
        python=outcome["python"],
        modules=_modules(outcome),
        duration_s=duration,
    )


def probe(path: Sequence[Path], modules: Sequence[str], python: Path | None = None) -> dict[str, ModuleInfo]:
    """Imports ``modules`` in a fresh interpreter whose path is ``path`` plus the standard library,
    and says which version of each it found where (``ModuleInfo(None, None)``: not importable)."""
    request = {"path": [str(folder) for folder in path], "handler": None, "probe": list(modules)}
    with tempfile.TemporaryDirectory(prefix="mmsrelay-probe-") as folder:
        outcome, _, _ = _run_child(
            request,
            {"PATH": "/usr/bin:/bin"},
            cwd=Path(folder),
            python=python or base_interpreter(),
            timeout_s=PROBE_TIMEOUT_S,
        )
    return _modules(outcome)
