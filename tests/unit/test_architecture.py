"""The direction of dependency (docs/architecture.md, "Code"): the import-linter contracts hold."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_layers_depend_one_way() -> None:
    # Given the contracts in pyproject.toml (layers; no I/O in the domain, the use cases, the border)
    environment = {**os.environ, "PYTHONPATH": str(ROOT / "layers" / "shared")}
    # When import-linter checks the shared package
    result = subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports")), "--no-cache"],
        capture_output=True,
        text=True,
        env=environment,
        cwd=ROOT,
        check=False,
    )
    # Then every contract is kept
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout
