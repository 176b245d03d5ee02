"""template.yaml's parts for a real account: egress, MM4 reports by e-mail, alarms, logs, dashboard."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

import pytest

from mmsrelay.outbound.send import SENT_OVER_METRICS
from mmsrelay.receipts.apply import RECEIPT_STATUS_METRICS
from tests.template import ROOT, Tag, resources, template

FUNCTIONS = resources("AWS::Serverless::Function")
# The functions that call the gateway (HTTPS API, MM4): the only ones behind the fixed egress.
GATEWAY_CALLERS = {"OutboundFunction"}


def emitted_metrics() -> set[str]:
    """Every metric name the code adds: literal ``add_metric(name=...)`` calls and the per-kind maps."""
    names = set(SENT_OVER_METRICS.values()) | set(RECEIPT_STATUS_METRICS.values())
    for source in (ROOT / "layers/shared/mmsrelay").rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "add_metric":
                names |= {
                    keyword.value.value
                    for keyword in node.keywords
                    if keyword.arg == "name"
                    and isinstance(keyword.value, ast.Constant)
                    and isinstance(keyword.value.value, str)
                }
    return names


def off_when_empty(parameter: str) -> Tag:
    return Tag("Not", [Tag("Equals", [Tag("Ref", parameter), ""])])


# --- 1. fixed egress ------------------------------------------------------------------------------


def test_only_the_function_that_calls_the_gateway_runs_in_the_egress_subnets() -> None:
    parameters = template()["Parameters"]
    assert parameters["EgressSubnetIds"]["Default"] == parameters["EgressSecurityGroupIds"]["Default"] == ""
    assert template()["Conditions"]["HasEgress"] == off_when_empty("EgressSubnetIds")
    in_vpc = {name for name, body in FUNCTIONS.items() if "VpcConfig" in body["Properties"]}
    assert in_vpc == GATEWAY_CALLERS
    vpc = FUNCTIONS["OutboundFunction"]["Properties"]["VpcConfig"]
    condition, config, otherwise = vpc.value
    assert (vpc.name, condition, otherwise) == ("If", "HasEgress", Tag("Ref", "AWS::NoValue"))
    assert config == {
        "SubnetIds": Tag("Split", [",", Tag("Ref", "EgressSubnetIds")]),
        "SecurityGroupIds": Tag("Split", [",", Tag("Ref", "EgressSecurityGroupIds")]),
    }


def test_subnets_without_security_groups_are_refused_before_anything_is_deployed() -> None:
    (assertion,) = template()["Rules"]["EgressSubnetsAndSecurityGroupsTogether"]["Assertions"]
    both_empty, both_set = assertion["Assert"].value
    assert both_empty == Tag(
        "And",
        [Tag("Equals", [Tag("Ref", "EgressSubnetIds"), ""]), Tag("Equals", [Tag("Ref", "EgressSecurityGroupIds"), ""])],
    )
    assert both_set == Tag("And", [off_when_empty("EgressSubnetIds"), off_when_empty("EgressSecurityGroupIds")])


@pytest.mark.parametrize(
    ("parameter", "good", "bad"),
    [
        ("EgressSubnetIds", "subnet-0123456789abcdef0,subnet-0fedcba9", "subnet-01,sg-02"),
        ("EgressSecurityGroupIds", "sg-0123456789abcdef0", "subnet-0123"),
        ("Mm4ReportsDomain", "mm4.example.com", "mm4 example.com"),
        ("AlarmTopicArn", "arn:aws:sns:us-east-1:123456789012:relay-alarms", "arn:aws:sqs:us-east-1:1:x"),
    ],
)
def test_optional_parameters_accept_empty_or_well_formed_values_only(parameter: str, good: str, bad: str) -> None:
    pattern = template()["Parameters"][parameter]["AllowedPattern"]
    assert re.fullmatch(pattern, "")
    assert re.fullmatch(pattern, good)
    assert not re.fullmatch(pattern, bad)


# --- 2. MM4 reports through SES -------------------------------------------------------------------


def test_the_ses_receiving_path_exists_only_with_a_reports_domain() -> None:
    assert template()["Conditions"]["HasMm4Reports"] == off_when_empty("Mm4ReportsDomain")
    for name in ("Mm4ReportsRule", "Mm4ReportsFailureQueue", "Mm4ReportFunction", "Mm4ReportFunctionReadsReports"):
        assert template()["Resources"][name]["Condition"] == "HasMm4Reports", name
    assert template()["Resources"]["Mm4ReportsRuleSet"]["Condition"] == "CreatesMm4ReportsRuleSet"


def test_ses_stores_the_raw_report_under_its_own_scanned_prefix_and_it_expires() -> None:
    rule = template()["Resources"]["Mm4ReportsRule"]["Properties"]["Rule"]
    assert rule["Recipients"] == [Tag("Ref", "Mm4ReportsDomain")]
    assert rule["ScanEnabled"] is True
    (action,) = rule["Actions"]
    assert action == {"S3Action": {"BucketName": Tag("Ref", "MediaBucket"), "ObjectKeyPrefix": "mm4-reports/"}}
    lifecycle = resources("AWS::S3::Bucket")["MediaBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    (expiry,) = [rule for rule in lifecycle if rule.get("Prefix") == "mm4-reports/"]
    assert expiry["ExpirationInDays"] == Tag("Ref", "Mm4ReportsRetentionDays")
    # Encrypted at rest like every object of the bucket: the customer-managed key when given, else SSE-S3
    bucket = resources("AWS::S3::Bucket")["MediaBucket"]["Properties"]
    (encryption,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    condition, with_key, without = encryption.value
    assert condition == "HasKmsKey"
    assert with_key["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "aws:kms",
        "KMSMasterKeyID": Tag("Ref", "KmsKeyArn"),
    }
    assert without["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}


def test_only_ses_for_this_accounts_rule_may_store_reports_and_only_under_the_prefix() -> None:
    (policy,) = resources("AWS::S3::BucketPolicy").values()
    ses = policy["Properties"]["PolicyDocument"]["Statement"][1].value[1]
    assert ses["Principal"] == {"Service": "ses.amazonaws.com"}
    assert ses["Action"] == "s3:PutObject"
    assert ses["Resource"] == Tag("Sub", "${MediaBucket.Arn}/mm4-reports/*")
    assert ses["Condition"]["StringEquals"] == {"aws:SourceAccount": Tag("Ref", "AWS::AccountId")}
    source_arn = ses["Condition"]["ArnLike"]["aws:SourceArn"].value[0]
    assert source_arn.endswith(":receipt-rule/${AWS::StackName}-mm4-reports")
    assert template()["Resources"]["Mm4ReportsRule"]["Properties"]["Rule"]["Name"] == Tag(
        "Sub", "${AWS::StackName}-mm4-reports"
    )


def test_the_report_function_is_triggered_by_the_stored_object_and_keeps_what_fails() -> None:
    function = FUNCTIONS["Mm4ReportFunction"]["Properties"]
    (event,) = function["Events"].values()
    assert event["Type"] == "S3"
    assert event["Properties"]["Bucket"] == Tag("Ref", "MediaBucket")
    assert event["Properties"]["Filter"] == {"S3Key": {"Rules": [{"Name": "prefix", "Value": "mm4-reports/"}]}}
    on_failure = function["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]
    assert on_failure == {"Type": "SQS", "Destination": Tag("GetAtt", "Mm4ReportsFailureQueue.Arn")}
    assert "VpcConfig" not in function
    # It applies reports like POST /dlr/mm4 (the same handler code path, not the API)
    source = (ROOT / function["CodeUri"] / "app.py").read_text()
    assert "mailed_report" in source
    assert "requests" not in source


def test_the_function_the_bucket_notifies_does_not_name_the_bucket() -> None:
    # The bucket's notification names Mm4ReportFunction: any reference back (its properties, its
    # policies, the Globals every function inherits) would be a cycle CloudFormation refuses.
    properties = {k: v for k, v in FUNCTIONS["Mm4ReportFunction"]["Properties"].items() if k != "Events"}
    assert "MediaBucket" not in repr(properties)
    assert "MediaBucket" not in repr(template()["Globals"])


def test_the_report_function_reads_only_the_reports_prefix() -> None:
    policy = template()["Resources"]["Mm4ReportFunctionReadsReports"]["Properties"]
    assert policy["Roles"] == [Tag("Ref", "Mm4ReportFunctionRole")]
    read, listing = policy["PolicyDocument"]["Statement"]
    assert (read["Action"], read["Resource"]) == ("s3:GetObject", Tag("Sub", "${MediaBucket.Arn}/mm4-reports/*"))
    assert listing["Condition"] == {"StringLike": {"s3:prefix": "mm4-reports/*"}}


def test_forwards_name_the_reports_domain_as_where_reports_go() -> None:
    variable = FUNCTIONS["OutboundFunction"]["Properties"]["Environment"]["Variables"]["MM4_ORIGINATOR_SYSTEM"]
    assert variable == Tag("If", ["HasMm4Reports", Tag("Sub", "system-user@${Mm4ReportsDomain}"), "mms-relay"])


def test_the_sample_s3_event_names_an_object_under_the_reports_prefix() -> None:
    event = json.loads((ROOT / "events/mm4_report_s3.json").read_text())
    (record,) = event["Records"]
    assert record["eventName"].startswith("ObjectCreated:")
    assert record["s3"]["object"]["key"].startswith("mm4-reports/")


# --- 4. operable on day one ------------------------------------------------------------------------


def test_each_function_logs_to_its_own_group_with_the_retention_parameter() -> None:
    groups = resources("AWS::Logs::LogGroup")
    for name, function in FUNCTIONS.items():
        group = function["Properties"]["LoggingConfig"]["LogGroup"]
        assert group == Tag("Ref", f"{name}Logs")
        assert groups[f"{name}Logs"]["Properties"]["RetentionInDays"] == Tag("Ref", "LogRetentionDays")
        assert groups[f"{name}Logs"].get("Condition") == function.get("Condition")


def alarms() -> dict[str, dict[str, Any]]:
    return {name: body["Properties"] for name, body in resources("AWS::CloudWatch::Alarm").items()}


def metric_stats(alarm: dict[str, Any]) -> list[dict[str, Any]]:
    """The metrics an alarm reads, unwrapping conditional entries."""
    if "MetricName" in alarm:
        return [{"Namespace": alarm["Namespace"], "MetricName": alarm["MetricName"], "Dimensions": alarm["Dimensions"]}]
    stats = []
    for entry in alarm["Metrics"]:
        query = entry.value[1] if isinstance(entry, Tag) else entry
        if "MetricStat" in query:
            stats.append(query["MetricStat"]["Metric"])
    return stats


def test_every_alarm_notifies_the_topic_when_one_is_given() -> None:
    expected = Tag("If", ["HasAlarmTopic", [Tag("Ref", "AlarmTopicArn")], Tag("Ref", "AWS::NoValue")])
    assert alarms()
    for name, alarm in alarms().items():
        assert alarm["AlarmActions"] == expected, name
        assert alarm["OKActions"] == expected, name
        assert alarm["TreatMissingData"] == "notBreaching", name


def test_any_message_in_a_dead_letter_or_failure_queue_alarms() -> None:
    failure_queues = {
        name for name in resources("AWS::SQS::Queue") if name.endswith(("DeadLetterQueue", "FailureQueue"))
    }
    watched = set()
    for alarm in alarms().values():
        for metric in metric_stats(alarm):
            if metric["MetricName"] == "ApproximateNumberOfMessagesVisible":
                (dimension,) = metric["Dimensions"]
                watched.add(dimension["Value"].value.removesuffix(".QueueName"))
                assert alarm["Threshold"] == 1
    assert watched == failure_queues


@pytest.mark.parametrize("metric", ["Errors", "Throttles"])
def test_errors_and_throttles_of_every_function_alarm(metric: str) -> None:
    alarm = alarms()[f"Function{metric}Alarm"]
    watched = {m["Dimensions"][0]["Value"].value for m in metric_stats(alarm) if m["MetricName"] == metric}
    assert watched == set(FUNCTIONS)
    (total,) = [query for query in alarm["Metrics"] if not isinstance(query, Tag) and query.get("ReturnData")]
    assert total["Expression"] == "SUM(METRICS())"
    assert len(alarm["Metrics"]) - 1 <= 10  # CloudWatch reads at most 10 metrics in one alarm


def test_stream_lag_permanent_failures_media_failures_and_the_no_receipt_share_alarm() -> None:
    watched = {(m["Namespace"], m["MetricName"]) for alarm in alarms().values() for m in metric_stats(alarm)}
    assert {
        ("AWS/Lambda", "IteratorAge"),
        ("MmsRelay", "SendFailedPermanent"),
        ("MmsRelay", "MediaFailed"),
        ("MmsRelay", "NoReceipt"),
        ("MmsRelay", "MessagesSent"),
    } <= watched
    share = alarms()["NoReceiptShareAlarm"]
    assert share["Threshold"] == Tag("Ref", "NoReceiptAlarmPercent")
    (expression,) = [q["Expression"] for q in share["Metrics"] if "Expression" in q]
    assert "noreceipt" in expression
    assert "sent" in expression


def test_custom_metric_alarms_and_the_dashboard_read_metrics_the_code_emits() -> None:
    emitted = emitted_metrics()
    for name, alarm in alarms().items():
        for metric in metric_stats(alarm):
            if metric["Namespace"] == "MmsRelay":
                assert metric["MetricName"] in emitted, name
                assert metric["Dimensions"] == [{"Name": "service", "Value": "mms-relay"}]
    for shown in dashboard_metrics():
        if shown[0] == "MmsRelay":
            assert shown[1] in emitted, shown
            assert shown[2:4] == ["service", "mms-relay"]


def dashboard() -> dict[str, Any]:
    body = resources("AWS::CloudWatch::Dashboard")["RelayDashboard"]["Properties"]["DashboardBody"]
    assert body.name == "Sub"
    document: dict[str, Any] = json.loads(re.sub(r"\$\{[^}]+\}", "resolved", body.value))
    return document


def dashboard_metrics() -> list[list[Any]]:
    return [metric for widget in dashboard()["widgets"] for metric in widget["properties"]["metrics"]]


def test_the_dashboard_shows_sends_receipts_inbound_media_and_queue_depths() -> None:
    titles = " ".join(widget["properties"]["title"] for widget in dashboard()["widgets"]).lower()
    for topic in ("sends by transport", "receipts by status", "inbound", "media", "queue depths"):
        assert topic in titles
    names = {metric[1] for metric in dashboard_metrics()}
    assert set(SENT_OVER_METRICS.values()) <= names
    assert {"ReceiptsDelivered", "ReceiptsUndelivered", "NoReceipt", "MessagesReceived", "MediaFailed"} <= names
    queues = {metric[3] for metric in dashboard_metrics() if metric[1] == "ApproximateNumberOfMessagesVisible"}
    body = resources("AWS::CloudWatch::Dashboard")["RelayDashboard"]["Properties"]["DashboardBody"].value
    for queue in resources("AWS::SQS::Queue"):
        if "Condition" not in template()["Resources"][queue]:
            assert f"${{{queue}.QueueName}}" in body, queue
    assert queues == {"resolved"}


def test_a_producer_may_send_jobs_and_upload_outbound_media_and_nothing_else() -> None:
    policy = resources("AWS::IAM::ManagedPolicy")["ProducerPolicy"]["Properties"]["PolicyDocument"]
    always = [statement for statement in policy["Statement"] if not isinstance(statement, Tag)]
    grants = {(statement["Action"], str(statement["Resource"])) for statement in always}
    assert grants == {
        ("sqs:SendMessage", str(Tag("GetAtt", "OutboundQueue.Arn"))),
        ("s3:PutObject", str(Tag("Sub", "${MediaBucket.Arn}/outbound/*"))),
    }
    assert all(statement["Effect"] == "Allow" for statement in always)
    # With a customer-managed key, it may also use that key (to encrypt what it sends) and no other
    (with_key,) = [statement for statement in policy["Statement"] if isinstance(statement, Tag)]
    condition, statement, otherwise = with_key.value
    assert (condition, otherwise) == ("HasKmsKey", Tag("Ref", "AWS::NoValue"))
    assert (statement["Action"], statement["Resource"]) == (
        ["kms:Decrypt", "kms:GenerateDataKey"],
        Tag("Ref", "KmsKeyArn"),
    )


def test_outputs_name_the_failure_queues_the_policy_and_the_dashboard() -> None:
    outputs = template()["Outputs"]
    for queue in (
        "OutboundDeadLetterQueue",
        "MediaRetryDeadLetterQueue",
        "EventsFailureQueue",
        "Mm4ReportsFailureQueue",
    ):
        assert f"{queue}Arn" in outputs, queue
        assert f"{queue}Url" in outputs, queue
    assert outputs["Mm4ReportsFailureQueueUrl"]["Condition"] == "HasMm4Reports"
    assert {"ProducerPolicyArn", "DashboardUrl", "Mm4OriginatorSystem"} <= set(outputs)


def test_every_parameter_is_documented_in_operations() -> None:
    documented = (ROOT / "docs/operations.md").read_text()
    for name in template()["Parameters"]:
        assert f"`{name}`" in documented, name


def test_the_options_on_variant_switches_every_option_on() -> None:
    from tests.template import OPTIONS_ON, with_defaults  # noqa: PLC0415

    parameters = template()["Parameters"]
    for name, value in OPTIONS_ON.items():
        assert parameters[name]["Default"] != value, name
        if "AllowedPattern" in parameters[name]:
            assert re.fullmatch(parameters[name]["AllowedPattern"], value), name
    variant = with_defaults(OPTIONS_ON)
    assert "mm4.example.com" in variant
    assert Path(ROOT / "template.yaml").read_text() != variant
