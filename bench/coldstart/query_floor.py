"""The floor of the query function on ``GET /messages/{id}``, as a handler module invoked like the
real one by invoke.py: boto3 imported, the same client created, the same reads made (the job's
item, then its recipients' transactions in one BatchGetItem), answered with the same JSON."""

import json

import boto3


def lambda_handler(setup: dict[str, str], context: object) -> dict[str, object]:
    dynamodb = boto3.client("dynamodb")
    table = setup["table"]
    job = dynamodb.get_item(TableName=table, Key={"pk": {"S": f"MSG#{setup['message_id']}"}, "sk": {"S": "MSG"}})[
        "Item"
    ]
    recipients = [entry["M"] for entry in job["recipients"]["L"]]
    keys = [{"pk": {"S": f"TX#{entry['transactionGuid']['S']}"}, "sk": {"S": "TX"}} for entry in recipients]
    names = {"#a0": "pk", "#a1": "transactionGuid", "#a2": "status", "#a3": "statusAt", "#a4": "history"}
    found = dynamodb.batch_get_item(
        RequestItems={
            table: {"Keys": keys, "ProjectionExpression": ", ".join(names), "ExpressionAttributeNames": names}
        }
    )["Responses"][table]
    deliveries = {item["transactionGuid"]["S"]: item["status"]["S"] for item in found}
    document = {
        "messageId": job["messageId"]["S"],
        "status": job["status"]["S"],
        "recipients": [
            {
                "number": entry["number"]["S"],
                "transactionGUID": entry["transactionGuid"]["S"],
                "delivery": {"status": deliveries[entry["transactionGuid"]["S"]]},
            }
            for entry in recipients
        ],
    }
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps(document)}
