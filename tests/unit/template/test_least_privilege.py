"""Every role and policy in template.yaml grants what its function uses, on its own resources.

Each function has an explicit role: SAM's generated roles would attach AWS managed policies
(AWSLambdaBasicExecutionRole, AWSLambdaSQSQueueExecutionRole, AWSXrayWriteOnlyAccess, ...) whose
statements name every resource ("*"). The local stack enforces these roles (the emulator runs with
IAM checks on), so a permission missing here fails the system tests; an extra one fails here.
"""

from __future__ import annotations

from typing import Any

import pytest

from mmsrelay.outbound.fitting import fitted_key
from tests.template import Tag, resources, role_statements, template

FUNCTIONS = sorted(resources("AWS::Serverless::Function"))
# Actions AWS offers no resource-level permission for: "*" is the only resource they accept.
NEEDS_ANY_RESOURCE = frozenset(
    {
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "ec2:CreateNetworkInterface",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DeleteNetworkInterface",
        "ec2:AssignPrivateIpAddresses",
        "ec2:UnassignPrivateIpAddresses",
    }
)
LOGS = {"logs:CreateLogStream", "logs:PutLogEvents"}
TRACING = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
KMS = {"kms:Decrypt", "kms:GenerateDataKey"}  # with KmsKeyArn, on that key only
# What each function does, action by action: a new permission is a decision made here too.
EXPECTED_ACTIONS: dict[str, set[str]] = {
    "InboundFunction": {
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "s3:PutObject",
        "s3:AbortMultipartUpload",
        "secretsmanager:GetSecretValue",
        "sqs:SendMessage",
    },
    "MediaRetryFunction": {
        "dynamodb:GetItem",
        "dynamodb:UpdateItem",
        "s3:PutObject",
        "s3:AbortMultipartUpload",
        "sqs:SendMessage",
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
    },
    "OutboundFunction": {
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "s3:GetObject",
        "s3:PutObject",
        "s3:AbortMultipartUpload",
        "secretsmanager:GetSecretValue",
        "sqs:ChangeMessageVisibility",
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
        "ec2:CreateNetworkInterface",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DeleteNetworkInterface",
        "ec2:AssignPrivateIpAddresses",
        "ec2:UnassignPrivateIpAddresses",
    },
    "MediaLinkFunction": {"dynamodb:GetItem", "s3:GetObject"},
    "ReceiptFunction": {"dynamodb:UpdateItem", "dynamodb:Query", "secretsmanager:GetSecretValue"},
    "NoReceiptFunction": {"dynamodb:UpdateItem", "dynamodb:Query"},
    "Mm4ReportFunction": {"dynamodb:UpdateItem", "dynamodb:Query", "sqs:SendMessage"},
    "QueryFunction": {"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "s3:GetObject"},
    "EventsFunction": {
        "events:PutEvents",
        "dynamodb:DescribeStream",
        "dynamodb:GetRecords",
        "dynamodb:GetShardIterator",
        "dynamodb:ListStreams",
        "sqs:SendMessage",
    },
}


def actions_of(statement: dict[str, Any]) -> set[str]:
    action = statement["Action"]
    return set(action) if isinstance(action, list) else {action}


def all_policy_statements() -> list[tuple[str, dict[str, Any]]]:
    """(resource name, statement) of every role, inline policy and managed policy in the template."""
    found = []
    for name, body in template()["Resources"].items():
        properties = body.get("Properties", {})
        documents = []
        if body["Type"] == "AWS::IAM::Role":
            documents = [policy["PolicyDocument"] for policy in properties.get("Policies", [])]
        elif body["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            documents = [properties["PolicyDocument"]]
        for document in documents:
            for statement in document["Statement"]:
                found.append((name, statement.value[1] if isinstance(statement, Tag) else statement))
    return found


def test_every_function_runs_with_its_own_explicit_role_and_no_managed_policy() -> None:
    roles = resources("AWS::IAM::Role")
    for function in FUNCTIONS:
        properties = resources("AWS::Serverless::Function")[function]["Properties"]
        assert properties["Role"] == Tag("GetAtt", f"{function}Role.Arn"), function
        assert "Policies" not in properties, function  # SAM would then build a role of its own
    for name, role in roles.items():
        assert "ManagedPolicyArns" not in role["Properties"], name
        (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        assert statement["Principal"] == {"Service": "lambda.amazonaws.com"}, name


def test_no_statement_allows_every_action_of_a_service() -> None:
    statements = all_policy_statements()
    assert statements
    for name, statement in statements:
        assert statement["Effect"] == "Allow", name
        for action in actions_of(statement):
            assert "*" not in action, (name, action)


def test_any_resource_only_where_aws_offers_nothing_narrower() -> None:
    for name, statement in all_policy_statements():
        resource = statement["Resource"]
        listed = resource if isinstance(resource, list) else [resource]
        if "*" in listed:
            assert actions_of(statement) <= NEEDS_ANY_RESOURCE, (name, statement)
        for item in listed:
            text = item.value if isinstance(item, Tag) and isinstance(item.value, str) else str(item)
            assert text != "arn:aws:s3:::*", (name, statement)


def test_permissions_needing_any_resource_exist_only_when_their_feature_is_on() -> None:
    for function in FUNCTIONS:
        role = template()["Resources"][f"{function}Role"]["Properties"]
        for policy in role["Policies"]:
            for statement in policy["PolicyDocument"]["Statement"]:
                if isinstance(statement, Tag):
                    continue
                assert statement["Resource"] != "*", (function, statement)


@pytest.mark.parametrize("function", FUNCTIONS)
def test_each_role_grants_exactly_what_its_function_uses(function: str) -> None:
    granted = set().union(*(actions_of(statement) for statement in role_statements(function)))
    expected = EXPECTED_ACTIONS[function] | LOGS | TRACING | KMS
    if function == "Mm4ReportFunction":  # reading the stored reports: a policy of its own (a cycle otherwise)
        reads = template()["Resources"]["Mm4ReportFunctionReadsReports"]["Properties"]["PolicyDocument"]
        granted |= set().union(*(actions_of(statement) for statement in reads["Statement"]))
        expected |= {"s3:GetObject", "s3:ListBucket"}
    assert granted == expected


def test_the_customer_managed_key_is_used_only_when_given_and_only_that_key() -> None:
    for name, statement in all_policy_statements():
        if actions_of(statement) & KMS:
            assert actions_of(statement) == KMS, name
            assert statement["Resource"] == Tag("Ref", "KmsKeyArn"), name
    for function in FUNCTIONS:
        role = template()["Resources"][f"{function}Role"]["Properties"]
        (conditional,) = [
            statement
            for policy in role["Policies"]
            for statement in policy["PolicyDocument"]["Statement"]
            if isinstance(statement, Tag) and statement.value[0] == "HasKmsKey"
        ]
        assert conditional.value[2] == Tag("Ref", "AWS::NoValue")


def test_each_role_writes_logs_to_its_own_group_only() -> None:
    for function in FUNCTIONS:
        (logs,) = [statement for statement in role_statements(function) if actions_of(statement) == LOGS]
        assert logs["Resource"] == Tag("GetAtt", f"{function}Logs.Arn")


def test_the_expected_table_covers_every_function() -> None:
    assert set(EXPECTED_ACTIONS) == set(FUNCTIONS)


def test_the_outbound_function_writes_media_under_outbound_only_where_its_fitted_copies_go() -> None:
    # Given the outbound role's S3 writes
    (writes,) = [each for each in role_statements("OutboundFunction") if "s3:PutObject" in actions_of(each)]
    assert writes["Resource"] == Tag("Sub", "${MediaBucket.Arn}/outbound/*")
    # Then every fitted copy it stores, whatever the original's key, is within them
    for original in ("outbound/labels/1234.png", "inbound/2026/11/25/GUID/0.jpg", "anywhere.gif"):
        assert fitted_key(original, "image/jpeg").startswith("outbound/"), original
