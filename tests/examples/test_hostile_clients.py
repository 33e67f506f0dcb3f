"""Hostile clients against the reference server: each attack gets a protocol
error (or a closed connection) and the server keeps serving everyone else."""

from __future__ import annotations

import contextlib
import imaplib
import poplib
import smtplib
import socket
import ssl
import time
from collections.abc import Iterator

import pytest

from mailserver.cli import EVENT_LOOPS
from tests.examples.test_e2e_support import (
    PASSWORDS,
    A,
    ServerThread,
    demo_config,
    maildir_files,
    recv_until,
    unverified,
)

PEPE = "pepe@iesfbmoll.example"
ANA = "ana@iesfbmoll.example"


@pytest.fixture(scope="module", params=EVENT_LOOPS)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerThread]:
    """The demo on each event loop (flow control and TLS upgrades are the loop's)."""
    text, _ = demo_config()
    # A deliberately small connection bound so the flood test is cheap.
    with ServerThread(
        text,
        tmp_path_factory.mktemp("hostile"),
        event_loop=request.param,
        max_connections=200,
    ) as s:
        yield s


def _still_serves(server: ServerThread) -> None:
    """A normal client still gets through on every protocol."""
    with smtplib.SMTP("127.0.0.1", server.port(A, "smtp"), timeout=10) as s:
        assert s.noop()[0] == 250
    p = poplib.POP3("127.0.0.1", server.port(A, "pop3"), timeout=10)
    p.user(PEPE)
    assert p.pass_(PASSWORDS[PEPE]).startswith(b"+OK")
    p.quit()
    m = imaplib.IMAP4("127.0.0.1", server.port(A, "imap"), timeout=10)
    assert m.login(PEPE, PASSWORDS[PEPE])[0] == "OK"
    m.logout()


def _connect(server: ServerThread, name: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port(A, name)), timeout=10)
    recv_until(sock, b"\r\n")
    return sock


def test_smtp_over_long_line_is_answered_at_once(server: ServerThread) -> None:
    sock = _connect(server, "smtp")
    try:
        sock.sendall(b"EHLO " + b"x" * 100_000 + b"\r\n")
        assert recv_until(sock, b"\r\n", timeout=3).startswith(b"500")
    finally:
        sock.close()


def test_smtp_over_long_line_and_garbage(server: ServerThread) -> None:
    sock = _connect(server, "smtp")
    try:
        sock.sendall(b"EHLO " + b"x" * 100_000)
        time.sleep(0.3)  # the line end also arrives separately
        sock.sendall(b"\r\nNOOP\r\n")
        sock.sendall(b"\x00\xff\xfe garbage\r\nNOOP\r\n")
        replies = recv_until(sock, b"250 ")
        while replies.count(b"250 ") < 2:
            replies += recv_until(sock, b"250 ")
        lines = replies.split(b"\r\n")
        assert lines[0].startswith(b"500"), replies  # the long line
        assert lines[1].startswith(b"250")  # NOOP
        assert lines[2].startswith(b"5")  # the garbage line refused
        assert lines[3].startswith(b"250")  # NOOP
        sock.sendall(b"QUIT\r\n")
        assert b"221" in recv_until(sock, b"221")
    finally:
        sock.close()
    _still_serves(server)


def test_smtp_smuggling_with_bare_lf_dot(server: ServerThread) -> None:
    before = len(maildir_files(server.data_dir / "iesfbmoll.example", ANA))
    sock = _connect(server, "smtp")
    try:
        sock.sendall(b"EHLO x\r\n")
        recv_until(sock, b"250 ")
        sock.sendall(b"MAIL FROM:<a@b.example>\r\nRCPT TO:<" + ANA.encode() + b">\r\nDATA\r\n")
        recv_until(sock, b"354")
        # "\n.\n" then a second transaction: must not end the message.
        sock.sendall(
            b"Subject: one\r\n\r\nbody\n.\nMAIL FROM:<evil@b.example>\r\n"
            b"RCPT TO:<" + ANA.encode() + b">\r\nDATA\r\nSubject: smuggled\r\n\r\nx\r\n.\r\n"
        )
        reply = recv_until(sock, b"\r\n")
        assert reply[:3] in (b"550", b"554")  # bare LF refused (RFC 5321 §2.3.8)
        sock.sendall(b"QUIT\r\n")
        recv_until(sock, b"221")
    finally:
        sock.close()
    after = maildir_files(server.data_dir / "iesfbmoll.example", ANA)
    assert len(after) == before
    assert not any(b"smuggled" in p.read_bytes() for p in after)


