"""Smoke test of the shared Dovecot fixture with the stdlib clients."""

from __future__ import annotations

import imaplib
import poplib

import pytest

from tests.interop.dovecot import DovecotServer, dovecot_fixture

pytestmark = pytest.mark.interop

dovecot = dovecot_fixture(scope="module")

MESSAGE = b"From: a@example.org\r\nSubject: smoke\r\n\r\nhello\r\n.dotted line\r\n"


def test_pop3_sees_delivered_message(dovecot: DovecotServer) -> None:
    dovecot.deliver("alice", MESSAGE)
    pop = poplib.POP3(dovecot.host, dovecot.pop3_port, timeout=10)
    try:
        assert pop.getwelcome().startswith(b"+OK")
        pop.user("alice")
        pop.pass_(dovecot.users["alice"])
        count, _size = pop.stat()
        assert count >= 1
        _resp, lines, _octets = pop.retr(count)
        assert b"\r\n".join(lines) + b"\r\n" == MESSAGE
    finally:
        pop.quit()


def test_pop3_apop_and_stls(dovecot: DovecotServer) -> None:
    pop = poplib.POP3(dovecot.host, dovecot.pop3_port, timeout=10)
    try:
        pop.stls(dovecot.client_ssl_context())
        pop.apop("bob", dovecot.users["bob"])
        assert pop.noop().startswith(b"+OK")
    finally:
        pop.quit()


def test_imap_sees_delivered_message(dovecot: DovecotServer) -> None:
    dovecot.deliver("bob", MESSAGE, folder="Archive")
    imap = imaplib.IMAP4_SSL(
        dovecot.host, dovecot.imaps_port, ssl_context=dovecot.client_ssl_context(), timeout=10
    )
    try:
        imap.login("bob", dovecot.users["bob"])
        typ, data = imap.select("Archive")
        assert typ == "OK" and data == [b"1"]
        typ, fetched = imap.fetch("1", "(BODY.PEEK[])")
        assert typ == "OK"
        item = fetched[0]
        assert isinstance(item, tuple) and item[1] == MESSAGE
        typ, caps = imap.capability()
        assert b"COMPRESS=DEFLATE" in caps[0]
    finally:
        imap.logout()
