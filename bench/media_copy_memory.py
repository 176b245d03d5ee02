"""Benchmark: memory growth while copying a 20 MiB attachment from an HTTP media host to S3.

Ours (``MediaFetcher`` + ``S3MediaStore.put_stream``) against the naive copy (read the whole
body, then one ``put_object``), both in the same run. Prints ``name: value unit (ratio x naive)``
lines and whether the target (peak growth at most 16 MB for a 20 MiB attachment) is met.

How it measures. Each copy runs in a fresh child process (``--child``), so that a peak (VmHWM)
belongs to that copy alone; one child per mode measures Python allocations with ``tracemalloc``
(peak minus start), another, without tracemalloc, the RSS growth (VmHWM after minus VmRSS
before) and the duration. The S3 side is moto's server (``ThreadedMotoServer``) running in this
parent process and reached over HTTP: moto keeps every uploaded part in memory, which would count
against the copy if moto ran in-process (``mock_aws``) in the child. The media host is a local
``ThreadingHTTPServer`` in the parent too. The child gets ``layers/shared`` on its PYTHONPATH,
as the Lambda runtime puts the layer on its path.
"""

import argparse
import gc
import hashlib
import json
import logging
import os
import random
import subprocess
import sys
import threading
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from moto.server import ThreadedMotoServer

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

MIB = 1024 * 1024
SIZE = 20 * MIB
TARGET_BYTES = 16_000_000  # "16 MB", read strictly as decimal megabytes
BUCKET = "bench-media"
JPEG_MAGIC = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"
CHILD_TIMEOUT = 300
REPO = Path(__file__).resolve().parents[1]
MODES = ("naive", "streaming")


