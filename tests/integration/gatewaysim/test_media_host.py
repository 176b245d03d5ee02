"""The simulator's media host: exact bytes, every fault knob, the request log, the lifecycle."""

from __future__ import annotations

import hashlib
import json
import os
import select
import socket
import struct
import subprocess
import sys
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from gatewaysim import GatewaySimulator, MediaFaults, MediaHost, images
from tests.integration.gatewaysim.support import end_process, start_client

TIMEOUT = 5.0
REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def host() -> Iterator[MediaHost]:
    with MediaHost(max_wait_s=20.0) as media:
        yield media


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def get(url: str, timeout: float | tuple[float, float] = TIMEOUT, **kwargs: Any) -> requests.Response:
    return requests.get(url, timeout=timeout, **kwargs)


def stream_into(url: str, seen: dict[str, int]) -> None:
    """Streams ``url``, noting its Content-Length and the bytes received so far in ``seen``."""
    with requests.get(url, timeout=TIMEOUT, stream=True) as response:
        seen["length"] = int(response.headers["Content-Length"])
        seen["received"] = 0
        for piece in response.iter_content(16 * 1024):
            seen["received"] += len(piece)


# ------------------------------------------------------------------------------------ sample media
class TestSampleMedia:
    def test_png_is_well_formed(self) -> None:
        # Given a generated PNG
        data = images.png(5, 3, (1, 2, 3))
        # When its chunks are walked
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        chunks = []
        at = 8
        while at < len(data):
            (length,) = struct.unpack(">I", data[at : at + 4])
            kind, payload = data[at + 4 : at + 8], data[at + 8 : at + 8 + length]
            (crc,) = struct.unpack(">I", data[at + 8 + length : at + 12 + length])
            assert crc == zlib.crc32(kind + payload)
            chunks.append((kind, payload))
            at += 12 + length
        # Then IHDR, IDAT, IEND carry the size and the pixels
        assert [kind for kind, _ in chunks] == [b"IHDR", b"IDAT", b"IEND"]
        assert struct.unpack(">II", chunks[0][1][:8]) == (5, 3)
        assert zlib.decompress(chunks[1][1]) == (b"\x00" + bytes((1, 2, 3)) * 5) * 3

    def test_jpeg_is_framed_with_its_size(self) -> None:
        # Given a generated JPEG
        data = images.jpeg(24, 10)
        # Then it starts with SOI + JFIF, ends with EOI, and its SOF0 gives the size
        assert data[:4] == b"\xff\xd8\xff\xe0"
        assert data[6:11] == b"JFIF\x00"
        assert data[-2:] == b"\xff\xd9"
        sof = data.index(b"\xff\xc0")
        assert struct.unpack(">HH", data[sof + 5 : sof + 9]) == (10, 24)
        assert len(data) < 1024

    def test_gif_is_framed_with_its_size(self) -> None:
        data = images.gif(7, 4)
        assert data[:6] == b"GIF89a"
        assert struct.unpack("<HH", data[6:10]) == (7, 4)
        assert data[-1:] == b";"

    def test_samples_are_deterministic_and_distinct(self) -> None:
        # When each sample is generated twice
        # Then the bytes repeat, and different arguments give different bytes
        assert images.png() == images.png()
        assert images.jpeg() == images.jpeg()
        assert images.gif() == images.gif()
        assert images.jpeg(rgb=(1, 1, 1)) != images.jpeg(rgb=(2, 2, 2))

    @pytest.mark.parametrize(
        ("content_type", "head", "tail"),
        [
            ("image/jpeg", b"\xff\xd8\xff\xe0", b"\xff\xd9"),
            ("image/png", b"\x89PNG", b""),
            ("image/gif", b"GIF89a", b";"),
            ("application/x-unknown", b"", b""),
        ],
    )
    def test_sized_payload_has_exact_size_and_magic(self, content_type: str, head: bytes, tail: bytes) -> None:
        # Given a requested size
        # When a payload is made twice
        first = images.sized_payload(100_000, content_type)
        second = images.sized_payload(100_000, content_type)
        # Then it has exactly that size, the magic header and trailer, and repeats
        assert len(first) == 100_000
        assert first.startswith(head)
        assert first.endswith(tail)
        assert first == second
        assert images.sized_payload(100_000, content_type, seed=1) != first

    def test_sized_payload_refuses_a_size_below_its_header(self) -> None:
        with pytest.raises(ValueError, match="smaller"):
            images.sized_payload(3, "image/jpeg")


