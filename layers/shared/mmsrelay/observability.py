"""Observability helpers: the metrics port, and X-Ray tracing that costs nothing when off."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol, TypeVar, cast

from aws_lambda_powertools import Tracer


class MetricsSink(Protocol):
    """Powertools ``Metrics`` satisfies this; tests pass a recorder."""

    def add_metric(self, name: str, unit: Any, value: float, resolution: Any = 60) -> None: ...


COUNT = "Count"

Handler = TypeVar("Handler", bound=Callable[..., Any])


def tracing_enabled(environ: Mapping[str, str]) -> bool:
    """Whether the template switched X-Ray tracing on (``EnableTracing`` sets this variable)."""
    return environ.get("POWERTOOLS_TRACE_DISABLED", "false").strip().lower() not in ("true", "1")


def traced_when_enabled(environ: Mapping[str, str]) -> Callable[[Handler], Handler]:
    """Decorates a handler with Powertools Tracer when tracing is on; leaves it alone when off.

    Tracer imports the X-Ray SDK when constructed, even disabled (about 100 ms of cold start);
    with tracing off (the default) it is never constructed, so that cost is never paid. (Importing
    the class is cheap: the SDK behind it is loaded lazily.)

    The handler's answer is not recorded in the trace (Tracer's default): answers carry phone
    numbers, message texts and presigned media links, which nothing else we record keeps.
    """

    def decorate(handler: Handler) -> Handler:
        if not tracing_enabled(environ):
            return handler
        return cast("Handler", Tracer().capture_lambda_handler(handler, capture_response=False))

    return decorate
