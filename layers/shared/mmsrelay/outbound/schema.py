"""Writes what is generated from the outbound job's contract (``mmsrelay.outbound.contract``), ``make schema``:

    python -m mmsrelay.outbound.schema <JSON Schema file> <core schema file>

- the JSON Schema producers validate with (``schemas/outbound-job.schema.json``);
- the core schema the relay validates with (``mmsrelay/outbound/job_core_schema.json``, read by
  ``mmsrelay.outbound.job``): the contract model's own pydantic-core schema, with what only a model
  needs taken out, so that the relay reads a job with ``pydantic_core`` alone (docs/decisions.md).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mmsrelay.outbound.contract import OutboundJob, json_schema

# What a validator returning plain dicts has no use for: pydantic's references between schemas and
# its JSON Schema hooks, how to serialise, and the model classes with how to build them.
_MODEL_ONLY = frozenset(
    {
        "ref",
        "metadata",
        "serialization",
        "serialization_alias",
        "serialization_exclude",
        "cls",
        "custom_init",
        "root_model",
        "post_init",
        "computed_fields",
        "model_name",
        "frozen",
    }
)


def render() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"


def render_core() -> str:
    # Keys in the model's order, not sorted: a typed dict reports its fields' errors in that order.
    return json.dumps(stored_core_schema(), indent=2) + "\n"


def stored_core_schema() -> dict[str, Any]:
    """``OutboundJob``'s core schema as data: each model a ``typed-dict`` with the model's config
    (extra keys forbidden, whitespace stripped, names and aliases), each model in a union labelled
    with its name (errors read ``media.0.UrlMedia.url`` as the model's do), defaults as values.

    The model validator (``check_content``) is the one piece of Python: it is left out here and the
    relay runs the same function after this schema. Any other function, or a schema shared through
    references, cannot be stored: this refuses it rather than leave a rule behind.
    """
    schema = OutboundJob.__pydantic_core_schema__
    if schema["type"] != "function-after" or schema["schema"]["type"] != "model":
        raise ValueError("expected the job model under its one model validator (check_content)")
    stored: dict[str, Any] = _stored(schema["schema"])
    return stored


def _stored(node: Any) -> Any:
    if isinstance(node, Mapping):
        if node.get("type") == "model":
            return _typed_dict(node)
        if node.get("type") == "union":
            return {**_kept(node), "choices": [_labelled(choice) for choice in node["choices"]]}
        if node.get("type") == "default" and "default_factory" in node:
            return _kept({key: value for key, value in node.items() if not key.startswith("default_factory")}) | {
                "default": _stored(_made_default(node))
            }
        if node.get("type") in ("definitions", "definition-ref"):
            raise ValueError("a schema shared through references cannot be stored inline: give each model one use")
        return _kept(node)
    if isinstance(node, list | tuple):
        return [_stored(item) for item in node]
    if node is None or isinstance(node, str | int | float | bool):
        return node
    raise ValueError(f"{node!r} is Python, not data: the stored schema cannot hold it")


def _kept(node: Mapping[str, Any]) -> dict[str, Any]:
    return {key: _stored(value) for key, value in node.items() if key not in _MODEL_ONLY}


def _typed_dict(model: Mapping[str, Any]) -> dict[str, Any]:
    """A ``model`` (over ``model-fields``) as a ``typed-dict``: the same fields, keys and config."""
    fields = model["schema"]
    typed_dict = _kept({key: value for key, value in fields.items() if key != "fields"}) | {"type": "typed-dict"}
    typed_dict["fields"] = {
        name: _kept(field) | {"type": "typed-dict-field", "required": field["schema"]["type"] != "default"}
        for name, field in fields["fields"].items()
    }
    if "config" in model:
        typed_dict["config"] = _stored(model["config"])
    return typed_dict


def _labelled(choice: Any) -> Any:
    """A model in a union keeps its name as the choice's label (pydantic-core names a model choice by its class)."""
    if isinstance(choice, Mapping) and choice.get("type") == "model":
        return (_typed_dict(choice), choice["cls"].__name__)
    return _stored(choice)


def _made_default(node: Mapping[str, Any]) -> Any:
    if node.get("default_factory_takes_data"):
        raise ValueError("a default computed from the other fields cannot be stored")
    return node["default_factory"]()


def main() -> int:
    json_target, core_target = Path(sys.argv[1]), Path(sys.argv[2])
    json_target.write_text(render())
    core_target.write_text(render_core())
    sys.stdout.write(f"wrote {json_target} and {core_target}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
