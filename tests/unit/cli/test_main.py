"""``mmsrelay``'s arguments, help and exit codes (no stack needed: each case stops before AWS)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from mmsrelay_cli.errors import ExitCode
from mmsrelay_cli.main import build_parser, main

COMMANDS = [
    ["send"],
    ["status"],
    ["conversation"],
    ["dlq"],
    ["dlq", "list"],
    ["dlq", "show"],
    ["dlq", "redrive"],
    ["inbound"],
    ["inbound", "simulate"],
    ["stack"],
    ["stack", "info"],
]


def every_command(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                found.append((*path, name))
                found += every_command(child, (*path, name))
    return found


def test_the_list_of_commands_here_is_the_parsers() -> None:
    assert sorted(every_command(build_parser())) == sorted(tuple(command) for command in COMMANDS)


@pytest.mark.parametrize("command", [[], *COMMANDS], ids=lambda c: " ".join(c) or "mmsrelay")
def test_every_command_has_help_that_lists_the_exit_codes(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main([*command, "--help"])
    assert exited.value.code == 0
    shown = capsys.readouterr().out
    assert "usage: mmsrelay" in shown
    assert "exit codes:" in shown
    assert "4  timed out" in shown


def test_options_are_read_before_or_after_the_command(tmp_path: Path) -> None:
    parser = build_parser()
    before = parser.parse_args(["--json", "--state-file", str(tmp_path), "status", "m-1"])
    after = parser.parse_args(["status", "m-1", "--json", "--state-file", str(tmp_path)])
    assert (before.json, before.state_file, before.id) == (True, tmp_path, "m-1")
    assert (after.json, after.state_file, after.id) == (True, tmp_path, "m-1")


def test_recipients_may_be_repeated_or_comma_separated() -> None:
    parsed = build_parser().parse_args(["send", "--from", "12345", "--to", "+13105551212,+13105551213", "--to", "+1"])
    assert parsed.to == ["+13105551212,+13105551213", "+1"]


def test_a_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["send", "--to", "+13105551212"])  # no --from
    assert exited.value.code == ExitCode.USAGE
    assert "--from" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        main(["conversation", "+13105551212", "--limit", "101"])
    assert exited.value.code == ExitCode.USAGE


def test_a_region_without_a_stack_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--region", "eu-west-1", "stack", "info"]) == ExitCode.USAGE
    assert "name it with --stack" in capsys.readouterr().err


def test_no_local_stack_up_exits_5_saying_to_run_make_up(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stack", "info", "--state-file", str(tmp_path / "stack.json")]) == ExitCode.UNAVAILABLE
    assert "make up" in capsys.readouterr().err


def test_an_unknown_profile_is_a_usage_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    assert main(["--stack", "mms-relay-dev", "--profile", "nobody", "stack", "info"]) == ExitCode.USAGE
