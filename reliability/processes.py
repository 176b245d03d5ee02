"""Stopping an emulated function's process from outside, at a moment a run chose.

ministack runs each Python function in a worker process of its own session (the emulator was
started with ``start_new_session``): ``python _worker.py`` in a folder named
``ministack-lambda-<function name>-...``. A run that watches a connection (the gateway simulator
accepting a message, the AWS proxy answering a write) knows the client's TCP port; the process
holding that socket is the function process to kill, found through ``/proc`` (Linux). SIGKILL
ends it at once, with no handler run, as a crash or an out-of-memory kill would.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

PROC = Path("/proc")
WAIT_FOR_EXIT_S = 5.0


class ProcessNotFound(RuntimeError):
    """No process of the emulator's session holds the connection."""


ESTABLISHED = "01"


def _socket_inode(local_port: int) -> str | None:
    """The inode of the established TCP socket whose local port is ``local_port`` (IPv4 or IPv6);
    closed ones waiting out TIME_WAIT on the same port have no inode (0) and are skipped."""
    wanted = f":{local_port:04X}"
    for table in ("net/tcp", "net/tcp6"):
        with contextlib.suppress(OSError):
            for line in (PROC / table).read_text().splitlines()[1:]:
                fields = line.split()
                if len(fields) > 9 and fields[1].endswith(wanted) and fields[3] == ESTABLISHED and fields[9] != "0":
                    return fields[9]
    return None


def _session_of(pid: int) -> int | None:
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # pid (comm) state ppid pgrp session ...: comm may hold spaces, so split after its ")".
    return int(stat.rpartition(")")[2].split()[3])


def pid_holding(local_port: int, session: int) -> int:
    """The process of ``session`` holding the TCP socket whose local port is ``local_port``."""
    inode = _socket_inode(local_port)
    if inode is not None:
        target = f"socket:[{inode}]"
        for entry in PROC.iterdir():
            if not entry.name.isdigit() or _session_of(int(entry.name)) != session:
                continue
            with contextlib.suppress(OSError):
                for descriptor in (entry / "fd").iterdir():
                    with contextlib.suppress(OSError):
                        if os.readlink(descriptor) == target:
                            return int(entry.name)
    raise ProcessNotFound(
        f"no process of session {session} holds a socket on local port {local_port} (inode {inode}; holders:"
        f" {_holders(inode) if inode else '-'})"
    )


def _holders(inode: str) -> list[tuple[int, int | None]]:
    """(pid, session) of every process holding socket ``inode`` (diagnostics)."""
    target = f"socket:[{inode}]"
    found = []
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if any(os.readlink(fd) == target for fd in (entry / "fd").iterdir()):
                    found.append((int(entry.name), _session_of(int(entry.name))))
    return found


def local_ports(pid: int) -> frozenset[int]:
    """The local ports of the established TCP connections ``pid`` holds (its side of each)."""
    inodes = set()
    with contextlib.suppress(OSError):
        for descriptor in (PROC / str(pid) / "fd").iterdir():
            with contextlib.suppress(OSError):
                target = os.readlink(descriptor)
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
    ports = set()
    for table in ("net/tcp", "net/tcp6"):
        with contextlib.suppress(OSError):
            for line in (PROC / table).read_text().splitlines()[1:]:
                fields = line.split()
                if len(fields) > 9 and fields[9] in inodes and fields[3] == ESTABLISHED:
                    ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return frozenset(ports)


def kill_now(pid: int) -> None:
    """SIGKILL ``pid`` and wait (bounded) until it is gone."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + WAIT_FOR_EXIT_S
    while time.monotonic() < deadline:
        state = _state_of(pid)
        if state is None or state == "Z":  # gone, or a zombie its parent has not reaped yet
            return
        time.sleep(0.01)
    raise RuntimeError(f"process {pid} did not exit after SIGKILL")


def _state_of(pid: int) -> str | None:
    try:
        return (PROC / str(pid) / "stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return None


def kill_client_of(peer: tuple[str, int], session: int) -> tuple[int, frozenset[int]]:
    """Kills the emulator's process that is the client at ``peer`` (its side of a connection to us);
    its pid and the local ports of the connections it held when it died."""
    pid = pid_holding(peer[1], session)
    ports = local_ports(pid)
    kill_now(pid)
    return pid, ports
