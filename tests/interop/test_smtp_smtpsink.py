"""Our ClientConnection against Postfix's smtp-sink (C), checking what it dumped."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailproto import LocalProtocolError
from mailproto.smtp import Mailbox, MailParameters, RcptTo, RecipientReply
from tests.conftest import require_program
from tests.smtp._socket_client import SocketClient

pytestmark = pytest.mark.interop

SINK = "/usr/sbin/smtp-sink"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_sink(tmp_path: Path, *options: str) -> Iterator[tuple[int, Path]]:
    program = require_program(SINK, "apt-get install postfix")
    # smtp-sink drops privileges to nobody when run as root: pytest's tmp_path
    # (mode 0700) is out of its reach, so use a world-writable directory.
    dump = Path(tempfile.mkdtemp(prefix="mailproto-smtpsink-"))
    dump.chmod(0o777)
    port = free_port()
    user = ["-u", "nobody"] if os.geteuid() == 0 else []
    proc = subprocess.Popen(
        [program, *user, *options, "-d", f"{dump}/%M.", f"127.0.0.1:{port}", "10"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("smtp-sink did not start") from None
                time.sleep(0.05)
        yield port, dump
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(dump, ignore_errors=True)


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    yield from start_sink(tmp_path)


@pytest.fixture
def lmtp_sink(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    yield from start_sink(tmp_path, "-L")


def dumps(dump: Path, count: int) -> list[bytes]:
    deadline = time.monotonic() + 10
    while True:
        files = sorted(dump.iterdir())
        if len(files) >= count or time.monotonic() > deadline:
            return [f.read_bytes() for f in files]
        time.sleep(0.05)


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
