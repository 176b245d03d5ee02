"""The floor of the inbound function, as a handler module: boto3 imported, the same clients
created, the same calls made. invoke.py imports it and calls it exactly as it does the real
handler (inside a function, as the Lambda runtime does), so both pay the same import path.

What the inbound function cannot avoid on its first request: the secret, one conditional put,
the media fetched over HTTP (urllib3, which botocore brings anyway) and stored in S3, and one
update per attachment. Whatever the real handler costs beyond this is its own overhead.
"""

import json

import boto3
import urllib3


def lambda_handler(setup: dict[str, str], context: object) -> dict[str, object]:
    secrets = boto3.client("secretsmanager")
    dynamodb = boto3.client("dynamodb")
    s3 = boto3.client("s3")
    secrets.get_secret_value(SecretId=setup["secret_arn"])
    key = {"pk": {"S": f"TX#{setup['guid']}"}, "sk": {"S": "TX"}}
    dynamodb.put_item(
        TableName=setup["table"],
        Item={**key, "text": {"S": "hello"}, "media": {"L": [{"M": {"status": {"S": "pending"}}}]}},
        ConditionExpression="attribute_not_exists(pk)",
    )
    body = urllib3.PoolManager().request("GET", setup["media_url"], timeout=10).data
    s3.put_object(Bucket=setup["bucket"], Key=f"inbound/{setup['guid']}/0.png", Body=body)
    dynamodb.update_item(
        TableName=setup["table"],
        Key=key,
        UpdateExpression="SET media[0].#s = :stored",
        ConditionExpression="media[0].#s = :pending",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":stored": {"S": "stored"}, ":pending": {"S": "pending"}},
    )
    return {"statusCode": 200, "body": json.dumps({"status": "stored"})}
