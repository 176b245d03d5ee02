"""Runs every benchmark in turn (``make bench``), each in its own process; each prints its figures.

python -m bench                 all of them
python -m bench NAME [NAME...]  some of them (names below)
"""

from __future__ import annotations

import subprocess
import sys

BENCHMARKS = (
    "cold_start_inbound",
    "cold_start_outbound",
    "outbound_batch",
    "cold_start_receipts",
    "cold_start_media_link",
    "cold_start_query",
    "inbound_writes",
    "media_copy_memory",
    "media_fit",
    "inbound_answer",
    "message_costs",
    "outbound_stack",
)
TIMEOUT_SECONDS = 900


def main() -> int:
    names = sys.argv[1:] or list(BENCHMARKS)
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    failed = []
    for name in names:
        print(f"# {name}", flush=True)
        # A process each: benchmarks patch clients and the environment of the process they run in.
        if subprocess.run([sys.executable, "-m", f"bench.{name}"], timeout=TIMEOUT_SECONDS, check=False).returncode:
            failed.append(name)
    if failed:
        print(f"benchmark(s) that did not run to the end: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
