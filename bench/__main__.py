"""Runs every benchmark in turn (``make bench``); each prints its own figure lines.

python -m bench                 all of them
python -m bench NAME [NAME...]  some of them (names below)
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from bench import (
    cold_start_inbound,
    cold_start_outbound,
    inbound_writes,
    media_copy_memory,
    outbound_batch,
)

BENCHMARKS: dict[str, Callable[[], None]] = {
    "cold_start_inbound": cold_start_inbound.main,
    "cold_start_outbound": cold_start_outbound.main,
    "outbound_batch": outbound_batch.main,
    "inbound_writes": inbound_writes.main,
    "media_copy_memory": media_copy_memory.main,
}


def main() -> int:
    names = sys.argv[1:] or list(BENCHMARKS)
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    for name in names:
        print(f"# {name}", flush=True)
        sys.argv = [name]
        BENCHMARKS[name]()
    return 0


if __name__ == "__main__":
    sys.exit(main())
