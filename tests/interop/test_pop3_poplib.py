"""Python's poplib against a POP3 server built on ServerConnection.

The server is a small asyncio protocol (in a background thread) that pumps
bytes between the socket and a :class:`~mailproto.pop3.ServerConnection`,
with the test maildrop application of ``tests/pop3/support.py`` answering
events; STLS uses a throwaway trustme certificate.
"""

from __future__ import annotations

import asyncio
import os
import poplib
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from typing import cast

import attrs
import pytest
import trustme

from mailproto.pop3 import Greeting, ServerConnection, State
from tests.pop3.support import MESSAGES, ServerApp, Store

pytestmark = pytest.mark.interop

# Ten megabytes in 76-character lines (poplib refuses lines over 2048), with
# lines that need dot-stuffing sprinkled in.
_LINE = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ab\r\n"
BIG = b"Subject: big\r\n\r\n" + (_LINE * 1000 + b".starts with a dot\r\n") * 137
assert len(BIG) > 10_000_000


class _Pop3Protocol(asyncio.Protocol):
    """Socket ⇄ ServerConnection ⇄ ServerApp."""

    def __init__(self, server: _Server) -> None:
        self.server = server
        self.conn = ServerConnection(stls=True, implementation="mailproto-test")
        self.app = ServerApp(self.conn, server.store)
        self.transport: asyncio.BaseTransport | None = None
        server.sessions.append(self.app)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.server.counter += 1
        stamp = f"<{os.getpid()}.{self.server.counter}@localhost>"
        self.conn.send(Greeting(text="mailproto test server", timestamp=stamp))
        self._pump()

    def data_received(self, data: bytes) -> None:
        self.conn.receive_data(data)
        self._pump()

    def eof_received(self) -> bool | None:
        self.conn.receive_data(b"")
        self._pump()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.app.closed:
            self.conn.receive_data(b"")
            self.app.step()

    def _pump(self) -> None:
        self.app.step()
        out = self.conn.data_to_send()
        transport = self.transport
        assert isinstance(transport, asyncio.WriteTransport)
        if out:
            transport.write(out)
        if self.conn.state is State.TLS_HANDSHAKE:
            asyncio.get_running_loop().create_task(self._start_tls())
        elif self.conn.state is State.CLOSED:
            transport.close()

    async def _start_tls(self) -> None:
        loop = asyncio.get_running_loop()
        assert isinstance(self.transport, asyncio.WriteTransport)
        self.transport = await loop.start_tls(
            self.transport, self, self.server.ssl_context, server_side=True
        )
        self.conn.start_tls_done()
        self._pump()


@attrs.define
class _Server:
    store: Store
    ssl_context: ssl.SSLContext
    client_context: ssl.SSLContext
    port: int = 0
    counter: int = 0
    sessions: list[ServerApp] = attrs.field(factory=list)


