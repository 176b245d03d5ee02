"""``mmsrelay send``: the job checked as the relay would check it, before anything is sent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mmsrelay.outbound.job import derived_message_id, parse_job
from mmsrelay_cli.errors import TimedOut, UsageError
from mmsrelay_cli.render import Progress
from mmsrelay_cli.send import SendRequest, field_name, follow, prepare, where
from tests.unit.cli.fakes import FakeQueryApi, job_document

BUCKET = "mms-relay-dev-mediabucket-example"


def refusal(request: SendRequest, country_code: str = "1") -> str:
    with pytest.raises(UsageError) as refused:
        prepare(request, BUCKET, country_code)
    return str(refused.value)


def test_a_valid_job_is_what_the_relay_reads_with_the_id_it_derives() -> None:
    # Given a job without a messageId, to a UK number written nationally in a stack whose country is 44
    request = SendRequest(sender="12345", to=["07700900123"], text="hello", media=["https://cdn.example.com/a.jpg"])
    # When it is prepared
    prepared = prepare(request, BUCKET, "44")
    # Then the body is a job the relay's own model reads, and its id is the one the relay derives
    job = parse_job(prepared.body)
    assert job.to == ("07700900123",)
    assert prepared.message_id == derived_message_id(prepared.body)
    assert prepared.job["media"] == [{"url": "https://cdn.example.com/a.jpg"}]


def test_local_files_become_objects_under_outbound_cli_named_by_their_content(tmp_path: Path) -> None:
    photo = tmp_path / "My Photo (1).jpg"
    photo.write_bytes(b"\xff\xd8\xff\xe0 a jpeg")
    request = SendRequest(
        sender="12223334444", to=["+13105551212"], media=[str(photo), f"s3://{BUCKET}/outbound/x.png"]
    )
    prepared = prepare(request, BUCKET, "1")
    (upload,) = prepared.uploads
    assert upload.key.startswith("outbound/cli/")
    assert upload.key.endswith("/My-Photo-1-.jpg")
    assert upload.content_type == "image/jpeg"
    assert prepared.job["media"] == [{"s3": f"s3://{BUCKET}/{upload.key}"}, {"s3": f"s3://{BUCKET}/outbound/x.png"}]
    # the same content gives the same key: sending it again uploads nothing new
    assert prepare(request, BUCKET, "1").uploads[0].key == upload.key


def test_every_field_the_schema_refuses_is_named() -> None:
    message = refusal(
        SendRequest(
            sender="12223334444",
            to=["+13105551212"] * 11,
            subject="s" * 101,
            media=["https://ok.example/a.jpg", "ftp://nope.example/b.jpg"],
            message_id="not a valid id!",
        )
    )
    assert "messageId: String should match pattern" in message
    assert "to: List should have at most 10 items" in message
    assert "subject: String should have at most 100 characters" in message
    assert "media[1].url: String should match pattern" in message
    # an attachment meant as a URL is not also told it lacks an "s3" field
    assert "media[1].s3" not in message
    assert "Extra inputs" not in message


def test_a_job_without_text_or_media_is_refused() -> None:
    assert "job: Value error, a message needs text or media" in refusal(SendRequest(sender="12345", to=["12346"]))


@pytest.mark.parametrize(
    ("to", "said"),
    [
        ("5551212", "to[0]: '5551212' is refused: a local number: add its area code"),
        ("310555121", "to[0]: '310555121' is refused: too short for a number of country code 1"),
        ("1234", "to[0]: '1234' is refused: too short for a number of country code 1"),
    ],
)
def test_a_number_that_cannot_exist_is_refused_before_anything_is_sent(to: str, said: str) -> None:
    assert said in refusal(SendRequest(sender="12223334444", to=[to], text="x"))


def test_a_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.jpg")
    assert "is no file" in refusal(SendRequest(sender="12345", to=["12346"], media=[missing]))


@pytest.mark.parametrize(
    ("location", "name"),
    [
        (("to", 1), "to[1]"),
        (("media", 0, "UrlMedia", "url"), "media[0].url"),
        (("from",), "from"),
        ((), "job"),
    ],
)
def test_pydantic_locations_read_as_job_fields(location: tuple[int | str, ...], name: str) -> None:
    assert field_name(location) == name


def test_where_a_job_stands_says_when_following_is_over() -> None:
    assert where({"status": "queued", "lastError": {"code": "http_503"}}, receipts=True) == (
        "queued (will retry after http_503)",
        False,
    )
    assert where(job_document("failed"), receipts=True) == ("failed", True)
    assert where(job_document("sent", (None,)), receipts=False) == ("sent over https", True)
    state, done = where(job_document("sent", ("delivered", None)), receipts=True)
    assert (state, done) == ("sent over https; receipts 1/2 final, 1 delivered (1 delivered, 1 no receipt yet)", False)
    assert where(job_document("sent", ("delivered", "undelivered")), receipts=True)[1]


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_following_a_job_reports_each_new_state_once_until_its_receipts(capsys: pytest.CaptureFixture[str]) -> None:
    # Given a job the relay takes, sends, and gets a receipt for
    api = FakeQueryApi(
        sequence=[None, {"status": "sending"}, job_document("sent", (None,)), job_document("sent", ("delivered",))]
    )
    clock = FakeClock()
    # When it is followed
    document = follow(api, "order-1", True, 60, Progress(), clock=clock, sleep=clock.sleep)
    # Then the answer is the delivered job, and stderr had one line per state
    assert document["recipients"][0]["delivery"]["status"] == "delivered"
    lines = capsys.readouterr().err.splitlines()
    assert lines == [
        "order-1: on the queue, not taken by the relay yet",
        "order-1: sending",
        "order-1: sent over https; receipts 0/1 final, 0 delivered (1 no receipt yet)",
    ]


def test_following_gives_up_after_the_timeout_saying_where_it_stood() -> None:
    clock = FakeClock()
    with pytest.raises(TimedOut, match=r"order-1 is still sending after 5s"):
        follow(FakeQueryApi(sequence=[{"status": "sending"}]), "order-1", False, 5, Progress(False), clock, clock.sleep)


def test_the_body_holds_only_what_was_given_and_the_schemas_defaults_stay_out() -> None:
    prepared = prepare(SendRequest(sender="12345", to=["+13105551212"], text="x"), BUCKET, "1")
    assert json.loads(prepared.body) == {"from": "12345", "to": ["+13105551212"], "text": "x", "media": []}
