"""The Docker-free invoker: a handler run in a fresh interpreter that sees only what Lambda gives it."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from devstack.invoke import AwsTarget, BuiltFunction, InvokeError, invoke, lambda_environment, probe

AWS = AwsTarget("http://127.0.0.1:9", "us-east-1", "testing", "testing")


def function(tmp_path: Path, source: str, timeout_s: int = 3) -> BuiltFunction:
    code = tmp_path / "code"
    layer = tmp_path / "layer" / "python"
    code.mkdir()
    layer.mkdir(parents=True)
    (code / "app.py").write_text(textwrap.dedent(source))
    return BuiltFunction("TestFunction", code, "app.lambda_handler", layer, timeout_s=timeout_s, memory_mb=256)


def test_the_environment_is_built_from_scratch(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Given a developer shell holding credentials and a profile
    monkeypatch.setenv("AWS_PROFILE", "prod-admin")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "developer-token")
    monkeypatch.setenv("GITHUB_TOKEN", "developer-token")
    built = function(tmp_path, "def lambda_handler(event, context): return None")
    # When the function's environment is built
    environment = lambda_environment(built, {"TABLE": "messages", "_HANDLER": "evil.handler"}, AWS)
    # Then it holds the function's variables, Lambda's own and the emulator's credentials only
    assert environment["TABLE"] == "messages"
    assert environment["_HANDLER"] == "app.lambda_handler"
    assert (environment["AWS_ACCESS_KEY_ID"], environment["AWS_SECRET_ACCESS_KEY"]) == ("testing", "testing")
    assert environment["AWS_ENDPOINT_URL"] == AWS.endpoint_url
    assert environment["AWS_CONFIG_FILE"] == environment["AWS_SHARED_CREDENTIALS_FILE"]
    assert environment["AWS_EC2_METADATA_DISABLED"] == "true"
    assert not {"AWS_PROFILE", "AWS_SESSION_TOKEN", "GITHUB_TOKEN"} & set(environment)
    assert "developer-token" not in environment.values()


def test_a_handler_answers_with_the_event_the_context_and_its_environment(tmp_path: Path) -> None:
    # Given a handler that echoes what it was given
    built = function(
        tmp_path,
        """
        import os, sys
        def lambda_handler(event, context):
            print("a log line")
            return {
                "event": event,
                "name": context.function_name,
                "memory": context.memory_limit_in_mb,
                "remaining": context.get_remaining_time_in_millis(),
                "table": os.environ["TABLE"],
                "profile": os.environ.get("AWS_PROFILE"),
                "flags": [sys.flags.isolated, sys.flags.no_site, sys.flags.dont_write_bytecode],
            }
        """,
    )
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    # When it is invoked
    invocation = invoke(built, {"n": 1}, {"TABLE": "messages"}, AWS, runtime_dir=runtime)
    # Then its answer comes back apart from its logs
    assert invocation.ok
    answer = invocation.answer
    assert (answer["event"], answer["name"], answer["memory"], answer["table"]) == (
        {"n": 1},
        "TestFunction",
        "256",
        "messages",
    )
    assert 0 < answer["remaining"] <= 3000
    assert answer["profile"] is None
    assert answer["flags"] == [1, 1, 1]
    assert "a log line" in invocation.logs
    assert "START RequestId" in invocation.logs
    # And its path was the function, the layer and the runtime, then the standard library
    assert invocation.sys_path[:3] == (str(built.code_dir), str(built.layer_dir), str(runtime))
    assert not any("site-packages" in entry for entry in invocation.sys_path)


def test_a_handler_that_raises_answers_lambdas_error_shape(tmp_path: Path) -> None:
    built = function(tmp_path, "def lambda_handler(event, context):\n    raise ValueError('no such thing')\n")
    invocation = invoke(built, {}, {}, AWS, runtime_dir=tmp_path)
    assert not invocation.ok
    assert invocation.error is not None
    assert (invocation.error.error_type, invocation.error.message) == ("ValueError", "no such thing")
    assert "ValueError: no such thing" in invocation.logs


def test_a_handler_that_cannot_be_imported_is_an_import_error(tmp_path: Path) -> None:
    built = function(tmp_path, "import package_nobody_ships\n")
    invocation = invoke(built, None, {}, AWS, runtime_dir=tmp_path)
    assert invocation.error is not None
    assert invocation.error.error_type == "Runtime.ImportModuleError"
    assert "package_nobody_ships" in invocation.error.message


def test_a_handler_past_its_timeout_is_stopped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("devstack.invoke.INIT_ALLOWANCE_S", 0.0)
    monkeypatch.setattr("devstack.invoke.STOP_MARGIN_S", 0.5)
    built = function(tmp_path, "import time\ndef lambda_handler(event, context):\n    time.sleep(60)\n", timeout_s=1)
    with pytest.raises(InvokeError, match="no answer within"):
        invoke(built, {}, {}, AWS, runtime_dir=tmp_path)


def test_a_probe_sees_only_the_folders_it_is_given(tmp_path: Path) -> None:
    (tmp_path / "only_here.py").write_text("__version__ = '1.2.3'\n")
    found = probe([tmp_path], ["only_here", "pytest"])
    assert found["only_here"].version == "1.2.3"
    assert found["only_here"].file == str(tmp_path / "only_here.py")
    assert found["pytest"].file is None
