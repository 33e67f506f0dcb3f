"""BDAT (RFC 3030 CHUNKING) against an independent server: Postfix's own smtpd.

smtp-sink, aiosmtpd and smtplib do not speak CHUNKING; Postfix's smtpd does
(since 3.4).  It runs here without the rest of Postfix: in *stand-alone* mode
(what ``sendmail -bs`` uses) smtpd talks SMTP on its stdin/stdout and hands
each message to ``postdrop``, which writes a queue file into the maildrop
directory of a throwaway configuration (``MAIL_CONFIG``).  No master, no
listening socket, no daemons left behind: the queue file is read back with
``postcat`` and compared with what our ClientConnection sent.

Postfix does not offer BINARYMIME, so the client must refuse to use it.
``postdrop`` only honours a configuration directory other than
``/etc/postfix`` for root (it is set-gid), hence the root requirement.
"""

from __future__ import annotations

import itertools
import os
import select
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailproto import NEED_DATA, PAUSED, LocalProtocolError
from mailproto.smtp import (
    Bdat,
    ClientConnection,
    DataChunk,
    Ehlo,
    EhloReply,
    EndOfData,
    Event,
    Mailbox,
    MailFrom,
    MailParameters,
    Quit,
    RcptTo,
    Reply,
    ServerConfig,
    ServerConnection,
)
from mailproto.smtp.extensions import Body
from tests.conftest import require_program
from tests.smtp._helpers import ServerApp

pytestmark = pytest.mark.interop

SMTPD = "/usr/lib/postfix/sbin/smtpd"
MAIN_CF = """\
compatibility_level = 3.6
queue_directory = {root}/queue
data_directory = {root}/data
mail_owner = postfix
setgid_group = postdrop
myhostname = postfix.test
mydomain = test
myorigin = postfix.test
smtpd_banner = $myhostname ESMTP
# Nothing that needs the proxymap, anvil or trivial-rewrite daemons:
# stand-alone smtpd runs without master(8).
local_recipient_maps =
alias_maps =
alias_database =
smtpd_client_connection_count_limit = 0
smtpd_client_connection_rate_limit = 0
message_size_limit = {size_limit}
"""


