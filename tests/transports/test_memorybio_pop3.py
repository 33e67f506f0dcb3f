"""The MemoryBIO POP3 example: both machines in one process, TLS in memory."""

from __future__ import annotations

import ssl

import pytest
from transports.memorybio_pop3 import run_session
from transports.pop3_maildrop import Maildrops

MESSAGES = [
    b"Subject: one\r\n\r\nsecret text one\r\n.leading dot\r\n",
    b"Subject: two\r\n\r\n" + b"secret text two " * 10000 + b"\r\n",
]


def _drops() -> Maildrops:
    drops = Maildrops(users={"alice": "pässword"})
    for message in MESSAGES:
        drops.add("alice", message)
    return drops


def test_session_over_memory_tls(server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext) -> None:
    drops = _drops()
    outcome = run_session(drops, "alice", "pässword", client_ctx, server_ctx)
    assert outcome.messages == MESSAGES
    before, after = outcome.capabilities
    assert before.capabilities.stls and not after.capabilities.stls
    assert after.capabilities.sasl == ("PLAIN",)
    # Everything after STLS crossed encrypted: no message text in clear.
    assert len(outcome.link.ciphertext) > sum(map(len, MESSAGES))
    assert b"secret text" not in outcome.link.ciphertext
    assert b"alice" not in outcome.link.ciphertext  # nor the AUTH PLAIN exchange
    # DELE 1 then QUIT: the first message is gone, the lock released.
    assert [m.data for m in drops.boxes["alice"]] == MESSAGES[1:]
    assert not drops.locked


def test_wrong_password_is_refused(server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext) -> None:
    drops = _drops()
    with pytest.raises(ConnectionError, match="-ERR"):
        run_session(drops, "alice", "wrong", client_ctx, server_ctx)
    assert len(drops.boxes["alice"]) == 2 and not drops.locked
