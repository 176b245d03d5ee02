"""The document the requests are generated from, as schemathesis reads it."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeAlias

import schemathesis
from schemathesis import APIOperation, Case
from schemathesis.core.result import Ok

DOCUMENT = Path(__file__).resolve().parents[1] / "schemas" / "openapi.yaml"

Operation: TypeAlias = APIOperation[Any, Any, Any, Any]
GeneratedCase: TypeAlias = Case[Operation]


def operations_of(document: Path = DOCUMENT) -> list[Operation]:
    """Every operation the document describes, in its order (an operation schemathesis cannot read fails)."""
    operations = []
    for result in schemathesis.openapi.from_path(document).get_all_operations():
        if not isinstance(result, Ok):
            raise result.err()
        operations.append(result.ok())
    return operations
