"""template.yaml as data, for the template checks (CloudFormation's short tags kept as markers)."""

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
def template() -> dict[str, Any]:
    document: dict[str, Any] = yaml.load((ROOT / "template.yaml").read_text(), Loader=_Loader)  # noqa: S506
    return document


def resources(kind: str) -> dict[str, dict[str, Any]]:
    return {name: body for name, body in template()["Resources"].items() if body["Type"] == kind}


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
    """A template condition (``Equals`` and ``Not`` of parameters, as template.yaml uses) evaluated."""
    expression = template()["Conditions"][condition] if isinstance(condition, str) else condition
    if expression.name == "Not":
        return not _holds(expression.value[0], parameters)
    if expression.name == "Equals":
        left, right = (_resolve(side, parameters, {}) for side in expression.value)
        return left == right
    raise ValueError(f"condition {expression.name} is not understood here")
