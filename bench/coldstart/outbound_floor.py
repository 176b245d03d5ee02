"""The floor of the outbound function, as a handler module (invoked like the real one by
invoke.py): boto3 and requests imported, the same clients created, the same calls made for one
HTTPS job, AWS answered by the same Stubber plan.

The calls: the gateway credentials from Secrets Manager, the idempotency record put, the job
marked queued, a send slot reserved in the code's schedule, the job marked sending, one form post
to the gateway (for real, over TLS), the job and its transaction written in one transaction, the
idempotency record completed.
"""

import json

import boto3
import requests
from stubs import assert_all_used, stub_clients


def lambda_handler(setup: dict[str, str], context: object) -> dict[str, object]:
    dynamodb = boto3.client("dynamodb")
    boto3.client("s3")
    secrets = boto3.client("secretsmanager")
    stubbers = stub_clients({"dynamodb": dynamodb, "secretsmanager": secrets}, setup["plan"])
    session = requests.Session()
    session.verify = setup["ca_file"]
    credentials = json.loads(secrets.get_secret_value(SecretId=setup["secret_arn"])["SecretString"])
    message_id = setup["message_id"]
    dynamodb.put_item(
        TableName=setup["idempotency_table"],
        Item={"id": {"S": message_id}, "status": {"S": "INPROGRESS"}, "expiration": {"N": "9999999999"}},
        ConditionExpression="attribute_not_exists(id)",
    )
    key = {"pk": {"S": f"MSG#{message_id}"}, "sk": {"S": "MSG"}}
    dynamodb.update_item(
        TableName=setup["table"],
        Key=key,
        UpdateExpression="SET #s = :s",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": {"S": "queued"}},
    )
    dynamodb.update_item(
        TableName=setup["table"],
        Key={"pk": {"S": "RATE#12223334444"}, "sk": {"S": "RATE"}},
        UpdateExpression="SET nextAt = :n",
        ExpressionAttributeValues={":n": {"N": "1"}},
    )
    dynamodb.update_item(
        TableName=setup["table"],
        Key=key,
        UpdateExpression="SET #s = :s",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": {"S": "sending"}},
    )
    answer = session.post(
        setup["gateway_url"],
        data={
            "source": "12223334444",
            "destination": "13105551212",
            "messageText": "bench",
            "mmsURL": "https://cdn.example.com/a.jpg",
            "registeredDelivery": "0",
            "destinationFormat": "1",
        },
        auth=(credentials["apiKey"], credentials["apiSecret"]),
        timeout=10,
    )
    guid = answer.json()["aerialink"]["transactions"][0]["transaction"]["transactionGUID"]
    dynamodb.transact_write_items(
        TransactItems=[
            {
                "Update": {
                    "TableName": setup["table"],
                    "Key": key,
                    "UpdateExpression": "SET #s = :s",
                    "ExpressionAttributeNames": {"#s": "status"},
                    "ExpressionAttributeValues": {":s": {"S": "sent"}},
                }
            },
            {
                "Update": {
                    "TableName": setup["table"],
                    "Key": {"pk": {"S": f"TX#{guid}"}, "sk": {"S": "TX"}},
                    "UpdateExpression": "SET #s = if_not_exists(#s, :s)",
                    "ExpressionAttributeNames": {"#s": "status"},
                    "ExpressionAttributeValues": {":s": {"S": "sent"}},
                }
            },
        ]
    )
    dynamodb.update_item(
        TableName=setup["idempotency_table"],
        Key={"id": {"S": message_id}},
        UpdateExpression="SET #s = :s",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": {"S": "COMPLETED"}},
    )
    assert_all_used(stubbers)
    return {"batchItemFailures": []}
