"""Empty BDAT chunks (RFC 3030 §2), both sides.

RFC 3030 §2: "The last BDAT command MAY have a byte-count of zero indicating
there is no additional data to be sent."  That is how a sender ends a message
whose last chunk went out without LAST (``BDAT 0 LAST``), and it is the whole
message when the message is empty.  Only the *last* chunk may be empty: a
``BDAT 0`` without LAST carries nothing and ends nothing.  Postfix answers it
``551 5.7.1 Null BDAT request`` and fails the transaction (see
test_postfix_chunking.py); our server refuses it with
:data:`~mailproto.smtp.replies.EMPTY_CHUNK_NOT_LAST` and fails the transaction
too, as an error reply to any chunk does; our client refuses to send it.
"""

from __future__ import annotations

import pytest

from mailproto import LocalProtocolError
from mailproto.smtp import (
    Bdat,
    ClientConnection,
    CommandRejected,
    DataChunk,
    Ehlo,
    EndOfData,
    Mailbox,
    MailFrom,
    MessageAborted,
    Noop,
    RcptTo,
    ServerConfig,
    ServerConnection,
    State,
    replies,
)
from tests.smtp._helpers import Pair, ServerApp, replies_of

CONFIG = ServerConfig(hostname="mx.test")
ENVELOPE = b"EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\n"
SENDER = Mailbox(local_part="a", domain="b.example")
RECIPIENT = Mailbox(local_part="c", domain="d.example")


def codes(output: bytes) -> list[int]:
    return [int(line[:3]) for line in output.split(b"\r\n") if line[3:4] == b" "]


def server() -> ServerApp:
    app = ServerApp(ServerConnection(CONFIG))
    app.greet()
    return app


# --- server -------------------------------------------------------------------


@pytest.mark.parametrize("before", [b"", b"BDAT 3\r\nabc"], ids=["first chunk", "later chunk"])
def test_server_refuses_an_empty_chunk_without_last_and_fails_the_transaction(
    before: bytes,
) -> None:
    app = server()
    # The LAST chunk pipelined behind it carries what looks like a command:
    # its octets are read and dropped, never executed.
    smuggled = b"RCPT TO:<evil@x.example>\r\n"
    out = app.feed(
        ENVELOPE + before + b"BDAT 0\r\nBDAT %d LAST\r\n%sNOOP\r\n" % (len(smuggled), smuggled)
    )
    chunk_ok = [250] if before else []
    assert codes(out) == [250, 250, 250, *chunk_ok, 501, 503, 250]
    assert b"501 5.5.4 Only the last BDAT chunk may be empty" in out
    rejected = [e for e in app.events if isinstance(e, CommandRejected)]
    assert [(r.line, r.reply) for r in rejected] == [
        (b"BDAT 0", replies.EMPTY_CHUNK_NOT_LAST),
        (b"BDAT %d LAST" % len(smuggled), replies.NEED_MAIL),
    ]
    assert not any(isinstance(e, RcptTo) and e.recipient.local_part == "evil" for e in app.events)
    aborted = [e for e in app.events if isinstance(e, MessageAborted)]
    assert aborted == [MessageAborted(reply=replies.EMPTY_CHUNK_NOT_LAST)]
    assert app.messages == []
    assert app.conn.state is State.READY and app.conn.mail_from is None
    assert app.conn.recipients == []
    # The session goes on: a new transaction works.
    out = app.feed(b"MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nBDAT 2 LAST\r\nok")
    assert codes(out) == [250, 250, 250]
    assert [m.data for m in app.messages] == [b"ok"]


def test_server_empty_last_chunk_ends_the_message() -> None:
    app = server()
    out = app.feed(ENVELOPE + b"BDAT 6\r\nab\r\ncdBDAT 0 LAST\r\n")
    assert codes(out) == [250, 250, 250, 250, 250]
    assert [m.data for m in app.messages] == [b"ab\r\ncd"]
    bdats = [e for e in app.events if isinstance(e, Bdat)]
    assert bdats == [Bdat(size=6), Bdat(size=0, last=True)]
    assert isinstance(app.events[-1], EndOfData)
    assert app.conn.state is State.READY


def test_server_empty_message_is_one_empty_last_chunk() -> None:
    app = server()
    out = app.feed(ENVELOPE + b"BDAT 0 LAST\r\n")
    assert codes(out) == [250, 250, 250, 250]
    assert [m.data for m in app.messages] == [b""]
    assert not any(isinstance(e, DataChunk) for e in app.events)


