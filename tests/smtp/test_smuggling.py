"""SMTP smuggling (CVE-2023-51764/51765/51766 class) and STARTTLS injection.

Each variant hides a fake end-of-data followed by a second transaction inside
one message.  Whatever the bare-line-ending policy, the server must see one
message (or refuse it) and never execute the smuggled commands.
"""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailproto import RemoteProtocolError
from mailproto.smtp import (
    BareLineEndings,
    ClientConnection,
    Ehlo,
    MailFrom,
    MessageAborted,
    Reply,
    ServerConfig,
    ServerConnection,
    StartTLS,
    State,
)
from tests.smtp._helpers import ServerApp

SMUGGLED = b"MAIL FROM:<admin@bank.example>\r\nRCPT TO:<victim@x.example>\r\nDATA\r\nevil\r\n"

VARIANTS = {
    "lf-dot-lf": b"\n.\n",
    "lf-dot-crlf": b"\n.\r\n",
    "crlf-dot-lf": b"\r\n.\n",
    "cr-dot-cr": b"\r.\r",
    "cr-dot-crlf": b"\r.\r\n",
    "crlf-dot-cr": b"\r\n.\r",
    "nul-dot": b"\r\n\x00.\r\n",
    "dot-nul": b"\r\n.\x00\r\n",
}


def run(policy: BareLineEndings, fake_end: bytes, allow_nul: bool = False) -> ServerApp:
    app = ServerApp(ServerConnection(ServerConfig(bare_line_endings=policy, allow_nul=allow_nul)))
    app.greet()
    app.feed(b"EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\n")
    app.feed(b"Subject: hi\r\n\r\nbody" + fake_end + SMUGGLED + b"\r\n.\r\nQUIT\r\n")
    return app


@pytest.mark.parametrize("fake_end", VARIANTS.values(), ids=VARIANTS.keys())
def test_default_policy_refuses_and_executes_nothing(fake_end: bytes) -> None:
    app = run(BareLineEndings.REJECT, fake_end)
    mails = [e for e in app.events if isinstance(e, MailFrom)]
    assert len(mails) == 1  # only the real one
    assert app.messages == []
    assert any(isinstance(e, MessageAborted) and e.reply.code == 550 for e in app.events)
    assert app.conn.state is State.CLOSED  # QUIT was the next command


@pytest.mark.parametrize("fake_end", VARIANTS.values(), ids=VARIANTS.keys())
@pytest.mark.parametrize("policy", [BareLineEndings.ACCEPT, BareLineEndings.NORMALIZE])
def test_lenient_policies_keep_one_message(policy: BareLineEndings, fake_end: bytes) -> None:
    app = run(policy, fake_end, allow_nul=True)
    mails = [e for e in app.events if isinstance(e, MailFrom)]
    assert len(mails) == 1
    assert len(app.messages) == 1
    data = app.messages[0].data
    assert b"MAIL FROM:<admin@bank.example>" in data  # content, not a command
    if policy is BareLineEndings.NORMALIZE:
        # No bare CR or LF survives normalisation, and normalising did not
        # turn the fake terminator into a "." line: it is an empty line.
        assert data.count(b"\n") == data.count(b"\r\n") == data.count(b"\r")
        assert b"\r\n.\r\n" not in data
        if b"\x00" not in fake_end:
            assert b"body\r\n\r\nMAIL FROM:<admin@bank.example>" in data


def test_normalize_unstuffs_dots_after_bare_line_ends() -> None:
    # A client that ends lines with bare LF still stuffs its dots (smtplib
    # does): with NORMALIZE the dot comes off whatever ended the line before.
    app = ServerApp(ServerConnection(ServerConfig(bare_line_endings=BareLineEndings.NORMALIZE)))
    app.greet()
    app.feed(b"EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\n")
    app.feed(b"Subject: x\n\n..\nbody\r..two\r\n..three\n\r\n.\r\nQUIT\r\n")
    assert [m.data for m in app.messages] == [
        b"Subject: x\r\n\r\n.\r\nbody\r\n.two\r\n.three\r\n\r\n"
    ]
    assert app.conn.state is State.CLOSED


def test_nul_refused_by_default() -> None:
    app = run(BareLineEndings.ACCEPT, b"\r\nhello\x00world\r\n")
    assert app.messages == [] and app.aborted == 1


def test_bdat_bare_lf_refused_unless_binarymime() -> None:
    app = ServerApp(ServerConnection())
    app.greet()
    app.feed(b"EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\n")
    app.feed(b"BDAT 9 LAST\r\nx\n.\nMAIL ")
    assert app.messages == [] and app.aborted == 1
    app.feed(b"MAIL FROM:<a@b.example> BODY=BINARYMIME\r\nRCPT TO:<c@d.example>\r\n")
    app.feed(b"BDAT 9 LAST\r\nx\n.\nMAIL ")
    assert app.messages[0].data == b"x\n.\nMAIL "


