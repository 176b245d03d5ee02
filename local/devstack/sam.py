"""Build and deploy the repository's template to the local emulator with SAM CLI.

The template is the one used in AWS; what differs locally is only parameter overrides (read from
samconfig.toml's ``local`` environment) and the emulator endpoint (``AWS_ENDPOINT_URL``).
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import logging
import os
import platform
import shlex
import subprocess
import sys
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from devstack.ministack import LOCAL_ACCESS_KEY_ID, LOCAL_REGION, LOCAL_SECRET_ACCESS_KEY

logger = logging.getLogger(__name__)

BUILD_TIMEOUT_SECONDS = 600
DEPLOY_TIMEOUT_SECONDS = 600


@dataclass(frozen=True)
class RepoPaths:
    """Where the repository keeps what the local stack needs (created by ``make setup``)."""

    root: Path

    @classmethod
    def discover(cls) -> RepoPaths:
        return cls(Path(__file__).resolve().parents[2])

    @property
    def template(self) -> Path:
        return self.root / "template.yaml"

    @property
    def samconfig(self) -> Path:
        return self.root / "samconfig.toml"

    @property
    def sam(self) -> Path:
        return Path(os.environ.get("MMSRELAY_SAM", self.root / ".venvs/sam/bin/sam"))

    @property
    def ministack(self) -> Path:
        return Path(os.environ.get("MMSRELAY_MINISTACK", self.root / ".venvs/ministack/bin/ministack"))

    @property
    def lambda_runtime(self) -> Path:
        """The stand-in for the Lambda runtime's own packages (a plain folder, ``make setup``)."""
        return self.root / ".venvs" / "lambda-runtime"

    @property
    def build_dir(self) -> Path:
        # Its own parent: SAM keeps build.toml (the cache's index) beside the build folder, and
        # sharing it with `make build` (.aws-sam/build) would make a cached build look current.
        return self.root / ".aws-sam" / "local" / "build"


@contextlib.contextmanager
def build_lock(paths: RepoPaths, progress: Callable[[str], object] = logger.info) -> Iterator[None]:
    """One local build-and-deploy at a time per checkout: ``sam build`` empties the build folder,
    which a deploy of another run (a second ``make`` target in the same checkout) is reading."""
    lock_file = paths.build_dir.with_name("build.lock")
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with lock_file.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            progress("waiting for another run's build and deploy in this checkout")
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# What the emulator cannot create (it fails the whole stack), removed from the built template
# before a local deploy, with the outputs that name it (docs/local-stack.md): SES receiving (the
# tests put a raw report where SES's receipt rule would) and alarms on metric math.
EMULATOR_LACKS = frozenset({"AWS::SES::ReceiptRule", "AWS::SES::ReceiptRuleSet"})


def emulator_lacks(resource: dict[str, Any]) -> bool:
    if resource.get("Type") in EMULATOR_LACKS:
        return True
    return resource.get("Type") == "AWS::CloudWatch::Alarm" and "Metrics" in resource.get("Properties", {})


def for_the_emulator(built_template: Path) -> Path:
    """The built template without what the emulator lacks, written beside it (same relative paths)."""
    document = yaml.safe_load(built_template.read_text())  # sam build writes long-form intrinsics
    resources = document["Resources"]
    removed = {name for name, body in resources.items() if emulator_lacks(body)}
    for name in removed:
        del resources[name]
        logger.info("not deployed locally (the emulator lacks it): %s", name)
    for section in ("Outputs",):
        for name, body in list(document.get(section, {}).items()):
            if _names_any(body, removed):
                del document[section][name]
    local = built_template.with_name("template.local.yaml")
    local.write_text(yaml.safe_dump(document, sort_keys=False))
    return local


def _names_any(value: object, names: set[str]) -> bool:
    """Whether ``value`` refers to one of ``names`` (Ref, GetAtt, or a ${Name} inside Sub)."""
    if isinstance(value, dict):
        if value.get("Ref") in names:
            return True
        attribute = value.get("Fn::GetAtt")
        if isinstance(attribute, list) and attribute and attribute[0] in names:
            return True
        return any(_names_any(item, names) for item in value.values())
    if isinstance(value, list):
        return any(_names_any(item, names) for item in value)
    if isinstance(value, str):
        return any(f"${{{name}}}" in value or f"${{{name}." in value for name in names)
    return False


