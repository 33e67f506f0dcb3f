"""Download a mailbox with a blocking socket, upgraded with STARTTLS.

``python -m transports.blocking_imap_client HOST PORT USER [--mailbox INBOX]``
(password on stdin) logs in after STARTTLS, SELECTs the mailbox, FETCHes
every message with ``BODY.PEEK[]`` (flags are left alone) and logs out.
"""

from __future__ import annotations

import argparse
import socket
import ssl
import sys
from collections.abc import Callable
from typing import Any

import attrs

from mailproto.imap import ClientConnection, Completed, Greeting, Untagged
from mailproto.imap import commands as C
from mailproto.imap import responses as R
from mailproto.imap.types import SectionRequest, SequenceSet
from transports.pump import Pump


@attrs.frozen
class Fetched:
    """One message as fetched."""

    #: Its UID.
    uid: int
    #: Its flags.
    flags: tuple[str, ...]
    #: The whole message (``BODY[]``).
    data: bytes


class IMAPPump(Pump):
    """:class:`~transports.pump.Pump` for an IMAP client, plus :meth:`run`."""

    def __init__(
        self, conn: ClientConnection, recv: Callable[[int], bytes], send: Callable[[bytes], Any]
    ) -> None:
        super().__init__(conn, recv, send)
        self.imap = conn

    def run(self, command: Any) -> list[Any]:
        """Send *command* (its tag is filled in); return the untagged
        responses that answer it.  A NO or BAD raises :class:`ConnectionError`."""
        command = attrs.evolve(command, tag=self.imap.new_tag())
        handle = self.imap.send(command)
        mine = []
        while True:
            event = self.next_event()
            if isinstance(event, Untagged) and event.handle == handle:
                mine.append(event.response)
            elif isinstance(event, Completed) and event.handle == handle:
                if not event.ok:
                    raise ConnectionError(f"{handle.name}: {event.status} {event.text}")
                return mine


class BlockingIMAP:
    """An :class:`IMAPPump` over a socket, which STARTTLS can wrap."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.conn = ClientConnection()
        self.pump = IMAPPump(self.conn, sock.recv, sock.sendall)

    def run(self, command: Any) -> list[Any]:
        """See :meth:`IMAPPump.run`."""
        return self.pump.run(command)

    def start_tls(self, context: ssl.SSLContext, server_hostname: str) -> None:
        """STARTTLS, then the handshake on the same socket (RFC 9051 §6.2.1)."""
        if not self.conn.has_capability("STARTTLS"):
            raise ConnectionError("server does not offer STARTTLS")  # no silent downgrade
        self.run(C.StartTLS(tag="_"))
        # Anything the server sent after its OK has been dropped by the
        # connection; the handshake starts now.
        self.sock = context.wrap_socket(self.sock, server_hostname=server_hostname)
        self.pump.rebind(self.sock.recv, self.sock.sendall)
        self.conn.start_tls_done()
        self.run(C.Capability(tag="_"))  # capabilities before TLS are forgotten


def fetch_mailbox(
    host: str,
    port: int,
    user: str,
    password: str,
    *,
    mailbox: str = "INBOX",
    tls: ssl.SSLContext | None = None,
    server_hostname: str | None = None,
) -> list[Fetched]:
    """Every message of *mailbox*, in sequence order (upgraded first with *tls*)."""
    sock = socket.create_connection((host, port), timeout=30)
    client = BlockingIMAP(sock)
    try:
        greeting = client.pump.next_event()
        if not isinstance(greeting, Greeting) or greeting.status != "OK":
            raise ConnectionError(f"refused: {greeting}")
        if client.conn.capabilities is None:  # not in the greeting's code
            client.run(C.Capability(tag="_"))
        if tls is not None:
            client.start_tls(tls, server_hostname or host)
        client.run(C.Login(tag="_", username=user, password=password))
        selected = client.run(C.Select(tag="_", mailbox=mailbox))
        exists = next((r.count for r in selected if isinstance(r, R.Exists)), 0)
        messages = []
        if exists:
            fetch = C.Fetch(
                tag="_",
                sequence_set=SequenceSet.of((1, "*")),
                attributes=("UID", "FLAGS", SectionRequest(peek=True)),
            )
            for response in client.run(fetch):
                if isinstance(response, R.FetchResponse) and response.sections:
                    data = bytes(response.sections[0].data or b"")
                    flags = response.flags or ()
                    messages.append(Fetched(uid=response.uid or 0, flags=flags, data=data))
        client.run(C.Logout(tag="_"))
        return messages
    finally:
        client.sock.close()


def main(argv: list[str] | None = None) -> None:  # pragma: no cover - needs an account
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("user")
    parser.add_argument("--mailbox", default="INBOX")
    parser.add_argument("--no-tls", action="store_true", help="stay in clear text (testing)")
    args = parser.parse_args(argv)
    tls = None if args.no_tls else ssl.create_default_context()
    password = sys.stdin.readline().rstrip("\r\n")
    for m in fetch_mailbox(
        args.host, args.port, args.user, password, mailbox=args.mailbox, tls=tls
    ):
        print(m.uid, len(m.data), "octets", " ".join(m.flags))


if __name__ == "__main__":  # pragma: no cover
    main()