@pytest.fixture
def server() -> Iterator[_Server]:
    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost", "127.0.0.1").configure_cert(server_ctx)
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)
    store = Store(users={"mrose": "tanstaaf", "big": "pw"}, chunk=65536)
    store.boxes["big"] = [BIG, MESSAGES[0]]
    srv = _Server(store=store, ssl_context=server_ctx, client_context=client_ctx)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    async def start() -> asyncio.Server:
        return await loop.create_server(lambda: _Pop3Protocol(srv), "127.0.0.1", 0)

    aserver = asyncio.run_coroutine_threadsafe(start(), loop).result(10)
    srv.port = aserver.sockets[0].getsockname()[1]
    try:
        yield srv
    finally:

        async def stop() -> None:
            aserver.close()
            await aserver.wait_closed()

        asyncio.run_coroutine_threadsafe(stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def connect(srv: _Server) -> poplib.POP3:
    return poplib.POP3("127.0.0.1", srv.port, timeout=20)


def retr_bytes(pop: poplib.POP3, n: int) -> bytes:
    _resp, lines, _octets = pop.retr(n)
    return b"".join(line + b"\r\n" for line in lines)


def test_user_pass_list_uidl_top_retr(server: _Server) -> None:
    pop = connect(server)
    assert pop.getwelcome().startswith(b"+OK mailproto test server <")
    caps = pop.capa()
    assert {"TOP", "USER", "UIDL", "PIPELINING", "STLS"} <= set(caps)
    assert caps["IMPLEMENTATION"] == ["mailproto-test"]
    pop.user("mrose")
    pop.pass_("tanstaaf")
    assert pop.stat() == (3, sum(len(m) for m in MESSAGES))
    _resp, listing, _ = pop.list()
    assert listing == [b"%d %d" % (i, len(m)) for i, m in enumerate(MESSAGES, 1)]
    assert cast(bytes, pop.list(2)).split() == [b"+OK", b"2", str(len(MESSAGES[1])).encode()]
    _resp, uids, _ = pop.uidl()
    assert uids == [b"%d uid-mrose-%d" % (i, i - 1) for i in range(1, 4)]
    _resp, top_lines, _ = pop.top(3, 1)
    assert top_lines == [b"Subject: three", b"", b"line1"]
    for i, message in enumerate(MESSAGES, 1):
        assert retr_bytes(pop, i) == message
    with pytest.raises(poplib.error_proto) as info:
        pop.retr(4)
    assert info.value.args[0] == b"-ERR no such message"
    pop.quit()
    assert len(server.store.box("mrose")) == 3


def test_wrong_password(server: _Server) -> None:
    pop = connect(server)
    pop.user("mrose")
    with pytest.raises(poplib.error_proto) as info:
        pop.pass_("nope")
    assert info.value.args[0] == b"-ERR [AUTH] invalid password"
    pop.quit()


def test_apop(server: _Server) -> None:
    pop = connect(server)
    pop.apop("mrose", "tanstaaf")
    assert pop.stat()[0] == 3
    pop.quit()
    pop = connect(server)
    with pytest.raises(poplib.error_proto):
        pop.apop("mrose", "wrong")
    pop.quit()


def test_stls(server: _Server) -> None:
    pop = connect(server)
    pop.stls(server.client_context)
    sock = pop.sock
    assert isinstance(sock, ssl.SSLSocket)
    assert "STLS" not in pop.capa()
    pop.user("mrose")
    pop.pass_("tanstaaf")
    assert retr_bytes(pop, 1) == MESSAGES[0]
    pop.quit()


def test_retr_ten_megabytes(server: _Server) -> None:
    pop = connect(server)
    pop.user("big")
    pop.pass_("pw")
    assert cast(bytes, pop.list(1)).split()[2] == str(len(BIG)).encode()
    assert retr_bytes(pop, 1) == BIG
    pop.quit()


def test_dele_quit_removes(server: _Server) -> None:
    pop = connect(server)
    pop.user("mrose")
    pop.pass_("tanstaaf")
    pop.dele(1)
    with pytest.raises(poplib.error_proto) as info:
        pop.retr(1)
    assert info.value.args[0] == b"-ERR message is deleted"
    pop.quit()
    pop = connect(server)
    pop.user("mrose")
    pop.pass_("tanstaaf")
    assert pop.stat() == (2, len(MESSAGES[1]) + len(MESSAGES[2]))
    assert retr_bytes(pop, 1) == MESSAGES[1]
    pop.quit()


def test_dropped_connection_deletes_nothing(server: _Server) -> None:
    pop = connect(server)
    pop.user("mrose")
    pop.pass_("tanstaaf")
    pop.dele(1)
    pop.dele(2)
    sock = pop.sock
    sock.shutdown(socket.SHUT_RDWR)
    sock.close()
    deadline = time.monotonic() + 10
    while not all(app.closed for app in server.sessions) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert all(app.closed for app in server.sessions)
    assert server.store.box("mrose") == MESSAGES
    pop = connect(server)
    pop.user("mrose")
    pop.pass_("tanstaaf")  # the lock was released
    assert pop.stat()[0] == 3
    pop.quit()