def main() -> None:
    """Run the benchmark (or, with ``--child``, one measured copy)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--child", action="store_true", help="run one measured copy (internal)")
    parser.add_argument("--mode", choices=MODES)
    parser.add_argument("--measure", choices=("tracemalloc", "rss"))
    parser.add_argument("--media-url")
    parser.add_argument("--warmup-url")
    parser.add_argument("--endpoint")
    parser.add_argument("--sha256")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(args)))
        return
    _parent()


# ------------------------------------------------------------------------------------ parent


def _parent() -> None:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    body = JPEG_MAGIC + random.Random(7).randbytes(SIZE - len(JPEG_MAGIC))
    expected = hashlib.sha256(body).hexdigest()
    with _media_host(body) as media_base, _s3_server() as endpoint:
        s3 = _s3_client(endpoint)
        s3.create_bucket(Bucket=BUCKET)
        results: dict[tuple[str, str], dict[str, float]] = {}
        for measure in ("tracemalloc", "rss"):
            for mode in MODES:
                results[(mode, measure)] = _run_child(
                    mode, measure, f"{media_base}/media", f"{media_base}/warmup", endpoint, expected
                )
                s3.delete_object(Bucket=BUCKET, Key=f"bench/{mode}.jpg")

    def line(name: str, mode: str, measure: str, field: str, scale: float, unit: str) -> str:
        ours, naive = results[(mode, measure)][field], results[("naive", measure)][field]
        return f"{name}: {ours / scale:.2f} {unit} ({ours / naive:.2f} x naive)"

    print(line("naive_copy_peak_growth", "naive", "tracemalloc", "growth", MIB, "MiB"))
    print(line("media_copy_peak_growth", "streaming", "tracemalloc", "growth", MIB, "MiB"))
    print(line("naive_copy_rss_growth", "naive", "rss", "growth", MIB, "MiB"))
    print(line("media_copy_rss_growth", "streaming", "rss", "growth", MIB, "MiB"))
    print(line("naive_copy_duration", "naive", "rss", "seconds", 1.0, "s"))
    print(line("media_copy_duration", "streaming", "rss", "seconds", 1.0, "s"))
    peak = results[("streaming", "tracemalloc")]["growth"]
    verdict = "met" if peak <= TARGET_BYTES else "NOT met"
    print(
        f"media_copy_target: {verdict} (peak growth {peak / MIB:.2f} MiB, target <= 16 MB "
        f"= {TARGET_BYTES / MIB:.2f} MiB, for a {SIZE // MIB} MiB attachment)"
    )


def _run_child(
    mode: str, measure: str, media_url: str, warmup_url: str, endpoint: str, expected: str
) -> dict[str, float]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        part for part in (str(REPO / "layers" / "shared"), str(REPO), env.get("PYTHONPATH", "")) if part
    )
    command = [
        sys.executable,
        "-m",
        "bench.media_copy_memory",
        "--child",
        f"--mode={mode}",
        f"--measure={measure}",
        f"--media-url={media_url}",
        f"--warmup-url={warmup_url}",
        f"--endpoint={endpoint}",
        f"--sha256={expected}",
    ]
    done = subprocess.run(
        command, cwd=REPO, env=env, capture_output=True, text=True, timeout=CHILD_TIMEOUT, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"bench child {mode}/{measure} failed:\n{done.stderr}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


class _MediaHandler(BaseHTTPRequestHandler):
    server: "_MediaHost"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def do_GET(self) -> None:
        body = self.server.body if self.path == "/media" else JPEG_MAGIC + bytes(1000)
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        view = memoryview(body)
        step = 256 * 1024
        try:
            for start in range(0, len(view), step):
                self.wfile.write(view[start : start + step])
        except (BrokenPipeError, ConnectionResetError):
            return


class _MediaHost(ThreadingHTTPServer):
    daemon_threads = False

    def __init__(self, body: bytes) -> None:
        super().__init__(("127.0.0.1", 0), _MediaHandler)
        self.body = body


@contextmanager
def _media_host(body: bytes) -> Iterator[str]:
    httpd = _MediaHost(body)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


@contextmanager
def _s3_server() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def _s3_client(endpoint: str) -> "S3Client":
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",  # noqa: S106 - moto's local server accepts anything
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )


# ------------------------------------------------------------------------------------- child


def _child(args: argparse.Namespace) -> dict[str, float]:
    copy = _streaming_copy if args.mode == "streaming" else _naive_copy
    s3 = _s3_client(args.endpoint)
    key = f"bench/{args.mode}.jpg"
    copy(s3, args.warmup_url, key)  # loads what the first call loads lazily (models, endpoints)
    gc.collect()
    _reset_peak_rss()
    if args.measure == "tracemalloc":
        tracemalloc.start()
        start, _ = tracemalloc.get_traced_memory()
        size, digest = copy(s3, args.media_url, key)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        growth, seconds = float(peak - start), 0.0
    else:
        rss_before = _proc_status_kib("VmRSS")
        started = time.perf_counter()
        size, digest = copy(s3, args.media_url, key)
        seconds = time.perf_counter() - started
        growth = float((_proc_status_kib("VmHWM") - rss_before) * 1024)
    if size != SIZE or digest != args.sha256:
        raise RuntimeError(f"{args.mode} copy is wrong: {size} bytes")
    return {"growth": growth, "seconds": seconds}


def _streaming_copy(s3: "S3Client", url: str, key: str) -> tuple[int, str]:
    # Imported here: only the child has the layer on its path.
    from mmsrelay.media.fetcher import MediaFetcher  # noqa: PLC0415
    from mmsrelay.media.store import S3MediaStore  # noqa: PLC0415
    from mmsrelay.media.url_guard import FetchPolicy  # noqa: PLC0415

    policy = FetchPolicy(allowed_hosts=("127.0.0.1",), allow_insecure=True, max_bytes=25 * MIB)
    with MediaFetcher(policy).open(url) as download:
        stored = S3MediaStore(s3, BUCKET).put_stream(key, download.chunks(), download.content_type)
    return stored.size, stored.sha256_hex


def _naive_copy(s3: "S3Client", url: str, key: str) -> tuple[int, str]:
    import urllib3  # noqa: PLC0415 - the naive way's own client, as it would be written

    response = urllib3.PoolManager().request("GET", url, timeout=30.0)
    data = response.data
    s3.put_object(Bucket=BUCKET, Key=key, Body=data, ContentType="image/jpeg", ServerSideEncryption="AES256")
    return len(data), hashlib.sha256(data).hexdigest()


def _reset_peak_rss() -> None:
    """Reset VmHWM to the current RSS where the kernel allows it (Linux >= 4.0)."""
    # Where it is refused, VmHWM may include earlier peaks; the warm-up is small, so it stays close.
    with suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def _proc_status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


if __name__ == "__main__":
    main()
