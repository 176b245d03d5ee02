"""The shared error helpers: the cause chain adapters classify on, and a botocore error's code."""

from botocore.exceptions import ClientError

from mmsrelay.aws import error_code
from mmsrelay.domain.errors import causes


class WithReason(Exception):
    """Shaped like urllib3's MaxRetryError: the underlying error in ``reason``."""

    def __init__(self, reason: BaseException) -> None:
        super().__init__("gave up")
        self.reason = reason


def test_causes_follow_cause_context_reason_and_args() -> None:
    # Given an error reached through each kind of link
    by_arg = ValueError("in args")
    by_reason = WithReason(by_arg)
    error = RuntimeError("outer")
    error.__cause__ = by_reason
    error.__context__ = KeyError("context")

    # When its causes are listed
    found = list(causes(error))

    # Then every linked exception is there once, the error itself first
    assert found[0] is error
    assert {type(cause) for cause in found} == {RuntimeError, WithReason, ValueError, KeyError}
    assert len(found) == len({id(cause) for cause in found})


def test_causes_end_on_a_cycle_and_on_a_long_chain() -> None:
    # Given two errors that name each other, and a chain far longer than any library's
    first, second = ValueError("a"), ValueError("b")
    first.__cause__, second.__cause__ = second, first
    longest = ValueError(0)
    for depth in range(1, 1000):
        longest = ValueError(depth, longest)

    # When their causes are listed
    # Then the cycle is walked once and the long chain is cut off
    assert [str(cause) for cause in causes(first)] == ["a", "b"]
    assert len(list(causes(longest))) == 32


def test_error_code_reads_the_code_or_nothing() -> None:
    throttled = ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "PutItem")
    bare = ClientError({}, "PutItem")

    assert error_code(throttled) == "ThrottlingException"
    assert error_code(bare) == ""