def test_server_empty_last_chunk_in_every_split() -> None:
    # Same events whichever way the bytes arrive (the empty chunk has no
    # octets to wait for, the chunk before it ends exactly at its size).
    wire = ENVELOPE + b"BDAT 4\r\nx\r\nyBDAT 0 LAST\r\nNOOP\r\n"
    whole = server()
    expected = codes(whole.feed(wire))
    assert expected == [250, 250, 250, 250, 250, 250]
    for cut in range(1, len(wire)):
        app = server()
        out = app.feed(wire[:cut]) + app.feed(wire[cut:])
        assert codes(out) == expected, cut
        assert [m.data for m in app.messages] == [b"x\r\ny"], cut


# --- client -------------------------------------------------------------------


def ready_pair() -> Pair:
    pair = Pair.start(ServerConnection(CONFIG))
    pair.exchange(Ehlo(domain="c"))
    pair.exchange(MailFrom(sender=SENDER), RcptTo(recipient=RECIPIENT))
    return pair


def test_client_refuses_an_empty_chunk_without_last() -> None:
    pair = ready_pair()
    with pytest.raises(LocalProtocolError, match="only the last BDAT chunk may be empty"):
        pair.client.send(Bdat(size=0))
    assert pair.client.data_to_send() == b""  # nothing was queued
    assert pair.client.pending_replies == 0
    # The transaction is intact: an empty last chunk sends an empty message.
    pair.client.send(Bdat(size=0, last=True))
    assert replies_of(pair.flush()) == [250]
    assert [m.data for m in pair.app.messages] == [b""]


def test_client_loop_with_an_empty_last_chunk() -> None:
    # The natural loop: a BDAT per piece, then the piece; the last piece is
    # empty (the message ended exactly at a chunk boundary).
    pair = ready_pair()
    chunks = [b"Subject: x\r\n\r\n", b"body\r\n", b""]
    for i, chunk in enumerate(chunks):
        pair.client.send(Bdat(size=len(chunk), last=i == len(chunks) - 1))
        pair.client.send(DataChunk(data=chunk))
    got = pair.flush()
    assert replies_of(got) == [250, 250, 250]
    assert pair.c2s.endswith(b"BDAT 6\r\nbody\r\nBDAT 0 LAST\r\n")
    assert [m.data for m in pair.app.messages] == [b"Subject: x\r\n\r\nbody\r\n"]
    assert pair.client.state is State.READY


def test_client_end_of_data_after_chunks_sends_an_empty_last_chunk() -> None:
    pair = ready_pair()
    pair.client.send(Bdat(size=3))
    pair.client.send(DataChunk(data=b"abc"))
    pair.client.send(EndOfData())
    got = pair.flush()
    assert replies_of(got) == [250, 250]
    assert pair.c2s.endswith(b"BDAT 3\r\nabcBDAT 0 LAST\r\n")
    assert [m.data for m in pair.app.messages] == [b"abc"]
    # and the session goes on
    assert replies_of(pair.exchange(Noop())) == [250]


def test_client_still_refuses_octets_beyond_the_chunk() -> None:
    client = ClientConnection()
    client.receive_data(b"220 mx\r\n")
    client.next_event()
    client.send(Ehlo(domain="c"))
    client.receive_data(b"250-mx\r\n250-PIPELINING\r\n250 CHUNKING\r\n")
    client.next_event()
    client.send(MailFrom(sender=None))
    client.send(RcptTo(recipient=RECIPIENT))
    client.send(Bdat(size=0, last=True))
    client.send(DataChunk(data=b""))  # nothing: fine
    with pytest.raises(LocalProtocolError, match="exceeds the BDAT size"):
        client.send(DataChunk(data=b"x"))
    assert client.data_to_send().endswith(b"BDAT 0 LAST\r\n")
    # Without any BDAT, an empty piece is still out of place.
    fresh = ClientConnection()
    with pytest.raises(LocalProtocolError):
        fresh.send(DataChunk(data=b""))


def test_server_refusal_of_an_empty_chunk_in_every_split() -> None:
    wire = ENVELOPE + b"BDAT 2\r\nabBDAT 0\r\nBDAT 3 LAST\r\nxyzNOOP\r\n"
    whole = server()
    expected = whole.feed(wire)
    assert codes(expected) == [250, 250, 250, 250, 501, 503, 250]
    for cut in range(1, len(wire)):
        app = server()
        assert app.feed(wire[:cut]) + app.feed(wire[cut:]) == expected, cut
        assert app.messages == [] and app.conn.state is State.READY, cut
        # (DataChunk events follow the arrival of the octets; the rest not.)
        assert [e for e in app.events if not isinstance(e, DataChunk)] == [
            e for e in whole.events if not isinstance(e, DataChunk)
        ], cut
        assert b"".join(e.data for e in app.events if isinstance(e, DataChunk)) == b"ab", cut
