"""A tiny blocking socket driver for ClientConnection (tests and the tutorial's shape)."""

from __future__ import annotations

import socket
import ssl
from typing import Any

from mailproto._sentinels import NEED_DATA, PAUSED
from mailproto.imap._events import Completed, Greeting, Handle, IdleStarted, Untagged
from mailproto.imap.client import ClientConnection
from mailproto.imap.types import commands as C
from mailproto.limits import IMAPLimits
from mailproto.sasl import ClientMechanism


class BlockingClient:
    """Drive a :class:`ClientConnection` over a blocking socket."""

    def __init__(
        self, host: str, port: int, *, timeout: float = 10.0, limits: IMAPLimits | None = None
    ) -> None:
        self.sock: socket.socket = socket.create_connection((host, port), timeout=timeout)
        self.conn = ClientConnection(limits=limits)
        #: Every untagged event seen, in order (solicited or not).
        self.untagged: list[Untagged] = []
        self.greeting = self._wait(lambda e: isinstance(e, Greeting))

    def _flush(self) -> None:
        data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)

    def next_event(self) -> Any:
        while True:
            self._flush()
            event = self.conn.next_event()
            if event is NEED_DATA:
                # Receiving may have produced output (a literal released by
                # "+", a SASL response): send it before blocking.
                self._flush()
                self.conn.receive_data(self.sock.recv(65536))
                continue
            if event is PAUSED:
                return PAUSED
            if isinstance(event, Untagged):
                self.untagged.append(event)
            return event

    def _wait(self, predicate: Any) -> Any:
        while True:
            event = self.next_event()
            if event is PAUSED or predicate(event):
                return event

    def run(self, command: C.Command) -> tuple[list[Untagged], Completed]:
        """Send *command*, return (its untagged responses, its completion)."""
        handle = self.conn.send(command)
        return self._collect(handle)

    def _collect(self, handle: Handle) -> tuple[list[Untagged], Completed]:
        start = len(self.untagged)
        done = self._wait(lambda e: isinstance(e, Completed) and e.handle == handle)
        assert isinstance(done, Completed)
        mine = [u for u in self.untagged[start:] if u.handle == handle]
        return mine, done

    def authenticate(self, mechanism: ClientMechanism) -> Completed:
        handle = self.conn.authenticate(mechanism)
        return self._collect(handle)[1]

    def idle_start(self, tag: str) -> Handle:
        handle = self.conn.send(C.Idle(tag=tag))
        started = self._wait(lambda e: isinstance(e, IdleStarted))
        assert isinstance(started, IdleStarted)
        return handle

    def idle_done(self, handle: Handle) -> Completed:
        self.conn.send(C.Done())
        return self._collect(handle)[1]

    def starttls(self, context: ssl.SSLContext, tag: str) -> Completed:
        handle = self.conn.send(C.StartTLS(tag=tag))
        done = self._wait(lambda e: isinstance(e, Completed) and e.handle == handle)
        assert isinstance(done, Completed)
        if done.ok:
            self.sock = context.wrap_socket(self.sock, server_hostname="localhost")
            self.conn.start_tls_done()
        return done

    def close(self) -> None:
        self.sock.close()
