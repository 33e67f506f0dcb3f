"""RFC 5322 Appendix A messages rebuilt with the builder.

Each example's fields are given to the builder as a user would; the output
must contain the example's field lines (modulo the field order, which the
RFC leaves free, and CRLF), and the threading fields of the A.2 replies
must come out as the RFC shows them.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from mailproto import mime
from mailproto.imf.addresses import Address, Group
from mailproto.mime.builder import MessageBuilder
from tests.mime_build.checker import check_message

CST = timezone(timedelta(hours=-6))


def _a_1_1() -> MessageBuilder:
    # RFC 5322 A.1.1: a message from one person to another with simple addressing.
    b = MessageBuilder()
    b.from_("John Doe <jdoe@machine.example>").to("Mary Smith <mary@example.net>")
    b.subject("Saying Hello").date(datetime(1997, 11, 21, 9, 55, 6, tzinfo=CST))
    b.message_id("<1234@local.machine.example>")
    b.text('This is a message just to say hello.\nSo, "Hello".\n')
    return b


def test_a_1_1_simple_addressing() -> None:
    raw = _a_1_1().as_bytes()
    for line in [
        b"From: John Doe <jdoe@machine.example>\r\n",
        b"To: Mary Smith <mary@example.net>\r\n",
        b"Subject: Saying Hello\r\n",
        b"Date: Fri, 21 Nov 1997 09:55:06 -0600\r\n",
        b"Message-ID: <1234@local.machine.example>\r\n",
    ]:
        assert line in raw
    assert raw.endswith(b'\r\n\r\nThis is a message just to say hello.\r\nSo, "Hello".\r\n')
    assert check_message(raw) == []


def test_a_1_2_different_types_of_mailboxes() -> None:
    # A.1.2: display names with specials are quoted; the multi-address To.
    b = MessageBuilder()
    b.from_('"Joe Q. Public" <john.q.public@example.com>')
    b.to(["Mary Smith <mary@x.test>", "jdoe@example.org", "Who? <one@y.test>"])
    b.cc(["<boss@nil.test>", '"Giant; \\"Big\\" Box" <sysservices@example.net>'])
    b.date(datetime(2003, 7, 1, 10, 52, 37, tzinfo=timezone(timedelta(hours=2))))
    b.message_id("<5678.21-Nov-1997@example.com>")
    raw = b.as_bytes()
    assert b'From: "Joe Q. Public" <john.q.public@example.com>\r\n' in raw
    assert b"To: Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>\r\n" in raw
    assert b'Cc: boss@nil.test, "Giant; \\"Big\\" Box" <sysservices@example.net>\r\n' in raw
    assert b"Date: Tue, 01 Jul 2003 10:52:37 +0200\r\n" in raw
    cc = mime.parse(raw).headers.addresses("Cc")
    assert cc[1].display_name == 'Giant; "Big" Box'
    assert check_message(raw) == []


def test_a_1_3_group_addresses() -> None:
    b = MessageBuilder().from_("Pete <pete@silly.example>")
    b.to(
        Group(
            display_name="A Group",
            members=(
                Address(display_name="Ed Jones", local_part="c", domain="a.test"),
                Address(local_part="joe", domain="where.test"),
                Address(display_name="John", local_part="jdoe", domain="one.test"),
            ),
        )
    )
    b.cc(Group(display_name="Undisclosed recipients", members=()))
    raw = b.as_bytes()
    assert b"To: A Group: Ed Jones <c@a.test>, joe@where.test, John <jdoe@one.test>;\r\n" in raw
    assert b"Cc: Undisclosed recipients:;\r\n" in raw
    # The same group given as the RFC's text parses to the same output.
    again = MessageBuilder().to("A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;")
    assert b"To: A Group: Ed Jones <c@a.test>, joe@where.test, John <jdoe@one.test>;\r\n" in (
        again.as_bytes()
    )


def test_a_2_reply_chain() -> None:
    # A.2: Mary replies to John's A.1.1 message, then John replies to Mary.
    original = _a_1_1().build()
    reply = MessageBuilder().from_("Mary Smith <mary@example.net>")
    reply.to("John Doe <jdoe@machine.example>").reply_to(
        '"Mary Smith: Personal Account" <smith@home.example>'
    )
    reply.subject("Re: Saying Hello").message_id("<3456@example.net>").in_reply_to(original)
    reply.date(datetime(1997, 11, 21, 10, 1, 10, tzinfo=CST)).text(
        "This is a reply to your hello.\n"
    )
    raw = reply.as_bytes()
    assert b"In-Reply-To: <1234@local.machine.example>\r\n" in raw
    assert b"References: <1234@local.machine.example>\r\n" in raw
    assert b'Reply-To: "Mary Smith: Personal Account" <smith@home.example>\r\n' in raw
    second = MessageBuilder().from_("John Doe <jdoe@machine.example>")
    second.to('"Mary Smith: Personal Account" <smith@home.example>')
    second.subject("Re: Saying Hello").message_id("<abcd.1234@local.machine.test>")
    second.in_reply_to(reply.build())
    raw2 = second.as_bytes()
    assert b"In-Reply-To: <3456@example.net>\r\n" in raw2
    assert b"References: <1234@local.machine.example> <3456@example.net>\r\n" in raw2
    assert check_message(raw2) == []