def test_smtp_starttls_injection_is_not_executed(server: ServerThread) -> None:
    sock = _connect(server, "smtp")
    try:
        sock.sendall(b"EHLO x\r\n")
        recv_until(sock, b"250 ")
        # Commands pipelined with STARTTLS, in the same packet: RFC 3207 §4.2
        # (CVE-2011-0411) says they must be discarded, never run over TLS.
        sock.sendall(b"STARTTLS\r\nRSET\r\nNOOP\r\n")
        assert recv_until(sock, b"\r\n").startswith(b"220")
        tls = unverified().wrap_socket(sock)
        tls.sendall(b"EHLO y\r\n")
        first = recv_until(tls, b"250 ")
        assert first.startswith(b"250-"), first  # the EHLO reply, no stray RSET/NOOP reply
        tls.sendall(b"QUIT\r\n")
        assert recv_until(tls, b"\r\n").startswith(b"221")
        tls.close()
    finally:
        sock.close()


def test_pop3_and_imap_starttls_injection(server: ServerThread) -> None:
    sock = _connect(server, "pop3")
    sock.sendall(b"STLS\r\nUSER " + PEPE.encode() + b"\r\n")
    assert recv_until(sock, b"\r\n").startswith(b"+OK")
    tls = unverified().wrap_socket(sock)
    tls.sendall(b"PASS " + PASSWORDS[PEPE].encode() + b"\r\n")
    assert recv_until(tls, b"\r\n").startswith(b"-ERR")  # no USER was accepted
    tls.close()
    sock = _connect(server, "imap")
    sock.sendall(b'a STARTTLS\r\nb LOGIN "' + PEPE.encode() + b'" "x"\r\n')
    assert b"a OK" in recv_until(sock, b"a OK")
    tls = unverified().wrap_socket(sock)
    tls.sendall(b"c NOOP\r\n")
    answer = recv_until(tls, b"c OK")
    assert b"b " not in answer  # the injected LOGIN was never answered
    tls.close()


def test_imap_huge_literal_and_long_line(server: ServerThread) -> None:
    sock = _connect(server, "imap")
    try:
        sock.sendall(b"a LOGIN {4000000000}\r\n")
        reply = recv_until(sock, b"\r\n")
        assert reply.startswith((b"a NO", b"a BAD", b"* BYE"))
        if not reply.startswith(b"* BYE"):
            sock.sendall(b"b NOOP\r\n")
            assert b"b OK" in recv_until(sock, b"b OK")
    finally:
        sock.close()
    sock = _connect(server, "imap")
    try:
        sock.sendall(b"a NOOP " + b"x" * 200_000 + b"\r\n")
        reply = recv_until(sock, b"\r\n")
        assert reply.startswith((b"* BYE", b"a BAD"))
    finally:
        sock.close()
    _still_serves(server)


def test_imap_qresync_and_list_with_enormous_sets(server: ServerThread) -> None:
    """Sets naming four billion messages cost nothing: they are ranges, never lists."""
    sock = _connect(server, "imap")
    try:
        every = "1:4294967295"
        sock.sendall(f"a LOGIN {PEPE} {PASSWORDS[PEPE]}\r\nb ENABLE QRESYNC\r\n".encode())
        recv_until(sock, b"b OK")
        sock.sendall(b"c SELECT INBOX\r\n")
        uidvalidity = recv_until(sock, b"c OK").split(b"[UIDVALIDITY ")[1].split(b"]")[0]
        started = time.monotonic()
        qresync = f"{uidvalidity.decode()} 1 {every} ({every} {every})"
        sock.sendall(f"d SELECT INBOX (QRESYNC ({qresync}))\r\n".encode())
        assert b"d OK" in recv_until(sock, b"d OK")
        sock.sendall(f"e UID FETCH {every} (FLAGS) (CHANGEDSINCE 1 VANISHED)\r\n".encode())
        assert b"e OK" in recv_until(sock, b"e OK")
        sock.sendall(
            b'f LIST (SUBSCRIBED RECURSIVEMATCH) "" "*%*%*%*%*%*%*%*" RETURN (STATUS (SIZE))\r\n'
        )
        assert b"f OK" in recv_until(sock, b"f OK")
        sock.sendall(f"g SEARCH RETURN (SAVE) UID {every}\r\nh FETCH $ (UID)\r\n".encode())
        assert b"h OK" in recv_until(sock, b"h OK")
        assert time.monotonic() - started < 10
    finally:
        sock.close()
    _still_serves(server)


