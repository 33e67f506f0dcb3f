"""Received trace fields (RFC 5322 §3.6.7, RFC 5321 §4.4)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from mailproto.imf import Received, parse_received


def test_rfc5322_appendix_a_6_3() -> None:
    r = parse_received(
        "from x.y.test\r\n   by example.net\r\n   via TCP\r\n   with ESMTP\r\n   id ABC12345\r\n"
        "   for <mary@example.net>;  21 Nov 1997 10:05:43 -0600"
    )
    assert (r.from_, r.by, r.via, r.with_, r.id, r.for_) == (
        "x.y.test",
        "example.net",
        "TCP",
        "ESMTP",
        "ABC12345",
        "<mary@example.net>",
    )
    assert r.date == datetime(1997, 11, 21, 10, 5, 43, tzinfo=timezone(timedelta(hours=-6)))
    assert [k for k, _ in r.clauses] == ["from", "by", "via", "with", "id", "for"]


def test_postfix_style_with_comments() -> None:
    r = parse_received(
        "from mail.example.com (mail.example.com [192.0.2.1])\r\n\t(using TLSv1.3 with cipher "
        "TLS_AES_256_GCM_SHA384 (256/256 bits))\r\n\tby mx.example.org (Postfix) with ESMTPS id "
        "4ABC123\r\n\tfor <user@example.org>; Tue, 1 Jul 2003 10:52:37 +0200 (CEST)"
    )
    assert r.from_ == "mail.example.com"
    assert r.by == "mx.example.org"
    assert r.with_ == "ESMTPS"  # the "with" inside the TLS comment is not a clause
    assert r.id == "4ABC123"
    assert r.for_ == "<user@example.org>"
    assert r.date == datetime(2003, 7, 1, 10, 52, 37, tzinfo=timezone(timedelta(hours=2)))
    assert r.clauses[0] == (
        "from",
        "mail.example.com (mail.example.com [192.0.2.1])\r\n\t(using TLSv1.3 with cipher "
        "TLS_AES_256_GCM_SHA384 (256/256 bits))",
    )


def test_partial_and_broken() -> None:
    r = parse_received("by 10.1.2.3 with SMTP id abc")
    assert (r.from_, r.by, r.with_, r.id, r.date, r.date_text) == (
        None,
        "10.1.2.3",
        "SMTP",
        "abc",
        None,
        "",
    )
    r = parse_received("")
    assert r == Received()
    r = parse_received("from a (unclosed comment by b; date")
    assert r.from_ == "a" and r.by is None


@given(st.text(max_size=200))
def test_never_raises(value: str) -> None:
    assert isinstance(parse_received(value), Received)
