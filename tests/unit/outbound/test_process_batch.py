"""The outbound batch processor: every record handled, only the ones that raise reported."""

import threading

from mmsrelay.domain.errors import TransientError
from mmsrelay.outbound.records import QueueRecord, process_batch
from tests.support import load_event


def event(count: int) -> dict[str, object]:
    template = load_event("outbound_sqs_batch.json")["Records"][0]
    return {"Records": [{**template, "messageId": f"m-{n}", "body": str(n)} for n in range(count)]}


def test_only_failed_records_are_reported_whatever_they_raised() -> None:
    def handle(record: QueueRecord) -> None:
        if record.body == "1":
            raise TransientError("try again")
        if record.body == "3":
            raise KeyError("a bug")

    answer = process_batch(event(5), handle, max_workers=3)
    assert sorted(f["itemIdentifier"] for f in answer["batchItemFailures"]) == ["m-1", "m-3"]


def test_records_run_concurrently_but_never_beyond_the_bound() -> None:
    running, peak, lock = [0], [0], threading.Lock()
    all_started = threading.Barrier(4, timeout=5)

    def handle(record: QueueRecord) -> None:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        all_started.wait()  # four at once, or the barrier breaks
        with lock:
            running[0] -= 1

    assert process_batch(event(8), handle, max_workers=4) == {"batchItemFailures": []}
    assert peak[0] == 4


def test_the_receive_count_is_read_for_the_back_off() -> None:
    record = load_event("outbound_sqs_batch.json")["Records"][0]
    record["attributes"]["ApproximateReceiveCount"] = "3"
    assert QueueRecord.from_event(record).receive_count == 3
