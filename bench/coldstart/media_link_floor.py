"""The floor of the media link function (``GET /m/{token}``), as a handler module invoked like the
real one by invoke.py: boto3 imported, the same clients created, the same work done (the link's
item read, a presigned URL signed locally), answered with the same redirect."""

import boto3
from botocore.config import Config


def lambda_handler(setup: dict[str, str], context: object) -> dict[str, object]:
    dynamodb = boto3.client("dynamodb")
    s3 = boto3.client("s3", config=Config(signature_version="s3v4"))
    item = dynamodb.get_item(TableName=setup["table"], Key={"pk": {"S": f"LINK#{setup['token']}"}, "sk": {"S": "LINK"}})
    link = item["Item"]
    location = s3.generate_presigned_url(
        "get_object",
        Params={
            "Bucket": link["bucket"]["S"],
            "Key": link["key"]["S"],
            "ResponseContentType": link["contentType"]["S"],
        },
        ExpiresIn=300,
    )
    return {"statusCode": 302, "headers": {"Location": location}, "body": ""}
