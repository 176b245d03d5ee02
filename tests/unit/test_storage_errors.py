"""The repositories' border: botocore's errors as the storage errors the use cases decide on."""

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from mmsrelay.storage.errors import ConditionFailed, StorageUnavailable, dynamodb_call


def failing(error: Exception) -> Callable[..., Any]:
    def operation(**request: Any) -> Any:
        raise error

    return operation


def client_error(code: str, item: dict[str, Any] | None = None) -> ClientError:
    response: Any = {"Error": {"Code": code, "Message": "refused"}}
    if item is not None:
        response["Item"] = item
    return ClientError(response, "UpdateItem")


def test_an_answer_is_returned_as_it_came() -> None:
    assert dynamodb_call(lambda **request: {"Item": request}, Key="k") == {"Item": {"Key": "k"}}


def test_a_refused_condition_is_an_outcome_with_the_old_item() -> None:
    old = {"pk": {"S": "TX#1"}}
    with pytest.raises(ConditionFailed) as refused:
        dynamodb_call(failing(client_error("ConditionalCheckFailedException", old)))
    assert refused.value.item == old


@pytest.mark.parametrize(
    "error",
    [
        client_error("ThrottlingException"),
        client_error("InternalServerError"),
        EndpointConnectionError(endpoint_url="x"),
    ],
    ids=["throttled", "5xx", "unreachable"],
)
def test_what_is_worth_retrying_becomes_storage_unavailable(error: Exception) -> None:
    with pytest.raises(StorageUnavailable):
        dynamodb_call(failing(error))


def test_a_bad_request_is_raised_as_it_came() -> None:
    invalid = client_error("ValidationException")
    with pytest.raises(ClientError) as raised:
        dynamodb_call(failing(invalid))
    assert raised.value is invalid


@pytest.mark.parametrize(
    ("error", "said"),
    [
        (client_error("ProvisionedThroughputExceededException"), "ProvisionedThroughputExceededException"),
        (EndpointConnectionError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com"), "EndpointConnectionError"),
    ],
)
def test_a_call_worth_retrying_says_which_call_failed_and_how(
    error: Exception, said: str, caplog: pytest.LogCaptureFixture
) -> None:
    # A StorageUnavailable reaches the job's record as its class name only: the log says what it was.
    def update_item(**request: Any) -> Any:
        raise error

    with pytest.raises(StorageUnavailable), caplog.at_level("WARNING", logger="mmsrelay.storage.errors"):
        dynamodb_call(update_item)
    (record,) = caplog.records
    assert record.__dict__["call"] == "update_item"
    assert said in (record.__dict__.get("error_code"), record.__dict__.get("error_type"))
