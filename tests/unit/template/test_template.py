"""template.yaml checked against the code it deploys (sam validate --lint checks the rest)."""

from __future__ import annotations

import ast
import importlib
import shlex
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from mmsrelay.events.settings import EventSettings
from mmsrelay.inbound.settings import InboundSettings, MediaSettings
from mmsrelay.observability import tracing_enabled
from mmsrelay.outbound.settings import MediaLinkSettings, OutboundSettings
from mmsrelay.query.settings import QuerySettings
from mmsrelay.receipts.settings import MailedReportSettings, ReceiptSettings, SweepSettings
from mmsrelay.settings import SettingsError
from tests.template import ROOT, Tag, function_environment, resources, role_statements, template

SETTINGS: dict[str, Callable[[Mapping[str, str]], object]] = {
    "InboundFunction": InboundSettings.from_environ,
    "MediaRetryFunction": MediaSettings.from_environ,
    "OutboundFunction": OutboundSettings.from_environ,
    "MediaLinkFunction": MediaLinkSettings.from_environ,
    "ReceiptFunction": ReceiptSettings.from_environ,
    "NoReceiptFunction": SweepSettings.from_environ,
    "QueryFunction": QuerySettings.from_environ,
    "EventsFunction": EventSettings.from_environ,
    "Mm4ReportFunction": MailedReportSettings.from_environ,
}


def test_every_function_has_its_settings_checked() -> None:
    assert set(SETTINGS) == set(resources("AWS::Serverless::Function"))


def test_every_function_points_at_a_handler_that_exists() -> None:
    for name, function in resources("AWS::Serverless::Function").items():
        properties = function["Properties"]
        module, _, handler = properties["Handler"].partition(".")
        source = ROOT / properties["CodeUri"] / f"{module}.py"
        assert source.exists(), name
        tree = ast.parse(source.read_text())
        defined = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
        assert handler in defined, name


@pytest.mark.parametrize("function", sorted(SETTINGS))
def test_each_function_gets_every_setting_it_reads(function: str) -> None:
    environment = function_environment(function)
    # Given the deployed environment, the settings load
    SETTINGS[function](environment)
    # And each variable they require is really read: without it, loading fails naming it
    for name in environment:
        problems = _problems(function, {key: value for key, value in environment.items() if key != name})
        assert not problems or any(name in problem for problem in problems)


def _changed(value: str) -> str:
    """Another valid-looking value of the same kind: a flag flipped, a number plus one, text extended."""
    if value in ("true", "false"):
        return "false" if value == "true" else "true"
    if value.isdigit():
        return str(int(value) + 1)
    return value + "x"


def _handler_calls(function: str) -> set[str]:
    """The names the function's handler module calls (``Logger()``, ``traced_when_enabled(...)``...)."""
    source = ROOT / resources("AWS::Serverless::Function")[function]["Properties"]["CodeUri"] / "app.py"
    return {
        node.func.id
        for node in ast.walk(ast.parse(source.read_text()))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    }


# Variables read by a library the handler uses rather than by the function's settings: the
# package whose source must read that very name, and what makes the function read it.
LIBRARY_VARIABLES: dict[str, tuple[str, Callable[[str], bool]]] = {
    "POWERTOOLS_SERVICE_NAME": ("aws_lambda_powertools", lambda function: "Logger" in _handler_calls(function)),
    "POWERTOOLS_LOG_LEVEL": ("aws_lambda_powertools", lambda function: "Logger" in _handler_calls(function)),
    "POWERTOOLS_METRICS_NAMESPACE": ("aws_lambda_powertools", lambda function: "Metrics" in _handler_calls(function)),
    "POWERTOOLS_TRACE_DISABLED": (
        "mmsrelay",
        lambda function: (
            "traced_when_enabled" in _handler_calls(function)
            and tracing_enabled({"POWERTOOLS_TRACE_DISABLED": "false"})
            != tracing_enabled({"POWERTOOLS_TRACE_DISABLED": "true"})
        ),
    ),
}


@pytest.mark.parametrize("function", sorted(SETTINGS))
def test_each_variable_the_template_gives_a_function_is_read_by_it(function: str) -> None:
    # Given the environment the template gives the function, and the settings it loads
    environment = function_environment(function)
    loaded = SETTINGS[function](environment)
    unread = []
    for name, value in environment.items():
        if name in LIBRARY_VARIABLES:
            # A library's variable: the handler uses the library that reads it
            if not LIBRARY_VARIABLES[name][1](function):
                unread.append(name)
            continue
        # When the variable's value is changed (a default-valued one too: removing it would change nothing)
        problems = _problems(function, {**environment, name: _changed(value)})
        # Then the settings see it: they refuse the new value naming it, or they differ
        if problems:
            assert all(problem.startswith(f"{name} ") for problem in problems), problems
        elif SETTINGS[function]({**environment, name: _changed(value)}) == loaded:
            unread.append(name)
    assert unread == [], f"{function} is given variables it never reads: {unread}"


