"""Audit of the reference server's POP3 side (issue 9): what the first tests left out.

* SASL (RFC 5034) with every offered mechanism against poplib, not only
  USER/PASS and APOP.
* A stored message with bare LF or CR (accepted through BDAT with
  ``BODY=BINARYMIME``) is sent as CRLF lines: ``"\\n.\\r\\n"`` inside it must
  not end the multi-line response for a client that splits at LF (poplib
  does), and the command after RETR/TOP must get its own answer.
* An over-long line or a pipelining flood gets an ``-ERR`` before the
  connection closes, not a silent drop (RFC 2449 §4: 255-octet commands).
"""

from __future__ import annotations

import base64
import poplib
import socket

import pytest

from mailproto import sasl
from tests.examples.test_e2e_support import (
    ANA,
    INFO,
    PASSWORDS,
    PEPE,
    A,
    ServerThread,
    recv_until,
    wait_for,
)


def _bdat(server: ServerThread, rcpt: str, body: bytes) -> None:
    """Deliver *body* as one BDAT chunk with BODY=BINARYMIME (RFC 3030)."""
    sock = socket.create_connection(("127.0.0.1", server.port(A, "smtp")), timeout=10)
    try:
        recv_until(sock, b"\r\n")
        sock.sendall(
            b"EHLO audit.example\r\nMAIL FROM:<a@stranger.example> BODY=BINARYMIME\r\n"
            b"RCPT TO:<" + rcpt.encode() + b">\r\n"
            b"BDAT " + str(len(body)).encode() + b" LAST\r\n" + body
        )
        replies = recv_until(sock, b"queued")
        assert b"250 2.0.0 OK queued" in replies, replies
    finally:
        sock.close()


def _login(server: ServerThread, user: str) -> poplib.POP3:
    p = poplib.POP3("127.0.0.1", server.port(A, "pop3"), timeout=10)
    p.user(user)
    p.pass_(PASSWORDS[user])
    return p


def test_bare_line_ends_are_sent_as_crlf_and_do_not_end_the_listing(server: ServerThread) -> None:
    body = (
        b"Subject: bare line ends\r\n\r\n"
        b"one\n.\r\nQUIT\r\n"  # LF "." CRLF: the end of the listing, for an LF reader
        b"two\r.\rthree\r\n"  # bare CRs around a dot
        b".dot line\r\nlast\n"
    )
    _bdat(server, ANA, body)
    assert wait_for(lambda: any(b"bare line ends" in m for m in server.messages(A, ANA)))
    p = _login(server, ANA)
    try:
        count, _ = p.stat()
        _, lines, _ = p.retr(count)
        # Each bare CR and LF became one CRLF; the dot lines were unstuffed again.
        assert lines[-8:] == [b"one", b".", b"QUIT", b"two", b".", b"three", b".dot line", b"last"]
        # The session is still in step: the next command gets its own answer.
        assert p.noop().startswith(b"+OK")
        _, top, _ = p.top(count, 2)
        assert top[-2:] == [b"one", b"."]
        assert p.stat()[0] == count
    finally:
        p.quit()


def test_retr_on_the_wire_has_no_bare_line_end(server: ServerThread) -> None:
    _bdat(server, INFO, b"Subject: wire\r\n\r\na\nb\rc\r\n")
    assert wait_for(lambda: any(b"Subject: wire" in m for m in server.messages(A, INFO)))
    sock = socket.create_connection(("127.0.0.1", server.port(A, "pop3")), timeout=10)
    try:
        recv_until(sock, b"\r\n")
        sock.sendall(f"USER {INFO}\r\nPASS {PASSWORDS[INFO]}\r\n".encode())
        greeting = recv_until(sock, b"messages")
        while greeting.count(b"\r\n") < 2:
            greeting += recv_until(sock, b"\r\n")
        count = int(greeting.split(b"maildrop has ")[1].split()[0])
        sock.sendall(f"RETR {count}\r\n".encode())
        listing = recv_until(sock, b"\r\n.\r\n")
        assert listing.endswith(b"\r\na\r\nb\r\nc\r\n.\r\n"), listing[-40:]
        assert listing.count(b"\n") == listing.count(b"\r\n")
        assert listing.count(b"\r") == listing.count(b"\r\n")
    finally:
        sock.close()


