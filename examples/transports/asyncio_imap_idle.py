"""An IMAP client on asyncio streams that waits for new mail with IDLE.

Connects, upgrades with STARTTLS, logs in, selects INBOX, IDLEs until the
server pushes ``* n EXISTS`` (RFC 2177, RFC 9051 §6.3.13), then sends DONE
and logs out.  ``python -m transports.asyncio_imap_idle HOST PORT USER``
(password on stdin).
"""

from __future__ import annotations

import asyncio
import ssl
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from mailproto.imap import Completed, Greeting, IdleStarted, Untagged
from mailproto.imap.client import ClientConnection
from mailproto.imap.types import commands as C
from mailproto.imap.types import responses as R
from transports.pump import feed


class StreamClient:
    """The pump loop over an asyncio stream pair."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.conn = ClientConnection()
        self.pending: list[Any] = []

    async def next_event(self) -> Any:
        """Write what is queued; read until an event is available."""
        while not self.pending:
            if out := self.conn.data_to_send():
                self.writer.write(out)
                await self.writer.drain()
            data = await self.reader.read(65536)
            self.pending = feed(self.conn, data)
            if not data and not self.pending:
                raise EOFError("server closed the connection")
        if out := self.conn.data_to_send():
            self.writer.write(out)
            await self.writer.drain()
        return self.pending.pop(0)

    async def run(self, command: Any) -> tuple[list[Any], Completed]:
        """Send *command*; collect its untagged responses and completion."""
        handle = self.conn.send(command)
        mine = []
        while True:
            event = await self.next_event()
            if isinstance(event, Untagged) and event.handle == handle:
                mine.append(event.response)
            elif isinstance(event, Completed) and event.handle == handle:
                if event.status != "OK":
                    raise ConnectionError(f"{type(command).__name__}: {event.status} {event.text}")
                return mine, event

    async def start_tls(self, context: ssl.SSLContext, server_hostname: str) -> None:
        await self.run(C.StartTLS(tag=self.conn.new_tag()))
        if hasattr(self.writer, "start_tls"):  # Python >= 3.11
            await self.writer.start_tls(context, server_hostname=server_hostname)
        else:  # 3.10: the loop's start_tls, then point the writer at the new transport
            loop = asyncio.get_running_loop()
            transport = self.writer.transport
            new = await loop.start_tls(
                transport, transport.get_protocol(), context, server_hostname=server_hostname
            )
            self.writer._transport = new  # type: ignore[attr-defined]
        self.conn.start_tls_done()  # capabilities are forgotten (RFC 9051 §6.2.1)


async def wait_for_mail(
    host: str,
    port: int,
    user: str,
    password: str,
    *,
    tls: ssl.SSLContext,
    server_hostname: str | None = None,
    idling: Callable[[], Awaitable[None]] | None = None,
) -> int:
    """Return the message count the server announces while we IDLE.

    *idling* (optional) is awaited once the server has accepted IDLE; a test
    delivers mail there.
    """
    reader, writer = await asyncio.open_connection(host, port)
    client = StreamClient(reader, writer)
    try:
        assert isinstance(await client.next_event(), Greeting)
        await client.start_tls(tls, server_hostname or host)
        await client.run(C.Capability(tag=client.conn.new_tag()))
        await client.run(C.Login(tag=client.conn.new_tag(), username=user, password=password))
        responses, _ = await client.run(C.Select(tag=client.conn.new_tag(), mailbox="INBOX"))
        before = next((r.count for r in responses if isinstance(r, R.Exists)), 0)
        handle = client.conn.send(C.Idle(tag=client.conn.new_tag()))
        while not isinstance(await client.next_event(), IdleStarted):
            pass
        if idling is not None:
            await idling()
        count = before
        while count <= before:
            event = await client.next_event()
            if isinstance(event, Untagged) and isinstance(event.response, R.Exists):
                count = event.response.count
        client.conn.send(C.Done())
        while True:
            event = await client.next_event()
            if isinstance(event, Completed) and event.handle == handle:
                break
        await client.run(C.Logout(tag=client.conn.new_tag()))
        return count
    finally:
        writer.close()


if __name__ == "__main__":  # pragma: no cover - manual use
    host, port, user = sys.argv[1:4]
    password = sys.stdin.readline().strip()
    n = asyncio.run(
        wait_for_mail(host, int(port), user, password, tls=ssl.create_default_context())
    )
    print("mailbox now has", n, "messages")
