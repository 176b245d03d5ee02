"""``stack info``: where everything of a stack is, and the routes to enter in the gateway's portal."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from mmsrelay_cli.dlq.queues import QUEUES
from mmsrelay_cli.render import Output, block, table
from mmsrelay_cli.stack import Stack

SECRETS = (
    ("webhook", "WebhookCredentialsSecretArn", "the Basic credentials the gateway posts webhooks with"),
    ("gateway", "GatewayCredentialsSecretArn", "the gateway connection's API key and secret (and MM4 login)"),
)


def run(stack: Stack, output: Output) -> None:
    document = describe(stack)
    output.emit(document, text(document))


def describe(stack: Stack) -> dict[str, Any]:
    outputs = stack.outputs
    api = outputs.get("ApiUrl", "").rstrip("/")
    secrets = {
        name: {"arn": outputs.get(key), "name": _secret_name(stack, outputs.get(key)), "holds": holds}
        for name, key, holds in SECRETS
    }
    return {
        "stack": stack.name,
        "region": stack.region,
        "local": stack.local,
        "endpoint": stack.endpoint_url,
        "apiUrl": api,
        "apiUrlFromHere": stack.api_url,
        "webhooks": {"inbound": f"{api}/inbound", "receipts": f"{api}/dlr", "mm4Reports": f"{api}/dlr/mm4"},
        "queryApi": {"message": f"{api}/messages/{{id}}", "conversation": f"{api}/numbers/{{number}}/messages"},
        "outboundQueueUrl": outputs.get("OutboundQueueUrl"),
        "failureQueues": {q.kind: outputs.get(q.url_output) for q in QUEUES if outputs.get(q.url_output)},
        "mediaBucket": outputs.get("MediaBucketName"),
        "messagesTable": outputs.get("MessagesTableName"),
        "eventBus": outputs.get("EventBusName"),
        "secrets": secrets,
        "producerPolicyArn": outputs.get("ProducerPolicyArn"),
        "dashboardUrl": outputs.get("DashboardUrl"),
        "mm4ReportsTo": outputs.get("Mm4OriginatorSystem"),
        "defaultCountryCode": stack.country_code,
        "portal": {
            "moRoute": {"url": f"{api}/inbound", "methods": ["POST (form)", "GET (query string)"]},
            "deliveryReceiptRoute": {"url": f"{api}/dlr", "methods": ["POST (form or JSON)", "GET (query string)"]},
            "basicCredentialsFrom": outputs.get("WebhookCredentialsSecretArn"),
            "mm4ReportsMailedTo": outputs.get("Mm4OriginatorSystem"),
        },
    }


def text(document: dict[str, Any]) -> str:
    where = f"the emulator at {document['endpoint']}" if document["local"] else document["region"]
    head = block(
        [
            ("stack", f"{document['stack']} ({where})"),
            ("API", document["apiUrl"]),
            *([("  from here", document["apiUrlFromHere"])] if document["local"] else []),
            ("outbound queue", document["outboundQueueUrl"]),
            ("media bucket", f"{document['mediaBucket']} (jobs' images under outbound/)"),
            ("messages table", document["messagesTable"]),
            ("event bus", document["eventBus"]),
            ("producer policy", document["producerPolicyArn"]),
            ("dashboard", document["dashboardUrl"]),
            ("country code", f"{document['defaultCountryCode']} (for numbers written without one)"),
        ]
    )
    routes = table(
        ["route", "auth", "url"],
        [
            ["POST|GET /inbound", "Basic", document["webhooks"]["inbound"]],
            ["POST|GET /dlr", "Basic", document["webhooks"]["receipts"]],
            ["POST /dlr/mm4", "Basic", document["webhooks"]["mm4Reports"]],
            ["GET /messages/{id}", "SigV4", document["queryApi"]["message"]],
            ["GET /numbers/{number}/messages", "SigV4", document["queryApi"]["conversation"]],
        ],
        width=200,
    )
    queues = table(["failure queue", "url"], list(document["failureQueues"].items()), width=200)
    secrets = table(
        ["secret", "name", "holds"],
        [[name, s["name"] or s["arn"], s["holds"]] for name, s in document["secrets"].items()],
        width=200,
    )
    portal = document["portal"]
    mailed = portal["mm4ReportsMailedTo"]
    portal_text = "\n".join(
        [
            "in the gateway's portal (the connection's routes), with HTTP Basic credentials from the webhook secret:",
            f"  MO route:               {portal['moRoute']['url']}  (POST form or GET)",
            f"  delivery receipt route: {portal['deliveryReceiptRoute']['url']}  (POST form, JSON or GET)",
            f"  MM4 reports:            mailed to {mailed}"
            if mailed
            else "  MM4 reports:            (no Mm4ReportsDomain)",
            "  credentials:            aws secretsmanager get-secret-value --query SecretString "
            f"--secret-id {portal['basicCredentialsFrom']}",
        ]
    )
    return f"{head}\n\n{routes}\n\n{queues}\n\n{secrets}\n\n{portal_text}"


def _secret_name(stack: Stack, arn: str | None) -> str | None:
    if not arn:
        return None
    try:
        return str(stack.client("secretsmanager").describe_secret(SecretId=arn)["Name"])
    except ClientError:
        return None
