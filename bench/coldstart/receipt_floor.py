"""The floor of the receipt function, as a handler module (invoked like the real one by
invoke.py): boto3 imported, the same clients created, the same calls made for one receipt (the
webhook secret, one update), answered by the same Stubber plan."""

import json

import boto3
from stubs import assert_all_used, stub_clients


def lambda_handler(setup: dict[str, str], context: object) -> dict[str, object]:
    dynamodb = boto3.client("dynamodb")
    secrets = boto3.client("secretsmanager")
    stubbers = stub_clients({"dynamodb": dynamodb, "secretsmanager": secrets}, setup["plan"])
    json.loads(secrets.get_secret_value(SecretId=setup["secret_arn"])["SecretString"])
    dynamodb.update_item(
        TableName="messages",
        Key={"pk": {"S": f"TX#{setup['guid']}"}, "sk": {"S": "TX"}},
        UpdateExpression="SET #s = :s, statusRank = :r",
        ConditionExpression="attribute_not_exists(statusRank) OR statusRank < :r",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": {"S": "delivered"}, ":r": {"N": "5"}},
        ReturnValues="UPDATED_NEW",
    )
    assert_all_used(stubbers)
    return {"statusCode": 200, "body": json.dumps({"status": "advanced"})}
