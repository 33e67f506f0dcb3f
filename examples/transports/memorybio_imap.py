"""An IMAP client and server in one process, upgraded with STARTTLS over MemoryBIO TLS.

The IMAP counterpart of :mod:`transports.memorybio_pop3`: the client is the
:class:`~transports.blocking_imap_client.IMAPPump` of the blocking example,
the server the :mod:`transports.imap_inbox` application of the trio example,
joined by :class:`~transports.memorybio_smtp.Loopback`.  The server requires
TLS before login (LOGINDISABLED), so the session must upgrade first.

``python -m transports.memorybio_imap a.eml b.eml`` runs a session over the
given messages.
"""

from __future__ import annotations

import argparse
import ssl
from pathlib import Path

import attrs

from mailproto.imap import ClientConnection, Greeting, Mode, ServerConnection
from mailproto.imap import commands as C
from mailproto.imap import responses as R
from mailproto.imap.types import SectionRequest, SequenceSet
from transports.blocking_imap_client import IMAPPump
from transports.imap_inbox import CAPABILITIES, IMAPSession, Inboxes
from transports.memorybio_smtp import Loopback, throwaway_tls


@attrs.frozen
class Outcome:
    """What a session saw."""

    #: Capabilities before and after STARTTLS.
    capabilities: tuple[frozenset[str], frozenset[str]]
    #: ``BODY[]`` of every message, in sequence order.
    messages: list[bytes]
    #: The joined pair (``link.ciphertext`` is everything sent under TLS).
    link: Loopback


def run_session(
    store: Inboxes,
    user: str,
    password: str,
    client_ctx: ssl.SSLContext,
    server_ctx: ssl.SSLContext,
    hostname: str = "mx.example.org",
) -> Outcome:
    """Greet, STARTTLS, LOGIN, SELECT INBOX, FETCH every message, LOGOUT."""
    server = ServerConnection(capabilities=CAPABILITIES, starttls=True, login_requires_tls=True)
    server.send(R.StatusResponse(tag=None, status="OK", text="in-memory IMAP"))
    link = Loopback(server, IMAPSession(store))
    client = ClientConnection()
    pump = IMAPPump(client, link.client_recv, link.client_send)
    assert isinstance(pump.next_event(), Greeting)
    before = client.capabilities or frozenset()  # from the greeting's [CAPABILITY]
    pump.run(C.StartTLS(tag="_"))
    # Both machines now wait for the transport (RFC 9051 §6.2.1).
    assert server.mode is Mode.TLS_HANDSHAKE
    link.handshake(client_ctx, server_ctx, hostname)
    client.start_tls_done()
    server.start_tls_done()
    pump.run(C.Capability(tag="_"))
    after = client.capabilities or frozenset()
    pump.run(C.Login(tag="_", username=user, password=password))
    selected = pump.run(C.Select(tag="_", mailbox="INBOX"))
    exists = next((r.count for r in selected if isinstance(r, R.Exists)), 0)
    messages = []
    if exists:
        fetch = C.Fetch(
            tag="_", sequence_set=SequenceSet.of((1, "*")), attributes=(SectionRequest(),)
        )
        for response in pump.run(fetch):
            if isinstance(response, R.FetchResponse) and response.sections:
                messages.append(bytes(response.sections[0].data or b""))
    pump.run(C.Logout(tag="_"))
    return Outcome(capabilities=(before, after), messages=messages, link=link)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("eml", nargs="*", type=Path, help="messages for the INBOX")
    args = parser.parse_args(argv)
    server_ctx, client_ctx = throwaway_tls()
    store = Inboxes(users={"alice": "secret"})
    for path in args.eml:
        store.add("alice", path.read_bytes())
    outcome = run_session(store, "alice", "secret", client_ctx, server_ctx)
    print(len(outcome.messages), "messages,", len(outcome.link.ciphertext), "bytes of ciphertext")


if __name__ == "__main__":  # pragma: no cover
    main()
