"""Helpers: join a ClientConnection to a ServerConnection in memory."""

from __future__ import annotations

from typing import Any

from mailproto._sentinels import NEED_DATA, PAUSED
from mailproto.imap._events import ConnectionClosed, Handle
from mailproto.imap._state import State
from mailproto.imap.client import ClientConnection
from mailproto.imap.codec import parse_response
from mailproto.imap.server import ServerConnection
from mailproto.imap.types import commands as C


def client_events(client: ClientConnection, data: bytes) -> list[Any]:
    """Feed *data* to the client and collect events until NEED_DATA/PAUSED."""
    client.receive_data(data)
    out: list[Any] = []
    while True:
        event = client.next_event()
        if event is NEED_DATA or event is PAUSED:
            return out
        assert not isinstance(event, type(NEED_DATA))
        out.append(event)
        if isinstance(event, ConnectionClosed):
            return out


def server_events(server: ServerConnection, data: bytes) -> list[Any]:
    """Feed *data* to the server and collect events until NEED_DATA/PAUSED."""
    if data:
        server.receive_data(data)
    out: list[Any] = []
    while True:
        event = server.next_event()
        if event is NEED_DATA or event is PAUSED:
            return out
        assert not isinstance(event, type(NEED_DATA))
        out.append(event)
        if isinstance(event, ConnectionClosed):
            return out


def state(connection: ClientConnection | ServerConnection) -> State:
    """The connection's state (a function, so type checkers do not narrow it)."""
    return connection.state


class Pair:
    """A client and a server joined by in-memory byte passing."""

    def __init__(self, server: ServerConnection, client: ClientConnection | None = None) -> None:
        self.server = server
        self.client = client or ClientConnection()
        self.client_events: list[Any] = []
        self.server_events: list[Any] = []

    def c(self, command: C.Command | C.Done, wire: bytes) -> Handle:
        handle = self.client.send(command)
        sent = self.client.data_to_send()
        assert sent == wire
        self.server_events = server_events(self.server, sent)
        return handle

    def s(self, wire: bytes) -> list[Any]:
        response = parse_response(wire)
        self.server.send(response)
        out = self.server.data_to_send()
        assert out == wire
        self.client_events = client_events(self.client, out)
        return self.client_events
