"""The GUIDs a request carried, wherever they are, and which of them only refused requests carried."""

from __future__ import annotations

import json

import requests

from fuzz.stored import GuidLedger, guids_in

A = "6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f"
B = "11111111-2222-4333-8444-555555555555"


def prepared(method: str, url: str, **arguments: object) -> requests.PreparedRequest:
    return requests.Request(method, url, **arguments).prepare()


def test_guids_are_found_in_the_query_a_form_a_json_body_and_a_receipt_text() -> None:
    assert guids_in(prepared("GET", "https://h/dlr", params={"transactionGUID": f" {A} "})) == {A.upper()}
    assert guids_in(prepared("POST", "https://h/inbound", data={"transactionGUID": A, "x": B})) == {A.upper(), B}
    assert guids_in(prepared("POST", "https://h/dlr", data=json.dumps({"eventMessage": {"transactionGUID": A}}))) == {
        A.upper()
    }
    assert guids_in(prepared("POST", "https://h/dlr", data={"text": f"id:{B} stat:DELIVRD"})) == {B}
    assert guids_in(prepared("POST", "https://h/dlr/mm4", data=f"X-Mms-Message-ID: <{A}>\r\n".encode())) == {A.upper()}
    assert guids_in(prepared("GET", "https://h/m/token")) == set()


def test_a_guid_any_accepted_request_carried_is_not_checked() -> None:
    ledger = GuidLedger()
    ledger.note({A, B}, refused=True)
    ledger.note({B}, refused=False)
    assert ledger.only_refused() == {A}
