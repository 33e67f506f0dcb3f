"""A POP3 client and server in one process, upgraded with STLS over MemoryBIO TLS.

The same construction as :mod:`transports.memorybio_smtp` (whose
:class:`~transports.memorybio_smtp.Loopback` joins any client/server pair),
driving the POP3 machines and the :mod:`transports.pop3_maildrop` maildrop:
greet, CAPA, STLS, handshake in memory, CAPA again, AUTH PLAIN, download
every message, delete the first, QUIT.  No socket anywhere.

``python -m transports.memorybio_pop3 a.eml b.eml`` runs a session over the
given messages and prints what crossed the "wire".
"""

from __future__ import annotations

import argparse
import ssl
from pathlib import Path
from typing import Any

import attrs

from mailproto import sasl
from mailproto.pop3 import (
    Auth,
    Capa,
    CapaResponse,
    ClientConnection,
    Dele,
    ErrResponse,
    Greeting,
    MessageData,
    MessageEnd,
    OkResponse,
    Quit,
    Retr,
    ServerConnection,
    Stat,
    State,
    StatResponse,
    Stls,
)
from transports.memorybio_smtp import Loopback, throwaway_tls
from transports.pop3_maildrop import Maildrops, POP3Session
from transports.pump import Pump


def _ok(event: Any) -> Any:
    if isinstance(event, ErrResponse):
        raise ConnectionError(f"-ERR {event.text}")
    return event


@attrs.frozen
class Outcome:
    """What a session saw."""

    #: CAPA before and after STLS.
    capabilities: tuple[CapaResponse, CapaResponse]
    #: Every message downloaded, in order.
    messages: list[bytes]
    #: The joined pair (``link.ciphertext`` is everything sent under TLS).
    link: Loopback


def run_session(
    drops: Maildrops,
    user: str,
    password: str,
    client_ctx: ssl.SSLContext,
    server_ctx: ssl.SSLContext,
    hostname: str = "mx.example.org",
) -> Outcome:
    """One whole POP3 session in memory; the first message is deleted at QUIT."""
    server = ServerConnection(stls=True, sasl_mechanisms=("PLAIN",))
    server.send(Greeting(text="in-memory POP3"))
    link = Loopback(server, POP3Session(drops))
    client = ClientConnection()
    pump = Pump(client, link.client_recv, link.client_send)
    assert isinstance(_ok(pump.next_event()), Greeting)
    pump.send(Capa())
    before = _ok(pump.next_event())
    pump.send(Stls())
    _ok(pump.next_event())
    # Both machines wait for the transport now (RFC 2595 §4).
    assert server.state is State.TLS_HANDSHAKE
    link.handshake(client_ctx, server_ctx, hostname)
    client.start_tls_done()
    server.start_tls_done()
    pump.send(Capa())
    after = _ok(pump.next_event())
    pump.send(Auth(mechanism=sasl.client_mechanism("PLAIN", username=user, password=password)))
    _ok(pump.next_event())
    pump.send(Stat())
    stat = _ok(pump.next_event())
    assert isinstance(stat, StatResponse)
    messages = []
    for n in range(1, stat.count + 1):
        pump.send(Retr(msg=n))
        _ok(pump.next_event())
        chunks = []
        while not isinstance(event := pump.next_event(), MessageEnd):
            assert isinstance(event, MessageData)
            chunks.append(event.data)
        messages.append(b"".join(chunks))
    if stat.count:
        pump.send(Dele(msg=1))
        _ok(pump.next_event())
    pump.send(Quit())
    assert isinstance(_ok(pump.next_event()), OkResponse)
    return Outcome(capabilities=(before, after), messages=messages, link=link)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("eml", nargs="*", type=Path, help="messages for the maildrop")
    args = parser.parse_args(argv)
    server_ctx, client_ctx = throwaway_tls()
    drops = Maildrops(users={"alice": "secret"})
    for path in args.eml:
        drops.add("alice", path.read_bytes(), path=None)
    outcome = run_session(drops, "alice", "secret", client_ctx, server_ctx)
    print(len(outcome.messages), "messages,", len(outcome.link.ciphertext), "bytes of ciphertext")


if __name__ == "__main__":  # pragma: no cover
    main()
