"""The running local stack, as ``make up`` leaves it for other commands (``make invoke``).

``python -m devstack up`` writes ``.aws-sam/local/stack.json`` once the stack is deployed and removes
it when it stops: where the emulator listens, the CA file its clients trust, the stack's outputs and
the process that owns it. Nothing secret: the emulator's credentials are its fixed test ones.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

NOT_UP = "the local stack is not up: run `make up` first (in another terminal)"


class StackNotUp(RuntimeError):
    """No local stack is running (no state file, or its owner is gone)."""


@dataclass(frozen=True)
class StackState:
    endpoint: str
    ca_file: Path
    stack_name: str
    outputs: dict[str, str]
    build_dir: Path  # what the stack runs: sam build's output for the local stack
    pid: int  # the `make up` process

    def to_json(self) -> str:
        return json.dumps(
            {
                "endpoint": self.endpoint,
                "ca_file": str(self.ca_file),
                "stack_name": self.stack_name,
                "outputs": self.outputs,
                "build_dir": str(self.build_dir),
                "pid": self.pid,
            },
            indent=2,
        )

    @classmethod
    def from_json(cls, text: str) -> StackState:
        document = json.loads(text)
        return cls(
            endpoint=document["endpoint"],
            ca_file=Path(document["ca_file"]),
            stack_name=document["stack_name"],
            outputs=dict(document["outputs"]),
            build_dir=Path(document["build_dir"]),
            pid=int(document["pid"]),
        )


def state_file(build_dir: Path) -> Path:
    """Where the state of the stack built into ``build_dir`` is kept (beside it, under .aws-sam/local)."""
    return build_dir.parent / "stack.json"


@contextlib.contextmanager
def published(path: Path, state: StackState) -> Iterator[None]:
    """``state`` written to ``path`` for as long as the block runs."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(state.to_json())
    try:
        yield
    finally:
        path.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        return True
    return True


def read_state(path: Path) -> StackState:
    """The running stack's state, or :class:`StackNotUp` saying to run ``make up``."""
    try:
        state = StackState.from_json(path.read_text())
    except FileNotFoundError:
        raise StackNotUp(NOT_UP) from None
    except (ValueError, KeyError, TypeError) as error:
        raise StackNotUp(f"{path} is unreadable ({error}); {NOT_UP}") from None
    if not _alive(state.pid) or not state.ca_file.exists():
        raise StackNotUp(f"{path} is left from a stack that stopped; {NOT_UP}")
    return state
