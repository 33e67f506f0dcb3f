"""The MemoryBIO IMAP example: both machines in one process, TLS in memory."""

from __future__ import annotations

import ssl

import pytest
from transports.imap_inbox import Inboxes
from transports.memorybio_imap import run_session

MESSAGES = [
    b"Subject: one\r\n\r\nsecret text one\r\n",
    b"Subject: two\r\n\r\n" + b"secret text two " * 10000 + b"\r\n",
]


def _store() -> Inboxes:
    store = Inboxes(users={"alice": 'pa "ss'})
    for message in MESSAGES:
        store.add("alice", message)
    return store


def test_session_over_memory_tls(server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext) -> None:
    store = _store()
    outcome = run_session(store, "alice", 'pa "ss', client_ctx, server_ctx)
    assert outcome.messages == MESSAGES
    before, after = outcome.capabilities
    assert {"STARTTLS", "LOGINDISABLED"} <= before and "AUTH=PLAIN" not in before
    assert "STARTTLS" not in after and "LOGINDISABLED" not in after and "AUTH=PLAIN" in after
    assert b"secret text" not in outcome.link.ciphertext
    assert b"alice" not in outcome.link.ciphertext  # the LOGIN crossed encrypted
    # BODY[] (not PEEK) set \Seen on every message.
    assert all(m.flags == {"\\Seen"} for m in store.boxes["alice"])


def test_wrong_password_is_refused(server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext) -> None:
    with pytest.raises(ConnectionError, match="LOGIN: NO"):
        run_session(_store(), "alice", "wrong", client_ctx, server_ctx)
