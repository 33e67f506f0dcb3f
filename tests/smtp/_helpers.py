"""Test helpers: a scripted server application and an in-memory client/server pair."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import attrs

from mailproto import NEED_DATA, PAUSED, sasl
from mailproto.smtp import (
    AuthAnswer,
    AuthQuestion,
    ClientConnection,
    ConnectionClosed,
    DataChunk,
    Ehlo,
    EndOfChunk,
    EndOfData,
    Event,
    Expn,
    Helo,
    Lhlo,
    MailFrom,
    MessageAborted,
    RcptTo,
    Reply,
    ServerConnection,
    Vrfy,
    replies,
)

GREETING = Reply(code=220, lines="ESMTP test server")


@attrs.define
class Message:
    """What a server application received for one transaction."""

    mail_from: MailFrom | None
    recipients: list[RcptTo]
    data: bytes


@attrs.define
class ServerApp:
    """A server application with a simple, configurable policy.

    ``decide`` may return a Reply for a decision event to override acceptance.
    """

    conn: ServerConnection
    decide: Callable[[Event], Reply | None] = lambda e: None
    passwords: dict[str, str] = attrs.field(factory=dict)
    scram: dict[str, sasl.ScramCredentials] = attrs.field(factory=dict)
    events: list[object] = attrs.field(factory=list)
    messages: list[Message] = attrs.field(factory=list)
    aborted: int = 0
    _chunks: list[bytes] = attrs.field(factory=list)
    closed: bool = False

    def greet(self) -> bytes:
        self.conn.send(GREETING)
        return self.conn.data_to_send()

    def feed(self, data: bytes) -> bytes:
        """Feed client bytes, answer every decision, return the server's output."""
        if data:
            self.conn.receive_data(data)
        self.run()
        return self.conn.data_to_send()

    def run(self) -> None:
        conn = self.conn
        while True:
            event = conn.next_event()
            if event is NEED_DATA or event is PAUSED:
                return
            if isinstance(event, ConnectionClosed):
                self.closed = True
                return
            self.events.append(event)
            if isinstance(event, DataChunk):
                self._chunks.append(event.data)
            elif isinstance(event, MessageAborted):
                self._chunks.clear()
                self.aborted += 1
            elif isinstance(event, EndOfData):
                self.messages.append(
                    Message(
                        mail_from=conn.mail_from,
                        recipients=list(conn.recipients),
                        data=b"".join(self._chunks),
                    )
                )
                self._chunks.clear()
                override = self.decide(event)
                if conn.config.lmtp:
                    for _ in conn.recipients:
                        conn.send(override or replies.MESSAGE_ACCEPTED)
                else:
                    conn.send(override or replies.MESSAGE_ACCEPTED)
            elif isinstance(event, EndOfChunk):
                refusal = self.decide(event)
                if refusal is not None and not refusal.is_positive:
                    self._chunks.clear()  # the transaction failed (RFC 3030 §2)
                conn.send(refusal or replies.CHUNK_OK)
            elif isinstance(event, AuthQuestion):
                q = event.question
                if isinstance(q, sasl.CheckPassword):
                    stored = self.passwords.get(q.authcid)
                    conn.send(AuthAnswer(answer=stored is not None and q.matches(stored)))
                elif isinstance(q, sasl.LookupScramCredentials):
                    conn.send(AuthAnswer(answer=self.scram.get(q.username)))
                else:
                    conn.send(AuthAnswer(answer=False))
            elif isinstance(event, (Helo, Ehlo, Lhlo)):
                conn.send(self.decide(event) or Reply(code=250, lines="greets you"))
            elif isinstance(event, MailFrom):
                conn.send(self.decide(event) or replies.SENDER_OK)
            elif isinstance(event, RcptTo):
                conn.send(self.decide(event) or replies.RECIPIENT_OK)
            elif isinstance(event, (Vrfy, Expn)):
                conn.send(self.decide(event) or replies.CANNOT_VRFY)


def client_events(client: ClientConnection) -> list[object]:
    out: list[object] = []
    while True:
        ev = client.next_event()
        if ev is NEED_DATA or ev is PAUSED:
            return out
        out.append(ev)
        if isinstance(ev, ConnectionClosed):
            return out


@attrs.define
class Pair:
    """A client and a server joined in memory."""

    client: ClientConnection
    app: ServerApp
    #: Everything the client wrote and the server wrote, in order.
    c2s: bytearray = attrs.field(factory=bytearray)
    s2c: bytearray = attrs.field(factory=bytearray)

    @classmethod
    def start(cls, server: ServerConnection, client: ClientConnection | None = None) -> Pair:
        pair = cls(client=client or ClientConnection(), app=ServerApp(server))
        greeting = pair.app.greet()
        pair.s2c += greeting
        pair.client.receive_data(greeting)
        pair.flush()
        return pair

    @property
    def server(self) -> ServerConnection:
        return self.app.conn

    def exchange(self, *events: Event) -> list[object]:
        """Send client events, move bytes both ways until quiet, return client events."""
        for e in events:
            self.client.send(e)
        return self.flush()

    def flush(self) -> list[object]:
        got: list[object] = []
        for _ in range(50):
            got.extend(client_events(self.client))
            c2s = self.client.data_to_send()
            s2c = self.app.feed(c2s)
            self.c2s += c2s
            self.s2c += s2c
            if s2c:
                self.client.receive_data(s2c)
            if not c2s and not s2c:
                got.extend(client_events(self.client))
                return got
        raise AssertionError("no quiescence")


def replies_of(events: Iterable[object]) -> list[int]:
    codes = []
    for e in events:
        if isinstance(e, Reply):
            codes.append(e.code)
        elif hasattr(e, "reply"):
            codes.append(e.reply.code)
    return codes
