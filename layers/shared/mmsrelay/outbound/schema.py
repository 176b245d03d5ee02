"""Writes the outbound job's JSON Schema: ``python -m mmsrelay.outbound.schema <file>`` (make schema)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from mmsrelay.outbound.contract import json_schema


def render() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"


def main() -> int:
    target = Path(sys.argv[1])
    target.write_text(render())
    sys.stdout.write(f"wrote {target}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