# ------------------------------------------------------------------------------------ plain serving
@pytest.mark.parametrize(
    ("name", "body", "content_type"),
    [
        ("a.png", images.png(), "image/png"),
        ("b.jpg", images.jpeg(), "image/jpeg"),
        ("c.gif", images.gif(), "image/gif"),
        ("d.bin", images.sized_payload(300_000, "video/mp4"), "video/mp4"),
    ],
)
def test_serves_exact_bytes_type_and_length(host: MediaHost, name: str, body: bytes, content_type: str) -> None:
    # Given a registered media item
    url = host.add(name, body, content_type)
    # When it is fetched
    response = get(url)
    # Then the bytes, the type and the length are exactly what was registered
    assert url == host.base_url + "/media/" + name
    assert response.status_code == 200
    assert sha256(response.content) == sha256(body)
    assert response.headers["Content-Type"] == content_type
    assert response.headers["Content-Length"] == str(len(body))


def test_serves_a_20_mb_body_intact(host: MediaHost) -> None:
    # Given a 20 MB payload
    body = images.sized_payload(20 * 1024 * 1024, "image/jpeg")
    url = host.add("big.jpg", body, "image/jpeg")
    # When it is streamed
    digest = hashlib.sha256()
    size = 0
    with requests.get(url, timeout=TIMEOUT, stream=True) as response:
        for piece in response.iter_content(256 * 1024):
            digest.update(piece)
            size += len(piece)
    # Then every byte arrives in order
    assert size == len(body)
    assert digest.hexdigest() == sha256(body)


def test_head_gives_the_length_without_a_body(host: MediaHost) -> None:
    url = host.add("a.jpg", images.jpeg(), "image/jpeg")
    response = requests.head(url, timeout=TIMEOUT)
    assert response.status_code == 200
    assert response.headers["Content-Length"] == str(len(images.jpeg()))
    assert response.content == b""


def test_unknown_media_is_404(host: MediaHost) -> None:
    assert get(host.base_url + "/media/missing.jpg").status_code == 404
    assert get(host.base_url + "/elsewhere").status_code == 404


def test_a_bad_knob_value_is_400(host: MediaHost) -> None:
    host.add("a.jpg", images.jpeg(), "image/jpeg")
    response = get(host.url("a.jpg", fail_first="many"))
    assert response.status_code == 400
    assert "fail_first" in response.text


def test_registration_checks_names_and_needs_a_running_host() -> None:
    media = MediaHost()
    with pytest.raises(RuntimeError, match="not running"):
        media.add("a.jpg", b"x", "image/jpeg")
    with media, pytest.raises(ValueError, match="media names"):
        media.add("../etc/passwd", b"x", "image/jpeg")


# ------------------------------------------------------------------------------------ fault knobs
def test_delay_ms_delays_the_answer(host: MediaHost) -> None:
    # Given an item answered after 300 ms
    host.add("slow.jpg", images.jpeg(), "image/jpeg", MediaFaults(delay_ms=300))
    # When it is fetched patiently, then impatiently
    started = time.monotonic()
    response = get(host.url("slow.jpg"))
    elapsed = time.monotonic() - started
    # Then the patient fetch took at least the delay, the impatient one timed out
    assert response.status_code == 200
    assert 0.28 <= elapsed < 5.0
    with pytest.raises(requests.exceptions.ReadTimeout):
        get(host.url("slow.jpg"), timeout=(TIMEOUT, 0.1))


def test_delay_ms_query_knob(host: MediaHost) -> None:
    host.add("a.jpg", images.jpeg(), "image/jpeg")
    started = time.monotonic()
    assert get(host.url("a.jpg", delay_ms=250)).status_code == 200
    assert time.monotonic() - started >= 0.23


def test_fail_first_fails_n_times_then_serves(host: MediaHost) -> None:
    # Given an item whose first two requests fail
    body = images.png()
    host.add("flaky.png", body, "image/png")
    url = host.url("flaky.png", fail_first=2)
    # When it is fetched four times
    responses = [get(url) for _ in range(4)]
    # Then 503, 503, then the file
    assert [r.status_code for r in responses] == [503, 503, 200, 200]
    assert responses[2].content == body
    assert len(host.requests_for("flaky.png")) == 4


def test_fail_first_counts_per_item_and_per_query(host: MediaHost) -> None:
    # Given an item that fails its first request with 500 (item-level faults)
    host.add("x.jpg", images.jpeg(), "image/jpeg", MediaFaults(fail_first=1, fail_status=500))
    # When fetched twice plainly, then twice with another query string
    plain = [get(host.url("x.jpg")).status_code for _ in range(2)]
    other = [get(host.url("x.jpg", n=2)).status_code for _ in range(2)]
    # Then each query string has its own count
    assert plain == [500, 200]
    assert other == [500, 200]