@pytest.mark.parametrize(
    "name",
    ["../../etc", "/etc/passwd", "~root", "a/../../b", "..", ".hidden", "INBOX/../x", "a..b"],
)
def test_imap_path_traversal_in_mailbox_names(server: ServerThread, name: str) -> None:
    m = imaplib.IMAP4("127.0.0.1", server.port(A, "imap"), timeout=10)
    try:
        m.login(PEPE, PASSWORDS[PEPE])
        quoted = '"' + name + '"'
        assert m.create(quoted)[0] == "NO"
        assert m.select(quoted)[0] == "NO"
        assert m.rename("INBOX", quoted)[0] == "NO" or name == "INBOX"
        assert m.delete(quoted)[0] == "NO"
    finally:
        m.logout()
    root = server.data_dir / "iesfbmoll.example"
    # Nothing was created outside the account's directory.
    assert not (root / "etc").exists() and not (root / "mail" / "etc").exists()
    assert not (root / "mail" / "b").exists() and not (root.parent / "b").exists()


def _lines(sock: socket.socket, count: int) -> list[bytes]:
    data = b""
    sock.settimeout(10)
    while data.count(b"\r\n") < count:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data.split(b"\r\n")[:count]


def test_pop3_garbage_and_bad_numbers(server: ServerThread) -> None:
    sock = _connect(server, "pop3")
    try:
        sock.sendall(b"\xff\xfe\x00\r\nRETR 1\r\nUSER " + PEPE.encode() + b"\r\n")
        first, second, third = _lines(sock, 3)
        assert first.startswith(b"-ERR") and second.startswith(b"-ERR")
        assert third.startswith(b"+OK")
        sock.sendall(b"PASS " + PASSWORDS[PEPE].encode() + b"\r\nRETR 999999999999\r\nNOOP\r\n")
        login, retr, noop = _lines(sock, 3)
        assert login.startswith(b"+OK") and retr.startswith(b"-ERR") and noop.startswith(b"+OK")
    finally:
        sock.close()


def test_connection_flood_is_bounded_and_others_are_served(server: ServerThread) -> None:
    socks: list[socket.socket] = []
    try:
        for _ in range(200):
            socks.append(
                socket.create_connection(("127.0.0.1", server.port(A, "imap")), timeout=10)
            )
        greeted = [recv_until(s, b"\r\n") for s in socks]
        assert all(g.startswith(b"* OK") for g in greeted)
        # Beyond the bound: refused politely, not hung.
        extra = socket.create_connection(("127.0.0.1", server.port(A, "imap")), timeout=10)
        assert recv_until(extra, b"\r\n").startswith(b"* BYE")
        extra.close()
        # Other listeners have their own bound and still serve.
        with smtplib.SMTP("127.0.0.1", server.port(A, "smtp"), timeout=10) as client:
            assert client.noop()[0] == 250
    finally:
        for s in socks:
            s.close()
    # Once the idle connections are gone, IMAP serves again.
    for _ in range(50):
        try:
            _still_serves(server)
            break
        except (imaplib.IMAP4.abort, imaplib.IMAP4.error, ConnectionError):
            time.sleep(0.1)
    else:
        pytest.fail("IMAP did not recover after the flood")


def test_tls_garbage_on_implicit_tls_port(server: ServerThread) -> None:
    sock = socket.create_connection(("127.0.0.1", server.port(A, "imaps")), timeout=10)
    sock.sendall(b"this is not a TLS client hello\r\n" * 10)
    sock.settimeout(10)
    with contextlib.suppress(ConnectionError):
        sock.recv(100)  # an alert or EOF; a hang would raise TimeoutError
    sock.close()
    ctx: ssl.SSLContext = unverified()
    raw = socket.create_connection(("127.0.0.1", server.port(A, "imaps")), timeout=10)
    with ctx.wrap_socket(raw) as tls:
        assert recv_until(tls, b"\r\n").startswith(b"* OK")


@pytest.mark.slow
def test_a_thousand_idle_connections_then_refusal(tmp_path_factory: pytest.TempPathFactory) -> None:
    text, _ = demo_config()
    with ServerThread(text, tmp_path_factory.mktemp("thousand")) as big:
        port = big.port(A, "pop3")
        socks: list[socket.socket] = []
        try:
            for _ in range(10):  # in batches, so the listen backlog never overflows
                batch = [
                    socket.create_connection(("127.0.0.1", port), timeout=30) for _ in range(100)
                ]
                assert all(recv_until(s, b"\r\n", 30).startswith(b"+OK") for s in batch)
                socks += batch
            extra = socket.create_connection(("127.0.0.1", port), timeout=20)
            assert recv_until(extra, b"\r\n").startswith(b"-ERR [SYS/TEMP]")
            extra.close()
            # The idle ones are still served.
            socks[0].sendall(b"NOOP\r\n")
            assert recv_until(socks[0], b"\r\n").startswith(b"-ERR")  # NOOP needs a login
            socks[-1].sendall(b"CAPA\r\n")
            assert b"\r\n.\r\n" in recv_until(socks[-1], b"\r\n.\r\n")
        finally:
            for s in socks:
                s.close()
