"""env.json.example (for ``sam local invoke --env-vars``) kept in step with template.yaml."""

from __future__ import annotations

import json
import re

from tests.template import ROOT, function_environment, resources, template

EXAMPLE = ROOT / "env.json.example"
PLACEHOLDER = re.compile(r"<(\w+) output>")


def example() -> dict[str, dict[str, str]]:
    document: dict[str, dict[str, str]] = json.loads(EXAMPLE.read_text())
    return document


def test_it_has_a_block_for_each_function_and_no_other() -> None:
    assert set(example()) == set(resources("AWS::Serverless::Function"))


def test_each_block_lists_exactly_the_variables_the_template_gives_that_function() -> None:
    for function, variables in example().items():
        declared = set(function_environment(function))
        assert set(variables) == declared, (
            f"{function}: missing {sorted(declared - set(variables))}, not in template.yaml "
            f"{sorted(set(variables) - declared)}"
        )


def test_each_variable_naming_a_resource_is_a_placeholder_for_the_stack_output_that_holds_it() -> None:
    outputs = set(template()["Outputs"])
    for function, variables in example().items():
        # Without names, function_environment marks what the stack creates (tests/template.py).
        unresolved = function_environment(function)
        references = {name for name, value in unresolved.items() if "-resource" in value or "resolved" in value}
        references |= {name for name, value in unresolved.items() if value == "GetAtt-value"}
        assert references, function
        for name in references:
            match = PLACEHOLDER.fullmatch(variables[name])
            assert match is not None, (function, name, variables[name])
            assert match[1] in outputs, (function, name, variables[name])
