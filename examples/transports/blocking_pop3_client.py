"""Download a POP3 maildrop with a blocking socket, upgraded with STLS.

``python -m transports.blocking_pop3_client HOST PORT USER`` (password on stdin)
"""

from __future__ import annotations

import socket
import ssl
import sys
from typing import Any

from mailproto.pop3 import (
    ClientConnection,
    ErrResponse,
    Greeting,
    MessageData,
    MessageEnd,
    OkResponse,
    Pass,
    Quit,
    Retr,
    Stat,
    StatResponse,
    Stls,
    User,
)
from transports.pump import Pump


def _ok(event: Any) -> Any:
    if isinstance(event, ErrResponse):
        raise ConnectionError(f"-ERR {event.text}")
    return event


def fetch_all(
    host: str,
    port: int,
    user: str,
    password: str,
    *,
    tls: ssl.SSLContext | None = None,
    server_hostname: str | None = None,
) -> list[bytes]:
    """Log in (after STLS when *tls* is given), RETR every message, QUIT.

    Messages are left on the server (no DELE).  Returns them, unstuffed.
    """
    sock = socket.create_connection((host, port), timeout=30)
    try:
        conn = ClientConnection()
        pump = Pump(conn, sock.recv, sock.sendall)
        assert isinstance(_ok(pump.next_event()), Greeting)
        if tls is not None:
            pump.send(Stls())
            _ok(pump.next_event())
            # RFC 2595 §4: the handshake starts right after +OK; anything the
            # server sent after it has been dropped by the connection.
            sock = tls.wrap_socket(sock, server_hostname=server_hostname or host)
            pump.rebind(sock.recv, sock.sendall)
            conn.start_tls_done()
        pump.send(User(name=user))
        _ok(pump.next_event())
        pump.send(Pass(password=password))
        _ok(pump.next_event())
        pump.send(Stat())
        stat = _ok(pump.next_event())
        assert isinstance(stat, StatResponse)
        messages = []
        for msg in range(1, stat.count + 1):
            pump.send(Retr(msg=msg))
            _ok(pump.next_event())  # +OK before the data
            chunks = []
            while not isinstance(event := pump.next_event(), MessageEnd):
                assert isinstance(event, MessageData)
                chunks.append(event.data)
            messages.append(b"".join(chunks))
        pump.send(Quit())
        assert isinstance(_ok(pump.next_event()), OkResponse)
        return messages
    finally:
        sock.close()


if __name__ == "__main__":  # pragma: no cover - manual use
    host, port, user = sys.argv[1:4]
    for m in fetch_all(
        host, int(port), user, sys.stdin.readline().strip(), tls=ssl.create_default_context()
    ):
        print(len(m), "octets")
