"""The application half of the SMTP server examples: accept and keep mail.

Transport-independent: :meth:`SMTPSink.handle` answers one event of a
:class:`mailproto.smtp.ServerConnection`.  The asyncio, trio and MemoryBIO
examples wrap the same object in different I/O.
"""

from __future__ import annotations

from typing import Any

import attrs

from mailproto.smtp import (
    DataChunk,
    Ehlo,
    EndOfData,
    Helo,
    MailFrom,
    MessageAborted,
    RcptTo,
    Reply,
    ServerConnection,
    replies,
)


@attrs.frozen
class Delivered:
    """One accepted message."""

    #: The reverse path ("" for the null sender).
    sender: str
    #: The accepted forward paths.
    recipients: tuple[str, ...]
    #: The message, dot-unstuffed, exactly as received.
    data: bytes
    #: Whether the message came over TLS.
    tls: bool


@attrs.define
class SMTPSink:
    """Accepts every sender and recipient in :attr:`domain`, keeps messages."""

    #: Recipients must be in this domain (others get 550 5.7.1).
    domain: str = "example.org"
    #: Accepted messages, in order.
    inbox: list[Delivered] = attrs.field(factory=list)
    _chunks: list[bytes] = attrs.field(factory=list)

    def handle(self, conn: ServerConnection, event: Any) -> None:
        """Answer *event* (events that need no decision are ignored)."""
        if isinstance(event, (Ehlo, Helo)):
            conn.send(Reply(code=250, lines=f"hello {event.domain}"))
        elif isinstance(event, MailFrom):
            conn.send(replies.SENDER_OK)
        elif isinstance(event, RcptTo):
            if (event.recipient.domain or "").lower() == self.domain:
                conn.send(replies.RECIPIENT_OK)
            else:
                conn.send(Reply(code=550, enhanced_status="5.7.1", lines="Relaying denied"))
        elif isinstance(event, DataChunk):
            self._chunks.append(event.data)
        elif isinstance(event, MessageAborted):
            self._chunks.clear()  # already refused by the connection
        elif isinstance(event, EndOfData):
            assert conn.mail_from is not None
            sender = conn.mail_from.sender
            self.inbox.append(
                Delivered(
                    sender="" if sender is None else str(sender),
                    recipients=tuple(str(r.recipient) for r in conn.recipients),
                    data=b"".join(self._chunks),
                    tls=conn.tls_active,
                )
            )
            self._chunks.clear()
            conn.send(replies.MESSAGE_ACCEPTED)
