"""``make invoke FUNCTION=<name> EVENT=events/<file>.json``: one function of the running local stack
(``make up``) run once on a sample event, the Docker-free way (``devstack.invoke``).

What runs is the local stack's build (``.aws-sam/local/build``: the function's code and the layer
built for this interpreter), with the deployed function's own configuration read back from the
emulator (``GetFunctionConfiguration``: its variables, handler, timeout and memory), against the
emulator's endpoint with its CA and test credentials. The emulator's own function runner is not
involved: the function sees only its code, the layer and the runtime stand-in.
"""

from __future__ import annotations

import json
import ssl
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import yaml
from botocore.exceptions import ClientError

from devstack.invoke import AwsTarget, BuiltFunction, Invocation, InvokeError, host_layer, invoke
from devstack.ministack import LOCAL_ACCESS_KEY_ID, LOCAL_REGION, LOCAL_SECRET_ACCESS_KEY
from devstack.sam import RepoPaths
from devstack.stack import DeployedStack
from devstack.stack_state import NOT_UP, StackNotUp, StackState, read_state, state_file


class UsageError(ValueError):
    """The command line names no such function or event."""


class _TemplateLoader(yaml.SafeLoader):
    """Reads template.yaml, CloudFormation's short tags (``!Ref`` ...) read as nothing."""


_TemplateLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


def template_functions(template: Path) -> dict[str, str]:
    """Each function's logical id and the name of its code folder (``CodeUri``)."""
    document = yaml.load(template.read_text(), Loader=_TemplateLoader)  # noqa: S506 - a SafeLoader
    return {
        name: Path(str(body["Properties"]["CodeUri"])).name
        for name, body in document["Resources"].items()
        if body["Type"] == "AWS::Serverless::Function"
    }


def _key(name: str) -> str:
    return name.lower().replace("_", "").replace("-", "").removesuffix("function")


def resolve_function(name: str, functions: dict[str, str]) -> str:
    """The logical id ``name`` means: a logical id, with or without ``Function``, in any case, or the
    function's code folder (``ReceiptFunction``, ``receipt``, ``receipts``, ``no_receipt``)."""
    matches = {logical for logical, folder in functions.items() if _key(name) in {_key(logical), _key(folder)}}
    if not name or len(matches) != 1:
        choices = ", ".join(f"{logical} ({folder})" for logical, folder in sorted(functions.items()))
        raise UsageError(f"no single function is called {name!r}; the functions: {choices}")
    return matches.pop()


def read_event(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise UsageError(f"no event file {path}") from None
    except json.JSONDecodeError as error:
        raise UsageError(f"{path} is not JSON: {error}") from None


def check_reachable(state: StackState, timeout: float = 5.0) -> None:
    context = ssl.create_default_context(cafile=str(state.ca_file))
    try:
        with urllib.request.urlopen(f"{state.endpoint}/_ministack/health", timeout=timeout, context=context) as answer:
            if answer.status == 200:
                return
    except (OSError, urllib.error.URLError):
        pass
    raise StackNotUp(f"the local stack at {state.endpoint} does not answer; {NOT_UP}")


def deployed_function(stack: DeployedStack, state: StackState, logical_id: str) -> tuple[BuiltFunction, dict[str, str]]:
    """The function as the emulator runs it: its configuration, with the local build's code and layer."""
    resource = stack.client("cloudformation").describe_stack_resource(
        StackName=state.stack_name, LogicalResourceId=logical_id
    )["StackResourceDetail"]
    configuration = stack.client("lambda").get_function_configuration(FunctionName=resource["PhysicalResourceId"])
    built = BuiltFunction(
        name=configuration["FunctionName"],
        code_dir=state.build_dir / logical_id,
        handler=configuration["Handler"],
        layer_dir=host_layer(state.build_dir),
        timeout_s=int(configuration["Timeout"]),
        memory_mb=int(configuration["MemorySize"]),
        arn=configuration["FunctionArn"],
    )
    if not built.code_dir.is_dir() or not built.layer_dir.is_dir():
        raise StackNotUp(f"{built.code_dir} or {built.layer_dir} is missing; {NOT_UP}")
    variables: dict[str, str] = dict((configuration.get("Environment") or {}).get("Variables") or {})
    return built, variables


def report(invocation: Invocation) -> None:
    """The logs on stderr, the answer (or the error) on stdout as pretty JSON."""
    print(invocation.logs.rstrip(), file=sys.stderr, flush=True)
    if invocation.error is None:
        print(json.dumps(invocation.answer, indent=2))
        return
    error = invocation.error
    document = {"errorType": error.error_type, "errorMessage": error.message, "stackTrace": list(error.stack_trace)}
    print(json.dumps(document, indent=2))


def run(function: str, event_file: str, paths: RepoPaths | None = None, state_path: Path | None = None) -> int:
    """0: the function answered; 1: it raised; 2: nothing to run (no stack, no such function or event).

    ``state_path``: where the running stack is described (default: the file ``make up`` writes)."""
    paths = paths or RepoPaths.discover()
    try:
        event = read_event(Path(event_file))
        logical_id = resolve_function(function, template_functions(paths.template))
        state = read_state(state_path or state_file(paths.build_dir))
        check_reachable(state)
        stack = DeployedStack(state.endpoint, state.ca_file, state.outputs)
        built, variables = deployed_function(stack, state, logical_id)
        print(f"invoking {logical_id} ({built.name}) on {state.endpoint} with {event_file}", file=sys.stderr)
        aws = AwsTarget(state.endpoint, LOCAL_REGION, LOCAL_ACCESS_KEY_ID, LOCAL_SECRET_ACCESS_KEY, state.ca_file)
        invocation = invoke(built, event, variables, aws, runtime_dir=paths.lambda_runtime)
    except (UsageError, StackNotUp, ClientError) as error:
        print(f"make invoke: {error}", file=sys.stderr)
        return 2
    except InvokeError as error:  # the function's process died or ran past its timeout
        print(f"make invoke: {error}", file=sys.stderr)
        return 1
    report(invocation)
    return 0 if invocation.ok else 1