def test_status_is_always_answered(host: MediaHost) -> None:
    host.add("gone.jpg", images.jpeg(), "image/jpeg", MediaFaults(status=404))
    assert [get(host.url("gone.jpg")).status_code for _ in range(3)] == [404, 404, 404]
    assert get(host.url("gone.jpg", status=410)).status_code == 410


def test_reset_after_bytes_breaks_the_body(host: MediaHost) -> None:
    # Given a 1 MB item whose connection is reset after 100 kB
    body = images.sized_payload(1_000_000, "image/jpeg")
    host.add("cut.jpg", body, "image/jpeg", MediaFaults(reset_after_bytes=100_000))
    # When it is streamed
    seen: dict[str, int] = {}
    started = time.monotonic()
    with pytest.raises((requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError)) as raised:
        stream_into(host.url("cut.jpg"), seen)
    # Then the client raised at once (a broken connection, not a timeout), before the end
    assert time.monotonic() - started < TIMEOUT / 2
    assert "timed out" not in str(raised.value)
    assert seen.get("received", 0) <= 100_000
    assert seen.get("length", len(body)) == len(body)


def test_reset_after_bytes_with_chunked_encoding(host: MediaHost) -> None:
    host.add("cut.jpg", images.sized_payload(500_000, "image/jpeg"), "image/jpeg")
    with pytest.raises((requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError)) as raised:
        get(host.url("cut.jpg", chunked=True, reset_after_bytes=1000))
    assert "timed out" not in str(raised.value)


def test_chunked_has_no_content_length(host: MediaHost) -> None:
    # Given a 300 kB item served chunked
    body = images.sized_payload(300_000, "image/gif")
    host.add("c.gif", body, "image/gif", MediaFaults(chunked=True))
    # When it is fetched
    response = get(host.url("c.gif"))
    # Then it came chunked, without a length, intact
    assert "Content-Length" not in response.headers
    assert response.headers["Transfer-Encoding"] == "chunked"
    assert response.content == body


def test_no_length_ends_the_body_by_closing(host: MediaHost) -> None:
    body = images.sized_payload(200_000, "image/png")
    host.add("n.png", body, "image/png")
    response = get(host.url("n.png", no_length=True))
    assert "Content-Length" not in response.headers
    assert "Transfer-Encoding" not in response.headers
    assert response.content == body


def test_content_type_can_be_wrong_or_missing(host: MediaHost) -> None:
    # Given one item registered without a type and one with a type
    host.add("untyped.jpg", images.jpeg(), None)
    host.add("typed.jpg", images.jpeg(), "image/jpeg")
    # Then the untyped one has no Content-Type, and knobs override or drop the type
    assert "Content-Type" not in get(host.url("untyped.jpg")).headers
    assert get(host.url("typed.jpg", content_type="text/html")).headers["Content-Type"] == "text/html"
    assert "Content-Type" not in get(host.url("typed.jpg", no_content_type=True)).headers


def test_redirect_chain_hops_then_serves(host: MediaHost) -> None:
    # Given an item behind three redirects
    body = images.jpeg()
    host.add("far.jpg", body, "image/jpeg", MediaFaults(redirects=3))
    # When it is fetched following redirects
    response = get(host.url("far.jpg"))
    # Then three 302 hops came before the file, and the log shows four requests
    assert [r.status_code for r in response.history] == [302, 302, 302]
    assert response.status_code == 200
    assert response.content == body
    hops = [entry.query.get("hop", "0") for entry in host.requests_for("far.jpg")]
    assert hops == ["0", "1", "2", "3"]


def test_redirects_query_knob_and_status(host: MediaHost) -> None:
    host.add("a.jpg", images.jpeg(), "image/jpeg")
    response = get(host.url("a.jpg", redirects=2, redirect_status=307))
    assert [r.status_code for r in response.history] == [307, 307]
    assert response.status_code == 200


def test_redirect_to_another_url(host: MediaHost) -> None:
    # Given an item that redirects to another item
    target = host.add("target.png", images.png(), "image/png")
    host.add("alias.png", b"never served", "image/png", MediaFaults(redirect_to=target))
    # When fetched without and with following
    first = get(host.url("alias.png"), allow_redirects=False)
    followed = get(host.url("alias.png"))
    # Then the Location is the target and following ends at its bytes
    assert first.status_code == 302
    assert first.headers["Location"] == target
    assert followed.content == images.png()


def test_stall_trips_a_read_timeout_then_resumes(host: MediaHost) -> None:
    # Given an item that sends 1000 bytes then stalls 400 ms
    body = images.sized_payload(50_000, "image/jpeg")
    host.add("stall.jpg", body, "image/jpeg", MediaFaults(stall_ms=400, stall_after_bytes=1000))
    # When an impatient client reads
    with pytest.raises(requests.exceptions.ConnectionError):
        get(host.url("stall.jpg"), timeout=(TIMEOUT, 0.15))
    # Then a patient one gets everything, late
    started = time.monotonic()
    response = get(host.url("stall.jpg"))
    assert time.monotonic() - started >= 0.38
    assert response.content == body


