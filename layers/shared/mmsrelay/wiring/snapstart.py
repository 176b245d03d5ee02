"""What makes a SnapStart snapshot safe to restore, and a restore quick (``EnableSnapStart``).

With SnapStart, Lambda runs a function's init (the handler module's imports) once when a version
is published, snapshots the memory, and starts every new execution environment from that snapshot.
Whatever init left in memory is then shared by all of them, restored seconds or days later.

What init leaves here: modules, and the botocore API models that ``before_snapshot`` loads (with
placeholder keys: no credential is resolved). Clients, HTTP connections, secrets with their fetch
times and the verifier's clock are built by the first request, so no snapshot holds them; the
``after_restore`` hook drops them all the same (the AWS clients and the function's cached
builders), so that nothing built before a snapshot, now or by a later change, outlives a restore.
And it reseeds ``random`` (botocore's retry jitter draws from it; every restore of one snapshot
would otherwise draw the same numbers); ``secrets`` and ``uuid.uuid4`` read ``os.urandom``, fresh
in each environment.

The hooks are registered with ``snapshot_restore_py``, which the Lambda Python runtimes ship (not
the layer); elsewhere, where nothing is snapshotted, nothing is registered. The registration runs
when the wiring module is imported, during init, as the runtime requires.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from typing import Protocol

from mmsrelay import aws


class Cached(Protocol):
    """A builder cached with ``functools.cache``."""

    def cache_clear(self) -> None: ...


def snapshot_safe(services: tuple[str, ...], *builders: Cached) -> None:
    """Registers the hooks for a function whose clients are ``services`` and whose use cases are
    built by ``builders``; does nothing where the runtime's hook library is absent."""
    try:
        import snapshot_restore_py  # noqa: PLC0415 (the Lambda runtime's; absent elsewhere)
    except ImportError:
        return
    snapshot_restore_py.register_before_snapshot(before_snapshot, services)
    snapshot_restore_py.register_after_restore(after_restore, builders)


def before_snapshot(services: tuple[str, ...]) -> None:
    aws.preload_models(*services)


def after_restore(builders: Iterable[Cached]) -> None:
    random.seed()  # from os.urandom: each restored environment draws its own numbers
    aws.reset_clients()
    for builder in builders:
        builder.cache_clear()
