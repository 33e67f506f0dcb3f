"""Message-IDs and References/In-Reply-To lists (RFC 5322 §3.6.4, §4.5.4)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mailproto.imf import parse_message_id, parse_message_id_list


def test_rfc5322_appendix_a_ids() -> None:
    assert parse_message_id("<1234@local.machine.example>") == "<1234@local.machine.example>"
    assert parse_message_id(" <5678.21-Nov-1997@example.com>") == "<5678.21-Nov-1997@example.com>"
    # A.6.3: obsolete CFWS inside the id.
    assert parse_message_id("<1234   @   local(blah)  .machine .example>") == (
        "<1234@local.machine.example>"
    )


def test_references_and_in_reply_to() -> None:
    # RFC 5322 Appendix A.2
    value = "<1234@local.machine.example> <3456@example.net>"
    assert parse_message_id_list(value) == ["<1234@local.machine.example>", "<3456@example.net>"]
    # Folded, comma separated, with an obsolete phrase (§4.5.4).
    value = '<a@b.test>,\r\n\t<c@d.test> (Joe\'s message of today) "x" <e@f.test>'
    assert parse_message_id_list(value) == ["<a@b.test>", "<c@d.test>", "<e@f.test>"]


def test_tolerance() -> None:
    assert parse_message_id("<12345>") == "<12345>"
    assert parse_message_id("no-brackets@example.com") == "<no-brackets@example.com>"
    assert parse_message_id("<> <x@y.test>") == "<x@y.test>"
    assert parse_message_id("") is None
    assert parse_message_id("(just a comment)") is None
    assert parse_message_id_list("a@b.test c@d.test") == ["<a@b.test>", "<c@d.test>"]
    assert parse_message_id_list("") == []
    assert parse_message_id('<"quoted local"@x.test>') == '<"quoted local"@x.test>'


@given(st.lists(st.from_regex(r"[a-z0-9.$]{1,10}@[a-z0-9.]{1,10}", fullmatch=True), max_size=5))
def test_list_round_trip(ids: list[str]) -> None:
    value = " ".join(f"<{i}>" for i in ids)
    assert parse_message_id_list(value) == [f"<{i}>" for i in ids]


@given(st.text(max_size=200))
def test_never_raises(value: str) -> None:
    one = parse_message_id(value)
    assert one is None or (one.startswith("<") and one.endswith(">"))
    assert isinstance(parse_message_id_list(value), list)
