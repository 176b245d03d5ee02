"""The direction of dependency (docs/architecture.md, "Code"): the import-linter contracts hold."""

import ast
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


# What a handler may import of the shared package: its wiring, observability, and the types it names.
ADAPTERS = (
    "mmsrelay.aws",
    "mmsrelay.storage",
    "mmsrelay.media",
    "mmsrelay.gateway",
    "mmsrelay.queues",
    "mmsrelay.eventbus",
)


def test_handlers_reach_adapters_only_through_their_wiring() -> None:
    # Given every handler (functions/*/app.py), When its imports are read
    handlers = sorted((ROOT / "functions").glob("*/app.py"))
    assert handlers
    for handler in handlers:
        imported = set()
        for node in ast.walk(ast.parse(handler.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
            elif isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
        # Then none is an adapter (or boto3): the wiring builds those, once
        shared = {name for name in imported if name.startswith("mmsrelay")}
        assert shared, handler
        assert not [name for name in shared if name.startswith(ADAPTERS)], handler
        assert not {"boto3", "botocore", "requests", "urllib3"} & {name.split(".")[0] for name in imported}, handler