def test_stop_interrupts_a_stall() -> None:
    # Given a request stalled for 20 s on a running host
    media = MediaHost(max_wait_s=30.0).start()
    errors: list[BaseException] = []
    try:
        media.add("s.jpg", images.sized_payload(10_000, "image/jpeg"), "image/jpeg", MediaFaults(stall_ms=20_000))

        def fetch() -> None:
            try:
                get(media.url("s.jpg"), timeout=(TIMEOUT, 25.0))
            except requests.RequestException as error:
                errors.append(error)

        client = start_client(fetch, lambda: media.requests)
        assert media.requests, "the stalled request never arrived"
    finally:
        # When the host stops
        started = time.monotonic()
        media.stop()
        stopped_in = time.monotonic() - started
    client.join(TIMEOUT)
    # Then it stopped promptly and the client saw the connection drop
    assert stopped_in < 3.0
    assert not client.is_alive()
    assert len(errors) == 1


# ------------------------------------------------------------------------------------ request log
def test_request_log_records_each_request_and_is_a_copy(host: MediaHost) -> None:
    # Given two fetches with a distinctive header
    host.add("a.jpg", images.jpeg(), "image/jpeg")
    for _ in range(2):
        get(host.url("a.jpg", n=7), headers={"X-Probe": "yes"})
    get(host.base_url + "/media/other.jpg")
    # When the log is read and the copy mutated
    log = host.requests
    log.clear()
    # Then the host's log is untouched and each entry has path, query, headers, time
    entries = host.requests_for("a.jpg")
    assert len(host.requests) == 3
    assert len(entries) == 2
    assert entries[0].path == "/media/a.jpg"
    assert entries[0].method == "GET"
    assert entries[0].query == {"n": "7"}
    assert entries[0].headers["X-Probe"] == "yes"
    assert entries[0].time <= entries[1].time
    host.clear_requests()
    assert host.requests == []


# ------------------------------------------------------------------------------------ lifecycle
def test_port_zero_gives_distinct_ports_and_stop_frees_them() -> None:
    # Given two hosts on OS-chosen ports
    with MediaHost() as first, MediaHost() as second:
        assert first.port != second.port
        port = first.port
        url = first.add("a.jpg", images.jpeg(), "image/jpeg")
        assert get(url).status_code == 200
    # When they have stopped, Then nothing answers on the port any more
    with pytest.raises(requests.exceptions.ConnectionError):
        get(url, timeout=1.0)
    with socket.socket() as probe:
        probe.settimeout(1.0)
        assert probe.connect_ex(("127.0.0.1", port)) != 0


def test_stop_closes_idle_keep_alive_connections_promptly() -> None:
    media = MediaHost().start()
    session = requests.Session()
    try:
        url = media.add("a.jpg", images.jpeg(), "image/jpeg")
        assert session.get(url, timeout=TIMEOUT).status_code == 200  # the connection stays open
    finally:
        started = time.monotonic()
        media.stop()
        session.close()
    assert time.monotonic() - started < 2.0


def test_simulator_owns_the_media_host() -> None:
    # Given a started simulator
    with GatewaySimulator() as sim:
        url = sim.media.add("a.png", images.png(), "image/png")
        described = sim.describe()
        # Then its description carries the media host's URLs, and the media is served
        assert described["running"] is True
        assert described["media"] == {
            "running": True,
            "base_url": sim.media.base_url,
            "port": sim.media.port,
            "media": {"a.png": url},
        }
        assert get(url).content == images.png()
    # When stopped, Then it says so
    assert sim.describe()["running"] is False
    assert not sim.media.running


def test_serve_command_prints_urls_and_stops_on_sigterm() -> None:
    # Given `python -m gatewaysim serve` running
    env = {**os.environ, "PYTHONPATH": str(REPO / "local")}
    command = [sys.executable, "-m", "gatewaysim", "serve", "--seconds", "60"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env, cwd=REPO)
    try:
        assert process.stdout is not None
        readable, _, _ = select.select([process.stdout], [], [], TIMEOUT)
        assert readable, "serve printed nothing"
        described = json.loads(process.stdout.readline())
        # When a sample is fetched from the printed URL
        jpg = get(described["media"]["media"]["sample.jpg"])
        assert jpg.content == images.jpeg()
        assert jpg.headers["Content-Type"] == "image/jpeg"
        # Then SIGTERM stops it cleanly
        process.terminate()
        assert process.wait(timeout=TIMEOUT) == 0
    finally:
        end_process(process)
