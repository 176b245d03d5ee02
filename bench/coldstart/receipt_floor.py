"""Child process, the floor of the receipt function: boto3 imported, the same clients created, the
same calls made for one receipt (the webhook secret, one update), answered by the same Stubber plan."""

import json
import os
import sys

import boto3
from stubs import assert_all_used, stub_clients


def main() -> None:
    with open(sys.argv[1]) as handle:
        setup = json.load(handle)
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
    os.write(int(os.environ["BENCH_READY_FD"]), b"1")  # the answer is ready: stop the clock
    assert_all_used(stubbers)


if __name__ == "__main__":
    main()
