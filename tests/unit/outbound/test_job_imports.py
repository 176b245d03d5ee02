"""The outbound function reads jobs without pydantic (which cost its cold start about 75 ms:
docs/decisions.md): its handler's import and its first jobs, in a fresh interpreter as a cold start
sees them. pydantic is the contract's (``mmsrelay.outbound.contract``), for ``make schema``, the
tests and the command line."""

from __future__ import annotations

from tests.support import EVENTS, imported_by

# Run in the child after the handler's import: a job read, then one refused (errors are where
# pydantic_core reaches for pydantic, to link each error to its documentation).
READ_JOBS = f"""
from mmsrelay.outbound.job import InvalidJob, parse_job
parse_job({(EVENTS / "outbound_group_mm4.json").read_text()!r})
try:
    parse_job({(EVENTS / "outbound_invalid.json").read_text()!r})
except InvalidJob:
    pass
else:
    raise SystemExit("the invalid sample was read")
"""


def test_the_outbound_handler_reads_and_refuses_jobs_without_importing_pydantic() -> None:
    # Given a fresh interpreter
    # When the outbound handler module is imported as Lambda imports it, then reads a job and refuses one
    modules = imported_by("outbound", then=READ_JOBS)
    # Then pydantic_core validated them, and pydantic was never imported
    assert "pydantic_core" in modules
    assert sorted(name for name in modules if name.split(".")[0] == "pydantic") == []
