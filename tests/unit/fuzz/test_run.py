"""What the run leaves out of a generated request before sending it."""

from __future__ import annotations

from fuzz.run import without_connection_headers
from fuzz.schema import operations_of


def test_framing_and_hop_by_hop_headers_are_left_out_and_the_others_kept() -> None:
    # Given a generated request with headers saying how it is framed (found by make fuzz: a made-up
    # Transfer-Encoding got the emulator's HTTP server's 501, before any route or function)
    (operation,) = [op for op in operations_of() if op.label == "GET /numbers/{number}/messages"]
    case = operation.Case(
        path_parameters={"number": "+13105551212"},
        headers={"Transfer-Encoding": "_1YkAZC", "content-length": "7", "HOST": "elsewhere", "lt": "R)Z", "TE": "x"},
    )
    # When it is prepared for sending
    without_connection_headers(case)
    # Then only the header that says nothing about framing is left
    assert dict(case.headers) == {"lt": "R)Z"}


def test_the_document_has_the_eight_operations_of_the_template() -> None:
    assert sorted(op.label for op in operations_of()) == [
        "GET /dlr",
        "GET /inbound",
        "GET /m/{token}",
        "GET /messages/{id}",
        "GET /numbers/{number}/messages",
        "POST /dlr",
        "POST /dlr/mm4",
        "POST /inbound",
    ]
