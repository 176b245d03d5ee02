"""The templates as data, for the template checks (CloudFormation's short tags kept as markers)."""

from __future__ import annotations

import re
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


def function_environment(name: str) -> dict[str, str]:
    """A function's environment as deployed with the parameters' defaults (resources as names)."""
    parameters = template()["Parameters"]
    function = resources("AWS::Serverless::Function")[name]["Properties"]
    variables = {
        **template()["Globals"]["Function"]["Environment"]["Variables"],
        **function.get("Environment", {}).get("Variables", {}),
    }
    return {key: _resolve(value, parameters) for key, value in variables.items()}


def _resolve(value: Any, parameters: dict[str, Any]) -> str:
    if isinstance(value, Tag) and value.name == "Ref":
        if value.value in parameters:
            return str(parameters[value.value].get("Default", ""))
        return f"{value.value}-resource"
    if isinstance(value, Tag) and value.name == "If":
        return _resolve(value.value[2], parameters)  # the default parameters take the "else" branch
    if isinstance(value, Tag) and value.name == "Sub" and isinstance(value.value, str):
        return re.sub(r"\$\{[^}]+\}", "resolved", value.value)
    if isinstance(value, Tag):
        return f"{value.name}-value"
    return str(value)