def _lines(sock: socket.socket, count: int) -> list[bytes]:
    data = b""
    while data.count(b"\r\n") < count:
        chunk = recv_until(sock, b"\r\n")
        assert chunk, data
        data += chunk
    return data.split(b"\r\n")[:count]


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN", "SCRAM-SHA-256"])
def test_sasl_mechanisms(server: ServerThread, mechanism: str) -> None:
    """AUTH (RFC 5034) with each mechanism in CAPA's SASL line, then STAT."""
    p = poplib.POP3("127.0.0.1", server.port(A, "pop3"), timeout=10)
    try:
        assert mechanism in p.capa()["SASL"]
    finally:
        p.quit()
    sock = socket.create_connection(("127.0.0.1", server.port(A, "pop3")), timeout=10)
    try:
        recv_until(sock, b"\r\n")
        mech = sasl.client_mechanism(mechanism, username=PEPE, password=PASSWORDS[PEPE])
        first = mech.initial_response()
        command = f"AUTH {mechanism}"
        if first is not None:
            command += " " + (base64.b64encode(first).decode() or "=")
        sock.sendall(command.encode() + b"\r\n")
        (line,) = _lines(sock, 1)
        while line.startswith(b"+ "):
            answer = mech.respond(base64.b64decode(line[2:]))
            sock.sendall(base64.b64encode(answer) + b"\r\n")
            (line,) = _lines(sock, 1)
        assert line.startswith(b"+OK"), line
        sock.sendall(b"STAT\r\n")  # only valid in TRANSACTION
        assert _lines(sock, 1)[0].startswith(b"+OK ")
    finally:
        sock.close()


def test_sasl_with_a_wrong_password_is_refused(server: ServerThread) -> None:
    sock = socket.create_connection(("127.0.0.1", server.port(A, "pop3")), timeout=10)
    try:
        recv_until(sock, b"\r\n")
        token = base64.b64encode(f"\0{PEPE}\0wrong".encode())
        sock.sendall(b"AUTH PLAIN " + token + b"\r\nSTAT\r\n")
        auth, stat = _lines(sock, 2)
        assert auth.startswith(b"-ERR") and stat.startswith(b"-ERR")  # still not logged in
    finally:
        sock.close()


def test_over_long_line_gets_an_error_before_the_close(server: ServerThread) -> None:
    sock = socket.create_connection(("127.0.0.1", server.port(A, "pop3")), timeout=10)
    try:
        recv_until(sock, b"\r\n")
        sock.sendall(b"USER " + b"x" * 20_000 + b"\r\n")
        answer = recv_until(sock, b"\r\n", timeout=5)
        assert answer.startswith(b"-ERR"), answer
        assert recv_until(sock, b"\r\n", timeout=5) == b""  # then closed
    finally:
        sock.close()


def test_a_short_over_long_command_is_refused_and_the_session_goes_on(
    server: ServerThread,
) -> None:
    # Longer than RFC 2449's 255 octets, shorter than the AUTH line bound:
    # one -ERR, and the session continues.
    sock = socket.create_connection(("127.0.0.1", server.port(A, "pop3")), timeout=10)
    try:
        recv_until(sock, b"\r\n")
        sock.sendall(b"USER " + b"x" * 1000 + b"\r\nCAPA\r\n")
        answer = recv_until(sock, b"\r\n.\r\n", timeout=5)
        assert answer.startswith(b"-ERR"), answer
        assert b"\r\n+OK" in answer and answer.endswith(b"\r\n.\r\n")
    finally:
        sock.close()
