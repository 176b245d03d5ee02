"""`make up` as a person runs it: the stack comes up pointed at the gateway simulator, says what to
try, serves the installed `mmsrelay` command, and Ctrl-C stops all of it.

It deploys a stack of its own (its own emulator and simulator), described in a state file of the
test's, so a `make up` someone keeps running meanwhile is left alone.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.system.conftest import eventually
from tests.template import ROOT

pytestmark = pytest.mark.system

CLI = Path(sys.executable).parent / "mmsrelay"  # the project's console script, as installed
COMMANDS = ("stack info", "send ", "status ", "conversation ", "inbound simulate", "dlq list", "dlq redrive")


def test_up_serves_the_command_line_and_ctrl_c_stops_everything(tmp_path: Path) -> None:
    state = tmp_path / "stack.json"
    out, err = (tmp_path / "up.out").open("w"), (tmp_path / "up.err").open("w")
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(["layers/shared", "local", "."])}
    # Given `make up` started (with a state file of this test's own)
    up = subprocess.Popen(
        [sys.executable, "-m", "devstack", "up", "--seconds", "900", "--state-file", str(state)],
        cwd=ROOT,
        env=environment,
        stdout=out,
        stderr=err,
    )
    try:
        eventually(lambda: state.exists() or up.poll() is not None, timeout=300)
        assert up.poll() is None, (tmp_path / "up.err").read_text()[-3000:]
        endpoint = json.loads(state.read_text())["endpoint"]
        # When the installed command line asks it what it is
        info = subprocess.run(
            [str(CLI), "stack", "info", "--json", "--state-file", str(state)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        # Then it answers, pointed at the gateway simulator
        assert info.returncode == 0, info.stderr
        assert json.loads(info.stdout)["stack"] == "mms-relay-local"
        printed = eventually((tmp_path / "up.out").read_text, timeout=30)
        assert "sending through the gateway simulator" in printed
        # And what it printed names the API, the queue, the credentials and a command for each thing to do
        assert json.loads(info.stdout)["outboundQueueUrl"] in printed
        assert "webhook credentials" in printed
        for command in COMMANDS:
            assert f"mmsrelay --state-file {state} {command}" in printed, command
    finally:
        # When Ctrl-C comes
        up.send_signal(signal.SIGINT)
        code = up.wait(timeout=120)
        out.close()
        err.close()
    # Then it stopped cleanly, took its state file away and the emulator no longer listens
    assert code == 0, (tmp_path / "up.err").read_text()[-3000:]
    assert not state.exists()
    address = urlsplit(endpoint)
    with pytest.raises(ConnectionRefusedError), socket.create_connection((address.hostname, address.port), timeout=5):
        pass