def host_architecture() -> str:
    """The Lambda architecture matching this machine (functions run on the host locally)."""
    return "arm64" if platform.machine().lower() in {"aarch64", "arm64"} else "x86_64"


@functools.cache
def emulator_python_version(ministack: Path) -> str:
    """X.Y of the interpreter ministack runs functions on: the layer's wheels must match it."""
    python = ministack.parent / "python"
    answer = subprocess.run(
        [str(python), "-c", "import sys; print(f'{sys.version_info[0]}.{sys.version_info[1]}')"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    return answer.stdout.strip()


def local_parameter_overrides(paths: RepoPaths, extra: dict[str, str] | None = None) -> list[str]:
    """samconfig.toml's local overrides, this machine's architecture, then ``extra``."""
    config = tomllib.loads(paths.samconfig.read_text())
    configured = config["local"]["deploy"]["parameters"]["parameter_overrides"]
    overrides = dict(item.split("=", 1) for item in shlex.split(configured))
    overrides["Architecture"] = host_architecture()
    overrides.update(extra or {})
    return [f"{name}={value}" for name, value in overrides.items()]


class SamCli:
    """Runs SAM CLI from its own venv against the emulator."""

    def __init__(self, paths: RepoPaths) -> None:
        self._paths = paths

    def _env(self, endpoint: str | None, ca_file: Path | None) -> dict[str, str]:
        env = dict(os.environ)
        # python3.13 (this interpreter's folder) first on PATH, for SAM's python3.13 build checks.
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        env["SAM_CLI_TELEMETRY"] = "0"
        env["LAYER_PIP"] = f"{self._paths.sam.parent / 'python'} -m pip"
        env["LAYER_PYTHON_VERSION"] = emulator_python_version(self._paths.ministack)
        env["AWS_DEFAULT_REGION"] = LOCAL_REGION
        if endpoint is not None:
            env["AWS_ENDPOINT_URL"] = endpoint
            env["AWS_ACCESS_KEY_ID"] = LOCAL_ACCESS_KEY_ID
            env["AWS_SECRET_ACCESS_KEY"] = LOCAL_SECRET_ACCESS_KEY
            env.pop("AWS_PROFILE", None)
        if ca_file is not None:
            env["AWS_CA_BUNDLE"] = str(ca_file)
            env.pop("AWS_SESSION_TOKEN", None)
        return env

    def _run(self, args: list[str], endpoint: str | None, timeout: int, ca_file: Path | None = None) -> None:
        command = [str(self._paths.sam), *args]
        logger.debug("running %s", shlex.join(command))
        result = subprocess.run(
            command,
            cwd=self._paths.root,
            env=self._env(endpoint, ca_file),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0:
            output = f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
            raise RuntimeError(f"sam {args[0]} failed ({result.returncode}):\n{output}")

    def build(self) -> Path:
        """``sam build`` into the local build folder (cached between runs); returns the built template."""
        self._run(
            [
                "build",
                "--template-file",
                str(self._paths.template),
                "--build-dir",
                str(self._paths.build_dir),
                "--cache-dir",
                str(self._paths.build_dir.with_name("cache")),
                "--cached",
            ],
            endpoint=None,
            timeout=BUILD_TIMEOUT_SECONDS,
        )
        return self._paths.build_dir / "template.yaml"

    def deploy(self, built_template: Path, endpoint: str, ca_file: Path, stack_name: str, overrides: list[str]) -> None:
        self._run(
            [
                "deploy",
                "--config-file",
                str(self._paths.samconfig),
                "--config-env",
                "local",
                "--template-file",
                str(built_template),
                "--stack-name",
                stack_name,
                "--no-progressbar",
                "--parameter-overrides",
                *overrides,
            ],
            endpoint=endpoint,
            timeout=DEPLOY_TIMEOUT_SECONDS,
            ca_file=ca_file,
        )
