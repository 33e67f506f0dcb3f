"""The application answers non-final BDAT chunks (RFC 3030 §2), both sides.

RFC 3030 §2: the receiver may reply to every chunk; "If a 5XX or 4XX code is
received by the sender-SMTP in response to any BDAT chunk, the transaction
should be considered failed and the sender-SMTP MUST NOT send any additional
BDAT segments", and a receiver that offers PIPELINING "MUST be prepared to
accept and discard additional BDAT chunks already in the pipeline after the
failed BDAT".  The octets of every refused chunk are still read, so nothing
in them is ever taken for a command.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs
import pytest

from mailproto import PAUSED, LocalProtocolError
from mailproto.smtp import (
    Bdat,
    ClientConnection,
    CommandRejected,
    DataChunk,
    Ehlo,
    EndOfChunk,
    EndOfData,
    Event,
    Mailbox,
    MailFrom,
    RcptTo,
    Reply,
    ServerConfig,
    ServerConnection,
    State,
    replies,
)
from tests.smtp._helpers import Pair, ServerApp, replies_of

CONFIRM = ServerConfig(hostname="mx.test", confirm_chunks=True)
ENVELOPE = b"EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\n"


def codes(output: bytes) -> list[int]:
    return [int(line[:3]) for line in output.split(b"\r\n") if line[3:4] == b" "]


def refuse_chunk(number: int, reply: Reply) -> Callable[[Event], Reply | None]:
    seen = {"chunks": 0}

    def decide(event: Event) -> Reply | None:
        if isinstance(event, EndOfChunk):
            seen["chunks"] += 1
            if seen["chunks"] == number:
                return reply
        return None

    return decide


def test_each_non_final_chunk_waits_for_the_application() -> None:
    conn = ServerConnection(CONFIRM)
    conn.send(Reply(code=220, lines="hi"))
    conn.receive_data(ENVELOPE + b"BDAT 3\r\nabcBDAT 2 LAST\r\nde")
    events: list[object] = []
    while (ev := conn.next_event()) is not PAUSED or not isinstance(events[-1], EndOfChunk):
        if ev is PAUSED:
            conn.send(Reply(code=250, lines="ok"))
        else:
            events.append(ev)
    assert events[-1] == EndOfChunk(size=3, received=3)
    assert [type(e) for e in events[-3:]] == [Bdat, DataChunk, EndOfChunk]
    conn.data_to_send()
    assert conn.next_event() is PAUSED  # nothing more is read until answered
    conn.send(replies.CHUNK_OK)
    assert conn.data_to_send() == b"250 2.0.0 Chunk received\r\n"
    assert isinstance(conn.next_event(), Bdat)
    assert conn.next_event() == DataChunk(data=b"de")
    assert isinstance(conn.next_event(), EndOfData)
    conn.send(replies.MESSAGE_ACCEPTED)
    assert conn.state is State.READY


def test_confirm_chunks_off_answers_by_itself() -> None:
    app = ServerApp(ServerConnection(attrs.evolve(CONFIRM, confirm_chunks=False)))
    app.greet()
    out = app.feed(ENVELOPE + b"BDAT 3\r\nabcBDAT 2 LAST\r\nde")
    assert codes(out) == [250, 250, 250, 250, 250]
    assert not any(isinstance(e, EndOfChunk) for e in app.events)
    assert app.messages[0].data == b"abcde"


@pytest.mark.parametrize("reply", [replies.MESSAGE_TOO_BIG, replies.INSUFFICIENT_STORAGE])
def test_refused_chunk_fails_the_transaction_and_pipelined_chunks_are_discarded(
    reply: Reply,
) -> None:
    app = ServerApp(ServerConnection(CONFIRM), decide=refuse_chunk(2, reply))
    app.greet()
    # Chunk 3 carries what looks like commands: they must be read as octets.
    smuggled = b"MAIL FROM:<evil@x.example>\r\n"
    out = app.feed(
        ENVELOPE
        + b"BDAT 3\r\nabcBDAT 4\r\ndefgBDAT %d\r\n%sBDAT 0 LAST\r\nNOOP\r\n"
        % (len(smuggled), smuggled)
    )
    assert codes(out) == [250, 250, 250, 250, reply.code, 503, 503, 250]
    assert app.messages == []
    assert sum(isinstance(e, MailFrom) for e in app.events) == 1
    rejected = [e for e in app.events if isinstance(e, CommandRejected)]
    assert [r.reply for r in rejected] == [replies.NEED_MAIL, replies.NEED_MAIL]
    assert app.conn.state is State.READY and app.conn.mail_from is None
    # The session goes on: a new transaction works.
    out = app.feed(b"MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nBDAT 1 LAST\r\nz")
    assert codes(out) == [250, 250, 250]
    assert app.messages[0].data == b"z"


def test_chunk_reply_checks() -> None:
    conn = ServerConnection(CONFIRM)
    conn.send(Reply(code=220, lines="hi"))
    conn.receive_data(ENVELOPE + b"BDAT 1\r\na")
    last: object = None
    while (ev := conn.next_event()) is not PAUSED or not isinstance(last, EndOfChunk):
        if ev is PAUSED:
            conn.send(replies.OK)
        else:
            last = ev
    with pytest.raises(LocalProtocolError):
        conn.send(Reply(code=354, lines="no"))
    assert conn.awaiting_reply  # unchanged by the bad reply
    conn.send(replies.CHUNK_OK)
    assert conn.state is State.BDAT


def test_client_stops_after_a_refused_chunk() -> None:
    pair = Pair.start(
        ServerConnection(CONFIRM),
    )
    pair.app.decide = refuse_chunk(1, replies.INSUFFICIENT_STORAGE)
    pair.exchange(Ehlo(domain="c"))
    sender = Mailbox(local_part="a", domain="b.example")
    pair.exchange(
        MailFrom(sender=sender),
        RcptTo(recipient=Mailbox(local_part="c", domain="d.example")),
    )
    client = pair.client
    # Pipelined: both chunks go out before any reply (PIPELINING advertised).
    client.send(Bdat(size=3))
    client.send(DataChunk(data=b"abc"))
    client.send(Bdat(size=2, last=True))
    client.send(DataChunk(data=b"de"))
    got = pair.flush()
    assert replies_of(got) == [452, 503]
    assert client.state is State.READY
    assert pair.app.messages == [] and pair.server.state is State.READY
    with pytest.raises(LocalProtocolError):
        client.send(Bdat(size=1, last=True))
    # A new transaction goes through.
    got = pair.exchange(
        MailFrom(sender=sender), RcptTo(recipient=Mailbox(local_part="c", domain="d.example"))
    )
    client.send(Bdat(size=2, last=True))
    client.send(DataChunk(data=b"ok"))
    assert replies_of(pair.flush()) == [250]
    assert pair.app.messages[0].data == b"ok"


def test_client_refused_chunk_from_a_foreign_server() -> None:
    # The reply sequence another server sends (554 on the chunk, then 503 for
    # the pipelined LAST), fed to the client directly.
    client = ClientConnection()
    client.receive_data(b"220 mx\r\n")
    client.next_event()
    client.send(Ehlo(domain="c"))
    client.receive_data(b"250-mx\r\n250-PIPELINING\r\n250 CHUNKING\r\n")
    client.next_event()
    client.send(MailFrom(sender=None))
    client.send(RcptTo(recipient=Mailbox(local_part="c", domain="d.example")))
    client.send(Bdat(size=1))
    client.send(DataChunk(data=b"x"))
    client.send(Bdat(size=0, last=True))
    client.receive_data(b"250 ok\r\n250 ok\r\n554 5.6.0 no thanks\r\n503 5.5.1 no MAIL\r\n")
    got = [client.next_event() for _ in range(4)]
    assert replies_of(got) == [250, 250, 554, 503]
    assert client.state is State.READY and client.pending_replies == 0
    assert client.accepted_recipients == []
