"""Our ClientConnection against Postfix's smtp-sink (C), checking what it dumped."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mailproto import LocalProtocolError
from mailproto.smtp import Mailbox, MailParameters, RcptTo, RecipientReply
from tests.interop.smtpsink import dumps, start_sink
from tests.smtp._socket_client import SocketClient

pytestmark = pytest.mark.interop


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    yield from start_sink(tmp_path)


@pytest.fixture
def lmtp_sink(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    yield from start_sink(tmp_path, "-L")


def check_dump(raw: bytes, sender: str, recipients: list[str], body: bytes) -> None:
    # smtp-sink writes its own header lines, then the message as received,
    # one line per LF.
    assert f"X-Mail-Args: <{sender}>".encode() in raw
    for rcpt in recipients:
        assert f"X-Rcpt-Args: <{rcpt}>".encode() in raw
    assert body.replace(b"\r\n", b"\n") in raw


def test_pipelined_delivery(sink: tuple[int, Path]) -> None:
    port, dump = sink
    body = b"Subject: to smtp-sink\r\n\r\n.leading dot\r\n..two dots\r\n.\r\nlast\r\n"
    client = SocketClient("127.0.0.1", port)
    client.ehlo()
    assert client.conn.extensions.pipelining
    replies = client.send_message("a@example.org", ["c@example.net", "d@example.net"], body)
    assert [r.code for r in replies] == [250, 250, 250, 354, 250]
    assert client.quit().code == 221
    (raw,) = dumps(dump, 1)
    check_dump(raw, "a@example.org", ["c@example.net", "d@example.net"], body)


def test_several_messages_one_session(sink: tuple[int, Path]) -> None:
    port, dump = sink
    client = SocketClient("127.0.0.1", port)
    client.ehlo()
    bodies = [f"Subject: {i}\r\n\r\n{'x' * i * 100}\r\n".encode() for i in range(1, 4)]
    assert "SIZE" not in client.conn.extensions
    with pytest.raises(LocalProtocolError):  # SIZE was not advertised
        client.send_message(
            "a@example.org", ["c@example.net"], b"x", parameters=MailParameters(size=1)
        )
    for body in bodies:
        assert client.send_message("a@example.org", ["c@example.net"], body)[-1].code == 250
    client.quit()
    raws = dumps(dump, 3)
    assert len(raws) == 3
    for body in bodies:
        assert any(body.replace(b"\r\n", b"\n") in raw for raw in raws)


def test_lmtp_per_recipient_replies(lmtp_sink: tuple[int, Path]) -> None:
    port, dump = lmtp_sink
    client = SocketClient("127.0.0.1", port, lmtp=True)
    assert client.ehlo().code == 250
    body = b"Subject: lmtp\r\n\r\nhello\r\n"
    conn = client.conn
    from mailproto.smtp import Data, DataChunk, EndOfData, MailFrom

    conn.send(MailFrom(sender=Mailbox.parse("a@example.org")))
    conn.send(RcptTo(recipient=Mailbox.parse("c@example.net")))
    conn.send(RcptTo(recipient=Mailbox.parse("d@example.net")))
    conn.send(Data())
    assert [client.reply().code for _ in range(4)] == [250, 250, 250, 354]
    conn.send(DataChunk(data=body))
    conn.send(EndOfData())
    results = [client.next(), client.next()]
    assert all(isinstance(r, RecipientReply) and r.reply.code == 250 for r in results)
    assert [r.recipient.local_part for r in results if isinstance(r, RecipientReply)] == ["c", "d"]
    client.quit()
    (raw,) = dumps(dump, 1)
    check_dump(raw, "a@example.org", ["c@example.net", "d@example.net"], body)
