"""``make invoke``: which function and event it means, and what it says when no stack is up."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from devstack.invoke_on_stack import UsageError, resolve_function, run, template_functions
from devstack.sam import RepoPaths
from devstack.stack_state import StackNotUp, StackState, published, read_state, state_file
from tests.template import ROOT, resources

FUNCTIONS = {
    "InboundFunction": "inbound",
    "ReceiptFunction": "receipts",
    "NoReceiptFunction": "no_receipt",
    "MediaRetryFunction": "media_retry",
}


def a_state(tmp_path: Path, pid: int | None = None) -> StackState:
    ca_file = tmp_path / "ca.pem"
    ca_file.write_text("not a real CA")
    return StackState(
        endpoint="https://127.0.0.1:4566",
        ca_file=ca_file,
        stack_name="mms-relay-local",
        outputs={"ApiUrl": "https://abc.execute-api.us-east-1.amazonaws.com/v1"},
        build_dir=tmp_path / "build",
        pid=os.getpid() if pid is None else pid,
    )


@pytest.mark.parametrize(
    ("name", "logical_id"),
    [
        ("ReceiptFunction", "ReceiptFunction"),
        ("receiptfunction", "ReceiptFunction"),
        ("Receipt", "ReceiptFunction"),
        ("receipts", "ReceiptFunction"),
        ("no_receipt", "NoReceiptFunction"),
        ("NoReceipt", "NoReceiptFunction"),
        ("media-retry", "MediaRetryFunction"),
        ("inbound", "InboundFunction"),
    ],
)
def test_a_function_is_named_by_logical_id_or_short_name(name: str, logical_id: str) -> None:
    assert resolve_function(name, FUNCTIONS) == logical_id


@pytest.mark.parametrize("name", ["", "receip", "Function", "outbound"])
def test_a_name_that_means_no_single_function_lists_the_choices(name: str) -> None:
    with pytest.raises(UsageError) as refused:
        resolve_function(name, FUNCTIONS)
    assert "ReceiptFunction (receipts)" in str(refused.value)


def test_the_template_gives_every_function_and_its_code_folder() -> None:
    functions = template_functions(ROOT / "template.yaml")
    assert set(functions) == set(resources("AWS::Serverless::Function"))
    assert functions["ReceiptFunction"] == "receipts"
    assert all((ROOT / "functions" / folder).is_dir() for folder in functions.values())


def test_the_state_is_published_while_the_stack_runs(tmp_path: Path) -> None:
    # Given the state of a running stack
    state = a_state(tmp_path)
    path = state_file(tmp_path / "build")
    # When it is published, it reads back the same; afterwards it is gone
    with published(path, state):
        assert read_state(path) == state
    assert not path.exists()
    with pytest.raises(StackNotUp, match="run `make up` first"):
        read_state(path)


def test_a_state_left_by_a_stack_that_died_is_not_up(tmp_path: Path) -> None:
    # Given the state file of a process that is gone
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait(timeout=30)
    path = tmp_path / "stack.json"
    path.write_text(a_state(tmp_path, pid=gone.pid).to_json())
    # Then it does not count as a running stack
    with pytest.raises(StackNotUp, match="stopped; the local stack is not up: run `make up` first"):
        read_state(path)


def test_make_invoke_without_a_stack_says_to_run_make_up(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given a checkout where no stack is up
    paths = RepoPaths(tmp_path)
    (tmp_path / "template.yaml").write_text((ROOT / "template.yaml").read_text())
    # When a function is invoked
    code = run("receipt", str(ROOT / "events" / "dlr_post_word.json"), paths)
    # Then nothing runs, and the message says what to do
    assert code == 2
    assert "run `make up` first" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("function", "event"), [("receipt", "events/no_such_event.json"), ("nothing", "events/dlr_post_word.json")]
)
def test_make_invoke_refuses_what_does_not_exist(function: str, event: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = run(function, str(ROOT / event), RepoPaths(ROOT))
    assert code == 2
    assert capsys.readouterr().err.startswith("make invoke: ")
