"""Audit: the IMAP server invites no literal it will refuse, and buffers none before login."""

from __future__ import annotations

import socket

from tests.examples.test_e2e_support import (
    A,
    ServerThread,
    recv_until,
)


def test_no_continuation_for_append_before_login(server: ServerThread) -> None:
    # Not authenticated: APPEND is not valid (RFC 9051 §6.3.12 is an
    # authenticated-state command); inviting its 20 MB literal lets anyone
    # make the server buffer 20 MB x literals_per_message per connection.
    sock = socket.create_connection(("127.0.0.1", server.port(A, "imap")), timeout=10)
    try:
        recv_until(sock, b"\r\n")
        sock.sendall(b"a APPEND INBOX {20000000}\r\n")
        assert recv_until(sock, b"\r\n", timeout=5).startswith((b"a BAD", b"a NO", b"* BYE"))
    finally:
        sock.close()


def test_non_synchronising_append_before_login_is_refused_before_its_octets(
    server: ServerThread,
) -> None:
    # RFC 7888 §4: the octets of {n+} come anyway; the server answers BAD as
    # soon as it reads the announcement (before any octet, so it cannot be
    # buffering them), drops them as they arrive and serves the next command.
    size = 8_000_000
    sock = socket.create_connection(("127.0.0.1", server.port(A, "imap")), timeout=10)
    try:
        recv_until(sock, b"\r\n")
        sock.sendall(b"a APPEND INBOX {%d+}\r\n" % size)
        assert recv_until(sock, b"\r\n", timeout=5).startswith(b"a BAD")
        chunk = b"x" * 65536
        for _ in range(size // len(chunk)):
            sock.sendall(chunk)
        sock.sendall(b"x" * (size % len(chunk)) + b"\r\nb NOOP\r\n")
        assert b"b OK" in recv_until(sock, b"b OK", timeout=20)
    finally:
        sock.close()
