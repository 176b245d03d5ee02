"""Runs the reliability runs, each on a stack of its own; each prints its figures (docs/reliability.md).

python -m reliability                       all of them, in turn
python -m reliability NAME [options]        one of them (``python -m reliability NAME --help``)
"""

from __future__ import annotations

import importlib
import subprocess
import sys

RUNS = ("soak", "crashes", "outages", "mo_duplicates", "receipt_chaos")
TIMEOUT_SECONDS = 3600


def main() -> int:
    if len(sys.argv) > 1:
        name = sys.argv[1]
        if name not in RUNS:
            print(f"unknown run {name!r}; known: {', '.join(RUNS)}", file=sys.stderr)
            return 2
        module = importlib.import_module(f"reliability.{name}")
        result: int = module.main(sys.argv[2:])
        return result
    failed = []
    for name in RUNS:
        print(f"# {name}", flush=True)
        # A process each: a run's emulator, simulator and threads end with it.
        if subprocess.run([sys.executable, "-m", "reliability", name], timeout=TIMEOUT_SECONDS, check=False).returncode:
            failed.append(name)
    if failed:
        print(f"run(s) that missed a target or did not finish: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
