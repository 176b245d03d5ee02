"""The templates as data, for the template checks (CloudFormation's short tags kept as markers)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Tag:
    """An intrinsic function such as ``!Ref X``: its name and its argument."""

    name: str
    value: Any


class _Loader(yaml.SafeLoader):
    pass


def _construct(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Tag:
    if isinstance(node, yaml.ScalarNode):
        return Tag(suffix, loader.construct_scalar(node))
    if isinstance(node, yaml.SequenceNode):
        return Tag(suffix, loader.construct_sequence(node, deep=True))
    return Tag(suffix, loader.construct_mapping(node, deep=True))  # type: ignore[arg-type]


_Loader.add_multi_constructor("!", _construct)


@cache
def load(path: Path) -> dict[str, Any]:
    """A CloudFormation template file, its short tags (``!Ref``, ``!If``, ...) read as `Tag`s."""
    document: dict[str, Any] = yaml.load(path.read_text(), Loader=_Loader)  # noqa: S506
    return document


def template() -> dict[str, Any]:
    """The relay's template.yaml."""
    return load(ROOT / "template.yaml")


def resources(kind: str) -> dict[str, dict[str, Any]]:
    return {name: body for name, body in template()["Resources"].items() if body["Type"] == kind}


def role_statements(function: str) -> list[dict[str, Any]]:
    """The statements of ``function``'s role (its explicit ``Role``), conditional ones unwrapped."""
    role = resources("AWS::Serverless::Function")[function]["Properties"]["Role"]
    assert role == Tag("GetAtt", f"{function}Role.Arn"), role
    found = []
    for policy in template()["Resources"][f"{function}Role"]["Properties"]["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            found.append(statement.value[1] if isinstance(statement, Tag) else statement)
    return found


def function_environment(
    name: str, names: Mapping[str, str] | None = None, parameters: Mapping[str, str] | None = None
) -> dict[str, str]:
    """A function's environment as deployed: parameters take their defaults unless ``parameters``
    overrides them; a resource reference (``!Ref X``, ``!GetAtt X.Attr``, ``${X}`` in a ``!Sub``)
    becomes ``names[...]`` under that spelling ("X", "X.Attr") when given, a placeholder otherwise."""
    given = {key: str(body.get("Default", "")) for key, body in template()["Parameters"].items()} | dict(
        parameters or {}
    )
    function = resources("AWS::Serverless::Function")[name]["Properties"]
    variables = {
        **template()["Globals"]["Function"]["Environment"]["Variables"],
        **function.get("Environment", {}).get("Variables", {}),
    }
    return {key: _resolve(value, given, names or {}) for key, value in variables.items()}


def _resolve(value: Any, parameters: Mapping[str, str], names: Mapping[str, str]) -> str:
    if not isinstance(value, Tag):
        return str(value)
    if value.name == "Ref":
        default = names.get(value.value, f"{value.value}-resource")
        return parameters.get(value.value, default)
    if value.name == "GetAtt":
        return names.get(value.value, "GetAtt-value")
    if value.name == "If":
        condition, when_true, when_false = value.value
        return _resolve(when_true if _holds(condition, parameters) else when_false, parameters, names)
    if value.name == "Sub" and isinstance(value.value, str):
        return re.sub(r"\$\{([^}]+)\}", lambda match: names.get(match[1], "resolved"), value.value)
    return f"{value.name}-value"


def _holds(condition: Any, parameters: Mapping[str, str]) -> bool:
    """A template condition (``Equals``, ``Not``, ``And`` of parameters, as template.yaml uses) evaluated."""
    expression = template()["Conditions"][condition] if isinstance(condition, str) else condition
    if expression.name == "Condition":
        return _holds(expression.value, parameters)
    if expression.name == "Not":
        return not _holds(expression.value[0], parameters)
    if expression.name == "And":
        return all(_holds(part, parameters) for part in expression.value)
    if expression.name == "Equals":
        left, right = (_resolve(side, parameters, {}) for side in expression.value)
        return left == right
    raise ValueError(f"condition {expression.name} is not understood here")


# --- the template with every optional feature switched on, for `make validate` ------------------

# A value for each optional Parameter that switches a feature on (their defaults leave it off).
OPTIONS_ON: dict[str, str] = {
    "EnableTracing": "true",
    "EnableSnapStart": "true",
    "AllowedSourceCidrs": "203.0.113.0/24,198.51.100.0/24",
    "MediaLinkBaseUrl": "https://mms.example.com",
    "EgressSubnetIds": "subnet-0123456789abcdef0,subnet-0fedcba9876543210",
    "EgressSecurityGroupIds": "sg-0123456789abcdef0",
    "Mm4ReportsDomain": "mm4.example.com",
    "AlarmTopicArn": "arn:aws:sns:us-east-1:123456789012:mms-relay-alarms",
    "GatewayCaCertificate": "LS0tLS1CRUdJTi1FWEFNUExFLS0tLS0=",
    "KmsKeyArn": "arn:aws:kms:us-east-1:123456789012:key/0f0e0d0c-0b0a-4990-8887-766554433221",
    "MediaBucketVersioning": "true",
    "SendRateOverrides": "12223334444=10,55555=20.5",
}


def _represent_tag(dumper: yaml.SafeDumper, tag: Tag) -> yaml.Node:
    if isinstance(tag.value, list):
        return dumper.represent_sequence(f"!{tag.name}", tag.value)
    if isinstance(tag.value, dict):
        return dumper.represent_mapping(f"!{tag.name}", tag.value)
    return dumper.represent_scalar(f"!{tag.name}", str(tag.value))


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(Tag, _represent_tag)


def with_defaults(defaults: dict[str, str], source: Path = ROOT / "template.yaml") -> str:
    """``source`` as YAML text with these Parameters' defaults (a variant for linting)."""
    document: dict[str, Any] = yaml.load(source.read_text(), Loader=_Loader)  # noqa: S506
    for name, value in defaults.items():
        document["Parameters"][name]["Default"] = value
    return yaml.dump(document, Dumper=_Dumper, sort_keys=False, width=120)


if __name__ == "__main__":
    import sys

    target = Path(sys.argv[1])
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(with_defaults(OPTIONS_ON))
    print(f"wrote {target}: template.yaml with {', '.join(OPTIONS_ON)} set")  # noqa: T201