def test_bdat_crlf_split_across_pieces_is_not_bare() -> None:
    app = ServerApp(ServerConnection())
    app.greet()
    app.feed(b"EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\n")
    app.feed(b"BDAT 6 LAST\r\nab\r")
    app.feed(b"\ncd")
    assert app.messages[0].data == b"ab\r\ncd"


def test_server_starttls_command_injection() -> None:
    app = ServerApp(ServerConnection(ServerConfig(starttls=True)))
    app.greet()
    app.feed(b"EHLO c\r\n")
    app.feed(b"STARTTLS\r\nMAIL FROM:<evil@x.example>\r\n")
    assert any(isinstance(e, StartTLS) for e in app.events)
    app.conn.start_tls_done()
    app.feed(b"")
    assert not any(isinstance(e, MailFrom) for e in app.events)


def test_client_starttls_response_injection() -> None:
    client = ClientConnection()
    client.receive_data(b"220 mx ESMTP\r\n")
    client.next_event()
    client.send(Ehlo(domain="c"))
    client.receive_data(b"250-mx\r\n250 STARTTLS\r\n")
    client.next_event()
    client.send(StartTLS())
    # A man in the middle appends a forged reply to the 220 in plaintext.
    client.receive_data(b"220 go ahead\r\n250 forged\r\n")
    with pytest.raises(RemoteProtocolError):
        client.next_event()


def test_client_rejects_bytes_before_handshake_completes() -> None:
    client = ClientConnection()
    client.receive_data(b"220 mx ESMTP\r\n")
    client.next_event()
    client.send(Ehlo(domain="c"))
    client.receive_data(b"250-mx\r\n250 STARTTLS\r\n")
    client.next_event()
    client.send(StartTLS())
    client.receive_data(b"220 go ahead\r\n")
    assert isinstance(client.next_event(), Reply)
    client.receive_data(b"250 injected later\r\n")
    with pytest.raises(RemoteProtocolError):
        client.next_event()
    with pytest.raises(RemoteProtocolError):
        client.start_tls_done()


def test_client_unsolicited_reply_is_injection() -> None:
    client = ClientConnection()
    client.receive_data(b"220 mx ESMTP\r\n250 surprise\r\n")
    client.next_event()
    with pytest.raises(RemoteProtocolError):
        client.next_event()


@given(
    content=st.lists(
        st.sampled_from([b"\r\n", b"\r", b"\n", b".", b"a", b"\r\n.\r\n"]), max_size=30
    ).map(b"".join),
    sizes=st.lists(st.integers(0, 7), max_size=6),
    cuts=st.lists(st.integers(min_value=0), max_size=6),
)
def test_bdat_normalize_is_per_line_end_whatever_the_chunks(
    content: bytes, sizes: list[int], cuts: list[int]
) -> None:
    # BDAT carries no dot-stuffing: NORMALIZE only turns bare CR and LF into
    # CRLF, the same however the client cut the message into chunks and
    # however the bytes arrived (a CRLF may straddle chunks and pieces).
    chunks, pos = [], 0
    for size in sizes:
        chunks.append(content[pos : pos + size])
        pos += size
    chunks.append(content[pos:])
    # Only the last chunk may be empty (RFC 3030 §2; test_bdat_empty.py).
    chunks = [c for c in chunks[:-1] if c] + chunks[-1:]
    wire = b"".join(
        b"BDAT %d%s\r\n%s" % (len(c), b" LAST" if i == len(chunks) - 1 else b"", c)
        for i, c in enumerate(chunks)
    )
    app = ServerApp(ServerConnection(ServerConfig(bare_line_endings=BareLineEndings.NORMALIZE)))
    app.greet()
    app.feed(b"EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\n")
    points = sorted({c % (len(wire) + 1) for c in cuts} | {0, len(wire)})
    for a, b in itertools.pairwise(points):
        app.feed(wire[a:b])
    expected = content.replace(b"\r\n", b"\n").replace(b"\r", b"\n").replace(b"\n", b"\r\n")
    assert [m.data for m in app.messages] == [expected]


def test_bdat_binarymime_is_never_normalized() -> None:
    app = ServerApp(ServerConnection(ServerConfig(bare_line_endings=BareLineEndings.NORMALIZE)))
    app.greet()
    app.feed(b"EHLO c\r\nMAIL FROM:<a@b.example> BODY=BINARYMIME\r\nRCPT TO:<c@d.example>\r\n")
    app.feed(b"BDAT 4 LAST\r\na\nb\r")
    assert [m.data for m in app.messages] == [b"a\nb\r"]
