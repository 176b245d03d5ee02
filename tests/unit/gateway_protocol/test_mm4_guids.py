"""The DATA-reply parser: every GUID found, matched to recipients by name, count or order."""

from __future__ import annotations

import pytest

from mmsrelay.domain.outbound import RecipientResult
from mmsrelay.gateway_protocol.mm4_guids import assign_guids, guids_in, recipient_results

ALICE, BOB, CAROL = "+13105550101", "+13105550102", "+447700900123"
G1 = "1B4E28BA-2FA1-11D2-883F-0016D3CCA427"
G2 = "6FA459EA-EE8A-3CA4-894E-DB77E160355E"
G3 = "16FD2706-8BAF-433B-82EB-8C7FADA847DA"
G4 = "886313E1-3B8A-5372-9B90-0C9AEE199E5D"


class TestFindingGuids:
    def test_every_guid_shaped_token_in_upper_case_once(self) -> None:
        # Given a multi-line reply with GUIDs in both cases, one repeated, and lookalikes
        reply = (
            f"Ok queued {G1.lower()}\n"
            f"id=<{G2}> again {G1}\n"
            "not-a-guid 1b4e28ba-2fa1-11d2-883f-0016d3cca42 1b4e28ba2fa111d2883f0016d3cca427\n"
            f"too long x{G3}0"
        ).encode()
        # When GUIDs are looked for
        found = guids_in(reply)
        # Then the two real ones are found, upper-cased, in order, once each
        assert found == (G1, G2)

    def test_no_guid(self) -> None:
        assert guids_in(b"2.0.0 Ok: queued as 4F3A2B1C0D") == ()


class TestOneGuid:
    def test_single_guid_on_one_line_applies_to_every_recipient(self) -> None:
        # Given a group of three and a one-line reply with one GUID
        reply = f"2.0.0 Ok: queued {G1}".encode()
        # Then it is the transaction's GUID, for everyone
        assert assign_guids(reply, [ALICE, BOB, CAROL]) == {ALICE: G1, BOB: G1, CAROL: G1}

    def test_single_lower_case_guid_is_upper_cased(self) -> None:
        assert assign_guids(f"Ok {G2.lower()}", [ALICE]) == {ALICE: G2}

    def test_single_guid_even_when_a_line_names_one_recipient(self) -> None:
        # Given one GUID on a line naming one of two recipients
        reply = f"{ALICE}@mmsc.aerialink.net {G1}"
        # Then it is still the transaction's GUID, for both
        assert assign_guids(reply, [ALICE, BOB]) == {ALICE: G1, BOB: G1}


class TestNamedRecipients:
    @pytest.mark.parametrize(
        "template",
        [
            "{number}@mmsc.aerialink.net <{guid}>",  # + and domain
            "{digits}@mmsc.aerialink.net {guid}",  # domain, no +
            "{number} {guid}",  # + alone
            "{digits}: {guid}",  # digits alone
            "{guid} {number}",  # GUID first
            "{national} {guid}",  # the national form, ending one recipient's number
            "<{number}@mmsc.aerialink.net> transaction={guid_lower}",
        ],
    )
    def test_line_per_recipient_maps_each_guid_to_its_recipient(self, template: str) -> None:
        # Given a reply listing each recipient, in reverse order, with its GUID
        recipients = {ALICE: G1, BOB: G2, CAROL: G3}
        lines = [
            template.format(
                number=number,
                digits=number.lstrip("+"),
                national=number.lstrip("+")[-10:],
                guid=guid,
                guid_lower=guid.lower(),
            )
            for number, guid in reversed(recipients.items())
        ]
        reply = ("Ok\n" + "\n".join(lines)).encode()
        # When the GUIDs are assigned
        assigned = assign_guids(reply, list(recipients))
        # Then each recipient gets the GUID named with it, not the one in RCPT order
        assert assigned == recipients

    def test_one_guid_naming_several_recipients(self) -> None:
        # Given two lines: one GUID for Alice and Bob together, one for Carol
        reply = f"{ALICE}, {BOB} -> {G1}\n{CAROL} -> {G2}"
        # Then the shared GUID goes to both
        assert assign_guids(reply, [ALICE, BOB, CAROL]) == {ALICE: G1, BOB: G1, CAROL: G2}

    def test_pairs_on_one_line_in_order_of_appearance(self) -> None:
        reply = f"{BOB}={G1} {ALICE}={G2}"
        assert assign_guids(reply, [ALICE, BOB]) == {ALICE: G2, BOB: G1}

    def test_ambiguous_line_maps_nothing(self) -> None:
        # Given a line naming two recipients with three GUIDs
        reply = f"{ALICE} {BOB} {G1} {G2} {G3}"
        # Then nobody can be told their GUID
        assert assign_guids(reply, [ALICE, BOB]) == {ALICE: None, BOB: None}

    def test_more_guids_than_recipients_when_lines_name_them(self) -> None:
        # Given a reply with a GUID of its own on the first line, then one line per recipient
        reply = f"accepted {G4}\n{ALICE} {G1}\n{BOB} {G2}"
        # Then the named recipients get theirs, and the extra GUID is ignored
        assert assign_guids(reply, [ALICE, BOB]) == {ALICE: G1, BOB: G2}

    def test_the_rest_in_rcpt_order_when_as_many_as_left(self) -> None:
        # Given Alice named, and two unattributed GUIDs for the two others
        reply = f"{ALICE} {G1}\n{G2}\n{G3}"
        # Then the others take them in RCPT order
        assert assign_guids(reply, [ALICE, BOB, CAROL]) == {ALICE: G1, BOB: G2, CAROL: G3}

    def test_a_national_form_ending_two_recipients_names_nobody(self) -> None:
        # Given two recipients whose numbers end the same way
        twins = ["+13105550101", "+443105550101"]
        reply = f"3105550101 {G1}\n{G2} {G3}"
        # Then the ambiguous line attributes nothing, and the GUIDs cannot be paired
        assert assign_guids(reply, twins) == {twins[0]: None, twins[1]: None}

    def test_numbers_in_the_reply_that_are_no_recipient_are_ignored(self) -> None:
        # Given a queue number and an enhanced status code near the GUIDs
        reply = f"2.0.0 queued as 5550123 {G1}\n2.0.0 queued as 5550124 {G2}"
        # Then, with no recipient named, the GUIDs go in RCPT order
        assert assign_guids(reply, [ALICE, BOB]) == {ALICE: G1, BOB: G2}


