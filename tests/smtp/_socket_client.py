"""A blocking SMTP client: ClientConnection over a socket (what the tutorial shows)."""

from __future__ import annotations

import socket
import ssl

from mailproto import NEED_DATA, PAUSED, RemoteProtocolError, Sentinel, sasl
from mailproto.smtp import (
    Bdat,
    ClientConnection,
    ConnectionClosed,
    Data,
    DataChunk,
    Ehlo,
    EhloReply,
    EndOfData,
    Event,
    Lhlo,
    Mailbox,
    MailFrom,
    MailParameters,
    Quit,
    RcptTo,
    RecipientReply,
    Reply,
    StartTLS,
)


class SocketClient:
    def __init__(self, host: str, port: int, *, lmtp: bool = False, timeout: float = 30) -> None:
        self.sock: socket.socket = socket.create_connection((host, port), timeout=timeout)
        self.host = host
        self.conn = ClientConnection(lmtp=lmtp)
        self.lmtp = lmtp
        self.greeting = self.reply()

    def _flush(self) -> None:
        out = self.conn.data_to_send()
        if out:
            self.sock.sendall(out)

    def next(self) -> Event | Reply:
        """Write what is queued, then read until the next reply event."""
        self._flush()
        while True:
            ev = self.conn.next_event()
            if ev is NEED_DATA:
                data = self.sock.recv(65536)
                self.conn.receive_data(data)
                continue
            if ev is PAUSED:
                raise AssertionError("client paused")
            if isinstance(ev, ConnectionClosed):
                raise RemoteProtocolError("server closed the connection")
            assert not isinstance(ev, Sentinel)
            return ev

    def reply(self) -> Reply:
        ev = self.next()
        if isinstance(ev, (EhloReply, RecipientReply)):
            return ev.reply
        assert isinstance(ev, Reply), ev
        return ev

    def ehlo(self, name: str = "client.test") -> Reply:
        self.conn.send(Lhlo(domain=name) if self.lmtp else Ehlo(domain=name))
        return self.reply()

    def starttls(self, context: ssl.SSLContext) -> None:
        self.conn.send(StartTLS())
        r = self.reply()
        assert r.code == 220, r
        self.sock = context.wrap_socket(self.sock, server_hostname=self.host)
        self.conn.start_tls_done()
        self.ehlo()

    def login(self, mechanism: sasl.ClientMechanism) -> Reply:
        self.conn.authenticate(mechanism)
        while True:
            r = self.reply()
            if r.code != 334:
                return r

    def send_message(
        self,
        sender: str | None,
        recipients: list[str],
        data: bytes,
        *,
        parameters: MailParameters | None = None,
        bdat_chunk: int | None = None,
        chunk: int = 65536,
    ) -> list[Reply]:
        """Pipelined when the server offers it; returns the replies after the data."""
        conn = self.conn
        pipelining = conn.extensions.pipelining
        out: list[Reply] = []
        conn.send(
            MailFrom(
                sender=Mailbox.parse(sender) if sender else None,
                parameters=parameters or MailParameters(),
            )
        )
        if not pipelining:
            out.append(self.reply())
        for rcpt in recipients:
            conn.send(RcptTo(recipient=Mailbox.parse(rcpt)))
            if not pipelining:
                out.append(self.reply())
        if bdat_chunk is not None:
            pieces = [data[i : i + bdat_chunk] for i in range(0, len(data), bdat_chunk)] or [b""]
            for i, piece in enumerate(pieces):
                conn.send(Bdat(size=len(piece), last=i == len(pieces) - 1))
                conn.send(DataChunk(data=piece))
                self._flush()
                if not pipelining:
                    out.append(self.reply())
            if pipelining:
                out.extend(self.reply() for _ in range(len(recipients) + 1 + len(pieces)))
            return out
        conn.send(Data())
        if pipelining:
            out.extend(self.reply() for _ in range(len(recipients) + 1))
        r = self.reply()
        out.append(r)
        if r.code != 354:
            return out
        for i in range(0, len(data), chunk):
            conn.send(DataChunk(data=data[i : i + chunk]))
            self._flush()
        conn.send(EndOfData())
        n = len(conn.accepted_recipients) if self.lmtp else 1
        out.extend(self.reply() for _ in range(n))
        return out

    def quit(self) -> Reply:
        self.conn.send(Quit())
        r = self.reply()
        self.sock.close()
        return r
