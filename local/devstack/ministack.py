"""Run the ministack emulator as a child process on a free 127.0.0.1 port, over HTTPS.

Each run gets its own port (the OS picks it), its own state folder and its own throwaway CA,
removed on stop, so two runs on one machine never share anything. The child's environment is
built from scratch: the emulated Lambda functions inherit it, so it must hold no secrets
(docs/local-stack.md). TLS matters: the media bucket's policy refuses requests without it, as in AWS.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

from devstack.tls import ServerCertificate, issue_local_certificate

logger = logging.getLogger(__name__)

START_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 10.0
# Credentials of the emulator's root account. Not secrets: ministack accepts them by design.
LOCAL_ACCESS_KEY_ID = "test"
LOCAL_SECRET_ACCESS_KEY = "test"  # noqa: S105
LOCAL_REGION = "us-east-1"
# Variables copied from our environment into the emulator's; everything else is left out.
_PASSED_THROUGH = ("PATH", "LANG", "LC_ALL", "SSL_CERT_FILE", "SSL_CERT_DIR")


class MinistackError(RuntimeError):
    """The emulator did not start or stopped unexpectedly."""


def free_port() -> int:
    """A port that was free on 127.0.0.1 a moment ago (the OS chose it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def remove_in_background(folder: Path) -> None:
    """Removes ``folder`` (renamed first, so it is gone from its place at once) in a detached ``rm``.

    The emulator's folder holds every function process's extracted code and layer (tens of
    megabytes and thousands of files each, hundreds of megabytes after a busy run); deleting them
    took over a minute on the development machine's disk, and nothing needs to wait for it.
    """
    doomed = folder.with_name(folder.name + "-removed")
    try:
        folder.rename(doomed)
        subprocess.Popen(
            ["rm", "-rf", "--", str(doomed)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    except OSError:
        shutil.rmtree(doomed if doomed.exists() else folder, ignore_errors=True)


class Ministack:
    """One emulator process: ``start()`` waits until it is healthy, ``stop()`` removes every trace.

    ``extra_env`` is added to the emulator's environment (which its functions inherit): the
    reliability runs point the functions' DynamoDB and S3 clients at a fault-injecting proxy with
    ``AWS_ENDPOINT_URL_DYNAMODB`` / ``AWS_ENDPOINT_URL_S3``. ``persist`` keeps the emulator's state
    in its state folder across ``restart()`` (ministack saves it on a graceful stop and loads it
    at start: ``PERSIST_STATE``, ``S3_PERSIST``).
    """

    def __init__(self, executable: Path, extra_env: dict[str, str] | None = None, persist: bool = False) -> None:
        self._executable = executable
        self._extra_env = dict(extra_env or {})
        self._persist = persist
        self._process: subprocess.Popen[bytes] | None = None
        self._workdir: Path | None = None
        self._certificate: ServerCertificate | None = None
        self.port = 0

    @property
    def endpoint(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def ca_file(self) -> Path:
        """The PEM file that clients of the emulator trust."""
        if self._certificate is None:
            raise MinistackError("ministack is not running")
        return self._certificate.ca_file

    @property
    def certificate(self) -> ServerCertificate:
        """The emulator's server certificate, key and CA (a local proxy in front of it may serve the
        same certificate, which the functions already trust)."""
        if self._certificate is None:
            raise MinistackError("ministack is not running")
        return self._certificate

    @property
    def pid(self) -> int:
        """The emulator's process id, also its process group's and session's: the function
        processes it spawns are in that session."""
        if self._process is None:
            raise MinistackError("ministack is not running")
        return self._process.pid

    @property
    def workdir(self) -> Path:
        if self._workdir is None:
            raise MinistackError("ministack is not running")
        return self._workdir

    def start(self) -> Ministack:
        if not self._executable.exists():
            raise MinistackError(f"ministack not found at {self._executable}; run `make setup`")
        self._workdir = Path(tempfile.mkdtemp(prefix="mmsrelay-ministack-"))
        self._certificate = issue_local_certificate(self._workdir / "tls")
        for attempt in range(3):  # a port taken between our probe and the bind: try another
            self.port = free_port()
            self._spawn()
            if self._wait_healthy():
                logger.info("ministack ready on %s (attempt %d)", self.endpoint, attempt + 1)
                return self
            self._terminate()
        log_tail = self.log_tail()
        self.stop()
        raise MinistackError(f"ministack did not become healthy; log tail:\n{log_tail}")

    def _spawn(self) -> None:
        state = self.workdir / "state"
        tmp = self.workdir / "tmp"
        state.mkdir(exist_ok=True)
        tmp.mkdir(exist_ok=True)
        certificate = self._certificate
        assert certificate is not None
        env = {name: os.environ[name] for name in _PASSED_THROUGH if name in os.environ}
        env.update(
            {
                "HOME": str(self.workdir),
                "TMPDIR": str(tmp),
                "STATE_DIR": str(state),
                "BIND_HOST": "127.0.0.1",
                "GATEWAY_PORT": str(self.port),
                "MINISTACK_REGION": LOCAL_REGION,
                "AWS_ACCESS_KEY_ID": LOCAL_ACCESS_KEY_ID,
                "AWS_SECRET_ACCESS_KEY": LOCAL_SECRET_ACCESS_KEY,
                "AWS_DEFAULT_REGION": LOCAL_REGION,
                "AUTH": "true",  # IAM enforced, as in AWS: a missing permission fails here too
                "USE_SSL": "1",
                "MINISTACK_SSL_CERT": str(certificate.cert_file),
                "MINISTACK_SSL_KEY": str(certificate.key_file),
                # The functions inherit these: they call the emulator back over TLS and trust its CA.
                "AWS_ENDPOINT_URL": self.endpoint,
                "AWS_CA_BUNDLE": str(certificate.ca_file),
                "PYTHONDONTWRITEBYTECODE": "1",
            }
        )
        if self._persist:
            env.update({"PERSIST_STATE": "1", "S3_PERSIST": "1", "S3_DATA_DIR": str(self.workdir / "s3")})
        env.update(self._extra_env)
        log = (self.workdir / "ministack.log").open("ab")
        self._process = subprocess.Popen(
            [str(self._executable)],
            env=env,
            cwd=self.workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stop() reaches the function processes too
        )
        log.close()

    def _wait_healthy(self) -> bool:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        context = ssl.create_default_context(cafile=str(self.ca_file))
        while time.monotonic() < deadline:
            if self._process is None or self._process.poll() is not None:
                return False
            health = f"{self.endpoint}/_ministack/health"
            with (
                contextlib.suppress(OSError, urllib.error.URLError),
                urllib.request.urlopen(health, timeout=2, context=context) as answer,
            ):
                if answer.status == 200:
                    return True
            time.sleep(0.2)
        return False

    def restart(self) -> None:
        """Stops the emulator gracefully (it saves its state when ``persist``) and starts it again on
        the same port, with the same state folder and certificate; its function processes die with it."""
        if self._process is None:
            raise MinistackError("ministack is not running")
        self._terminate()
        self._spawn()
        if not self._wait_healthy():
            raise MinistackError(f"ministack did not come back after a restart; log tail:\n{self.log_tail()}")
        logger.info("ministack restarted on %s", self.endpoint)

    def log_tail(self, lines: int = 40) -> str:
        if self._workdir is None:
            return ""
        log = self._workdir / "ministack.log"
        if not log.exists():
            return ""
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])

    def _terminate(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=STOP_TIMEOUT_SECONDS)

    def stop(self) -> None:
        self._terminate()
        if self._workdir is not None:
            remove_in_background(self._workdir)
            self._workdir = None
            self._certificate = None

    def __enter__(self) -> Ministack:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