@pytest.mark.parametrize("name", sorted(LIBRARY_VARIABLES))
def test_each_library_variable_is_a_name_its_library_reads(name: str) -> None:
    package = importlib.import_module(LIBRARY_VARIABLES[name][0])
    sources = Path(next(iter(package.__path__))).rglob("*.py")
    assert any(name in source.read_text(errors="replace") for source in sources), name


def test_no_secret_travels_in_an_environment_variable() -> None:
    for name in resources("AWS::Serverless::Function"):
        for key in function_environment(name):
            assert not any(word in key for word in ("PASSWORD", "API_KEY", "TOKEN")), key
            if "SECRET" in key:
                assert key.endswith("_ARN"), key


def test_the_stack_outputs_what_the_docs_and_tools_use() -> None:
    assert {"ApiUrl", "MessagesTableName", "MediaBucketName", "WebhookCredentialsSecretArn"} <= set(
        template()["Outputs"]
    )


def test_insecure_media_fetching_is_off_unless_asked_for() -> None:
    assert template()["Parameters"]["AllowInsecureMediaFetch"]["Default"] == "false"
    assert template()["Parameters"]["MaxMediaBytes"]["Default"] == 5 * 1024 * 1024


def test_the_media_bucket_is_private_encrypted_and_tls_only() -> None:
    bucket = resources("AWS::S3::Bucket")["MediaBucket"]["Properties"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    (policy,) = resources("AWS::S3::BucketPolicy").values()
    statement, ses_statement = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Deny"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    # The only other statement lets SES store MM4 reports, and only when that path is on
    assert isinstance(ses_statement, Tag)
    assert ses_statement.name == "If"
    assert ses_statement.value[0] == "HasMm4Reports"
    assert ses_statement.value[2] == Tag("Ref", "AWS::NoValue")


def test_the_table_keeps_history_recoverable_and_expiring() -> None:
    table = resources("AWS::DynamoDB::Table")["MessagesTable"]["Properties"]
    assert table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expiresAt", "Enabled": True}
    assert table["BillingMode"] == "PAY_PER_REQUEST"


def test_the_webhook_function_may_write_but_never_read_the_table() -> None:
    statements = role_statements("InboundFunction")
    actions = {action for statement in statements for action in _list(statement["Action"])}
    assert {"dynamodb:PutItem", "dynamodb:UpdateItem"} <= actions
    reads = ("GetItem", "BatchGetItem", "Query", "Scan")
    assert not [action for action in actions if action.startswith("dynamodb:") and action.endswith(reads)]


def test_the_local_overrides_name_real_parameters() -> None:
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    parameters = template()["Parameters"]
    for environment in ("default", "prod", "local"):
        overrides = config[environment]["deploy"]["parameters"]["parameter_overrides"]
        for item in shlex.split(overrides):
            assert item.split("=", 1)[0] in parameters, (environment, item)


def test_both_layers_share_one_recipe_and_one_is_attached() -> None:
    layers = resources("AWS::Serverless::LayerVersion")
    assert {body["Properties"]["ContentUri"] for body in layers.values()} == {"layers/shared/"}
    makefile = (ROOT / "layers/shared/Makefile").read_text()
    for name in layers:
        assert f"build-{name}:" in makefile
    attached = template()["Globals"]["Function"]["Layers"][0]
    assert isinstance(attached, Tag)
    assert attached.name == "If"


def _problems(function: str, environment: dict[str, str]) -> tuple[str, ...]:
    try:
        SETTINGS[function](environment)
    except SettingsError as error:
        return error.problems
    return ()


def _list(value: object) -> list[str]:
    return [str(item) for item in value] if isinstance(value, list) else [str(value)]


def test_source_cidrs_restrict_the_webhooks_only_when_given() -> None:
    policy = resources("AWS::Serverless::Api")["Api"]["Properties"]["Auth"]["ResourcePolicy"]
    allow, conditional = policy["CustomStatements"]
    assert allow["Effect"] == "Allow"
    assert isinstance(conditional, Tag)
    assert conditional.name == "If"
    condition, deny, otherwise = conditional.value
    assert condition == "HasAllowedSourceCidrs"
    assert deny["Effect"] == "Deny"
    assert deny["Resource"] == ["execute-api:/*/*/inbound", "execute-api:/*/*/dlr", "execute-api:/*/*/dlr/*"]
    source_ip = deny["Condition"]["NotIpAddress"]["aws:SourceIp"]
    assert source_ip == Tag("Split", [",", Tag("Ref", "AllowedSourceCidrs")])
    assert otherwise == Tag("Ref", "AWS::NoValue")
    assert template()["Conditions"]["HasAllowedSourceCidrs"] == Tag(
        "Not", [Tag("Equals", [Tag("Ref", "AllowedSourceCidrs"), ""])]
    )


def test_the_outbound_queue_outlasts_six_function_timeouts_and_has_a_dead_letter_queue() -> None:
    queue = resources("AWS::SQS::Queue")["OutboundQueue"]["Properties"]
    function = resources("AWS::Serverless::Function")["OutboundFunction"]["Properties"]
    assert queue["VisibilityTimeout"] >= 6 * function["Timeout"]
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == Tag("GetAtt", "OutboundDeadLetterQueue.Arn")
    assert queue["RedrivePolicy"]["maxReceiveCount"] == Tag("Ref", "OutboundMaxReceiveCount")
    assert template()["Parameters"]["OutboundMaxReceiveCount"]["Default"] == 5


def test_outbound_jobs_arrive_in_batches_with_partial_failures_and_a_concurrency_cap() -> None:
    event = resources("AWS::Serverless::Function")["OutboundFunction"]["Properties"]["Events"]["Jobs"]
    assert event["Type"] == "SQS"
    properties = event["Properties"]
    assert properties["BatchSize"] == 10
    assert properties["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert properties["ScalingConfig"]["MaximumConcurrency"] == Tag("Ref", "OutboundMaximumConcurrency")
    assert properties["MaximumBatchingWindowInSeconds"] == Tag("Ref", "OutboundBatchingWindowSeconds")


def test_the_gateway_is_verified_and_reached_as_configured() -> None:
    parameters = template()["Parameters"]
    assert parameters["GatewayCaCertificate"]["Default"] == ""
    assert parameters["Mm4TlsMode"]["AllowedValues"] == ["implicit", "starttls"]
    assert parameters["GatewayBaseUrl"]["Default"].startswith("https://")
    assert {"OutboundQueueUrl", "OutboundDeadLetterQueueUrl", "GatewayCredentialsSecretArn"} <= set(
        template()["Outputs"]
    )


def test_the_test_table_is_the_templates() -> None:
    from tests.integration.conftest import create_messages_table  # noqa: PLC0415

    declared = resources("AWS::DynamoDB::Table")["MessagesTable"]["Properties"]
    recorded: dict[str, Any] = {}

    class Recorder:
        def create_table(self, **request: Any) -> None:
            recorded.update(request)

    create_messages_table(Recorder())  # type: ignore[arg-type]
    assert recorded["KeySchema"] == declared["KeySchema"]
    assert sorted(a["AttributeName"] for a in recorded["AttributeDefinitions"]) == sorted(
        a["AttributeName"] for a in declared["AttributeDefinitions"]
    )
    assert recorded["GlobalSecondaryIndexes"] == declared["GlobalSecondaryIndexes"]


def test_the_query_routes_require_iam_and_the_webhooks_do_not() -> None:
    functions = resources("AWS::Serverless::Function")
    for name in ("Message", "Conversation"):
        assert functions["QueryFunction"]["Properties"]["Events"][name]["Properties"]["Auth"] == {
            "Authorizer": "AWS_IAM"
        }
    for function in ("InboundFunction", "ReceiptFunction"):
        for event in functions[function]["Properties"]["Events"].values():
            assert "Auth" not in event["Properties"]  # Basic credentials, checked by the function


def test_events_come_from_the_tables_stream_with_partial_failures_and_a_failure_destination() -> None:
    stream = resources("AWS::Serverless::Function")["EventsFunction"]["Properties"]["Events"]["TableChanges"]
    assert stream["Type"] == "DynamoDB"
    assert stream["Properties"]["Stream"] == Tag("GetAtt", "MessagesTable.StreamArn")
    assert stream["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert stream["Properties"]["DestinationConfig"]["OnFailure"]["Destination"] == Tag(
        "GetAtt", "EventsFailureQueue.Arn"
    )
    assert "EventBusName" in template()["Outputs"]
