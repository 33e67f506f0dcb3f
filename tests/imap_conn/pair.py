"""Helpers: join a ClientConnection to a ServerConnection in memory."""

from __future__ import annotations

from typing import Any

from mailproto._sentinels import NEED_DATA, PAUSED
from mailproto.imap._state import State
from mailproto.imap.client import ClientConnection
from mailproto.imap.server import ServerConnection


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


def state(connection: ClientConnection | ServerConnection) -> State:
    """The connection's state (a function, so type checkers do not narrow it)."""
    return connection.state
