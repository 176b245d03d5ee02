"""Runs one Lambda handler in this interpreter, as the Lambda runtime would, and writes its answer.

``devstack.invoke`` starts it as ``python -I -S -B lambda_bootstrap.py <request.json>`` in a fresh
process with an environment built from scratch: ``-I -S`` leaves only the standard library on
``sys.path`` (no site-packages, no user site, no ``PYTHON*`` variables, not even this file's
folder), and the request puts exactly the function's code, the built layer and the stand-in for the
runtime's own packages in front of it, in the order Lambda uses (``/var/task``, ``/opt/python``,
``/var/runtime``). ``-B``: nothing is written beside the code, as on Lambda's read-only file system.

Standard library only: anything imported here would be on the function's path.

The request (JSON): ``path``, ``handler`` (``module.function``; null: only import ``probe``),
``call`` (false: import the handler and stop there), ``event``, ``answer_file``, ``function_name``,
``function_arn``, ``memory_mb``, ``timeout_s``, ``request_id``, ``probe`` (modules whose version and
file to report afterwards). The answer file gets
``{"ok": true, "answer": ...}`` or ``{"ok": false, "error": {"errorType", "errorMessage",
"stackTrace"}}`` (Lambda's error shape), with ``sys_path``, ``python`` and ``modules``. The
function's logs are this process's stdout and stderr, as in CloudWatch.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

Handler = Callable[[Any, Any], Any]


class LambdaContext:
    """What the Lambda runtime passes as ``context`` (the attributes its Python runtime sets)."""

    def __init__(self, request: dict[str, Any], deadline: float) -> None:
        self.function_name: str = request["function_name"]
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.invoked_function_arn: str = request["function_arn"]
        # The runtime reads it from AWS_LAMBDA_FUNCTION_MEMORY_SIZE, as text.
        self.memory_limit_in_mb = str(request["memory_mb"])
        self.aws_request_id: str = request["request_id"]
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.identity = None
        self.client_context = None
        self.tenant_id = None
        self._deadline = deadline

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _error(error: BaseException, error_type: str | None = None) -> dict[str, Any]:
    return {
        "errorType": error_type or type(error).__name__,
        "errorMessage": str(error),
        "stackTrace": traceback.format_tb(error.__traceback__),
    }


def _module_info(name: str) -> dict[str, str | None]:
    try:
        module = importlib.import_module(name)
    except ImportError as error:
        return {"version": None, "file": None, "error": str(error)}
    return {"version": getattr(module, "__version__", None), "file": getattr(module, "__file__", None)}


def _load(handler: str) -> Handler:
    module_name, _, function_name = handler.rpartition(".")
    function: Handler = getattr(importlib.import_module(module_name), function_name)
    return function


def _run(request: dict[str, Any]) -> dict[str, Any]:
    if request.get("handler") is None:
        return {"ok": True, "answer": None}
    try:
        handler = _load(request["handler"])
    except Exception as error:  # reported as Lambda reports it
        traceback.print_exc()
        return {"ok": False, "error": _error(error, "Runtime.ImportModuleError")}
    if not request.get("call", True):
        return {"ok": True, "answer": None}
    request_id = request["request_id"]
    print(f"START RequestId: {request_id} Version: $LATEST", flush=True)
    started = time.monotonic()
    context = LambdaContext(request, deadline=started + float(request["timeout_s"]))
    try:
        answer = handler(request["event"], context)
        json.dumps(answer)
    except Exception as error:  # the handler's failure is the answer
        print(f"[ERROR] {type(error).__name__}: {error}", file=sys.stderr, flush=True)
        traceback.print_exc()
        outcome = {"ok": False, "error": _error(error)}
    else:
        outcome = {"ok": True, "answer": answer}
    duration_ms = (time.monotonic() - started) * 1000
    print(f"END RequestId: {request_id}", flush=True)
    print(f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms", flush=True)
    return outcome


def main(request_file: str) -> int:
    request: dict[str, Any] = json.loads(Path(request_file).read_text())
    sys.path[:0] = request["path"]
    outcome = _run(request)
    outcome["sys_path"] = list(sys.path)
    outcome["python"] = ".".join(str(part) for part in sys.version_info[:3])
    outcome["modules"] = {name: _module_info(name) for name in request.get("probe", [])}
    Path(request["answer_file"]).write_text(json.dumps(outcome))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
