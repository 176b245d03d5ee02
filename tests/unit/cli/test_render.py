"""What the command line prints: tables for people, JSON for scripts, progress on stderr."""

from __future__ import annotations

import io
import json

from mmsrelay_cli.render import Output, Progress, block, cell, table


def test_a_table_aligns_its_columns_and_shows_nothing_as_a_dash() -> None:
    text = table(["number", "status"], [["+13105551212", "delivered"], ["12345", None]])
    assert text.splitlines() == [
        "NUMBER        STATUS",
        "+13105551212  delivered",
        "12345         -",
    ]
    assert table(["a"], []) == "(none)"


def test_a_cell_is_one_line_and_cut_to_its_width() -> None:
    assert cell("two\nlines") == "two lines"
    assert cell("x" * 60, 10) == "x" * 9 + "…"
    assert cell(True) == "yes"


def test_a_block_aligns_names() -> None:
    assert block([("status", "sent"), ("last error", None)]).splitlines() == ["status      sent", "last error  -"]


def test_json_mode_prints_the_document_and_text_mode_the_text() -> None:
    stream = io.StringIO()
    Output(True, stream).emit({"messageId": "m-1"}, "ignored")
    Output(False, stream).emit({"ignored": 1}, "job m-1 is on the queue")
    first, _, second = stream.getvalue().rpartition("}\n")
    assert json.loads(first + "}") == {"messageId": "m-1"}
    assert second == "job m-1 is on the queue\n"


def test_progress_writes_each_new_state_once_when_not_on_a_terminal() -> None:
    stream = io.StringIO()
    progress = Progress(stream=stream)
    for state in ["queued", "queued", "sending", "sent"]:
        progress.update(state)
    progress.done()
    assert stream.getvalue() == "queued\nsending\nsent\n"
    quiet = io.StringIO()
    Progress(enabled=False, stream=quiet).update("queued")
    assert quiet.getvalue() == ""
