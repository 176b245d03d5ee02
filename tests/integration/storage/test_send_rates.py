"""Send schedules in DynamoDB (moto): one slot per job across concurrent environments, and the back-off.

Each ``SendRateRepository`` stands for one execution environment (its own view of the item); the
threads stand for an environment's concurrent sends. moto's writes are serialised per call as
DynamoDB serialises writes to an item (``atomic_items``). Every call is given its moment: no clock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from moto.dynamodb.responses import DynamoHandler

from mmsrelay.domain.send_rate import Slot, micros
from mmsrelay.storage.send_rates import SendRateRepository, state_of
from tests.integration.conftest import TABLE

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

CODE = "12223334444"
T0 = micros(1_795_000_000.0)
KEY = {"pk": {"S": f"RATE#{CODE}"}, "sk": {"S": "RATE"}}


def item(dynamodb: DynamoDBClient) -> dict[str, Any]:
    found: dict[str, Any] = dynamodb.get_item(TableName=TABLE, Key=KEY, ConsistentRead=True)["Item"]
    return found


def in_threads(count: int, work: Callable[[int], list[Slot]]) -> list[Slot]:
    """Runs ``work(n)`` in ``count`` threads started together; every slot they returned."""
    start = threading.Barrier(count, timeout=10)
    slots: list[Slot] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def run(number: int) -> None:
        try:
            start.wait()
            got = work(number)
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)
            return
        with lock:
            slots.extend(got)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return slots


@pytest.fixture
def update_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts moto's UpdateItem calls (refused ones included)."""
    calls: list[int] = []
    original = DynamoHandler.update_item

    def counted(self: DynamoHandler) -> Any:
        calls.append(1)
        return original(self)

    monkeypatch.setattr(DynamoHandler, "update_item", counted)
    return calls


def test_the_first_job_creates_the_schedule_and_goes_at_once(dynamodb: DynamoDBClient) -> None:
    # Given a code never used
    schedule = SendRateRepository(dynamodb, TABLE)
    # When two jobs ask for slots at 4 per second
    first = schedule.reserve(CODE, 4.0, 1, T0)
    second = schedule.reserve(CODE, 4.0, 1, T0)
    # Then the first goes now, the second 250 ms later, and the item holds the schedule
    assert (first, second) == (Slot(T0, 0), Slot(T0 + 250_000, 0))
    stored = item(dynamodb)
    assert stored["entity"] == {"S": "send_rate"}
    assert stored["code"] == {"S": CODE}
    assert state_of(stored) is not None
    assert int(stored["nextAt"]["N"]) == T0 + 500_000


@pytest.mark.usefixtures("atomic_items")
def test_concurrent_environments_get_one_slot_each_exactly_spaced(
    dynamodb: DynamoDBClient, update_calls: list[int]
) -> None:
    # Given four execution environments of eight threads each, all at the same moment
    environments = [SendRateRepository(dynamodb, TABLE) for _ in range(4)]

    def work(number: int) -> list[Slot]:
        schedule = environments[number % 4]
        return [schedule.reserve(CODE, 20.0, 1, T0) for _ in range(25)]

    # When each thread reserves 25 slots at 20 per second
    slots = in_threads(32, work)
    # Then the 800 slots are all different and follow each other 50 ms apart from now, no gap
    assert sorted(slot.at_us for slot in slots) == [T0 + 50_000 * n for n in range(800)]
    # And a busy schedule costs about one write per slot (a refusal per thread's first sight of it)
    assert len(update_calls) <= 800 + 32


@pytest.mark.usefixtures("atomic_items")
def test_an_idle_schedule_taken_by_many_at_once_still_gives_one_slot_each(dynamodb: DynamoDBClient) -> None:
    # Given a code whose last job went a minute ago, known to two environments
    environments = [SendRateRepository(dynamodb, TABLE) for _ in range(2)]
    for schedule in environments:
        schedule.reserve(CODE, 10.0, 1, T0)
    later = T0 + micros(60)
    # When sixteen threads ask at once
    slots = in_threads(16, lambda number: [environments[number % 2].reserve(CODE, 10.0, 1, later)])
    # Then the first goes at once and the others follow 100 ms apart
    assert sorted(slot.at_us for slot in slots) == [later + 100_000 * n for n in range(16)]


@pytest.mark.usefixtures("atomic_items")
def test_a_slow_down_amid_concurrent_reservations_loses_none_and_slows_the_rest(dynamodb: DynamoDBClient) -> None:
    # Given eight threads in two environments reserving at 20 per second
    environments = [SendRateRepository(dynamodb, TABLE) for _ in range(2)]
    halfway = threading.Event()

    def work(number: int) -> list[Slot]:
        schedule = environments[number % 2]
        slots = []
        for count in range(20):
            if number == 0 and count == 10:
                # When one of them meets a 429 (Retry-After: 1) half way through
                schedule.slow_down(CODE, 20.0, 1.0, T0)
                halfway.set()
            slots.append(schedule.reserve(CODE, 20.0, 1, T0))
        return slots

    slots = in_threads(8, work)
    assert halfway.is_set()
    # Then the slots granted before it are 50 ms apart from now, and those after it 100 ms apart,
    # none before the pause has ended nor before the last slot granted before it was due to end
    before = sorted(slot.at_us for slot in slots if slot.version == 0)
    after = sorted(slot.at_us for slot in slots if slot.version == 1)
    assert len(before) + len(after) == 160
    assert before == [T0 + 50_000 * n for n in range(len(before))]
    first_after = max(T0 + micros(1), before[-1] + 50_000)
    assert after == [first_after + 100_000 * n for n in range(len(after))]


def test_an_environment_learns_of_another_ones_slow_down_from_its_next_reservation(dynamodb: DynamoDBClient) -> None:
    # Given two environments that both sent for a code at 10 per second
    one, other = SendRateRepository(dynamodb, TABLE), SendRateRepository(dynamodb, TABLE)
    one.reserve(CODE, 10.0, 1, T0)
    other.reserve(CODE, 10.0, 1, T0)
    assert one.seen_version(CODE) == 0
    # When the other meets a 429 with Retry-After: 5
    other.slow_down(CODE, 10.0, 5.0, T0 + 100_000)
    # Then the first one's next slot is after the pause, at the halved rate, of the new version
    slot = one.reserve(CODE, 10.0, 1, T0 + 200_000)
    following = one.reserve(CODE, 10.0, 1, T0 + 200_000)
    assert slot == Slot(T0 + 100_000 + micros(5), 1)
    assert following.at_us - slot.at_us == 200_000
    assert one.seen_version(CODE) == 1


def test_a_slow_down_for_a_code_never_used_creates_its_schedule(dynamodb: DynamoDBClient) -> None:
    schedule = SendRateRepository(dynamodb, TABLE)
    schedule.slow_down(CODE, 8.0, 2.0, T0)
    state = state_of(item(dynamodb))
    assert state is not None
    assert (state.version, state.reduced_rate, state.paused_until_us) == (1, 4.0, T0 + micros(2))
    assert SendRateRepository(dynamodb, TABLE).reserve(CODE, 8.0, 1, T0) == Slot(T0 + micros(2), 1)
