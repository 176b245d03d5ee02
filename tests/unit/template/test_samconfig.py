"""samconfig.toml: the dev stack's sections for `sam sync --watch`, `sam logs`, `sam remote invoke`,
and the commands the README gives with them."""

from __future__ import annotations

import re
import tomllib
from typing import Any

import pytest

from tests.support import EVENTS
from tests.template import ROOT, resources

SAMCONFIG = ROOT / "samconfig.toml"
# The options of those commands (SAM CLI 1.170, `sam <command> --help`), as samconfig spells them.
OPTIONS = {
    "sync": {
        "stack_name",
        "region",
        "profile",
        "parameter_overrides",
        "capabilities",
        "s3_bucket",
        "s3_prefix",
        "watch",
        "code",
        "resource_id",
        "resource",
        "tags",
        "watch_exclude",
        "dependency_layer",
    },
    "logs": {
        "stack_name",
        "name",
        "region",
        "profile",
        "tail",
        "filter",
        "include_traces",
        "output",
        "cw_log_group",
        "start_time",
        "end_time",
    },
    "remote_invoke": {"stack_name", "region", "profile", "event", "event_file", "parameter", "output"},
}


def config() -> dict[str, Any]:
    return tomllib.loads(SAMCONFIG.read_text())


@pytest.mark.parametrize("command", sorted(OPTIONS))
def test_the_dev_stack_has_a_section_for_the_command_with_only_its_options(command: str) -> None:
    section = config()["default"][command]["parameters"]
    assert set(section) <= OPTIONS[command], set(section) - OPTIONS[command]


def test_sync_watches_and_deploys_with_the_same_capabilities_and_parameters_as_deploy() -> None:
    default = config()["default"]
    assert default["sync"]["parameters"]["watch"] is True
    for name in ("capabilities", "parameter_overrides"):
        assert default["sync"]["parameters"][name] == default["deploy"]["parameters"][name]


def test_logs_follow_the_log_group() -> None:
    assert config()["default"]["logs"]["parameters"]["tail"] is True


def test_only_the_dev_stack_can_be_synced() -> None:
    # sam sync skips change sets: it must not be one command away from production
    assert [env for env, sections in config().items() if isinstance(sections, dict) and "sync" in sections] == [
        "default"
    ]


def test_the_commands_resolve_the_dev_stack_by_its_global_stack_name() -> None:
    default = config()["default"]
    assert default["global"]["parameters"]["stack_name"] == "mms-relay-dev"
    assert all("stack_name" not in default[command]["parameters"] for command in OPTIONS)


def test_the_readmes_remote_invocations_name_functions_and_events_that_exist() -> None:
    readme = (ROOT / "README.md").read_text()
    invocations = re.findall(r"sam remote invoke (\w+) --event-file events/([\w.]+)", readme)
    assert invocations
    functions = set(resources("AWS::Serverless::Function"))
    for function, event in invocations:
        assert function in functions
        assert (EVENTS / event).is_file()
    for function in re.findall(r"sam logs -n (\w+)", readme):
        assert function in functions
