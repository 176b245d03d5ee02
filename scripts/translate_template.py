"""Translates a SAM template to plain CloudFormation (JSON), offline, for the IaC scanner.

    python scripts/translate_template.py TEMPLATE OUT.json

Runs with SAM CLI's interpreter (it has aws-sam-translator). Code locations are replaced by a
placeholder S3 URI (nothing is packaged); the template's own managed policies are all it names.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

PLACEHOLDER_CODE = "s3://placeholder-bucket/placeholder-key.zip"


class NoManagedPolicies:
    """The relay's functions have explicit roles: no AWS managed policy name needs resolving."""

    def load(self) -> dict[str, str]:
        return {}


def translated(source: Path) -> dict[str, Any]:
    document: dict[str, Any] = yaml_parse(source.read_text())
    for resource in document["Resources"].values():
        properties = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if key in properties:
                properties[key] = PLACEHOLDER_CODE
    result: dict[str, Any] = transform(document, {}, NoManagedPolicies())
    return result


def main() -> int:
    source, target = Path(sys.argv[1]), Path(sys.argv[2])
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(translated(source), indent=1))
    print(f"translated {source} -> {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