class TestCountAndOrder:
    def test_as_many_guids_as_recipients_in_rcpt_order(self) -> None:
        # Given a reply with three GUIDs and no number
        reply = b"Ok\n" + "\n".join(f"queued {guid}" for guid in (G1, G2, G3)).encode()
        # Then they map to the recipients in RCPT order
        assert assign_guids(reply, [ALICE, BOB, CAROL]) == {ALICE: G1, BOB: G2, CAROL: G3}

    def test_as_many_guids_on_one_line(self) -> None:
        assert assign_guids(f"{G1},{G2}", [ALICE, BOB]) == {ALICE: G1, BOB: G2}

    def test_more_guids_than_recipients_unnamed_maps_nothing(self) -> None:
        # Given three GUIDs for two recipients, none named
        reply = f"{G1}\n{G2}\n{G3}"
        # Then nobody can be told which is theirs
        assert assign_guids(reply, [ALICE, BOB]) == {ALICE: None, BOB: None}

    def test_fewer_guids_than_recipients_unnamed_maps_nothing(self) -> None:
        assert assign_guids(f"{G1} {G2}", [ALICE, BOB, CAROL]) == {ALICE: None, BOB: None, CAROL: None}

    def test_no_guid_at_all(self) -> None:
        assert assign_guids(b"2.0.0 Ok: queued", [ALICE, BOB]) == {ALICE: None, BOB: None}

    def test_empty_reply(self) -> None:
        assert assign_guids(b"", [ALICE]) == {ALICE: None}


class TestRefusedRecipients:
    def test_refused_recipients_are_skipped_in_rcpt_order(self) -> None:
        # Given Bob refused at RCPT and two GUIDs in the reply
        reply = f"{G1}\n{G2}"
        # Then the two GUIDs go to the two accepted recipients, in order
        assert assign_guids(reply, [ALICE, BOB, CAROL], refused={BOB}) == {ALICE: G1, CAROL: G2}

    def test_a_named_refused_recipient_keeps_its_guid_from_the_others(self) -> None:
        # Given a reply that (oddly) names the refused Bob too
        reply = f"{BOB} {G2}\n{G1}\n{G3}"
        # Then Bob gets nothing, and his GUID is not handed to anyone else
        assert assign_guids(reply, [ALICE, BOB, CAROL], refused={BOB}) == {ALICE: G1, CAROL: G3}

    def test_results_keep_the_message_order_and_the_refusals(self) -> None:
        # Given Alice refused and a single transaction GUID
        refusal = RecipientResult(ALICE, None, refused=True, code="smtp_550", detail="refused")
        # When the results are built
        results = recipient_results(f"Ok {G1}".encode(), [ALICE, BOB, CAROL], {ALICE: refusal})
        # Then Alice's refusal stays, the others share the GUID, in the message's order
        assert results == (refusal, RecipientResult(BOB, G1), RecipientResult(CAROL, G1))

    def test_results_without_any_guid(self) -> None:
        results = recipient_results(b"Ok", [ALICE, BOB], {})
        assert results == (RecipientResult(ALICE, None), RecipientResult(BOB, None))
        assert all(result.transaction_guid is None and not result.refused for result in results)