class StandaloneSmtpd:
    """One Postfix smtpd session over pipes, driven by our ClientConnection."""

    def __init__(self, root: Path, size_limit: int) -> None:
        require_program(SMTPD, "apt-get install postfix")
        require_program("postcat", "apt-get install postfix")
        if os.geteuid() != 0:
            pytest.skip("postdrop honours a throwaway MAIL_CONFIG only for root")
        self.root = root
        (root / "conf").mkdir()
        (root / "queue" / "maildrop").mkdir(parents=True)
        (root / "data").mkdir()
        (root / "conf" / "main.cf").write_text(MAIN_CF.format(root=root, size_limit=size_limit))
        self.env = dict(os.environ, MAIL_CONFIG=str(root / "conf"))
        self.proc = subprocess.Popen(
            [SMTPD, "-S", "-n", "smtpd", "-t", "unix"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=self.env,
        )
        self.conn = ClientConnection()

    def next(self) -> Event | Reply:
        """Write what the client queued, then read until its next event."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        out = self.conn.data_to_send()
        if out:
            self.proc.stdin.write(out)
            self.proc.stdin.flush()
        deadline = time.monotonic() + 30
        while True:
            ev = self.conn.next_event()
            if ev is not NEED_DATA:
                assert ev is not PAUSED
                assert isinstance(ev, (Event, Reply))
                return ev
            ready, _, _ = select.select([self.proc.stdout], [], [], 1)
            if not ready:
                assert time.monotonic() < deadline, "smtpd did not answer"
                continue
            self.conn.receive_data(os.read(self.proc.stdout.fileno(), 65536))

    def queued(self) -> list[bytes]:
        """Header and body of every message in the maildrop, via postcat."""
        found = []
        for path in sorted((self.root / "queue" / "maildrop").iterdir()):
            done = subprocess.run(
                ["postcat", "-bh", str(path)], env=self.env, capture_output=True, check=True
            )
            found.append(done.stdout)
        return found

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait(10)
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                pipe.close()


@pytest.fixture
def smtpd(tmp_path: Path) -> Iterator[StandaloneSmtpd]:
    server = StandaloneSmtpd(tmp_path, size_limit=10_240_000)
    try:
        yield server
    finally:
        server.close()


def envelope(s: StandaloneSmtpd, **params: object) -> None:
    greeting = s.next()
    assert isinstance(greeting, Reply) and greeting.code == 220
    s.conn.send(Ehlo(domain="client.test"))
    ehlo = s.next()
    assert isinstance(ehlo, EhloReply)
    assert ehlo.extensions.chunking and ehlo.extensions.pipelining
    s.conn.send(
        MailFrom(
            sender=Mailbox(local_part="a", domain="sender.test"),
            parameters=MailParameters(**params),  # type: ignore[arg-type]
        )
    )
    s.conn.send(RcptTo(recipient=Mailbox(local_part="c", domain="rcpt.test")))
    assert [s.next().code, s.next().code] == [250, 250]  # type: ignore[union-attr]


def body_of(queued: bytes) -> bytes:
    # postcat prints the stored lines with LF; smtpd prepended its Received:.
    assert queued.startswith(b"Received: from client.test")
    return queued.split(b"(UTC)\n", 1)[1]


def test_bdat_chunks_arrive_byte_for_byte(smtpd: StandaloneSmtpd) -> None:
    envelope(smtpd, body=Body.EIGHT_BIT_MIME)
    # What DATA would have to stuff or could end on, sent raw in chunks
    # split mid-line and mid-CRLF; 8-bit text; an empty final chunk
    # ("BDAT 0 LAST"; Postfix refuses an empty non-final chunk with 551
    # "Null BDAT request").
    message = (
        b"Subject: chunked\r\nFrom: a@sender.test\r\n\r\n"
        b".leading dot\r\n..two dots\r\n.\r\nnot the end\r\n"
        + "caf\u00e9 \u20ac\r\n".encode()
        + b"x" * 5000
        + b"\r\nlast line\r\n"
    )
    cuts = [0, 7, 50, 51, 1000, len(message), len(message)]
    chunks = [message[a:b] for a, b in itertools.pairwise(cuts)]
    for i, chunk in enumerate(chunks):
        smtpd.conn.send(Bdat(size=len(chunk), last=i == len(chunks) - 1))
        if chunk:  # (a BDAT 0 has no octets to follow)
            smtpd.conn.send(DataChunk(data=chunk))  # pipelined: no wait per chunk
    got = [smtpd.next() for _ in chunks]
    assert [getattr(r, "code", r) for r in got] == [250] * len(chunks), [
        getattr(r, "text", r) for r in got
    ]
    final = got[-1]
    assert isinstance(final, Reply) and "queued as" in final.text
    smtpd.conn.send(Quit())
    assert smtpd.next().code == 221  # type: ignore[union-attr]
    (queued,) = smtpd.queued()
    assert body_of(queued) == message.replace(b"\r\n", b"\n")


def test_binarymime_not_offered_is_refused_by_the_client(smtpd: StandaloneSmtpd) -> None:
    greeting = smtpd.next()
    assert isinstance(greeting, Reply)
    smtpd.conn.send(Ehlo(domain="client.test"))
    ehlo = smtpd.next()
    assert isinstance(ehlo, EhloReply) and not ehlo.extensions.binarymime
    with pytest.raises(LocalProtocolError):
        smtpd.conn.send(
            MailFrom(
                sender=Mailbox(local_part="a", domain="sender.test"),
                parameters=MailParameters(body=Body.BINARY_MIME),
            )
        )


def test_refused_chunk_ends_the_transaction(tmp_path: Path) -> None:
    # Postfix refuses the chunk that takes the message over its size limit;
    # the chunks pipelined after it are refused too and the client, having
    # seen the failure, returns to READY and may start over.
    s = StandaloneSmtpd(tmp_path, size_limit=1000)
    try:
        envelope(s)
        for size, last in ((600, False), (600, False), (10, True)):
            s.conn.send(Bdat(size=size, last=last))
            s.conn.send(DataChunk(data=b"y" * (size - 2) + b"\r\n"))
        codes = [s.next().code for _ in range(3)]  # type: ignore[union-attr]
        assert codes[0] == 250 and codes[1] == 552 and codes[2] >= 500
        assert s.conn.state.name == "READY"
        with pytest.raises(LocalProtocolError):
            s.conn.send(Bdat(size=1, last=True))
        s.conn.send(Quit())
        assert s.next().code == 221  # type: ignore[union-attr]
        assert s.queued() == []
    finally:
        s.close()


# --- Empty chunks (RFC 3030 §2: only the last BDAT may have a chunk-size of 0) ---


@pytest.mark.parametrize("how", ["end-of-data", "empty-piece"])
def test_message_ended_by_an_empty_last_chunk(smtpd: StandaloneSmtpd, how: str) -> None:
    # Every chunk goes out without LAST; the message is then ended with
    # "BDAT 0 LAST", either by EndOfData() or by the natural loop whose last
    # piece is empty (Bdat(size=0, last=True) then DataChunk(data=b"")).
    envelope(smtpd)
    message = b"Subject: ended empty\r\n\r\none\r\ntwo\r\n"
    pieces = [message[:9], message[9:]]
    for piece in pieces:
        smtpd.conn.send(Bdat(size=len(piece)))
        smtpd.conn.send(DataChunk(data=piece))
    if how == "end-of-data":
        smtpd.conn.send(EndOfData())
    else:
        smtpd.conn.send(Bdat(size=0, last=True))
        smtpd.conn.send(DataChunk(data=b""))
    got = [smtpd.next() for _ in range(3)]
    assert [getattr(r, "code", r) for r in got] == [250, 250, 250]
    assert isinstance(got[-1], Reply) and "queued as" in got[-1].text
    assert smtpd.conn.state.name == "READY"
    smtpd.conn.send(Quit())
    assert smtpd.next().code == 221  # type: ignore[union-attr]
    (queued,) = smtpd.queued()
    assert body_of(queued) == message.replace(b"\r\n", b"\n")


def _raw_replies(s: StandaloneSmtpd, data: bytes, count: int) -> list[bytes]:
    """Write raw bytes to smtpd and read *count* reply lines (last lines only)."""
    assert s.proc.stdin is not None and s.proc.stdout is not None
    s.proc.stdin.write(data)
    s.proc.stdin.flush()
    got = b""
    deadline = time.monotonic() + 30
    while True:
        lines = [line for line in got.split(b"\r\n") if line[3:4] == b" "]
        if len(lines) >= count:
            return lines
        assert time.monotonic() < deadline, got
        ready, _, _ = select.select([s.proc.stdout], [], [], 1)
        if ready:
            got += os.read(s.proc.stdout.fileno(), 65536)


def test_empty_chunk_without_last_fails_the_transaction_here_and_there(
    smtpd: StandaloneSmtpd,
) -> None:
    # The same raw bytes to Postfix's smtpd and to our ServerConnection: a
    # "BDAT 0" without LAST is refused (Postfix: 551 5.7.1 Null BDAT
    # request; ours: 501 5.5.4), the transaction fails, the LAST chunk
    # pipelined behind it is refused and its octets are dropped (not run as
    # the RCPT command they spell), and RCPT then needs a new MAIL.
    smuggled = b"RCPT TO:<x@y.test>\r\n"
    wire = (
        b"EHLO client.test\r\nMAIL FROM:<a@sender.test>\r\nRCPT TO:<c@rcpt.test>\r\n"
        b"BDAT 3\r\na\r\nBDAT 0\r\nBDAT %d LAST\r\n%sRCPT TO:<c@rcpt.test>\r\nNOOP\r\n"
        % (len(smuggled), smuggled)
    )
    # greeting, EHLO, MAIL, RCPT, BDAT 3, BDAT 0, BDAT LAST, RCPT, NOOP
    expected = [b"2", b"2", b"2", b"2", b"2", b"5", b"5", b"5", b"2"]
    theirs = _raw_replies(smtpd, wire, len(expected))
    app = ServerApp(ServerConnection(ServerConfig(hostname="mx.test")))
    ours = [line for line in (app.greet() + app.feed(wire)).split(b"\r\n") if line[3:4] == b" "]
    assert [line[:1] for line in theirs] == expected, theirs
    assert [line[:1] for line in ours] == expected, ours
    assert theirs[5].startswith(b"551 5.7.1") and ours[5].startswith(b"501 5.5.4")
    assert theirs[7].startswith(b"503") and ours[7].startswith(b"503")  # need MAIL
    assert smtpd.queued() == [] and app.messages == []
